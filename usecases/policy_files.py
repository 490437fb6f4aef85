"""Where policies come from: an operator's file, the version last promoted in the registry, or
the packaged default. policies/ itself reads nothing."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from policies.engine import Policy, parse_policy
from registry.db import engine_for
from registry.policy_versions import PolicyVersions


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and check a policy file; the packaged default when `path` is None."""
    if path is None:
        return parse_policy(resources.files("policies").joinpath("default.yaml").read_text())
    return parse_policy(Path(path).read_text(), str(path))


def live_policy(database_url: str, path: str | Path | None = None) -> Policy:
    """The policy to decide by: the file named, else the version last promoted, else the default."""
    if path is not None:
        return load_policy(path)
    promoted = PolicyVersions(engine_for(database_url)).live()
    return load_policy() if promoted is None else parse_policy(promoted.text, f"{promoted.label} (promoted)")


def shadow_policies(live: Policy, paths: Sequence[str | Path]) -> list[Policy]:
    """The shadow policies' files, each under a label of its own: a shadow's decisions are stored
    by label, so one that shares the live policy's label, or another shadow's, would overwrite."""
    shadows = [load_policy(path) for path in paths]
    labels = [live.label, *(s.label for s in shadows)]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"a shadow policy needs a name@version of its own; {', '.join(repeated)} is used twice "
                         "(the live policy counts)")
    return shadows
