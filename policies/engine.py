"""signals in, verdict out: no I/O, no clock, so it is tested and replayed on its own.

A policy is a YAML file with a name and version. Each signal family has one rule function
here, which turns that family's findings into (verdict, reason) pairs using the thresholds the
policy gives it. The strongest verdict wins: takedown > block > review > allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from clipguard.core.contracts import VERDICTS, Reason, Verdict, strongest
from clipguard.core.signals import Signal


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    required_signals: tuple[str, ...]
    on_missing_signal: Verdict
    on_media_error: Verdict
    signals: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Ruling:
    verdict: Verdict
    reasons: tuple[Reason, ...]


# A rule gets the signal, its section of the policy, the policy label, and the clip's attrs.
Rule = Callable[[Signal, Mapping[str, Any], str, Mapping[str, Any]], list[tuple[Verdict, Reason]]]


def character_rule(signal: Signal, config: Mapping[str, Any], policy: str,
                   attrs: Mapping[str, Any]) -> list[tuple[Verdict, Reason]]:
    out = []
    for finding in signal.findings:
        evidence = finding.evidence
        method = evidence["method"]
        judged = _judge_character(method, evidence, config[method])
        if judged is not None:
            verdict, detail = judged
            out.append((verdict, Reason(f"{policy}/character.{method}", "character", detail, finding.score,
                                        dict(evidence))))
    return out


@dataclass(frozen=True)
class Measure:
    """How close one character finding is, in the terms of its method, beside the policy's bars."""

    name: str       # e.g. "pdq distance", "ORB inliers", "CLIP similarity"
    value: float
    bars: str
    strength: str | None    # "matches", "is close to", or None when below the review bar


def character_measure(method: str, evidence: Mapping[str, Any], limits: Mapping[str, Any]) -> Measure | None:
    """The finding's measure against `limits`; None for an alias, which has no measure.
    Hashes are judged on Hamming distance (lower is closer), ORB on RANSAC inliers and CLIP on
    cosine similarity (higher is closer); a CLIP match also needs the zero-shot check."""
    if method == "alias":
        return None
    if method == "clip":
        similarity = evidence["similarity"]
        confirmed = similarity >= limits["match_similarity"] and evidence["zero_shot"] >= limits["min_zero_shot"]
        return Measure("CLIP similarity", similarity,
                       f"match >= {limits['match_similarity']} with the title likeliest at >= "
                       f"{limits['min_zero_shot']}, review >= {limits['review_similarity']}",
                       "matches" if confirmed else "is close to" if similarity >= limits["review_similarity"]
                       else None)
    if method == "orb":
        inliers = evidence["inliers"]
        return Measure("ORB inliers", inliers,
                       f"match >= {limits['match_inliers']}, review >= {limits['review_inliers']}",
                       "matches" if inliers >= limits["match_inliers"]
                       else "is close to" if inliers >= limits["review_inliers"] else None)
    distance = evidence["distance"]
    return Measure(f"{method} distance", distance,
                   f"match <= {limits['match_distance']}, review <= {limits['review_distance']}",
                   "matches" if distance <= limits["match_distance"]
                   else "is close to" if distance <= limits["review_distance"] else None)


def _judge_character(method: str, evidence: Mapping[str, Any],
                     limits: Mapping[str, Any]) -> tuple[Verdict, str] | None:
    """(verdict, detail) for one character finding, or None when it is too weak to count. An
    alias in the prompt gets the policy's alias verdict, never the claim's action."""
    title = evidence["title"]
    measure = character_measure(method, evidence, limits)
    if measure is None:
        return limits["verdict"], f"the prompt names claim {title!r} ({evidence['words']!r} reads as alias " \
                                  f"{evidence['alias']!r})"
    if measure.strength is None:
        return None
    verdict = evidence["action"] if measure.strength == "matches" else "review"
    shown = (f"CLIP similarity {measure.value:.3f}, zero-shot {evidence['zero_shot']:.2f}" if method == "clip"
             else f"{measure.value} ORB inliers" if method == "orb" else f"{measure.name} {measure.value}")
    return verdict, f"frame {evidence['frame']}: {shown} {measure.strength} claim {title!r} ({measure.bars})"


def explicit_limits(config: Mapping[str, Any], audience: Any) -> dict[str, Any]:
    """The explicit bars for a clip's audience: the audience's own over the defaults."""
    return {**config, **config.get("audiences", {}).get(audience, {})}


def explicit_rule(signal: Signal, config: Mapping[str, Any], policy: str,
                  attrs: Mapping[str, Any]) -> list[tuple[Verdict, Reason]]:
    """Always one reason, even for allow, so every decision carries the clip's explicit score."""
    audience = attrs.get("audience")
    limits = explicit_limits(config, audience)
    evidence = signal.findings[0].evidence
    topk, peak = evidence["score_topk_mean"], evidence["score_max"]
    if topk >= limits["block"]:
        verdict = "block"
    elif peak >= limits["review"]:
        verdict = "review"
    else:
        verdict = "allow"
    bar = f"block >= {limits['block']} on top-{evidence['k']} mean, review >= {limits['review']} on max"
    detail = (f"explicit top-{evidence['k']} mean {topk:.3f}, max {peak:.3f} at frame {evidence['frame']} "
              f"({bar}{f', audience {audience}' if audience in config.get('audiences', {}) else ''})")
    return [(verdict, Reason(f"{policy}/explicit", "explicit", detail, peak,
                             {**evidence, "model": signal.model, "model_version": signal.model_version}))]


