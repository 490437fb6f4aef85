"""How the console shows a voice's likeness or consent reason: when in the clip the voice spoke
and its distance to the person it matched, against the bars of the model that measured it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.likeness import likeness_measure
from classifiers.voice.rule import VOICE
from clipguard.core.families import ReasonView, ScoreLine


def voice_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
               attrs: Mapping[str, Any]) -> list[ReasonView]:
    """One line per stretch of the soundtrack the person's voice was heard in."""
    evidence = reason["evidence"]
    limits = (section or {}).get("models", {}).get(evidence.get("model"))
    bars = likeness_measure(VOICE, evidence, limits).bars if limits else "no bar in the loaded policy"
    heard = [evidence, *({**evidence, **other} for other in evidence.get("also", ()))]
    name = evidence["name"]
    return [ReasonView(marks=(said := f"{VOICE.where(h)}: {name}'s voice ({h['distance']:.3f})",),
                       scores=(ScoreLine(reason["signal"], f"voice distance to {name}", h["distance"], bars),),
                       heard=(*h["clip_range"], said))
            for h in heard]
