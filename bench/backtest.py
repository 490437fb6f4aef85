"""`clipguard bench --suite backtest`: a candidate policy over a week of stored decision inputs.

1. Stores N gate decisions' inputs (default 1,000,000) in a private SQLite registry, spread over
   seven days, as the gate writes them (registry/store.py): every clip has a signal from each
   registered family, built from its manifest example. Most clips are clean (an explicit score
   under the review bar, no other finding); 1 in 20 carries a face finding, 1 in 50 a character
   finding, 1 in 100 a lineage finding, and explicit scores run 0-1 so that every verdict occurs.
   Built once per policy version and cached.
2. In turn, round after round (bench/compare.py): reading every stored row (the floor: the
   database and the JSON decoding), then the backtest itself (`usecases.backtest`, what
   `clipguard policy backtest` runs), under the packaged policy with a lower explicit review bar.
3. Prints both rates, how much of the backtest's time is deciding, and the time for the N
   decisions against the issue's target: a week of 1M decisions in at most 60 s.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy import Engine, func, insert, select

from bench.compare import MIN_ROUNDS, Comparison, compared, in_turn
from bench.results import say
from clipguard.core import families
from clipguard.core.config import Settings
from clipguard.core.signals import Finding, Signal
from policies.engine import Policy, decide
from registry.db import migrate
from registry.inputs import DecisionInputs
from registry.models import DecisionInputRow
from usecases.backtest import backtest
from usecases.policy_files import load_policy

TARGET_S = 60.0
WEEK = dt.timedelta(days=7)
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
FACES_EVERY, CHARACTER_EVERY, LINEAGE_EVERY = 20, 50, 100
WRITE_BATCH = 20_000
Result = TypeVar("Result")


def run_backtest_bench(settings: Settings, decisions: int = 1_000_000, rounds: int = MIN_ROUNDS) -> dict:
    work = settings.home / "bench-backtest"
    work.mkdir(parents=True, exist_ok=True)
    live = load_policy()
    candidate = replace(live, version="bench-candidate",
                        signals={**live.signals, "explicit": {**live.signals["explicit"], "review": 0.1}})
    say(f"[1/2] {decisions:,} stored decision inputs over 7 days")
    engine = cached_registry(work, live, decisions)
    inputs, url = DecisionInputs(engine), engine.url.render_as_string(hide_password=False)
    workers = os.cpu_count() or 1
    results: dict = {}

    def read_all() -> dict[str, float]:
        seconds, count = timed(lambda: sum(1 for _ in inputs.between()))
        return {"clips_per_s": count / seconds, "seconds": seconds}

    def backtest_all() -> dict[str, float]:
        seconds, transitions = timed(lambda: backtest(url, candidate, workers=workers))
        results["transitions"] = transitions.to_dict()
        return {"clips_per_s": transitions.clips / seconds, "seconds": seconds}

    say(f"[2/2] reading every row in one process, then the backtest in {workers}, in turn, {rounds} rounds")
    # No warm-up: the rows were just written or read, so the page cache is as warm as it gets.
    measured = in_turn({"read only": read_all, "backtest": backtest_all}, rounds, warmup=0, say=say)
    rate = compared(measured, "backtest", "read only", ("clips_per_s",))["clips_per_s"]
    seconds_s = sorted(r["seconds"] for r in measured["backtest"])
    print_results(decisions, workers, rate, seconds_s, results["transitions"])
    return {"decisions": decisions, "workers": workers, "compared": rate.to_dict(), "backtest_seconds": seconds_s,
            "target_s": TARGET_S, "met": seconds_s[-1] <= TARGET_S, "transitions": results["transitions"]}


def timed(run: Callable[[], Result]) -> tuple[float, Result]:
    started = time.perf_counter()
    out = run()
    return time.perf_counter() - started, out


def print_results(decisions: int, workers: int, rate: Comparison, seconds_s: list[float], transitions: dict) -> None:
    click.echo(f"clipguard bench --suite backtest: {decisions:,} stored decisions over 7 days, the backtest in "
               f"{workers} processes; clips/s, median (min-max) over the rounds")
    click.echo(f"  {rate.line(0)}")
    median = seconds_s[len(seconds_s) // 2]
    click.echo(f"  {decisions:,} decisions backtested in {median:.1f} s median ({seconds_s[0]:.1f}-{seconds_s[-1]:.1f})"
               f"; target <= {TARGET_S:.0f} s in every round: {'met' if seconds_s[-1] <= TARGET_S else 'NOT met'}")
    live: dict[str, int] = {}
    for cell in transitions["matrix"]:
        live[cell["live"]] = live.get(cell["live"], 0) + cell["count"]
    click.echo(f"  live verdicts: {', '.join(f'{v} {n:,}' for v, n in live.items())}; candidate vs live: "
               f"{transitions['changed']:,} change verdict, +{transitions['queue']['reviews_added']:,} "
               f"-{transitions['queue']['reviews_removed']:,} reviews")


def cached_registry(work: Path, live: Policy, decisions: int) -> Engine:
    """The registry of `decisions` stored inputs, built on first use and kept for the next run."""
    database = work / f"inputs-{decisions}-{live.label}.db"     # a new policy version: new families, maybe
    engine = migrate(f"sqlite:///{database}")
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(DecisionInputRow)).scalar()
    if stored == decisions:
        say(f"  cached in {database}")
        return engine
    rng = random.Random(7)
    examples = {m.family: m.example() for m in families.registered()}
    step = WEEK / decisions
    with engine.begin() as connection:
        connection.execute(DecisionInputRow.__table__.delete())
        for start in range(0, decisions, WRITE_BATCH):
            rows = [stored_row(i, START + step * i, live, examples, rng)
                    for i in range(start, min(decisions, start + WRITE_BATCH))]
            connection.execute(insert(DecisionInputRow), rows)
            if (start // WRITE_BATCH) % 10 == 0:
                say(f"  written {start + len(rows):,}")
    return engine


def stored_row(i: int, at: dt.datetime, live: Policy, examples: dict[str, Signal], rng: random.Random) -> dict:
    """One clip's inputs as the gate stores them, and the live policy's verdict on them."""
    score = round(rng.random() ** 4, 4)        # most clips score low, as benign traffic does
    evidence = {**examples["explicit"].findings[0].evidence, "score_max": score,
                "score_topk_mean": round(score * 0.8, 4)}
    explicit = replace(examples["explicit"], findings=(Finding(f"explicit score {score:.3f}", score, evidence),))
    with_findings = {"character": i % CHARACTER_EVERY == 0, "faces": i % FACES_EVERY == 0,
                     "lineage": i % LINEAGE_EVERY == 0}
    # Every registered family, as the gate stores them: clean unless this clip carries a finding.
    signals = {name: example if with_findings.get(name) else _clean(example) for name, example in examples.items()}
    signals["explicit"] = explicit
    verdict = decide(signals, live).verdict
    return {"clip_id": f"bench-{i:08d}", "decided_at": at, "policy": live.label, "verdict": verdict,
            "inputs": {"attrs": {}, "media_error": None, "signals": [s.as_record() for s in signals.values()]}}


def _clean(example: Signal) -> Signal:
    return replace(example, findings=())
