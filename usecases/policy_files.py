"""Where policies come from: the packaged default, or an operator's file. policies/ itself reads nothing."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from policies.engine import Policy, parse_policy


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and check a policy file; the packaged default when `path` is None."""
    if path is None:
        return parse_policy(resources.files("policies").joinpath("default.yaml").read_text())
    return parse_policy(Path(path).read_text(), str(path))
