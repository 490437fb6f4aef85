"""The one way `clipguard bench` compares two things (bench/compare.py), and the machine state
it records beside each result (bench/machine.py)."""

from __future__ import annotations

import itertools

import pytest

from bench.compare import FASTER, INCONCLUSIVE, SLOWER, Comparison, compared, in_turn, interleaved, per_call
from bench.machine import describe, machine_state


def test_the_sides_run_in_turn_after_a_warm_up():
    calls = []

    def side(name: str, values):
        it = iter(values)
        return lambda: calls.append(name) or {"ms": next(it)}

    result = interleaved(side("A", [9, 1, 1, 1, 1, 1]), side("B", [9, 2, 2, 2, 2, 2]), ("A", "B"))
    assert calls == ["A", "B"] * 6              # one warm-up round, then five
    c = result["ms"]
    assert c.a_rounds == (1,) * 5 and c.b_rounds == (2,) * 5     # the warm-up is not recorded
    assert c.speedups == (2.0,) * 5 and c.verdict == FASTER


def test_a_cost_and_a_rate_point_the_same_way():
    cost = Comparison("ms", "A", "B", (1, 1, 1, 1, 1), (3, 3, 3, 3, 3), higher_is_better=False)
    rate = Comparison("per_s", "A", "B", (1, 1, 1, 1, 1), (3, 3, 3, 3, 3), higher_is_better=True)
    assert cost.speedup.median == 3.0 and cost.verdict == FASTER
    assert rate.speedup.median == pytest.approx(1 / 3) and rate.verdict == SLOWER


def test_a_ratio_whose_range_spans_one_is_inconclusive():
    c = Comparison("ms", "ours", "theirs", (1.0, 1.2, 0.9, 1.1, 1.4), (1.3, 1.0, 1.2, 1.0, 1.2), False)
    assert c.speedup.low < 1.0 < c.speedup.high
    assert c.verdict == INCONCLUSIVE
    line = c.line()
    assert line.startswith("ms: ours 1.10 (0.90-1.40) vs theirs 1.20 (1.00-1.30); ours is ")
    assert line.endswith("over 5 rounds: inconclusive")
    assert c.to_dict()["speedup"] == {"median": c.speedup.median, "min": c.speedup.low, "max": c.speedup.high}


def test_fewer_than_five_rounds_are_refused_and_a_budget_adds_rounds():
    with pytest.raises(ValueError, match="at least 5 rounds"):
        interleaved(lambda: {"x": 1.0}, lambda: {"x": 1.0}, ("A", "B"), rounds=3)
    ticks = itertools.count()
    measured = in_turn({"A": lambda: {"x": float(next(ticks))}}, rounds=5, budget_s=0.05, warmup=0)
    assert len(measured["A"]) >= 5


def test_three_sides_compare_pairwise_from_the_same_rounds():
    measured = in_turn({"p1": lambda: {"per_s": 2.0}, "p2": lambda: {"per_s": 3.0}, "here": lambda: {"per_s": 1.0}},
                       warmup=0)
    assert compared(measured, "p2", "here", ("per_s",))["per_s"].speedup.median == 3.0
    assert compared(measured, "p2", "p1", ("per_s",))["per_s"].speedup.median == 1.5


def test_per_call_times_each_input():
    seen = []
    figures = per_call(seen.append, [1, 2, 3])()
    assert seen == [1, 2, 3] and set(figures) == {"p50_ms", "p99_ms"} and figures["p99_ms"] >= figures["p50_ms"]


def test_the_machine_state_names_the_cpu_the_load_and_the_blas_kernel():
    state = machine_state()
    assert state["cores"] >= 1 and len(state["load_average"]) == 3
    assert state["blas"] and state["blas"][0]["internal_api"]
    assert "kernel" in describe(state) and state["cpu"] in describe(state)
