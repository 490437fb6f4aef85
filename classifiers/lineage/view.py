"""How the console shows a lineage reason: the parent clip and its verdict (no frame of its own)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipguard.core.families import ReasonView


def lineage_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
                 attrs: Mapping[str, Any]) -> list[ReasonView]:
    evidence = reason["evidence"]
    if "parent_verdict" not in evidence:     # a retroscan's lineage review names the root instead
        return [ReasonView(marks=(f"remix of {evidence.get('root_id', '?')} (taken down)",))]
    return [ReasonView(marks=(f"remix of {evidence['parent_id']} ({evidence['parent_verdict']})",))]
