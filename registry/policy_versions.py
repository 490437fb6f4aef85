"""The policy the gate runs when it is given none: the last one promoted. A promotion retires the
live version and is written to the audit log, naming who promoted what, over what, and why.

A label (name@version) names one text forever: promoting a changed file under a label already
promoted is refused, so a label in a decision always says which bars made it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from clipguard.core.contracts import utcnow
from registry.models import PolicyVersionRow
from registry.review import audit

LIVE, RETIRED = "live", "retired"


class PromotionRefused(ValueError):
    pass


@dataclass(frozen=True)
class PolicyVersion:
    label: str
    text: str
    state: str
    promoted_at: dt.datetime
    promoted_by: str


class PolicyVersions:
    def __init__(self, engine: Engine):
        self._engine = engine

    def live(self) -> PolicyVersion | None:
        with Session(self._engine) as session:
            row = session.scalars(select(PolicyVersionRow).where(PolicyVersionRow.state == LIVE)).first()
            return None if row is None else _version(row)

    def history(self) -> list[PolicyVersion]:
        """Every promoted version, the latest first."""
        with Session(self._engine) as session:
            rows = session.scalars(select(PolicyVersionRow).order_by(PolicyVersionRow.promoted_at.desc()))
            return [_version(r) for r in rows]

    def promote(self, label: str, text: str, actor: str, reason: str) -> PolicyVersion | None:
        """Make `label` live; returns the version it replaced (None for the first promotion)."""
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            existing = session.get(PolicyVersionRow, label)
            if existing is not None and existing.text != text:
                raise PromotionRefused(f"policy {label} was promoted before with other contents; "
                                       "give the changed policy a new version")
            if existing is not None and existing.state == LIVE:
                raise PromotionRefused(f"policy {label} is already live")
            replaced = session.scalars(select(PolicyVersionRow).where(PolicyVersionRow.state == LIVE)).first()
            before = None if replaced is None else _version(replaced)
            session.execute(update(PolicyVersionRow).where(PolicyVersionRow.state == LIVE).values(state=RETIRED))
            if existing is None:
                session.add(PolicyVersionRow(label=label, text=text, state=LIVE, promoted_at=now, promoted_by=actor))
            else:
                existing.state, existing.promoted_at, existing.promoted_by = LIVE, now, actor
            audit(session, actor, "policy_promote", reason, before={"live": before.label if before else None},
                  after={"live": label})
        return before


def _version(row: PolicyVersionRow) -> PolicyVersion:
    return PolicyVersion(row.label, row.text, row.state, row.promoted_at, row.promoted_by)
