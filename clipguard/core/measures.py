"""A finding's measure beside the policy's bars, worded one way for every family: what the
rule judges on, the console shows and a holder's match list records."""

from __future__ import annotations

from dataclasses import dataclass

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
