"""The character family's rule: a frame that matches a claimed work gets the claim's own action,
one close to it goes to review, and a claimed title named in the prompt gets the policy's alias
verdict (a name is not the art). Pure: signal and policy section in, (verdict, reason) pairs out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.contracts import VERDICTS, Reason
from clipguard.core.measures import CLOSE, MATCHES, Measure, one_reason_each
from clipguard.core.signals import Signal


def character_rule(signal: Signal, config: Mapping[str, Any], policy: str,
                   attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    """One reason per claim: its strongest frame match (or the alias), with the other frames and
    methods that support it in the evidence."""
    judged = []
    for finding in signal.findings:
        evidence = finding.evidence
        method = evidence["method"]
        verdict_detail = _judge(method, evidence, config[method])
        if verdict_detail is not None:
            verdict, detail = verdict_detail
            judged.append((verdict, Reason(f"{policy}/character.{method}", "character", detail, finding.score,
                                           dict(evidence))))
    return one_reason_each(judged, lambda r: r.evidence["claim_id"], _supporting)


def _supporting(verdict: str, reason: Reason) -> dict[str, Any]:
    evidence = reason.evidence
    keys = ("method", "frame", "t", "reference_id", MEASURE_KEYS.get(evidence["method"]), "zero_shot")
    return {"verdict": verdict, **{k: evidence[k] for k in keys if k in evidence}}


# Where each method's finding keeps its measure; an alias has none.
MEASURE_KEYS = {"pdq": "distance", "phash": "distance", "orb": "inliers", "clip": "similarity"}


def measure_value(evidence: Mapping[str, Any]) -> float:
    """A character finding's raw measure in its method's own unit (0 for an alias): what a
    holder's match list records."""
    key = MEASURE_KEYS.get(evidence["method"])
    return float(evidence[key]) if key else 0.0


def character_measure(method: str, evidence: Mapping[str, Any], limits: Mapping[str, Any]) -> Measure | None:
    """The finding's measure against `limits`; None for an alias, which has no measure.
    Hashes are judged on Hamming distance (lower is closer), ORB on RANSAC inliers and CLIP on
    cosine similarity (higher is closer); a CLIP match also needs the zero-shot check."""
    if method == "alias":
        return None
    if method == "clip":
        graded = Measure.count("CLIP similarity", evidence["similarity"], limits["match_similarity"],
                               limits["review_similarity"])
        strength = graded.strength
        if strength == MATCHES and evidence["zero_shot"] < limits["min_zero_shot"]:
            strength = CLOSE
        return Measure(graded.name, graded.value,
                       f"match >= {limits['match_similarity']} with the title likeliest at >= "
                       f"{limits['min_zero_shot']}, review >= {limits['review_similarity']}", strength)
    if method == "orb":
        return Measure.count("ORB inliers", evidence["inliers"], limits["match_inliers"], limits["review_inliers"])
    return Measure.distance(f"{method} distance", evidence["distance"], limits["match_distance"],
                            limits["review_distance"])


def _judge(method: str, evidence: Mapping[str, Any], limits: Mapping[str, Any]) -> tuple[str, str] | None:
    """(verdict, detail) for one character finding, or None when it is too weak to count. An
    alias in the prompt gets the policy's alias verdict, never the claim's action."""
    title = evidence["title"]
    measure = character_measure(method, evidence, limits)
    if measure is None:
        return limits["verdict"], f"the prompt names claim {title!r} ({evidence['words']!r} reads as alias " \
                                  f"{evidence['alias']!r})"
    if measure.strength is None:
        return None
    verdict = evidence["action"] if measure.strength == MATCHES else "review"
    shown = (f"CLIP similarity {measure.value:.3f}, zero-shot {evidence['zero_shot']:.2f}" if method == "clip"
             else f"{measure.value} ORB inliers" if method == "orb" else f"{measure.name} {measure.value}")
    return verdict, f"frame {evidence['frame']}: {shown} {measure.strength} claim {title!r} ({measure.bars})"


def check_character_policy(section: Mapping[str, Any]) -> None:
    """Each method's bars must be ordered, and the alias verdict must not be allow."""
    for method, limits in section.items():
        if method == "alias":
            ok = limits.get("verdict") in VERDICTS and limits["verdict"] != "allow"
        elif method == "orb":
            ok = 0 < limits["review_inliers"] <= limits["match_inliers"]
        elif method == "clip":
            ok = (0 < limits["review_similarity"] <= limits["match_similarity"] <= 1
                  and 0 <= limits["min_zero_shot"] <= 1)
        else:
            ok = limits["match_distance"] <= limits["review_distance"]
        if not ok:
            raise ValueError(f"character.{method} bars are inconsistent: {dict(limits)}")
