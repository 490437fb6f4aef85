"""What a takedown does to the remixes below it: every descendant still shown (registry/lineage.py
walks them, bounded and cycle-safe) is checked again where the caller has a check for the same
claim or person, and sent to review where that finds nothing or there is no check. None is left
up unlooked-at; those already blocked or taken down, and analysts' calls, stay as they are."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from clipguard.core.contracts import Decision, utcnow
from policies.decisions import lineage_review
from registry.lineage import Lineage
from registry.store import KEEP_SIGNALS_FOR, DecisionStore

Found = TypeVar("Found")


@dataclass(frozen=True)
class Cascade(Generic[Found]):
    found: list[Found] = field(default_factory=list)   # the check's matches, for the caller to take down
    reviewed: list[str] = field(default_factory=list)  # no match (or no check): queued for an analyst
    hidden: int = 0          # already blocked or taken down, or an analyst's call: left as they are


def cascade(decisions: DecisionStore, lineage: Lineage, roots: Iterable[str], cause: str, policy_label: str,
            publish: Callable[[Decision], None], check: Callable[[str], Found | None] | None = None) -> Cascade[Found]:
    """Walk the remixes of `roots`: `check(clip_id)` each one still shown; record a lineage review
    (published first) for each it does not match."""
    found, reviews, hidden = [], [], 0
    for remix in lineage.descendants(roots):
        current = decisions.get(remix.clip_id)
        if current is None or current["verdict"] not in KEEP_SIGNALS_FOR or current["source"] == "analyst":
            hidden += 1
            continue
        match = check(remix.clip_id) if check is not None else None
        if match is not None:
            found.append(match)
        else:
            reviews.append(lineage_review(remix.clip_id, remix.parent_id, remix.root_id, remix.generation, cause,
                                          policy_label, utcnow()))
    reviewed = decisions.record_retroscan(reviews, publish) if reviews else []
    return Cascade(found, sorted(reviewed), hidden)
