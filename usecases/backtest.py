"""`clipguard policy backtest`: a candidate policy re-decides the clips the gate decided, from the
inputs the gate stored (registry/inputs.py), without decoding any media, and the result is the
transition matrix a shadow in the gate would have shown over the same clips.

A week of a busy feed is millions of rows, and re-deciding one costs tens of microseconds of
pure Python, so the window is cut into equal time slices, one process each, and their matrices
are added up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from clipguard.core.signals import Signal
from policies.engine import Policy, decide
from policies.transitions import Transitions
from registry.db import engine_for
from registry.inputs import DecisionInputs, StoredInputs
from registry.shadows import ShadowDecisions

PROGRESS_EVERY = 100_000
# The latest row must fall inside the last slice, whose end is exclusive.
PAST_THE_LAST = dt.timedelta(microseconds=1)


def backtest(database_url: str, candidate: Policy, since: dt.datetime | None = None,
             until: dt.datetime | None = None, workers: int = 1,
             progress: Callable[[str], None] | None = None) -> Transitions:
    """The candidate's verdict against the live one for every clip decided in [since, until)."""
    first, last = DecisionInputs(engine_for(database_url)).span(since, until)
    if first is None:
        return Transitions(candidate.label, 0.0)
    start, stop = since or first, until or last + PAST_THE_LAST
    days = (stop - start).total_seconds() / 86400
    if workers <= 1:
        return _backtest_slice(database_url, candidate, start, stop, days, progress)
    cuts = [start + (stop - start) * k / workers for k in range(workers)] + [stop]
    # Spawned, not forked: a forked child would share the parent's database connections.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        parts = pool.map(_backtest_slice, [database_url] * workers, [candidate] * workers, cuts[:-1], cuts[1:],
                         [days] * workers)
        merged = Transitions(candidate.label, days)
        for n, part in enumerate(parts, 1):
            merged.merge(part)
            if progress is not None:
                progress(f"slice {n}/{workers} re-decided: {merged.clips:,} clips so far")
    return merged


def _backtest_slice(database_url: str, candidate: Policy, start: dt.datetime, stop: dt.datetime, days: float,
                    progress: Callable[[str], None] | None = None) -> Transitions:
    transitions = Transitions(candidate.label, days)
    for n, stored in enumerate(DecisionInputs(engine_for(database_url)).between(start, stop), 1):
        transitions.add(stored.clip_id, stored.verdict, redecide(stored, candidate))
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(f"{n:,} clips re-decided")
    return transitions


def redecide(stored: StoredInputs, policy: Policy) -> str:
    """The verdict `policy` gives a clip from its stored inputs."""
    inputs = stored.inputs
    signals = {record["name"]: Signal.from_record(record) for record in inputs["signals"]}
    media_error = inputs["media_error"]
    return decide(signals, policy, tuple(media_error) if media_error else None, inputs["attrs"]).verdict


def shadow_transitions(shadows: ShadowDecisions) -> list[Transitions]:
    """Each shadow policy's transitions so far, as the gate stored its decisions."""
    out = []
    for label, first, last in shadows.policies():
        transitions = Transitions(label, (last - first).total_seconds() / 86400)
        for verdict in shadows.verdicts(label):
            transitions.add(verdict.clip_id, verdict.live_verdict, verdict.verdict)
        out.append(transitions)
    return out
