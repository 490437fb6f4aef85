"""How every suite compares two things on a noisy machine: A and B measured in turn, A B A B ...,
after a warm-up, for at least five rounds, so that noise which hits one moment hits both sides.

Each side reports its median and min-max over the rounds; the verdict comes from the ratio of
the two sides *within each round*, with its median and min-max. When that range straddles 1.0
the comparison is inconclusive, and says so, rather than letting one lucky round pick a winner.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

# One round of one side: the figures it measured, by name (ms per query, clips/s ...).
Measure = Callable[[], Mapping[str, float]]
MIN_ROUNDS = 5
Input = TypeVar("Input")
FASTER, SLOWER, INCONCLUSIVE = "faster", "slower", "inconclusive"


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high}

    def show(self, digits: int = 2, unit: str = "") -> str:
        return f"{self.median:.{digits}f}{unit} ({self.low:.{digits}f}-{self.high:.{digits}f})"


@dataclass(frozen=True)
class Comparison:
    """One figure of A against the same figure of B, round by round. `speedups` are how many
    times better A did than B in each round: B/A for a cost, A/B for a rate."""

    figure: str
    a: str
    b: str
    a_rounds: tuple[float, ...]
    b_rounds: tuple[float, ...]
    higher_is_better: bool

    @property
    def a_spread(self) -> Spread:
        return Spread.of(self.a_rounds)

    @property
    def b_spread(self) -> Spread:
        return Spread.of(self.b_rounds)

    @property
    def speedups(self) -> tuple[float, ...]:
        pairs = zip(self.a_rounds, self.b_rounds, strict=True)
        return tuple(a / b if self.higher_is_better else b / a for a, b in pairs)

    @property
    def speedup(self) -> Spread:
        return Spread.of(self.speedups)

    @property
    def verdict(self) -> str:
        """A is faster (better) in every round, slower in every round, or it depends on the round."""
        s = self.speedup
        return FASTER if s.low > 1.0 else SLOWER if s.high < 1.0 else INCONCLUSIVE

    def to_dict(self) -> dict:
        return {"figure": self.figure, "a": self.a, "b": self.b, "rounds": len(self.a_rounds),
                "a_spread": self.a_spread.to_dict(), "b_spread": self.b_spread.to_dict(),
                "a_rounds": list(self.a_rounds), "b_rounds": list(self.b_rounds),
                "speedup": self.speedup.to_dict(), "verdict": self.verdict}

    def line(self, digits: int = 2) -> str:
        """`ms: A 1.23 (1.10-1.40) vs B 2.00 (1.90-2.20); A is 1.62x (1.45-1.80) as fast over 5 rounds: faster`."""
        return (f"{self.figure}: {self.a} {self.a_spread.show(digits)} vs {self.b} "
                f"{self.b_spread.show(digits)}; {self.a} is {self.speedup.show(2, 'x')} as fast over "
                f"{len(self.a_rounds)} rounds: {self.verdict}")


def interleaved(a: Measure, b: Measure, labels: tuple[str, str], higher_is_better: Sequence[str] = (),
                rounds: int = MIN_ROUNDS, budget_s: float = 0.0, warmup: int = 1,
                say: Callable[[str], None] | None = None) -> dict[str, Comparison]:
    """A against B (the baseline): one Comparison per figure the two measure. Figures named in
    `higher_is_better` are rates; the others are costs."""
    measured = in_turn(dict(zip(labels, (a, b), strict=True)), rounds, budget_s, warmup, say)
    return compared(measured, *labels, higher_is_better)


def in_turn(sides: Mapping[str, Measure], rounds: int = MIN_ROUNDS, budget_s: float = 0.0, warmup: int = 1,
            say: Callable[[str], None] | None = None) -> dict[str, list[Mapping[str, float]]]:
    """Each side measured in turn, `warmup` times unrecorded, then in `rounds` rounds (more while
    `budget_s` lasts); every round's figures, by side."""
    if rounds < MIN_ROUNDS:
        raise ValueError(f"a comparison needs at least {MIN_ROUNDS} rounds, got {rounds}")
    for _ in range(warmup):
        for measure in sides.values():
            measure()
    measured: dict[str, list[Mapping[str, float]]] = {label: [] for label in sides}
    started, done = time.monotonic(), 0
    while done < rounds or time.monotonic() - started < budget_s:
        for label, measure in sides.items():
            measured[label].append(measure())
        done += 1
        if say:
            say(f"  round {done}{'' if budget_s else f'/{rounds}'}: {', '.join(sides)}")
    return measured


def compared(measured: Mapping[str, Sequence[Mapping[str, float]]], a: str, b: str,
             higher_is_better: Sequence[str] = ()) -> dict[str, Comparison]:
    """Side `a` against side `b` of `in_turn`'s rounds, one Comparison per figure both have."""
    figures = [f for f in measured[a][0] if f in measured[b][0]]
    return {f: Comparison(f, a, b, tuple(r[f] for r in measured[a]), tuple(r[f] for r in measured[b]),
                          f in higher_is_better) for f in figures}


def timed_ms(figure: str, run: Callable[[], Any], per: int = 1) -> Measure:
    """A Measure whose round is one call of `run`: `figure` is the milliseconds it took, over `per`."""
    def measure() -> dict[str, float]:
        started = time.perf_counter()
        run()
        return {figure: (time.perf_counter() - started) * 1000 / per}

    return measure


def per_call(call: Callable[[Input], Any], inputs: Sequence[Input]) -> Measure:
    """A Measure whose round is `call` on each input in turn, each timed: p50 and p99 ms per call."""
    def measure() -> dict[str, float]:
        times = []
        for item in inputs:
            started = time.perf_counter()
            call(item)
            times.append((time.perf_counter() - started) * 1000)
        return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}

    return measure
