"""Media files: resolving event URIs inside the media roots, decoding and sampling frames, uploads."""
