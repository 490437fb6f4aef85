"""Versioned policies and the pure engine that turns signals into a verdict."""

from policies.engine import Policy, Ruling, decide, parse_policy

__all__ = ["Policy", "Ruling", "decide", "parse_policy"]
