"""Turns a decision's reasons into what the item page shows: flagged frames with their boxes,
matched references beside the frame they matched, and each score against its policy bar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from clipguard.contracts import thumbnail_ref
from policies.engine import Policy


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
    method: str
    distance: int
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
            if shown:
                shown.marks.append(f"{evidence['title']} ({evidence['method']}, distance {evidence['distance']})")
                shown.boxes.append((0.0, 0.0, 1.0, 1.0, evidence["title"]))
            matches.append(Match(evidence["title"], evidence["method"], evidence["distance"],
                                 frame_url(clip_id, evidence["frame"]),
                                 f"/console/references/{quote(evidence['reference_id'])}.jpg"))
            scores.append(_character_line(evidence, policy))
        elif reason["signal"] == "explicit":
            if shown:
                shown.marks.append(f"explicit {evidence['score_max']:.3f}")
            scores += _explicit_lines(evidence, policy, attrs)
        elif shown and "box" in evidence:
            shown.boxes.append((*evidence["box"], reason["signal"]))
    return EvidenceView(list(views.values()), matches, scores)


def _character_line(evidence: Mapping[str, Any], policy: Policy) -> ScoreLine:
    limits = policy.signals.get("character", {}).get(evidence["method"], {})
    bars = (f"match <= {limits['match_distance']}, review <= {limits['review_distance']}" if limits
            else "no bar in the loaded policy")
    return ScoreLine("character", f"{evidence['method']} distance", evidence["distance"], bars)


def _explicit_lines(evidence: Mapping[str, Any], policy: Policy, attrs: Mapping[str, Any]) -> list[ScoreLine]:
    config = policy.signals.get("explicit", {})
    limits = {**config, **config.get("audiences", {}).get(attrs.get("audience"), {})}
    if not limits:
        return [ScoreLine("explicit", "max", evidence["score_max"], "no bar in the loaded policy")]
    return [ScoreLine("explicit", f"top-{evidence['k']} mean", evidence["score_topk_mean"],
                      f"block >= {limits['block']}"),
            ScoreLine("explicit", "max", evidence["score_max"], f"review >= {limits['review']}")]
