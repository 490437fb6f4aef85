"""How a candidate policy's verdicts differ from the live policy's on the same clips: the matrix
of (live verdict -> candidate verdict) counts, a few sample clips per cell, and what the
difference does to the analysts' queue. A shadow in the gate and a backtest over stored signals
both report it, so the two can be compared cell by cell."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from clipguard.core.contracts import VERDICTS

SAMPLES_PER_CELL = 5
REVIEW = "review"


@dataclass
class Transitions:
    candidate: str                     # the candidate policy's label
    days: float = 1.0                  # how long a window the clips were decided in
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, clip_id: str, live: str, candidate: str) -> None:
        cell = (live, candidate)
        self.counts[cell] += 1
        kept = self.samples.setdefault(cell, [])
        if len(kept) < SAMPLES_PER_CELL:
            kept.append(clip_id)

    def merge(self, other: Transitions) -> None:
        """Add another slice of the same comparison."""
        self.counts.update(other.counts)
        for cell, clips in other.samples.items():
            kept = self.samples.setdefault(cell, [])
            kept += clips[:SAMPLES_PER_CELL - len(kept)]

    @property
    def clips(self) -> int:
        return sum(self.counts.values())

    @property
    def changed(self) -> int:
        return sum(n for (live, candidate), n in self.counts.items() if live != candidate)

    @property
    def reviews_added(self) -> int:
        """Clips the candidate would send to the queue that the live policy did not."""
        return sum(n for (live, candidate), n in self.counts.items() if candidate == REVIEW != live)

    @property
    def reviews_removed(self) -> int:
        return sum(n for (live, candidate), n in self.counts.items() if live == REVIEW != candidate)

    def per_day(self, count: int) -> float:
        """A count as a daily rate; a window under a day counts as one, so a few minutes of
        traffic is not extrapolated into a flood."""
        return count / max(1.0, self.days)

    def to_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "clips": self.clips, "changed": self.changed, "days": round(self.days, 3),
                "matrix": [{"live": live, "candidate": candidate, "count": n,
                            "samples": self.samples.get((live, candidate), [])}
                           for (live, candidate), n in sorted(self.counts.items(), key=_cell_order)],
                "queue": {"reviews_added": self.reviews_added, "reviews_removed": self.reviews_removed,
                          "added_per_day": round(self.per_day(self.reviews_added), 1),
                          "removed_per_day": round(self.per_day(self.reviews_removed), 1)}}

    def table(self) -> list[str]:
        """The matrix as text: live verdicts down, the candidate's across."""
        width = max(len(v) for v in VERDICTS) + 2
        corner = f"live \\ {self.candidate}"
        left = max(len(corner), width) + 2
        lines = [f"{corner:<{left}}" + "".join(f"{v:>{width}}" for v in VERDICTS)]
        for live in VERDICTS:
            lines.append(f"{live:<{left}}" + "".join(f"{self.counts[(live, c)]:>{width}}" for c in VERDICTS))
        lines.append(f"{self.changed} of {self.clips} clips change verdict; queue: +{self.reviews_added} "
                     f"-{self.reviews_removed} reviews ({self.per_day(self.reviews_added):.1f} added and "
                     f"{self.per_day(self.reviews_removed):.1f} removed a day over {self.days:.2f} days)")
        return lines


def _cell_order(item: tuple[tuple[str, str], int]) -> tuple[int, int]:
    (live, candidate), _ = item
    return VERDICTS.index(live), VERDICTS.index(candidate)
