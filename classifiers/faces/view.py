"""How the console shows a likeness or consent reason: the face's box and its distance to the
person it matched, against the bars of the model that measured it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.faces.rule import FACE
from classifiers.likeness import likeness_measure
from clipguard.core.families import ReasonView, ScoreLine


def faces_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
               attrs: Mapping[str, Any]) -> list[ReasonView]:
    """The person's closest face and every other sighting of them, each boxed on its frame."""
    evidence = reason["evidence"]
    sightings = [evidence, *({**evidence, **other} for other in evidence.get("also", ()))]
    return [_sighting_view(reason["signal"], s, section) for s in sightings]


def _sighting_view(signal: str, evidence: Mapping[str, Any], section: Mapping[str, Any] | None) -> ReasonView:
    if "distance" not in evidence:   # a declared cameo, or a removal request: at most a box
        boxes = ((*evidence["box"], signal),) if "box" in evidence else ()
        return ReasonView(frame=evidence.get("frame"), boxes=boxes)
    limits = (section or {}).get("models", {}).get(evidence.get("model"))
    bars = likeness_measure(FACE, evidence, limits).bars if limits else "no bar in the loaded policy"
    name = evidence["name"]
    return ReasonView(frame=evidence["frame"], marks=(f"{name} ({evidence['distance']:.3f})",),
                      boxes=((*evidence["box"], name),),
                      scores=(ScoreLine(signal, f"face distance to {name}", evidence["distance"], bars),))
