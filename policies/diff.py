"""`clipguard policy diff A B`: the bars and rules that differ between two policies, one line per
setting (a dotted path such as `signals.explicit.review`), so a reviewer of a policy change
reads what moved rather than two YAML files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.engine import Policy

ABSENT = "(absent)"


@dataclass(frozen=True)
class Change:
    path: str
    before: Any        # ABSENT where only the second policy has the setting
    after: Any         # ABSENT where only the first has it

    def line(self) -> str:
        return f"{self.path}: {self.before!r} -> {self.after!r}"


def policy_diff(a: Policy, b: Policy) -> list[Change]:
    before, after = _flatten(_rules(a)), _flatten(_rules(b))
    return [Change(path, before.get(path, ABSENT), after.get(path, ABSENT))
            for path in sorted(before.keys() | after.keys()) if before.get(path, ABSENT) != after.get(path, ABSENT)]


def _rules(policy: Policy) -> dict[str, Any]:
    return {"required_signals": list(policy.required_signals), "on_missing_signal": policy.on_missing_signal,
            "on_media_error": policy.on_media_error, "signals": policy.signals}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Mappings become dotted paths; anything else (a number, a list) is compared whole."""
    if not isinstance(value, Mapping) or not value:
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, inner in value.items():
        out |= _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    return out
