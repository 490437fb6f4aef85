"""What every evaluation harness shares, in the shape of perception's `benchmarking`: one
threshold picker (recall at a fixed false-match budget) and one false-match budget."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

# At most this share of unrelated probes may match something at a picked bar.
MAX_FALSE_MATCH = 0.01
Bar = TypeVar("Bar")


def loosest_bar(candidates: Iterable[Bar], false_rate: Callable[[Bar], float],
                budget: float = MAX_FALSE_MATCH) -> tuple[Bar, float] | None:
    """The loosest bar whose false-match rate stays within `budget`, with that rate; None when even
    the strictest exceeds it. `candidates` run from strictest to loosest, and a looser bar never
    matches less, so the walk stops at the first bar over budget."""
    best = None
    for bar in candidates:
        rate = false_rate(bar)
        if rate > budget:
            break
        best = (bar, rate)
    return best
