"""How the console shows a character reason: the finding's measure against the loaded policy's
bars, worded as the rule words it, and the claimed reference beside the frame it matched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.character.rule import character_measure
from clipguard.core.families import ReasonView, ScoreLine

NO_BAR = "no bar in the loaded policy"


def character_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
                   attrs: Mapping[str, Any]) -> list[ReasonView]:
    """The claim's strongest finding and every other one that supports it, each on its frame."""
    evidence = reason["evidence"]
    findings = [evidence, *({**evidence, **other} for other in evidence.get("also", ()))]
    return [_finding_view(f, section) for f in findings if f["method"] != "alias"]   # an alias has no frame


def _finding_view(evidence: Mapping[str, Any], section: Mapping[str, Any] | None) -> ReasonView:
    method = evidence["method"]
    limits = (section or {}).get(method)
    measure = character_measure(method, evidence, limits) if limits is not None else None
    line = (ScoreLine("character", measure.name, measure.value, measure.bars) if measure
            else ScoreLine("character", method, float("nan"), NO_BAR))
    shown_as = f"{line.measure} {line.value}"
    title = evidence["title"]
    return ReasonView(frame=evidence["frame"], marks=(f"{title} ({shown_as})",), boxes=((0.0, 0.0, 1.0, 1.0, title),),
                      scores=(line,), reference=(title, shown_as, evidence["reference_id"]))
