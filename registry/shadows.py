"""What the shadow policies decided beside the live one (written with the decision, in
registry/store.py), read back for the console's "Policy changes" page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from registry.models import ShadowDecisionRow


@dataclass(frozen=True)
class ShadowVerdict:
    clip_id: str
    live_verdict: str
    verdict: str


class ShadowDecisions:
    def __init__(self, engine: Engine):
        self._engine = engine

    def policies(self) -> list[tuple[str, dt.datetime, dt.datetime]]:
        """Each shadow policy with when its first and last clip were decided."""
        query = (select(ShadowDecisionRow.shadow_policy, func.min(ShadowDecisionRow.decided_at),
                        func.max(ShadowDecisionRow.decided_at))
                 .group_by(ShadowDecisionRow.shadow_policy).order_by(ShadowDecisionRow.shadow_policy))
        with Session(self._engine) as session:
            return [tuple(row) for row in session.execute(query)]

    def verdicts(self, shadow_policy: str) -> Iterator[ShadowVerdict]:
        query = (select(ShadowDecisionRow.clip_id, ShadowDecisionRow.live_verdict, ShadowDecisionRow.verdict)
                 .where(ShadowDecisionRow.shadow_policy == shadow_policy).execution_options(yield_per=5000))
        with Session(self._engine) as session:
            yield from (ShadowVerdict(*row) for row in session.execute(query))

    def get(self, clip_id: str, shadow_policy: str) -> dict[str, Any] | None:
        """The shadow's decision for one clip, reasons and all."""
        with Session(self._engine) as session:
            row = session.get(ShadowDecisionRow, (clip_id, shadow_policy))
            return None if row is None else row.payload

    def prune(self, older_than: dt.datetime) -> int:
        with Session(self._engine) as session, session.begin():
            return session.execute(delete(ShadowDecisionRow).where(ShadowDecisionRow.decided_at < older_than)).rowcount
