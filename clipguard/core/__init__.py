"""The floor every layer stands on: configuration, event contracts, shared types, vocabularies.

Imports only the standard library and numpy, so anything may import it and it imports nothing of
clipguard's above it (import-linter checks this in `make test`).
"""
