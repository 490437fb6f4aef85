"""Hash banks: shared lists of known harmful content's hashes (no media), their entries, the
clips that matched them, and the queue of matches a clearinghouse must be sent.

A bank's `version` goes up with every change to it or its entries, so the gate can tell in one
small read whether the enabled banks changed. Removed entries keep their rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from clipguard.core.banks import BankEntry, BankSet
from clipguard.core.contracts import Decision, check_id, utcnow
from clipguard.core.vocab import ClaimAction, ReasonKind, words
from registry.models import BankEntryRow, BankEventRow, BankMatchRow, BankReportRow, BankRow

BANK_ACTIONS = words(ClaimAction)
INSERT_CHUNK = 50_000     # rows per INSERT round trip in an import


class BankNotFound(LookupError):
    pass


@dataclass(frozen=True)
class NewEntry:
    signal_type: str
    signal: str
    label: str = ""
    source_id: str = ""


@dataclass(frozen=True)
class BankInfo:
    name: str
    owner: str
    action: str
    report: bool
    enabled: bool
    pdq_threshold: int | None
    version: int
    created_at: dt.datetime
    entries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class BankMatch:
    bank: str
    entry_id: int
    clip_id: str
    signal_type: str
    distance: float
    verdict: str
    source: str          # gate | retroscan


def bank_matches(decision: Decision) -> list[BankMatch]:
    """The bank entries a decision's bank reasons cite, for the bank's matches and report queue."""
    return [BankMatch(e["bank"], e["entry_id"], decision.clip_id, e["signal_type"], e["distance"], decision.verdict,
                      decision.source)
            for r in decision.reasons if r.signal == ReasonKind.BANK for e in [r.evidence]]


class BankStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def create(self, name: str, owner: str, action: str, report: bool, pdq_threshold: int | None,
               actor: str) -> BankInfo:
        check_id(name, "a bank's name")
        if action not in BANK_ACTIONS:
            raise ValueError(f"a bank's action must be one of {', '.join(BANK_ACTIONS)}, not {action!r}")
        if pdq_threshold is not None and not 0 <= pdq_threshold <= 64:
            raise ValueError(f"a PDQ threshold is a number of bits from 0 to 64, not {pdq_threshold}")
        with Session(self._engine) as s, s.begin():
            if s.get(BankRow, name) is not None:
                raise ValueError(f"bank {name!r} already exists")
            s.add(BankRow(name=name, owner=owner, action=action, report=report, enabled=True,
                          pdq_threshold=pdq_threshold, version=1, created_at=utcnow()))
            s.flush()   # the bank before its first event, which names it
            s.add(_event(name, actor, "created", 1, {"action": action, "report": report,
                                                     "pdq_threshold": pdq_threshold}))
        return self.get(name)

    def get(self, name: str) -> BankInfo:
        with Session(self._engine) as s:
            row = s.get(BankRow, name)
            if row is None:
                raise BankNotFound(f"no bank {name!r}")
            return _info(row, self._count(s, name))

    def list(self) -> list[BankInfo]:
        with Session(self._engine) as s:
            counts = dict(s.execute(select(BankEntryRow.bank, func.count()).where(BankEntryRow.removed_at.is_(None))
                                    .group_by(BankEntryRow.bank)).all())
            return [_info(row, counts.get(row.name, 0)) for row in s.scalars(select(BankRow).order_by(BankRow.name))]

    def add_entries(self, name: str, entries: Sequence[NewEntry], actor: str, detail: dict[str, Any]) -> int:
        """Adds every entry in one transaction, or none; the bank's new version."""
        now = utcnow()
        with Session(self._engine) as s, s.begin():
            version = self._bump(s, name)
            for start in range(0, len(entries), INSERT_CHUNK):
                s.execute(insert(BankEntryRow), [
                    {"bank": name, "signal_type": e.signal_type, "signal": e.signal, "label": e.label,
                     "source_id": e.source_id, "added_at": now} for e in entries[start:start + INSERT_CHUNK]])
            s.add(_event(name, actor, "imported", version, {"entries": len(entries), **detail}))
        return version

    def remove_entries(self, name: str, entry_ids: Sequence[int], actor: str) -> int:
        """Marks entries removed (their rows stay, for the history); how many were active."""
        with Session(self._engine) as s, s.begin():
            version = self._bump(s, name)
            removed = s.execute(update(BankEntryRow).where(
                BankEntryRow.bank == name, BankEntryRow.entry_id.in_(list(entry_ids)),
                BankEntryRow.removed_at.is_(None)).values(removed_at=utcnow())).rowcount
            s.add(_event(name, actor, "removed", version, {"entry_ids": list(entry_ids), "removed": removed}))
        return removed

    def set_enabled(self, name: str, enabled: bool, actor: str) -> BankInfo:
        with Session(self._engine) as s, s.begin():
            version = self._bump(s, name)
            s.get(BankRow, name).enabled = enabled
            s.add(_event(name, actor, "enabled" if enabled else "disabled", version, {}))
        return self.get(name)

    def entries(self, name: str, include_removed: bool = False) -> Iterator[dict[str, Any]]:
        self.get(name)
        query = select(BankEntryRow).where(BankEntryRow.bank == name).order_by(BankEntryRow.entry_id)
        if not include_removed:
            query = query.where(BankEntryRow.removed_at.is_(None))
        with Session(self._engine) as s:
            for row in s.scalars(query.execution_options(yield_per=10_000)):
                yield {"entry_id": row.entry_id, "signal_type": row.signal_type, "signal": row.signal,
                       "label": row.label, "source_id": row.source_id, "added_at": row.added_at.isoformat(),
                       "removed_at": row.removed_at and row.removed_at.isoformat()}

    def history(self, name: str) -> list[dict[str, Any]]:
        self.get(name)
        with Session(self._engine) as s:
            return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "version": e.version,
                     "detail": e.detail}
                    for e in s.scalars(select(BankEventRow).where(BankEventRow.bank == name)
                                       .order_by(BankEventRow.event_id))]

    def versions(self) -> tuple[tuple[str, int], ...]:
        """(name, version) of every enabled bank: equal between two reads when nothing changed."""
        with Session(self._engine) as s:
            return tuple(s.execute(select(BankRow.name, BankRow.version).where(BankRow.enabled)
                                   .order_by(BankRow.name)).tuples())

    def changes_since(self, name: str, version: int) -> set[str]:
        """What was done to a bank after `version` (imported, removed, disabled, ...)."""
        with Session(self._engine) as s:
            return set(s.scalars(select(BankEventRow.action).where(BankEventRow.bank == name,
                                                                   BankEventRow.version > version)))

    def active(self, only: str | None = None, after_id: int = 0) -> BankSet:
        """Every active entry of the enabled banks (or of bank `only`, if enabled; newer than
        `after_id`), with their terms. Read as plain rows, not ORM objects: a million entries
        must load in seconds."""
        with Session(self._engine) as s:
            enabled = s.scalars(select(BankRow).where(BankRow.enabled).order_by(BankRow.name)).all()
            versions = tuple((b.name, b.version) for b in enabled)
            terms = {b.name: b for b in enabled if only is None or b.name == only}
            query = (select(BankEntryRow.entry_id, BankEntryRow.bank, BankEntryRow.signal_type, BankEntryRow.signal,
                            BankEntryRow.label, BankEntryRow.source_id)
                     .where(BankEntryRow.bank.in_(list(terms)), BankEntryRow.removed_at.is_(None),
                            BankEntryRow.entry_id > after_id)
                     .order_by(BankEntryRow.entry_id))
            entries = tuple(BankEntry(entry_id, bank, kind, signal, label, source_id, terms[bank].action,
                                      terms[bank].report, terms[bank].pdq_threshold)
                            for entry_id, bank, kind, signal, label, source_id
                            in s.execute(query.execution_options(yield_per=50_000)))
        return BankSet(versions, entries)

    def record_matches(self, matches: Iterable[BankMatch]) -> None:
        """The matches, and for banks that must report, each queued for the exporter."""
        matches = list(matches)
        if not matches:
            return
        now = utcnow()
        with Session(self._engine) as s, s.begin():
            reporting = set(s.scalars(select(BankRow.name).where(BankRow.report,
                                                                 BankRow.name.in_({m.bank for m in matches}))))
            for m in matches:
                row = BankMatchRow(bank=m.bank, entry_id=m.entry_id, clip_id=m.clip_id, signal_type=m.signal_type,
                                   distance=m.distance, verdict=m.verdict, source=m.source, matched_at=now)
                s.add(row)
                if m.bank in reporting:
                    s.flush()
                    s.add(BankReportRow(match_id=row.match_id, bank=m.bank, queued_at=now))

    def matches(self, name: str | None = None) -> list[dict[str, Any]]:
        query = select(BankMatchRow).order_by(BankMatchRow.match_id)
        if name is not None:
            self.get(name)
            query = query.where(BankMatchRow.bank == name)
        with Session(self._engine) as s:
            return [_match(row) for row in s.scalars(query)]

    def reports(self, pending_only: bool = True) -> list[dict[str, Any]]:
        """The report queue, oldest first, each with its match."""
        query = (select(BankReportRow, BankMatchRow).join(BankMatchRow, BankMatchRow.match_id == BankReportRow.match_id)
                 .order_by(BankReportRow.report_id))
        if pending_only:
            query = query.where(BankReportRow.exported_at.is_(None))
        with Session(self._engine) as s:
            return [{"report_id": r.report_id, "queued_at": r.queued_at.isoformat(),
                     "exported_at": r.exported_at and r.exported_at.isoformat(), **_match(m)}
                    for r, m in s.execute(query).tuples()]

    def mark_exported(self, report_ids: Sequence[int]) -> None:
        with Session(self._engine) as s, s.begin():
            s.execute(update(BankReportRow).where(BankReportRow.report_id.in_(list(report_ids)),
                                                  BankReportRow.exported_at.is_(None)).values(exported_at=utcnow()))

    @staticmethod
    def _count(s: Session, name: str) -> int:
        return s.scalar(select(func.count()).select_from(BankEntryRow)
                        .where(BankEntryRow.bank == name, BankEntryRow.removed_at.is_(None))) or 0

    @staticmethod
    def _bump(s: Session, name: str) -> int:
        row = s.get(BankRow, name, with_for_update=True)
        if row is None:
            raise BankNotFound(f"no bank {name!r}")
        row.version += 1
        return row.version


def _info(row: BankRow, entries: int) -> BankInfo:
    return BankInfo(row.name, row.owner, row.action, row.report, row.enabled, row.pdq_threshold, row.version,
                    row.created_at, entries)


def _event(bank: str, actor: str, action: str, version: int, detail: dict[str, Any]) -> BankEventRow:
    return BankEventRow(bank=bank, at=utcnow(), actor=actor, action=action, version=version, detail=detail)


def _match(row: BankMatchRow) -> dict[str, Any]:
    return {"match_id": row.match_id, "bank": row.bank, "entry_id": row.entry_id, "clip_id": row.clip_id,
            "signal_type": row.signal_type, "distance": row.distance, "verdict": row.verdict, "source": row.source,
            "matched_at": row.matched_at.isoformat()}
