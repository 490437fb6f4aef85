"""How the console shows an explicit reason: the clip's top-k mean and max against the bars of
the clip's audience, and the score on its worst frame."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.explicit.rule import explicit_limits
from clipguard.core.families import ReasonView, ScoreLine


def explicit_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
                  attrs: Mapping[str, Any]) -> list[ReasonView]:
    evidence = reason["evidence"]
    limits = explicit_limits(section or {}, attrs.get("audience"))
    if not limits:
        scores = (ScoreLine("explicit", "max", evidence["score_max"], "no bar in the loaded policy"),)
    else:
        scores = (ScoreLine("explicit", f"top-{evidence['k']} mean", evidence["score_topk_mean"],
                            f"block >= {limits['block']}"),
                  ScoreLine("explicit", "max", evidence["score_max"], f"review >= {limits['review']}"))
    return [ReasonView(frame=evidence["frame"], marks=(f"explicit {evidence['score_max']:.3f}",), scores=scores)]
