"""clipguard: `core` is the floor every layer imports, `app` the roof that imports them all."""

__version__ = "0.1.0"
