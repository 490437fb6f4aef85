"""The faces family's rule.

likeness: a public figure's face, unless the figure's own cameo permits this creator.
consent: a cameo owner's face when their permission does not include this creator; a declared
cameo grants nothing by itself. A face that matches nobody is no reason at all. Whether a grant
permits a creator is the consent policy's answer (policies/consent.py), carried in the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.contracts import VERDICTS, Reason
from clipguard.core.measures import MATCHES, Measure, one_reason_each
from clipguard.core.signals import Signal


def face_measure(evidence: Mapping[str, Any], limits: Mapping[str, Any]) -> Measure:
    """A face's distance to an enrolled person against the bars of the model that measured it."""
    return Measure.distance("face distance", evidence["distance"], limits["match_distance"], limits["review_distance"])


def face_rule(signal: Signal, config: Mapping[str, Any], policy: str,
              attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    limits = config["models"].get(signal.model)
    if limits is None:
        return [("review", Reason(f"{policy}/faces", "faces", f"the policy has no face bars for model {signal.model!r}",
                                  None, {"model": signal.model}))]
    out = []
    for finding in signal.findings:
        evidence = finding.evidence
        if evidence["kind"] == "declared":   # never seen, so never beside a face of the same person
            out.append((config["declared"]["verdict"], Reason(f"{policy}/consent.declared", "consent", finding.detail,
                                                              None, dict(evidence))))
            continue
        if evidence["creator_permitted"]:
            continue
        measure = face_measure(evidence, limits)
        if measure.strength is None:
            continue
        kind = "likeness" if evidence["kind"] == "figure" else "consent"
        who = "public figure" if evidence["kind"] == "figure" else "cameo owner"
        permission = evidence["permission"]
        consent = (f"whose permission ({permission}) does not include this creator" if permission
                   else "who has given no consent through a cameo")
        runner_up = evidence.get("next_closest")
        closer = (f"; {runner_up['name']!r} is next at {runner_up['distance']:.3f}, {runner_up['margin']:.3f} farther"
                  if runner_up else "")
        detail = (f"frame {evidence['frame']}: a face {measure.strength} {who} {evidence['name']!r} "
                  f"(distance {measure.value:.3f}; {measure.bars}{closer}), {consent}")
        verdict = "block" if measure.strength == MATCHES else "review"
        out.append((verdict, Reason(f"{policy}/{kind}", kind, detail, finding.score,
                                    {**evidence, "model": signal.model, "model_version": signal.model_version})))
    # One reason per person matched: their closest face, with the other sightings in the evidence.
    return one_reason_each(out, lambda r: (r.evidence.get("kind"), r.evidence.get("subject_id")), _sighting)


def _sighting(verdict: str, reason: Reason) -> dict[str, Any]:
    keys = ("person", "frame", "t", "box", "distance")
    return {"verdict": verdict, **{k: reason.evidence[k] for k in keys if k in reason.evidence}}


def check_faces_policy(section: Mapping[str, Any]) -> None:
    for model, limits in section["models"].items():
        if not 0 < limits["match_distance"] <= limits["review_distance"]:
            raise ValueError(f"faces bars for {model} need 0 < match <= review")
    if section["declared"]["verdict"] not in VERDICTS or section["declared"]["verdict"] == "allow":
        raise ValueError("faces.declared must be review, block or takedown")
