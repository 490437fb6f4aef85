"""signals in, verdict out: no I/O, no clock, so it is tested and replayed on its own.

A policy is a YAML document with a name and version and one section per signal family. Each
family's manifest brings the rule that turns its findings into (verdict, reason) pairs with the
thresholds its section gives, and the check of that section. This engine combines them: the
strongest verdict wins (takedown > block > review > allow), a required signal that is missing or
failed is never allowed, and unreadable media gets the policy's media verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from clipguard.core import families
from clipguard.core.contracts import VERDICTS, Reason, strongest
from clipguard.core.signals import Signal
from clipguard.core.triage import review_severity


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    required_signals: tuple[str, ...]
    on_missing_signal: str
    on_media_error: str
    signals: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Ruling:
    verdict: str
    reasons: tuple[Reason, ...]     # strongest first, so the first one explains the verdict
    severity: int = 1               # review-queue severity, from the reasons that set the verdict


def judge(signal: Signal, policy: Policy, attrs: Mapping[str, Any] | None = None) -> list[tuple[str, Reason]]:
    """One scored signal's (verdict, reason) pairs under its family's rule; none when the policy
    has no section for the family."""
    section = policy.signals.get(signal.name)
    if not signal.ok or section is None:
        return []
    return families.family(signal.name).rule(signal, section, policy.label, attrs or {})


def decide(signals: Mapping[str, Signal], policy: Policy, media_error: tuple[str, str] | None = None,
           attrs: Mapping[str, Any] | None = None) -> Ruling:
    """The verdict for one clip and every reason behind it; `attrs` are the clip's event attrs."""
    if media_error is not None:
        code, message = media_error
        return _ruling([(policy.on_media_error, Reason(f"{policy.label}/media", "media", message, None,
                                                       {"error_code": code}))])
    ruled: list[tuple[str, Reason]] = []
    for name in policy.required_signals:
        signal = signals.get(name)
        if signal is None or not signal.ok:
            why = "was not computed" if signal is None else f"failed: {signal.error}"
            ruled.append((policy.on_missing_signal, Reason(f"{policy.label}/required", name,
                                                           f"required signal {name} {why}", None, {})))
    for signal in signals.values():
        ruled += judge(signal, policy, attrs)
    return _ruling(ruled)


def _ruling(ruled: list[tuple[str, Reason]]) -> Ruling:
    verdict = strongest([v for v, _ in ruled])
    ordered = sorted(ruled, key=lambda vr: -VERDICTS.index(vr[0]))
    deciding = [r.signal for v, r in ordered if v == verdict]
    return Ruling(verdict, tuple(r for _, r in ordered), review_severity(deciding))


def parse_policy(text: str, source: str = "default") -> Policy:
    """Read and check a policy document; PolicyError says what is wrong with it."""
    try:
        body = yaml.safe_load(text)
        policy = Policy(
            name=str(body["name"]), version=str(body["version"]),
            required_signals=tuple(body.get("required_signals", ())),
            on_missing_signal=body.get("on_missing_signal", "review"),
            on_media_error=body.get("on_media_error", "review"),
            signals=body.get("signals", {}),
        )
        _check(policy)
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise PolicyError(f"policy {source} is malformed: {type(exc).__name__} {exc}") from None
    return policy


def _check(policy: Policy) -> None:
    for verdict in (policy.on_missing_signal, policy.on_media_error):
        if verdict not in VERDICTS or verdict == "allow":
            raise PolicyError(f"policy {policy.label}: failures must map to review, block or takedown, not {verdict!r}")
    known = {m.family for m in families.registered()}
    unknown = set(policy.signals) - known
    if unknown:
        raise PolicyError(f"policy {policy.label}: no rule for signal(s) {sorted(unknown)}")
    for name, section in policy.signals.items():
        try:
            families.family(name).check_policy(section)
        except ValueError as exc:
            raise PolicyError(f"policy {policy.label}: {exc}") from None