def face_measure(evidence: Mapping[str, Any], limits: Mapping[str, Any]) -> Measure:
    """A face's distance to an enrolled person against the bars of the model that measured it."""
    distance = evidence["distance"]
    return Measure("face distance", distance,
                   f"match <= {limits['match_distance']}, review <= {limits['review_distance']}",
                   "matches" if distance <= limits["match_distance"]
                   else "is close to" if distance <= limits["review_distance"] else None)


def face_rule(signal: Signal, config: Mapping[str, Any], policy: str,
              attrs: Mapping[str, Any]) -> list[tuple[Verdict, Reason]]:
    """likeness: a public figure's face, unless the figure's own cameo permits this creator.
    consent: a cameo owner's face when their permission does not include this creator; a declared
    cameo grants nothing by itself. A face that matches nobody is no reason at all."""
    limits = config["models"].get(signal.model)
    if limits is None:
        return [("review", Reason(f"{policy}/faces", "faces", f"the policy has no face bars for model {signal.model!r}",
                                  None, {"model": signal.model}))]
    out = []
    for finding in signal.findings:
        evidence = finding.evidence
        if evidence["kind"] == "declared":
            out.append((config["declared"]["verdict"], Reason(f"{policy}/consent.declared", "consent", finding.detail,
                                                              None, dict(evidence))))
            continue
        if evidence["creator_permitted"]:
            continue
        measure = face_measure(evidence, limits)
        if measure.strength is None:
            continue
        signal_name = "likeness" if evidence["kind"] == "figure" else "consent"
        who = "public figure" if evidence["kind"] == "figure" else "cameo owner"
        permission = evidence["permission"]
        consent = (f"whose permission ({permission}) does not include this creator" if permission
                   else "who has given no consent through a cameo")
        detail = (f"frame {evidence['frame']}: a face {measure.strength} {who} {evidence['name']!r} "
                  f"(distance {measure.value:.3f}; {measure.bars}), {consent}")
        verdict: Verdict = "block" if measure.strength == "matches" else "review"
        out.append((verdict, Reason(f"{policy}/{signal_name}", signal_name, detail, finding.score,
                                    {**evidence, "model": signal.model, "model_version": signal.model_version})))
    return out


RULES: dict[str, Rule] = {"character": character_rule, "explicit": explicit_rule, "faces": face_rule}


def decide(signals: Mapping[str, Signal], policy: Policy, media_error: tuple[str, str] | None = None,
           attrs: Mapping[str, Any] | None = None) -> Ruling:
    """The verdict for one clip and every reason behind it; `attrs` are the clip's event attrs."""
    if media_error is not None:
        code, message = media_error
        return Ruling(policy.on_media_error, (Reason(f"{policy.label}/media", "media", message, None,
                                                     {"error_code": code}),))
    ruled: list[tuple[Verdict, Reason]] = []
    for name in policy.required_signals:
        signal = signals.get(name)
        if signal is None or not signal.ok:
            why = "was not computed" if signal is None else f"failed: {signal.error}"
            ruled.append((policy.on_missing_signal, Reason(f"{policy.label}/required", name,
                                                           f"required signal {name} {why}", None, {})))
    for name, signal in signals.items():
        if signal.ok and name in policy.signals:
            ruled += RULES[name](signal, policy.signals[name], policy.label, attrs or {})
    verdict = strongest([v for v, _ in ruled])
    # Reasons are listed strongest first, so the first one explains the verdict.
    ordered = sorted(ruled, key=lambda vr: -VERDICTS.index(vr[0]))
    return Ruling(verdict, tuple(r for _, r in ordered))


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and check a policy file; the packaged default when `path` is None."""
    if path is None:
        text = resources.files("policies").joinpath("default.yaml").read_text()
    else:
        text = Path(path).read_text()
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
        raise PolicyError(f"policy {path or 'default'} is malformed: {type(exc).__name__} {exc}") from None
    return policy


def _check(policy: Policy) -> None:
    for verdict in (policy.on_missing_signal, policy.on_media_error):
        if verdict not in VERDICTS or verdict == "allow":
            raise PolicyError(f"policy {policy.label}: failures must map to review, block or takedown, not {verdict!r}")
    unknown = set(policy.signals) - RULES.keys()
    if unknown:
        raise PolicyError(f"policy {policy.label}: no rule for signal(s) {sorted(unknown)}")
    for method, limits in policy.signals.get("character", {}).items():
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
            raise PolicyError(f"policy {policy.label}: character.{method} bars are inconsistent: {dict(limits)}")
    faces = policy.signals.get("faces")
    if faces is not None:
        for model, limits in faces["models"].items():
            if not 0 < limits["match_distance"] <= limits["review_distance"]:
                raise PolicyError(f"policy {policy.label}: faces bars for {model} need 0 < match <= review")
        if faces["declared"]["verdict"] not in VERDICTS or faces["declared"]["verdict"] == "allow":
            raise PolicyError(f"policy {policy.label}: faces.declared must be review, block or takedown")
    explicit = policy.signals.get("explicit")
    if explicit is not None:
        for name, limits in {"default": explicit, **explicit.get("audiences", {})}.items():
            merged = {**explicit, **limits}
            if not 0 <= merged["review"] <= merged["block"] <= 1:
                raise PolicyError(f"policy {policy.label}: explicit ({name}) needs 0 <= review <= block <= 1")
