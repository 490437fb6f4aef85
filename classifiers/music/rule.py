"""The music family's rule: an excerpt whose landmarks agree with a claimed recording at the
match bar gets the claim's own action; one at the lower review bar goes to an analyst."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.contracts import Reason
from clipguard.core.measures import MATCHES, Measure, one_reason_each
from clipguard.core.signals import Signal
from clipguard.core.vocab import ReasonKind

BARS = ("match_landmarks", "review_landmarks", "min_seconds")


def music_measure(evidence: Mapping[str, Any], section: Mapping[str, Any]) -> Measure:
    measure = Measure.count("agreeing landmarks", evidence["landmarks"], section["match_landmarks"],
                            section["review_landmarks"])
    start, end = evidence["clip_range"]
    if end - start < section["min_seconds"]:        # too short an excerpt to claim
        return Measure(measure.name, measure.value, measure.bars, None)
    return measure


def music_rule(signal: Signal, config: Mapping[str, Any], policy: str,
               attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    judged = []
    for finding in signal.findings:
        evidence = finding.evidence
        measure = music_measure(evidence, config)
        if measure.strength is None:
            continue
        verdict = evidence["action"] if measure.strength == MATCHES else "review"
        closeness = "" if measure.strength == MATCHES else ", under the match bar"
        detail = f"{finding.detail}: {measure.value:.0f} {measure.name}{closeness} ({measure.bars})"
        judged.append((verdict, Reason(f"{policy}/music", ReasonKind.MUSIC, detail, finding.score, dict(evidence))))
    return one_reason_each(judged, lambda r: r.evidence["claim_id"],
                           lambda v, r: {"verdict": v, "reference_id": r.evidence["reference_id"],
                                         "landmarks": r.evidence["landmarks"]})


def check_music_policy(section: Mapping[str, Any]) -> None:
    missing = [k for k in BARS if k not in section]
    if missing:
        raise ValueError(f"music section lacks {', '.join(missing)}")
    if not 0 < section["review_landmarks"] <= section["match_landmarks"]:
        raise ValueError(f"music bars are inconsistent: {dict(section)}")
