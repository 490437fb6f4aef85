"""How the console shows a music reason: the matched range of the soundtrack and of the claimed
recording, and the agreeing landmarks against the loaded policy's bars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.music.rule import music_measure
from clipguard.core.families import ReasonView, ScoreLine


def music_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
               attrs: Mapping[str, Any]) -> list[ReasonView]:
    evidence = reason["evidence"]
    (c0, c1), (r0, r1) = evidence["clip_range"], evidence["reference_range"]
    line = (ScoreLine("music", m.name, m.value, m.bars) if section and (m := music_measure(evidence, section))
            else ScoreLine("music", "agreeing landmarks", float(evidence["landmarks"]), "no bar in the loaded policy"))
    said = f"soundtrack {c0:.1f}-{c1:.1f} s = {evidence['title']} {r0:.1f}-{r1:.1f} s"
    return [ReasonView(marks=(said,), scores=(line,), heard=(c0, c1, said))]
