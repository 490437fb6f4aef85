"""The analyst review queue, its append-only audit trail, and each clip's decision history.

Claiming is one UPDATE whose subquery picks the most urgent claimable item. PostgreSQL adds
`FOR UPDATE SKIP LOCKED`, so concurrent analysts pass over each other's rows instead of waiting;
SQLite has a single writer, so the same statement is already atomic there. Every later step
re-checks the claim in its own conditional UPDATE, so an expired claim cannot be acted on.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session

from clipguard.core.contracts import ContractError, Decision, check_text, isoformat, parse_timestamp, utcnow
from clipguard.core.triage import KIND_SEVERITY, SLA
from clipguard.core.vocab import AnalystAction, words
from registry.models import AuditRow, ClipRow, DecisionHistoryRow, DecisionRow, ReviewItemRow

ANALYST_ACTIONS = words(AnalystAction)
DISPUTABLE = ("block", "takedown")
CLAIM_HOLD = dt.timedelta(minutes=15)
MAX_NOTE_CHARS = 4000


class QueueError(Exception):
    """A request the queue refuses. `status` is the HTTP status the service answers with."""

    status = 409


class NotFound(QueueError):
    status = 404


class NotAllowed(QueueError):
    status = 403


@dataclass(frozen=True)
class ReviewItem:
    item_id: str
    clip_id: str
    kind: str
    severity: int
    status: str
    escalated: bool
    summary: str
    filed_by: str
    created_at: dt.datetime
    due_at: dt.datetime
    claimed_by: str | None
    claim_expires_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution: str | None

    @classmethod
    def of(cls, row: ReviewItemRow) -> ReviewItem:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: isoformat(v) if isinstance(v, dt.datetime) else v
                for f in fields(self) for v in [getattr(self, f.name)]}


def enqueue(session: Session, clip_id: str, kind: str, summary: str, filed_by: str, severity: int,
            now: dt.datetime | None = None) -> str | None:
    """Queue work on a clip inside the caller's transaction; None if the same work is already open."""
    open_item = select(ReviewItemRow.item_id).where(ReviewItemRow.clip_id == clip_id, ReviewItemRow.kind == kind,
                                                    ReviewItemRow.status != "done")
    if session.scalars(open_item).first() is not None:
        return None
    now = now or utcnow()
    item_id = uuid.uuid4().hex
    session.add(ReviewItemRow(item_id=item_id, clip_id=clip_id, kind=kind, severity=severity,
                              status="open", escalated=False, summary=summary[:512], filed_by=filed_by,
                              created_at=now, due_at=now + SLA[kind]))
    return item_id


def audit(session: Session, actor: str, action: str, note: str, clip_id: str | None = None,
          item_id: str | None = None, before: dict[str, Any] | None = None,
          after: dict[str, Any] | None = None) -> None:
    session.add(AuditRow(at=utcnow(), actor=actor, action=action, clip_id=clip_id, item_id=item_id, note=note,
                         before=before, after=after))


def decision_row(decision: Decision, creator_id: str) -> dict[str, Any]:
    """The `decisions` row that makes `decision` the clip's current one."""
    return {"clip_id": decision.clip_id, "creator_id": creator_id, "verdict": decision.verdict,
            "source": decision.source, "policy_version": decision.policy_version,
            "decided_at": parse_timestamp(decision.decided_at, "decided_at"), "payload": decision.to_dict()}


def record_history(session: Session, decisions: Sequence[Decision]) -> None:
    session.add_all(DecisionHistoryRow(clip_id=d.clip_id, source=d.source, verdict=d.verdict,
                                       decided_at=parse_timestamp(d.decided_at, "decided_at"), payload=d.to_dict())
                    for d in decisions)


class BadNote(QueueError):
    status = 422


class TooManyRemovals(QueueError):
    status = 429


MAX_UNCHECKED_REMOVALS = 10


def check_note(note: str) -> str:
    if not note.strip():
        raise BadNote("a note is required: say why, for the audit trail and any appeal")
    try:
        return check_text(note.strip(), "the note", MAX_NOTE_CHARS)
    except ContractError as exc:
        raise BadNote(str(exc)) from None


