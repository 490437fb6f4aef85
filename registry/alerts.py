"""Data-quality alerts: what `clipguard audit` found wrong, for operators and the console."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from registry.models import QualityAlertRow


@dataclass(frozen=True)
class Alert:
    suite: str
    check: str
    problem: str
    observed: str


class AlertStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def raise_alerts(self, alerts: Sequence[Alert], window: str) -> None:
        now = dt.datetime.now(dt.UTC)
        with Session(self._engine) as session, session.begin():
            session.add_all(QualityAlertRow(raised_at=now, suite=a.suite, check_name=a.check, problem=a.problem[:256],
                                            observed=a.observed, window=window[:128]) for a in alerts)

    def recent(self, limit: int = 20) -> list[tuple[dt.datetime, str, Alert]]:
        query = select(QualityAlertRow).order_by(QualityAlertRow.alert_id.desc()).limit(limit)
        with Session(self._engine) as session:
            return [(r.raised_at, r.window, Alert(r.suite, r.check_name, r.problem, r.observed))
                    for r in session.scalars(query)]
