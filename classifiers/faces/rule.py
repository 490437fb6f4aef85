"""The faces family's rule: the likeness and consent rule (classifiers/likeness.py) on faces, and
declared cameos. A declared cameo grants nothing by itself: one whose owner does not permit this
creator, and whose face was not seen, goes where the policy's `declared` verdict says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.likeness import Medium, check_likeness_bars, likeness_bars, likeness_reason, one_reason_per_person
from clipguard.core.contracts import VERDICTS, Reason
from clipguard.core.signals import Signal

FACE = Medium("face", lambda evidence: f"frame {evidence['frame']}", ("person", "frame", "t", "box", "distance"))


def face_rule(signal: Signal, config: Mapping[str, Any], policy: str,
              attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    limits, missing = likeness_bars(signal, config, policy, "faces")
    if limits is None:
        return missing
    out = []
    for finding in signal.findings:
        if finding.evidence["kind"] == "declared":   # never seen, so never beside a face of the same person
            out.append((config["declared"]["verdict"], Reason(f"{policy}/consent.declared", "consent", finding.detail,
                                                              None, dict(finding.evidence))))
        elif (judged := likeness_reason(FACE, signal, finding, limits, policy)) is not None:
            out.append(judged)
    return one_reason_per_person(FACE, out)


def check_faces_policy(section: Mapping[str, Any]) -> None:
    check_likeness_bars("faces", section)
    if section["declared"]["verdict"] not in VERDICTS or section["declared"]["verdict"] == "allow":
        raise ValueError("faces.declared must be review, block or takedown")
