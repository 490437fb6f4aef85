"""Turns a decision's reasons into what the item page shows: flagged frames with their boxes,
matched references beside the frame they matched, and each score against its policy bar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from clipguard.core.contracts import thumbnail_ref
from policies.engine import Policy, character_measure, explicit_limits, face_measure


@dataclass
class FrameView:
    index: int
    t: float
    url: str
    marks: list[str] = field(default_factory=list)
    # Regions as fractions of the frame (x, y, width, height), with a label. A perceptual-hash
    # match covers the whole frame; face signals bring their own boxes.
    boxes: list[tuple[float, float, float, float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    title: str
    measure: str        # e.g. "ORB inliers 57"
    frame_url: str
    reference_url: str


@dataclass(frozen=True)
class ScoreLine:
    signal: str
    measure: str
    value: float
    bars: str


@dataclass(frozen=True)
class EvidenceView:
    frames: list[FrameView]
    matches: list[Match]
    scores: list[ScoreLine]


def frame_url(clip_id: str, index: int) -> str:
    return f"/console/{thumbnail_ref(clip_id, index)}"


def evidence_view(decision: Mapping[str, Any] | None, frames: Sequence[tuple[int, float]], policy: Policy,
                  attrs: Mapping[str, Any]) -> EvidenceView:
    if decision is None:
        return EvidenceView([], [], [])
    clip_id = decision["clip_id"]
    views = {i: FrameView(i, t, frame_url(clip_id, i)) for i, t in frames}
    matches, scores = [], []
    for reason in decision["reasons"]:
        evidence = reason.get("evidence") or {}
        shown = views.get(evidence.get("frame"))
        if reason["signal"] == "character":
            line = _character_line(evidence, policy)
            if line is None:    # an alias in the prompt: no frame, no reference, no measure
                continue
            scores.append(line)
            shown_as = f"{line.measure} {line.value}"
            if shown:
                shown.marks.append(f"{evidence['title']} ({shown_as})")
                shown.boxes.append((0.0, 0.0, 1.0, 1.0, evidence["title"]))
            matches.append(Match(evidence["title"], shown_as, frame_url(clip_id, evidence["frame"]),
                                 f"/console/references/{quote(evidence['reference_id'])}.jpg"))
        elif reason["signal"] == "explicit":
            if shown:
                shown.marks.append(f"explicit {evidence['score_max']:.3f}")
            scores += _explicit_lines(evidence, policy, attrs)
        elif reason["signal"] in ("likeness", "consent") and "distance" in evidence:
            limits = policy.signals.get("faces", {}).get("models", {}).get(evidence.get("model"))
            measure = face_measure(evidence, limits) if limits else None
            scores.append(ScoreLine(reason["signal"], f"face distance to {evidence['name']}", evidence["distance"],
                                    measure.bars if measure else "no bar in the loaded policy"))
            if shown:
                shown.marks.append(f"{evidence['name']} ({evidence['distance']:.3f})")
                shown.boxes.append((*evidence["box"], evidence["name"]))
        elif shown and "box" in evidence:
            shown.boxes.append((*evidence["box"], reason["signal"]))
    return EvidenceView(list(views.values()), matches, scores)


def _character_line(evidence: Mapping[str, Any], policy: Policy) -> ScoreLine | None:
    """The finding's measure against the loaded policy's bars, worded as the policy words it."""
    method = evidence["method"]
    limits = policy.signals.get("character", {}).get(method)
    if limits is None:
        return None if method == "alias" else ScoreLine("character", method, float("nan"),
                                                        "no bar in the loaded policy")
    measure = character_measure(method, evidence, limits)
    return None if measure is None else ScoreLine("character", measure.name, measure.value, measure.bars)


def _explicit_lines(evidence: Mapping[str, Any], policy: Policy, attrs: Mapping[str, Any]) -> list[ScoreLine]:
    config = policy.signals.get("explicit", {})
    limits = explicit_limits(config, attrs.get("audience"))
    if not limits:
        return [ScoreLine("explicit", "max", evidence["score_max"], "no bar in the loaded policy")]
    return [ScoreLine("explicit", f"top-{evidence['k']} mean", evidence["score_topk_mean"],
                      f"block >= {limits['block']}"),
            ScoreLine("explicit", "max", evidence["score_max"], f"review >= {limits['review']}")]