@dataclass(frozen=True)
class QueueStats:
    depth: dict[str, int]                      # open or claimed items per kind
    overdue: int
    oldest_open: dt.datetime | None
    actions_per_hour: list[tuple[dt.datetime, int]]             # last 24 hours, oldest first
    verdict_mix: list[tuple[dt.datetime, dict[str, int]]]       # decisions per hour and verdict
    gate_latency_p50_ms: list[tuple[dt.datetime, float | None]]  # the gate's decision latency per hour


class ReviewQueue:
    def __init__(self, engine: Engine):
        self._engine = engine

    def claim_next(self, actor: str, escalated: bool = False, hold: dt.timedelta = CLAIM_HOLD) -> ReviewItem | None:
        """Give `actor` the most urgent item nobody holds: escalated ones only to admins."""
        now = utcnow()
        claimable = or_(ReviewItemRow.status == "open",
                        and_(ReviewItemRow.status == "claimed", ReviewItemRow.claim_expires_at < now))
        pick = (select(ReviewItemRow.item_id)
                .where(claimable, ReviewItemRow.escalated == escalated)
                .order_by(ReviewItemRow.severity.desc(), ReviewItemRow.due_at, ReviewItemRow.item_id)
                .limit(1).with_for_update(skip_locked=True).scalar_subquery())
        claim = (update(ReviewItemRow).where(ReviewItemRow.item_id == pick)
                 .values(status="claimed", claimed_by=actor, claim_expires_at=now + hold)
                 .returning(ReviewItemRow.item_id))
        with Session(self._engine) as session, session.begin():
            item_id = session.scalars(claim).first()
            if item_id is None:
                return None
            audit(session, actor, "claim", "", self._clip_of(session, item_id), item_id)
        return self.item(item_id)

    def item(self, item_id: str, escalated_too: bool = True) -> ReviewItem:
        """One item. Without `escalated_too` (a reader who is not an admin), an escalated item
        answers as a missing one does."""
        with Session(self._engine) as session:
            row = session.get(ReviewItemRow, item_id)
            if row is None or (row.escalated and not escalated_too):
                raise NotFound(f"no review item {item_id!r}")
            return ReviewItem.of(row)

    def items(self, status: str | None = None, kind: str | None = None, limit: int = 200,
              escalated_too: bool = True) -> list[ReviewItem]:
        query = select(ReviewItemRow).order_by(ReviewItemRow.severity.desc(), ReviewItemRow.due_at).limit(limit)
        if not escalated_too:
            query = query.where(ReviewItemRow.escalated.is_(False))
        if status == "pending":
            query = query.where(ReviewItemRow.status != "done")
        elif status:
            query = query.where(ReviewItemRow.status == status)
        if kind:
            query = query.where(ReviewItemRow.kind == kind)
        with Session(self._engine) as session:
            return [ReviewItem.of(r) for r in session.scalars(query)]

    def act(self, item_id: str, actor: str, action: str, note: str, publish: Callable[[Decision], None],
            decide: Callable[..., Decision]) -> Decision:
        """Resolve a claimed item with a verdict. `decide` (policies.decisions) builds the decision
        from the item and the clip's previous one; `publish` puts it on Kafka before the
        transaction commits, so a failed send leaves the item claimed and nothing recorded."""
        if action not in ANALYST_ACTIONS:
            raise QueueError(f"action must be one of {', '.join(ANALYST_ACTIONS)} or escalate, got {action!r}")
        note = check_note(note)
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            item = self._take(session, item_id, actor, now, status="done", resolved_at=now, resolution=action)
            current = session.get(DecisionRow, item.clip_id)
            previous = current.payload if current else None
            decision = decide(item.clip_id, action, note, item_id, item.kind, actor, previous, item.created_at, now)
            creator = current.creator_id if current else self._creator_of(session, item.clip_id)
            session.merge(DecisionRow(**decision_row(decision, creator)))
            record_history(session, [decision])
            audit(session, actor, action, note, item.clip_id, item_id,
                  before={"verdict": previous["verdict"] if previous else None, "item_status": item.status},
                  after={"verdict": action, "item_status": "done"})
            session.flush()
            publish(decision)
        return decision

    def escalate(self, item_id: str, actor: str, note: str) -> ReviewItem:
        """Hand an item up to an admin, one severity level higher, with the analyst's note."""
        note = check_note(note)
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            item = self._take(session, item_id, actor, now, status="open", escalated=True, claimed_by=None,
                              claim_expires_at=None, severity=ReviewItemRow.severity + 1)
            audit(session, actor, "escalate", note, item.clip_id, item_id,
                  before={"escalated": item.escalated, "severity": item.severity},
                  after={"escalated": True, "severity": item.severity + 1})
        return self.item(item_id)

    def file_dispute(self, clip_id: str, creator_id: str, statement: str, filed_by: str) -> ReviewItem:
        """A creator contests a block or takedown of their own clip."""
        statement = check_note(statement)
        with Session(self._engine) as session, session.begin():
            current = session.get(DecisionRow, clip_id)
            if current is None or current.creator_id != creator_id:
                # The same answer for "no such clip" and "not yours": ids are not probed.
                raise NotFound(f"no decided clip {clip_id!r} by creator {creator_id!r}")
            if current.verdict not in DISPUTABLE:
                raise QueueError(f"clip {clip_id!r} is {current.verdict}; only block and takedown can be disputed")
            item_id = enqueue(session, clip_id, "dispute", f"creator {creator_id} disputes {current.verdict}: "
                              f"{statement}", filed_by, KIND_SEVERITY["dispute"])
            if item_id is None:
                raise QueueError(f"clip {clip_id!r} already has an open dispute")
            audit(session, filed_by, "dispute", statement, clip_id, item_id,
                  before={"verdict": current.verdict}, after={"verdict": current.verdict, "disputed": True})
        return self.item(item_id)

    def file_removal(self, clip_id: str, owner: str, reason: str, seen: Mapping[str, Any],
                     publish: Callable[[Decision], None], decide: Callable[..., Decision]) -> Decision:
        """A person seen in a clip asks for it to be removed: a takedown (source "owner") at once,
        over any earlier decision, and a `removal_request` item so an analyst checks the face was
        theirs. Kafka is confirmed before the commit, as for analyst actions.

        An owner with `MAX_UNCHECKED_REMOVALS` requests no analyst has checked yet must wait: a
        cameo owner who enrolled someone else's face could otherwise take down every clip that
        face is in before anyone looks."""
        reason = check_note(reason)
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            unchecked = session.scalar(select(func.count()).where(
                ReviewItemRow.kind == "removal_request", ReviewItemRow.filed_by == owner,
                ReviewItemRow.status != "done"))
            if unchecked >= MAX_UNCHECKED_REMOVALS:
                raise TooManyRemovals(f"{owner} has {unchecked} removal requests an analyst has not checked yet; "
                                      f"more can be filed once they are")
            current = session.get(DecisionRow, clip_id)
            if current is None:
                raise NotFound(f"no decided clip {clip_id!r}")
            previous = current.payload
            decision = decide(clip_id, owner, reason, seen, previous, now)
            session.merge(DecisionRow(**decision_row(decision, current.creator_id)))
            record_history(session, [decision])
            item_id = enqueue(session, clip_id, "removal_request", f"{owner} asks for removal: {reason}", owner,
                              KIND_SEVERITY["removal_request"])
            audit(session, owner, "removal_request", reason, clip_id, item_id,
                  before={"verdict": previous["verdict"]}, after={"verdict": "takedown"})
            session.flush()
            publish(decision)
        return decision

    def stats(self, hours: int = 24) -> QueueStats:
        now = utcnow()
        since = now - dt.timedelta(hours=hours)
        pending = ReviewItemRow.status != "done"
        with Session(self._engine) as session:
            depth = dict(session.execute(select(ReviewItemRow.kind, func.count()).where(pending)
                                         .group_by(ReviewItemRow.kind)).all())
            overdue = session.scalar(select(func.count()).where(pending, ReviewItemRow.due_at < now))
            oldest = session.scalar(select(func.min(ReviewItemRow.created_at)).where(pending))
            acted = session.scalars(select(AuditRow.at).where(
                AuditRow.at >= since, AuditRow.action.in_((*ANALYST_ACTIONS, "escalate")))).all()
            decided = session.execute(select(DecisionHistoryRow.decided_at, DecisionHistoryRow.verdict,
                                             DecisionHistoryRow.source, DecisionHistoryRow.payload["latency_ms"])
                                      .where(DecisionHistoryRow.decided_at >= since)).all()
        hours_axis = [_hour(since) + dt.timedelta(hours=h) for h in range(1, hours + 1)]
        actions = Counter(_hour(a) for a in acted)
        mix: dict[dt.datetime, Counter] = {h: Counter() for h in hours_axis}
        latencies: dict[dt.datetime, list[float]] = {h: [] for h in hours_axis}
        for at, verdict, source, latency in decided:
            hour = _hour(at)
            mix.setdefault(hour, Counter())[verdict] += 1
            if source == "gate" and latency is not None:
                latencies.setdefault(hour, []).append(float(latency))
        return QueueStats(depth=depth, overdue=overdue or 0, oldest_open=oldest,
                          actions_per_hour=[(h, actions.get(h, 0)) for h in hours_axis],
                          verdict_mix=[(h, dict(mix[h])) for h in hours_axis],
                          gate_latency_p50_ms=[(h, _median(latencies[h])) for h in hours_axis])

    def _take(self, session: Session, item_id: str, actor: str, now: dt.datetime, **changes: Any) -> ReviewItem:
        """Apply `changes` to an item only while `actor` holds an unexpired claim on it."""
        row = session.get(ReviewItemRow, item_id)
        if row is None:
            raise NotFound(f"no review item {item_id!r}")
        before = ReviewItem.of(row)
        held = update(ReviewItemRow).where(
            ReviewItemRow.item_id == item_id, ReviewItemRow.status == "claimed",
            ReviewItemRow.claimed_by == actor, ReviewItemRow.claim_expires_at >= now).values(**changes)
        # The row loaded above is only read as `before`; nothing needs syncing into the session.
        held = held.execution_options(synchronize_session=False)
        if session.execute(held).rowcount != 1:
            raise QueueError(f"item {item_id} is not claimed by {actor} (it is {before.status}"
                             f"{f', held by {before.claimed_by}' if before.claimed_by else ''}); claim it first")
        return before

    @staticmethod
    def _clip_of(session: Session, item_id: str) -> str:
        return session.get(ReviewItemRow, item_id).clip_id

    @staticmethod
    def _creator_of(session: Session, clip_id: str) -> str:
        clip = session.get(ClipRow, clip_id)
        return clip.creator_id if clip else "unknown"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _hour(ts: dt.datetime) -> dt.datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class AuditEntry:
    entry_id: int
    at: dt.datetime
    actor: str
    action: str
    clip_id: str | None
    item_id: str | None
    note: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditLog:
    def __init__(self, engine: Engine):
        self._engine = engine

    def search(self, clip_id: str | None = None, actor: str | None = None, since: dt.datetime | None = None,
               until: dt.datetime | None = None, limit: int = 500) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.entry_id.desc()).limit(limit)
        for column, value in ((AuditRow.clip_id, clip_id), (AuditRow.actor, actor)):
            if value:
                query = query.where(column == value)
        if since:
            query = query.where(AuditRow.at >= since)
        if until:
            query = query.where(AuditRow.at < until)
        with Session(self._engine) as session:
            return [AuditEntry(r.entry_id, r.at, r.actor, r.action, r.clip_id, r.item_id, r.note,
                               r.before, r.after) for r in session.scalars(query)]

    def decisions_between(self, since: dt.datetime, until: dt.datetime, chunk: int = 5000) -> Iterator[dict[str, Any]]:
        """Every decision made in [since, until), streamed in chunks so a long window fits in memory."""
        query = (select(DecisionHistoryRow.payload)
                 .where(DecisionHistoryRow.decided_at >= since, DecisionHistoryRow.decided_at < until)
                 .order_by(DecisionHistoryRow.entry_id).execution_options(yield_per=chunk))
        with Session(self._engine) as session:
            yield from session.scalars(query)

    def decision_history(self, clip_id: str) -> list[dict[str, Any]]:
        """Every decision on the clip, oldest first, each with its history `entry_id` (what
        `clipguard sign --decision` names)."""
        query = select(DecisionHistoryRow.entry_id, DecisionHistoryRow.payload).where(
            DecisionHistoryRow.clip_id == clip_id).order_by(DecisionHistoryRow.entry_id)
        with Session(self._engine) as session:
            return [{**payload, "entry_id": entry_id} for entry_id, payload in session.execute(query)]
