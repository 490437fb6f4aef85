"""clipguard app shell: configuration, event contracts, CLI and the embedded broker."""

__version__ = "0.1.0"
