"""Rights holders' claims: the work, its aliases, its reference media and their features, the
action to take, a history of every change, and the clips that matched it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from clipguard.core.claims import Reference
from clipguard.core.contracts import check_text, utcnow
from clipguard.core.vocab import ClaimAction, words
from registry.models import ClaimEventRow, ClaimMatchRow, ClaimReferenceRow, ClaimRow

CLAIM_ACTIONS = words(ClaimAction)


class ClaimNotFound(LookupError):
    """No such claim for this holder. Another holder's claim reads exactly the same."""


@dataclass(frozen=True)
class NewReference:
    label: str
    pdq: str
    phash: str
    thumbnail: bytes | None = None    # JPEG, for the analyst's side-by-side view
    media_kind: str = "image"         # image | clip | audio
    media_sha256: str = ""
    orb: bytes | None = None          # classifiers.character.orb.serialize of the reference's variants
    embedding: bytes | None = None    # CLIP, when the operator configured weights
    embedding_model: str | None = None
    audio: bytes | None = None        # classifiers.music.index.to_bytes of a recording's landmarks


@dataclass(frozen=True)
class ClaimInfo:
    claim_id: str
    holder_id: str
    title: str
    action: str
    status: str
    aliases: list[dict[str, str]]
    created_at: dt.datetime
    references: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class ClaimMatch:
    claim_id: str
    clip_id: str
    reference_id: str | None
    method: str
    measure: float
    frame: int | None
    verdict: str
    source: str


class ClaimStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def add(self, holder_id: str, title: str, action: str, references: Sequence[NewReference],
            aliases: Sequence[tuple[str, str]] = ()) -> str:
        """File a claim with its references and (text, lang) aliases, all or nothing; returns its id."""
        if action not in CLAIM_ACTIONS:
            raise ValueError(f"claim action must be one of {', '.join(CLAIM_ACTIONS)}, got {action!r}")
        if not references:
            raise ValueError("a claim needs at least one reference")
        check_text(title, "a claim's title", 256)
        claim_id = uuid.uuid4().hex
        now = utcnow()
        alias_rows = [{"text": text, "lang": lang} for text, lang in aliases]
        with Session(self._engine) as session, session.begin():
            session.add(ClaimRow(claim_id=claim_id, holder_id=holder_id, title=title, action=action,
                                 status="active", created_at=now, aliases=alias_rows))
            session.flush()  # the claim row must exist before its references point at it
            session.add_all(ClaimReferenceRow(reference_id=uuid.uuid4().hex, claim_id=claim_id, label=r.label,
                                              pdq=r.pdq, phash=r.phash, thumbnail=r.thumbnail,
                                              media_kind=r.media_kind, media_sha256=r.media_sha256, orb=r.orb,
                                              embedding=r.embedding, embedding_model=r.embedding_model,
                                              audio=r.audio)
                            for r in references)
            session.add(ClaimEventRow(claim_id=claim_id, at=now, actor=holder_id, action="filed",
                                      detail={"title": title, "action": action, "aliases": alias_rows,
                                              "references": len(references)}))
        return claim_id

    def withdraw(self, claim_id: str, holder_id: str) -> None:
        with Session(self._engine) as session, session.begin():
            row = self._owned(session, claim_id, holder_id)
            if row.status == "withdrawn":
                return
            row.status, row.withdrawn_at = "withdrawn", utcnow()
            session.add(ClaimEventRow(claim_id=claim_id, at=row.withdrawn_at, actor=holder_id, action="withdrawn",
                                      detail={}))

    def note(self, claim_id: str, actor: str, action: str, detail: dict[str, Any]) -> None:
        """Append to a claim's history (e.g. a retroscan's outcome)."""
        with Session(self._engine) as session, session.begin():
            session.add(ClaimEventRow(claim_id=claim_id, at=utcnow(), actor=actor, action=action, detail=detail))

    def get(self, claim_id: str, holder_id: str | None) -> ClaimInfo:
        """One claim; `holder_id` None only for operators, who may see any."""
        with Session(self._engine) as session:
            row = self._owned(session, claim_id, holder_id)
            refs = session.scalars(select(ClaimReferenceRow).where(ClaimReferenceRow.claim_id == claim_id))
            events = session.scalars(select(ClaimEventRow).where(ClaimEventRow.claim_id == claim_id)
                                     .order_by(ClaimEventRow.event_id))
            return self._info(row, [{"reference_id": r.reference_id, "label": r.label, "media_kind": r.media_kind,
                                     "media_sha256": r.media_sha256, "pdq": r.pdq, "phash": r.phash,
                                     "orb": r.orb is not None, "embedding_model": r.embedding_model,
                                     "audio": r.audio is not None}
                                    for r in refs],
                              [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                               for e in events])

    def list(self, holder_id: str | None = None) -> list[ClaimInfo]:
        query = select(ClaimRow).order_by(ClaimRow.created_at)
        if holder_id is not None:
            query = query.where(ClaimRow.holder_id == holder_id)
        with Session(self._engine) as session:
            return [self._info(r) for r in session.scalars(query)]

    def find(self, holder_id: str, title: str) -> str | None:
        """The id of the holder's active claim with this title, if any."""
        query = select(ClaimRow.claim_id).where(ClaimRow.holder_id == holder_id, ClaimRow.title == title,
                                                ClaimRow.status == "active")
        with Session(self._engine) as session:
            return session.scalars(query).first()

    def statuses(self) -> dict[str, str]:
        with Session(self._engine) as session:
            return dict(session.execute(select(ClaimRow.claim_id, ClaimRow.status)).all())

    def reference_thumbnail(self, reference_id: str) -> bytes | None:
        with Session(self._engine) as session:
            row = session.get(ClaimReferenceRow, reference_id)
            return None if row is None else row.thumbnail

    def active_reference_ids(self) -> list[str]:
        """The ids of every active claim's references, in the order active_references lists them."""
        with Session(self._engine) as session:
            return list(session.scalars(_active(ClaimReferenceRow.reference_id)))

    def active_references(self, claim_id: str | None = None,
                          reference_ids: Sequence[str] | None = None) -> list[Reference]:
        """Every active claim's references, or one claim's, or those of `reference_ids`."""
        query = _active(ClaimReferenceRow, ClaimRow)
        if claim_id is not None:
            query = query.where(ClaimRow.claim_id == claim_id)
        if reference_ids is not None:
            query = query.where(ClaimReferenceRow.reference_id.in_(reference_ids))
        with Session(self._engine) as session:
            return [Reference(ref.reference_id, claim.claim_id, claim.title, claim.action, ref.pdq, ref.phash,
                              ref.orb, ref.embedding, ref.embedding_model, ref.audio)
                    for ref, claim in session.execute(query)]

    def active_aliases(self) -> list[tuple[str, str, str, str, str]]:
        """(claim_id, title, action, alias text, alias lang) of every active claim's aliases."""
        query = select(ClaimRow).where(ClaimRow.status == "active")
        with Session(self._engine) as session:
            return [(c.claim_id, c.title, c.action, a["text"], a["lang"])
                    for c in session.scalars(query) for a in c.aliases or []]

    def record_matches(self, matches: Sequence[ClaimMatch]) -> None:
        """Upsert by (claim, clip): a holder sees each matched clip once, with its latest match."""
        with Session(self._engine) as session, session.begin():
            for m in matches:
                session.merge(ClaimMatchRow(claim_id=m.claim_id, clip_id=m.clip_id, reference_id=m.reference_id,
                                            method=m.method, measure=m.measure, frame=m.frame, verdict=m.verdict,
                                            source=m.source, matched_at=utcnow()))

    def matches(self, claim_id: str, holder_id: str | None) -> list[ClaimMatch]:
        with Session(self._engine) as session:
            self._owned(session, claim_id, holder_id)
            rows = session.scalars(select(ClaimMatchRow).where(ClaimMatchRow.claim_id == claim_id)
                                   .order_by(ClaimMatchRow.matched_at))
            return [ClaimMatch(r.claim_id, r.clip_id, r.reference_id, r.method, r.measure, r.frame, r.verdict,
                               r.source) for r in rows]

    @staticmethod
    def _owned(session: Session, claim_id: str, holder_id: str | None) -> ClaimRow:
        row = session.get(ClaimRow, claim_id)
        if row is None or (holder_id is not None and row.holder_id != holder_id):
            raise ClaimNotFound(f"no claim {claim_id!r}" + (f" held by {holder_id}" if holder_id else ""))
        return row

    @staticmethod
    def _info(row: ClaimRow, references: list[dict[str, Any]] | None = None,
              history: list[dict[str, Any]] | None = None) -> ClaimInfo:
        return ClaimInfo(row.claim_id, row.holder_id, row.title, row.action, row.status, list(row.aliases or []),
                         row.created_at, references or [], history or [])


def _active(*columns: Any) -> Select:
    """`columns` of every active claim's references, in reference-id order."""
    return (select(*columns).select_from(ClaimReferenceRow).join(ClaimRow).where(ClaimRow.status == "active")
            .order_by(ClaimReferenceRow.reference_id))
