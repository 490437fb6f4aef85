"""How urgent analyst work is: severity by what is at stake, and a deadline per kind of item.

The review queue orders by severity first, then by how close each item is to its deadline, so
an old low-stakes review does not starve a fresh removal request, and vice versa within a level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from clipguard.core.vocab import ItemKind, words

ITEM_KINDS = words(ItemKind)
# Time to first action. A person asking for their face to be removed waits least.
SLA: Mapping[str, dt.timedelta] = {
    "review": dt.timedelta(hours=4),
    "removal_request": dt.timedelta(hours=1),
    "dispute": dt.timedelta(hours=24),
}
# Harm to a person first, then explicit content, then rights; a clip we could not read at all
# (media errors, failed checks) is unknown rather than harmless.
SIGNAL_SEVERITY: Mapping[str, int] = {"consent": 4, "likeness": 4, "explicit": 3, "character": 2, "media": 2}
KIND_SEVERITY: Mapping[str, int] = {"removal_request": 4, "dispute": 2}
DEFAULT_SEVERITY = 1


def review_severity(reasons: Sequence[Mapping[str, Any]]) -> int:
    """The severity of a `review` decision: that of its most serious reason."""
    return max((SIGNAL_SEVERITY.get(r["signal"], DEFAULT_SEVERITY) for r in reasons), default=DEFAULT_SEVERITY)


def item_severity(kind: str, reasons: Sequence[Mapping[str, Any]] = ()) -> int:
    if kind == "review":
        return review_severity(reasons)
    return KIND_SEVERITY[kind]
