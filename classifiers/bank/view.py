"""How the console shows a bank reason: the bank, the entry and the distance, and no frame (an
analyst does not look at what a bank lists)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.families import ReasonView, ScoreLine


def bank_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
              attrs: Mapping[str, Any]) -> list[ReasonView]:
    e = reason["evidence"]
    marks = [f"bank {e['bank']} entry {e['entry_id']} ({e['signal_type']})", "frames withheld"]
    if e.get("label"):
        marks.append(f"label {e['label']}")
    if e["signal_type"] == "pdq":
        bar = e["pdq_threshold"] if e["pdq_threshold"] is not None else (section or {}).get("pdq_distance", "?")
        scores = (ScoreLine("bank", "PDQ distance, bits", e["distance"], f"match at <= {bar}"),)
    elif e["signal_type"] == "vpdq":
        bar = ((section or {}).get("vpdq") or {}).get("query_match_percent", "?")
        scores = (ScoreLine("bank", "vPDQ query match, %", e["query_match_percent"], f"match at >= {bar}"),)
    else:
        scores = (ScoreLine("bank", e["signal_type"].upper(), 0.0, "exact"),)
    return [ReasonView(marks=tuple(marks), scores=scores)]
