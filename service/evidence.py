"""Turns a decision's reasons into what the item page shows: flagged frames with their boxes,
matched references beside the frame they matched, the stretches of the soundtrack a reason
heard, and each score against its policy bar. Each family's manifest draws its own reasons;
this module only lays them out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from clipguard.core import families
from clipguard.core.contracts import thumbnail_ref
from clipguard.core.families import ReasonView, ScoreLine
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
    measure: str        # e.g. "ORB inliers 57"
    frame_url: str
    reference_url: str


@dataclass(frozen=True)
class SoundView:
    """A stretch of the soundtrack a reason is about: the strip it is marked on, and the excerpt."""

    label: str
    start: float
    end: float
    strip_url: str
    excerpt_url: str


@dataclass(frozen=True)
class EvidenceView:
    frames: list[FrameView]
    matches: list[Match]
    scores: list[ScoreLine]
    sounds: list[SoundView] = field(default_factory=list)


def frame_url(clip_id: str, index: int) -> str:
    return f"/console/{thumbnail_ref(clip_id, index)}"


def evidence_view(decision: Mapping[str, Any] | None, frames: Sequence[tuple[int, float]], policy: Policy,
                  attrs: Mapping[str, Any]) -> EvidenceView:
    if decision is None:
        return EvidenceView([], [], [])
    clip_id = decision["clip_id"]
    views = {i: FrameView(i, t, frame_url(clip_id, i)) for i, t in frames}
    drawers = _drawers()
    matches, scores, sounds = [], [], []
    for drawn in (view for reason in decision["reasons"] for view in _reason_views(reason, drawers, policy, attrs)):
        scores += drawn.scores
        if drawn.heard is not None:
            sounds.append(sound_view(clip_id, *drawn.heard))
        shown = views.get(drawn.frame)
        if shown:
            shown.marks += drawn.marks
            shown.boxes += drawn.boxes
        if drawn.reference is not None:
            title, measure, reference_id = drawn.reference
            matches.append(Match(title, measure, frame_url(clip_id, drawn.frame),
                                 f"/console/references/{quote(reference_id)}.jpg"))
    return EvidenceView(list(views.values()), matches, scores, sounds)


def sound_view(clip_id: str, start: float, end: float, label: str) -> SoundView:
    span = f"start={start:.2f}&end={end:.2f}"
    return SoundView(label, start, end, f"/console/sound/{quote(clip_id)}.png?{span}",
                     f"/console/sound/{quote(clip_id)}.wav?{span}")


def _drawers() -> tuple[dict[str, families.SignalFamilyManifest], dict[str, families.SignalFamilyManifest]]:
    """The families by the reason kinds they give (the first in chain order, where several do)
    and by name."""
    by_kind: dict[str, families.SignalFamilyManifest] = {}
    for manifest in families.registered():
        by_kind |= {kind: manifest for kind in manifest.reasons if kind not in by_kind}
    return by_kind, {m.family: m for m in families.registered()}


def _reason_views(reason: Mapping[str, Any], drawers: tuple[dict, dict], policy: Policy,
                  attrs: Mapping[str, Any]) -> list[ReasonView]:
    """The reason's own family draws it: the one its evidence names where several give its kind
    (faces and voice both give likeness), else the first in chain order. A reason no family
    claims (unreadable media, a failed check) has at most a box, and a reason without evidence
    has nothing to draw."""
    evidence = reason.get("evidence") or {}
    by_kind, by_family = drawers
    manifest = by_family.get(evidence.get("family")) or by_kind.get(reason["signal"])
    if not evidence:
        return []
    if manifest is None:
        boxes = ((*evidence["box"], reason["signal"]),) if "box" in evidence else ()
        return [ReasonView(frame=evidence.get("frame"), boxes=boxes)]
    return manifest.view({**reason, "evidence": evidence}, policy.signals.get(manifest.family), attrs)
