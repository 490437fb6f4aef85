"""Where a suite's output goes: progress lines to stderr as it works, and its figures, with the
state of the machine before and after, to `$CLIPGUARD_HOME/bench/<suite>.json`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from bench.machine import describe, machine_state
from clipguard.core.config import Settings


def say(message: str) -> None:
    click.echo(message, err=True)


def save(settings: Settings, suite: str, results: dict, machine: dict[str, dict]) -> Path:
    """Write one suite's results; `machine` holds its `before` and `after` machine states."""
    target = settings.home / "bench" / f"{suite}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"suite": suite, "machine": machine, "results": results}, indent=2, default=str))
    return target


def run_suite(settings: Settings, suite: str, run: Callable[[], dict]) -> dict:
    """Run one suite between two readings of the machine's state, and save what it found."""
    before = machine_state()
    say(f"{suite}: on {describe(before)}")
    results = run()
    after = machine_state()
    target = save(settings, suite, results, {"before": before, "after": after})
    click.echo(f"{suite}: ran on {describe(before)}; load after {' '.join(map(str, after['load_average']))}; "
               f"results in {target}")
    return results
