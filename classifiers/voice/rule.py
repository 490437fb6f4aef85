"""The voice family's rule: the likeness and consent rule (classifiers/likeness.py) on voices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.likeness import Medium, check_likeness_bars, likeness_bars, likeness_reason, one_reason_per_person
from clipguard.core.contracts import Reason
from clipguard.core.signals import Signal


def _where(evidence: Mapping[str, Any]) -> str:
    start, end = evidence["clip_range"]
    return f"{start:.1f}-{end:.1f} s"


VOICE = Medium("voice", _where, ("speaker", "clip_range", "seconds", "distance"))


def voice_rule(signal: Signal, config: Mapping[str, Any], policy: str,
               attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    limits, missing = likeness_bars(signal, config, policy, "voice")
    if limits is None:
        return missing
    judged = [likeness_reason(VOICE, signal, finding, limits, policy) for finding in signal.findings]
    return one_reason_per_person(VOICE, [j for j in judged if j is not None])


def check_voice_policy(section: Mapping[str, Any]) -> None:
    check_likeness_bars("voice", section)
