"""A finding's measure beside the policy's bars, worded one way for every family: what the
rule judges on, the console shows and a holder's match list records; and the grouping of a
family's reasons into one per thing found."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from clipguard.core.contracts import VERDICTS, Reason

MATCHES = "matches"
CLOSE = "is close to"


@dataclass(frozen=True)
class Measure:
    """How close one finding is, in the terms of its method, beside the policy's bars."""

    name: str       # e.g. "pdq distance", "ORB inliers", "CLIP similarity"
    value: float
    bars: str
    strength: str | None    # MATCHES, CLOSE, or None when below the review bar

    @classmethod
    def distance(cls, name: str, value: float, match: float, review: float) -> Measure:
        """Lower is closer: a Hamming or embedding distance."""
        return cls(name, value, f"match <= {match}, review <= {review}",
                   MATCHES if value <= match else CLOSE if value <= review else None)

    @classmethod
    def count(cls, name: str, value: float, match: float, review: float) -> Measure:
        """Higher is closer: agreeing keypoints, a similarity."""
        return cls(name, value, f"match >= {match}, review >= {review}",
                   MATCHES if value >= match else CLOSE if value >= review else None)


def one_reason_each(judged: Sequence[tuple[str, Reason]], key: Callable[[Reason], Hashable],
                    also: Callable[[str, Reason], dict[str, Any]]) -> list[tuple[str, Reason]]:
    """One reason per claim, person or model (`key`), so an analyst reads one line per thing found.
    The strongest member (verdict, then score) speaks for the group; the others stay in its
    evidence under `also`, strongest first, each as `also(verdict, reason)` describes it."""
    groups: dict[Hashable, list[tuple[str, Reason]]] = {}
    for verdict, reason in judged:
        groups.setdefault(key(reason), []).append((verdict, reason))
    out = []
    for members in groups.values():
        members.sort(key=lambda vr: (VERDICTS.index(vr[0]), vr[1].score or 0.0), reverse=True)
        verdict, best = members[0]
        if len(members) > 1:
            others = [also(v, r) for v, r in members[1:]]
            best = replace(best, detail=f"{best.detail}; {len(others)} more finding(s) agree",
                           evidence={**best.evidence, "also": others})
        out.append((verdict, best))
    return out
