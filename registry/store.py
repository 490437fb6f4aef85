"""Reads and writes that the pipelines and CLI need, each in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clipguard.core.contracts import Decision, parse_timestamp
from clipguard.core.triage import review_severity
from registry.models import (
    ClipRow,
    ClipSignalRow,
    DecisionHistoryRow,
    DecisionInputRow,
    DecisionRow,
    FrameRow,
    RemixEdgeRow,
    ReviewItemRow,
    ShadowDecisionRow,
)
from registry.review import decision_row, enqueue, record_history

# Signals are kept for clips that are, or may become, visible: retroscan re-checks exactly those.
KEEP_SIGNALS_FOR = ("allow", "review")
# [first, stop) of clip ids; None leaves that side open.
ClipRange = tuple[str | None, str | None]


def _upsert(session: Session, row_type: type, values: list[dict[str, Any]], keys: Sequence[str],
            only_where=None) -> None:
    if not values:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(row_type).values(values)
    update = {c: stmt.excluded[c] for c in values[0] if c not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update, where=only_where))


@dataclass(frozen=True)
class StoredFrame:
    index: int
    t: float
    jpeg: bytes


@dataclass(frozen=True)
class DecidedClip:
    """What the gate persists for one clip."""

    decision: Decision
    event: dict[str, Any]                              # the clip.generated/1 body
    features: dict[str, tuple[str, dict[str, Any]]]   # signal -> (model_version, features)
    frames: tuple[StoredFrame, ...] = ()              # thumbnails, where the settings keep them
    severity: int = 1                                 # the policy's review-queue severity, for a review
    inputs: dict[str, Any] | None = None              # what the policy read (attrs, media error, signals)
    shadows: tuple[Decision, ...] = ()                # what each shadow policy decided instead

    @property
    def creator_id(self) -> str:
        return self.event["creator_id"]


class DecisionStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def record(self, clips: Sequence[DecidedClip]) -> None:
        """Upsert by clip_id in one transaction. A gate replay never overwrites an analyst's call,
        adds no second gate entry to the history, and queues nothing twice."""
        decisions, signals, events, frames, inputs, shadows, edges = [], [], [], [], [], [], []
        now = dt.datetime.now(dt.UTC)
        for clip in clips:
            events.append({"clip_id": clip.decision.clip_id, "creator_id": clip.creator_id, "event": clip.event})
            if clip.event.get("remix_of"):
                edges.append({"clip_id": clip.decision.clip_id, "parent_id": clip.event["remix_of"]})
            frames += [{"clip_id": clip.decision.clip_id, "frame_index": f.index, "t": f.t, "jpeg": f.jpeg,
                        "stored_at": now} for f in clip.frames]
            d = clip.decision
            decisions.append(decision_row(d, clip.creator_id))
            if d.verdict in KEEP_SIGNALS_FOR:
                signals += [{"clip_id": d.clip_id, "signal": name, "creator_id": clip.creator_id,
                             "model_version": version, "features": features, "recorded_at": now}
                            for name, (version, features) in clip.features.items()]
            decided_at = parse_timestamp(d.decided_at, "decided_at")
            if clip.inputs is not None:
                inputs.append({"clip_id": d.clip_id, "decided_at": decided_at, "policy": d.policy_version,
                               "verdict": d.verdict, "inputs": clip.inputs})
            shadows += [{"clip_id": d.clip_id, "shadow_policy": shadow.policy_version, "live_policy": d.policy_version,
                         "live_verdict": d.verdict, "verdict": shadow.verdict, "decided_at": decided_at,
                         "payload": shadow.to_dict()} for shadow in clip.shadows]
        with Session(self._engine) as session, session.begin():
            _upsert(session, DecisionRow, decisions, ["clip_id"],
                    only_where=DecisionRow.source == "gate")
            _upsert(session, ClipSignalRow, signals, ["clip_id", "signal"])
            _upsert(session, ClipRow, events, ["clip_id"])
            _upsert(session, FrameRow, frames, ["clip_id", "frame_index"])
            # A replayed clip may come twice in one batch, and one upsert cannot touch a row twice.
            _upsert(session, DecisionInputRow, list({r["clip_id"]: r for r in inputs}.values()), ["clip_id"])
            _upsert(session, RemixEdgeRow, list({r["clip_id"]: r for r in edges}.values()), ["clip_id"])
            keys = ["clip_id", "shadow_policy"]
            _upsert(session, ShadowDecisionRow, list({(r["clip_id"], r["shadow_policy"]): r for r in shadows}.values()),
                    keys)
            first_seen = self._first_gate_decisions(session, [c.decision for c in clips])
            record_history(session, first_seen)
            severity = {c.decision.clip_id: c.severity for c in clips}
            for d in first_seen:
                if d.verdict == "review":
                    enqueue(session, d.clip_id, "review", "; ".join(r.detail for r in d.reasons)[:512], "gate",
                            severity[d.clip_id])

    @staticmethod
    def _first_gate_decisions(session: Session, decisions: Sequence[Decision]) -> list[Decision]:
        ids = [d.clip_id for d in decisions]
        seen = set(session.scalars(select(DecisionHistoryRow.clip_id).where(
            DecisionHistoryRow.clip_id.in_(ids), DecisionHistoryRow.source == "gate")))
        first = {}
        for d in decisions:
            if d.clip_id not in seen:
                first.setdefault(d.clip_id, d)
        return list(first.values())

    def record_retroscan(self, decisions: Sequence[Decision], publish: Callable[[Decision], None]) -> list[str]:
        """Record retroscan decisions over the gate's and earlier retroscans', never over an
        analyst's call; returns the clip ids changed. `publish` puts each on Kafka before the
        commit, so a failed send records nothing. A `review` is queued for an analyst unless the
        clip already waits there."""
        with Session(self._engine) as session, session.begin():
            current = {r.clip_id: r for r in session.scalars(
                select(DecisionRow).where(DecisionRow.clip_id.in_([d.clip_id for d in decisions])))}
            changed = [d for d in decisions if d.clip_id in current and current[d.clip_id].source != "analyst"]
            _upsert(session, DecisionRow, [decision_row(d, current[d.clip_id].creator_id) for d in changed],
                    ["clip_id"])
            record_history(session, changed)
            waiting = set(session.scalars(select(ReviewItemRow.clip_id).where(
                ReviewItemRow.clip_id.in_([d.clip_id for d in changed]), ReviewItemRow.kind == "review",
                ReviewItemRow.status != "done")))
            for d in changed:
                if d.verdict == "review" and d.clip_id not in waiting:
                    enqueue(session, d.clip_id, "review", "; ".join(r.detail for r in d.reasons)[:512], "retroscan",
                            review_severity([r.signal for r in d.reasons]))
            session.flush()
            for decision in changed:
                publish(decision)
        return [d.clip_id for d in changed]

    def retroscan_candidates(self, signal: str, verdicts: Sequence[str],
                             clip_range: ClipRange = (None, None)) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(clip_id, creator_id, stored features of `signal`) for every clip whose current decision
        is in `verdicts`, within `clip_range` (from `retroscan_ranges`)."""
        query = (select(ClipSignalRow.clip_id, ClipSignalRow.creator_id, ClipSignalRow.features)
                 .where(*self._candidate(signal, verdicts, clip_range))
                 .order_by(ClipSignalRow.clip_id).execution_options(yield_per=2000))
        with Session(self._engine) as session:
            yield from ((clip_id, creator, features) for clip_id, creator, features in session.execute(query))

    def retroscan_ranges(self, signal: str, verdicts: Sequence[str], size: int) -> list[ClipRange]:
        """The candidates cut into clip-id ranges of about `size` each, so that a runner can read
        them in parallel without the driver holding (or shipping) their features."""
        query = (select(ClipSignalRow.clip_id).where(*self._candidate(signal, verdicts, (None, None)))
                 .order_by(ClipSignalRow.clip_id))
        with Session(self._engine) as session:
            ids = list(session.scalars(query))
        starts = ids[::size]
        return [(start, end) for start, end in zip([None, *starts[1:]], [*starts[1:], None], strict=True)] \
            if ids else []

    @staticmethod
    def _candidate(signal: str, verdicts: Sequence[str], clip_range: ClipRange) -> list:
        first, stop = clip_range
        shown = select(DecisionRow.clip_id).where(DecisionRow.verdict.in_(verdicts))
        return [ClipSignalRow.signal == signal, ClipSignalRow.clip_id.in_(shown),
                *([ClipSignalRow.clip_id >= first] if first is not None else []),
                *([ClipSignalRow.clip_id < stop] if stop is not None else [])]

    def frames(self, clip_id: str) -> list[tuple[int, float]]:
        """(frame index, seconds) of the thumbnails kept for a clip."""
        query = select(FrameRow.frame_index, FrameRow.t).where(FrameRow.clip_id == clip_id).order_by(
            FrameRow.frame_index)
        with Session(self._engine) as session:
            return [tuple(r) for r in session.execute(query)]

    def frame_jpeg(self, clip_id: str, frame_index: int) -> bytes | None:
        with Session(self._engine) as session:
            row = session.get(FrameRow, (clip_id, frame_index))
            return None if row is None else row.jpeg

    def prune_frames(self, older_than: dt.datetime) -> int:
        """Delete thumbnails stored before `older_than`; returns how many went."""
        with Session(self._engine) as session, session.begin():
            return session.execute(delete(FrameRow).where(FrameRow.stored_at < older_than)).rowcount

    def events_decided_between(self, since: dt.datetime, until: dt.datetime) -> Iterator[dict[str, Any]]:
        """The events behind the gate's decisions in [since, until): the registry's copy of the topic."""
        gated = select(DecisionHistoryRow.clip_id).where(
            DecisionHistoryRow.source == "gate", DecisionHistoryRow.decided_at >= since,
            DecisionHistoryRow.decided_at < until)
        query = select(ClipRow.event).where(ClipRow.clip_id.in_(gated)).execution_options(yield_per=5000)
        with Session(self._engine) as session:
            yield from session.scalars(query)

    def standing(self, verdicts: Sequence[str]) -> list[dict[str, Any]]:
        """The current decisions with one of `verdicts`."""
        with Session(self._engine) as session:
            return list(session.scalars(select(DecisionRow.payload).where(DecisionRow.verdict.in_(verdicts))))

    def event(self, clip_id: str) -> dict[str, Any] | None:
        with Session(self._engine) as session:
            row = session.get(ClipRow, clip_id)
            return None if row is None else row.event

    def get(self, clip_id: str) -> dict[str, Any] | None:
        with Session(self._engine) as session:
            row = session.get(DecisionRow, clip_id)
            return None if row is None else row.payload

    def get_many(self, clip_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The current decisions of those of `clip_ids` that have one."""
        found: dict[str, dict[str, Any]] = {}
        with Session(self._engine) as session:
            for start in range(0, len(clip_ids), 500):      # SQL parameter limits
                rows = session.execute(select(DecisionRow.clip_id, DecisionRow.payload).where(
                    DecisionRow.clip_id.in_(clip_ids[start:start + 500])))
                found |= dict(rows.all())
        return found

    def all(self) -> list[dict[str, Any]]:
        with Session(self._engine) as session:
            return [r.payload for r in session.scalars(select(DecisionRow).order_by(DecisionRow.clip_id))]

    def signals(self, clip_id: str) -> dict[str, dict[str, Any]]:
        with Session(self._engine) as session:
            rows = session.scalars(select(ClipSignalRow).where(ClipSignalRow.clip_id == clip_id))
            return {r.signal: r.features for r in rows}
