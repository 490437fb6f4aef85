"""Every gate decision's inputs, kept for `clipguard policy backtest`: the clip's event attrs, any
media error, and each signal's findings. Written with the decision (registry/store.py); read in
decision order; pruned after `CLIPGUARD_INPUT_RETENTION_DAYS`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from registry.models import DecisionInputRow


@dataclass(frozen=True)
class StoredInputs:
    clip_id: str
    policy: str           # the live policy that decided it
    verdict: str          # and its verdict
    inputs: dict[str, Any]


class DecisionInputs:
    def __init__(self, engine: Engine):
        self._engine = engine

    def between(self, since: dt.datetime | None = None, until: dt.datetime | None = None) -> Iterator[StoredInputs]:
        """The inputs of clips decided in [since, until), streamed rather than held. A backtest reads
        a million of these, so this is a Core query of the four columns it needs: through an ORM
        session, with the timestamp, a row cost five times as much."""
        query = (select(DecisionInputRow.clip_id, DecisionInputRow.policy, DecisionInputRow.verdict,
                        DecisionInputRow.inputs).where(*_window(since, until)))
        with self._engine.connect() as connection:
            yield from (StoredInputs(*row) for row in connection.execution_options(yield_per=5000).execute(query))

    def span(self, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> tuple[dt.datetime | None, dt.datetime | None]:
        """When the first and the last of those clips were decided."""
        query = select(func.min(DecisionInputRow.decided_at), func.max(DecisionInputRow.decided_at)).where(
            *_window(since, until))
        with Session(self._engine) as session:
            first, last = session.execute(query).one()
        return first, last

    def prune(self, older_than: dt.datetime) -> int:
        """Delete the inputs of decisions made before `older_than`; returns how many went."""
        with Session(self._engine) as session, session.begin():
            return session.execute(delete(DecisionInputRow).where(DecisionInputRow.decided_at < older_than)).rowcount


def _window(since: dt.datetime | None, until: dt.datetime | None) -> list:
    return [*([DecisionInputRow.decided_at >= since] if since is not None else []),
            *([DecisionInputRow.decided_at < until] if until is not None else [])]

