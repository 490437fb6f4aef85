"""The galleries of people: public figures and cameo owners, their enrolled face and voice
embeddings, each cameo's permission with its history, the platform's mutuals, and the clips each
person was seen in."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from clipguard.core.contracts import check_id, check_text, utcnow
from clipguard.core.people import PERMISSIONS, REVOKED, Gallery, Grant, Subject
from registry.models import CameoEventRow, CameoRow, FaceEmbeddingRow, FaceSightingRow, FigureRow, MutualRow


class SubjectNotFound(LookupError):
    """No such figure or cameo owner."""


FACE, VOICE = "face", "voice"


@dataclass(frozen=True)
class NewEmbedding:
    """One enrolled photo's face or recording's voice: its embedding, the model that made it, and
    the file's hash."""

    vector: np.ndarray
    model: str
    media_sha256: str
    thumbnail: bytes | None = None
    medium: str = FACE


@dataclass(frozen=True)
class CameoInfo:
    user_id: str
    permission: str
    approved: list[str]
    enrolled_at: dt.datetime
    photos: int
    voices: int
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "enrolled_at": self.enrolled_at.isoformat()}


@dataclass(frozen=True)
class Sighting:
    clip_id: str
    subject_kind: str
    subject_id: str
    creator_id: str
    distance: float
    frame: int | None
    verdict: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


MAX_APPROVED = 1000


def check_permission(permission: str, approved: Sequence[str]) -> None:
    if permission not in PERMISSIONS:
        raise ValueError(f"permission must be one of {', '.join(PERMISSIONS)}, got {permission!r}")
    if approved and permission != "approved":
        raise ValueError(f"an approved list needs permission 'approved', not {permission!r}")
    if len(approved) > MAX_APPROVED:
        raise ValueError(f"{len(approved)} approved creators; at most {MAX_APPROVED}")
    for creator in approved:
        check_id(creator, "an approved creator")


class FaceStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    # --- public figures ---------------------------------------------------------------------------

    def add_figure(self, name: str, faces: Sequence[NewEmbedding], actor: str, cameo_user: str | None = None) -> str:
        check_text(name, "a public figure's name", 256)
        if not faces:
            raise ValueError("a public figure needs at least one photo or recording")
        figure_id = uuid.uuid4().hex
        with Session(self._engine) as session, session.begin():
            session.add(FigureRow(figure_id=figure_id, name=name, cameo_user=cameo_user, created_at=utcnow(),
                                  created_by=actor))
            session.add_all(self._rows("figure", figure_id, faces))
        return figure_id

    def figures(self) -> list[dict[str, Any]]:
        with Session(self._engine) as session:
            photos, voices = self._counts(session, "figure", FACE), self._counts(session, "figure", VOICE)
            return [{"figure_id": f.figure_id, "name": f.name, "cameo_user": f.cameo_user,
                     "photos": photos.get(f.figure_id, 0), "voices": voices.get(f.figure_id, 0),
                     "created_at": f.created_at.isoformat()}
                    for f in session.scalars(select(FigureRow).order_by(FigureRow.created_at))]

    # --- cameo owners -----------------------------------------------------------------------------

    def enroll(self, user_id: str, faces: Sequence[NewEmbedding], permission: str, approved: Sequence[str],
               actor: str) -> None:
        """Enrol (or re-enrol, replacing the photos and recordings) a cameo owner with a permission."""
        check_permission(permission, approved)
        if not faces:
            raise ValueError("enrolling a cameo needs at least one photo, clip or recording")
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            session.execute(delete(FaceEmbeddingRow).where(FaceEmbeddingRow.subject_kind == "cameo",
                                                           FaceEmbeddingRow.subject_id == user_id))
            session.merge(CameoRow(user_id=user_id, permission=permission, approved=sorted(set(approved)),
                                   enrolled_at=now, updated_at=now))
            session.add_all(self._rows("cameo", user_id, faces))
            session.add(CameoEventRow(user_id=user_id, at=now, actor=actor, action="enrolled",
                                      detail={"permission": permission, "approved": sorted(set(approved)),
                                              "photos": sum(f.medium == FACE for f in faces),
                                              "voices": sum(f.medium == VOICE for f in faces)}))

    def set_permission(self, user_id: str, permission: str, approved: Sequence[str], actor: str) -> Grant:
        """Change whom the owner permits; returns the grant before the change."""
        if permission != REVOKED:
            check_permission(permission, approved)
        with Session(self._engine) as session, session.begin():
            row = self._cameo(session, user_id)
            before = Grant(row.permission, frozenset(row.approved or ()))
            row.permission, row.approved, row.updated_at = permission, sorted(set(approved)), utcnow()
            session.add(CameoEventRow(user_id=user_id, at=row.updated_at, actor=actor,
                                      action="revoked" if permission == REVOKED else "permission",
                                      detail={"from": {"permission": before.permission,
                                                       "approved": sorted(before.approved)},
                                              "to": {"permission": permission, "approved": sorted(set(approved))}}))
        return before

    def note(self, user_id: str, actor: str, action: str, detail: dict[str, Any]) -> None:
        with Session(self._engine) as session, session.begin():
            session.add(CameoEventRow(user_id=user_id, at=utcnow(), actor=actor, action=action, detail=detail))

    def cameo(self, user_id: str) -> CameoInfo:
        with Session(self._engine) as session:
            row = self._cameo(session, user_id)
            events = session.scalars(select(CameoEventRow).where(CameoEventRow.user_id == user_id)
                                     .order_by(CameoEventRow.event_id))
            return CameoInfo(row.user_id, row.permission, list(row.approved or ()), row.enrolled_at,
                             self._counts(session, "cameo", FACE, user_id).get(user_id, 0),
                             self._counts(session, "cameo", VOICE, user_id).get(user_id, 0),
                             [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                              for e in events])

    def cameos(self) -> list[CameoInfo]:
        with Session(self._engine) as session:
            photos, voices = self._counts(session, "cameo", FACE), self._counts(session, "cameo", VOICE)
            return [CameoInfo(r.user_id, r.permission, list(r.approved or ()), r.enrolled_at, photos.get(r.user_id, 0),
                              voices.get(r.user_id, 0))
                    for r in session.scalars(select(CameoRow).order_by(CameoRow.user_id))]

    def grant(self, user_id: str) -> Grant:
        with Session(self._engine) as session:
            return self._grants(session, [self._cameo(session, user_id)])[user_id]

    def set_mutuals(self, user_id: str, others: Sequence[str]) -> None:
        """Replace a user's mutuals with `others`, as the platform's follow graph has them."""
        with Session(self._engine) as session, session.begin():
            session.execute(delete(MutualRow).where(or_(MutualRow.user_id == user_id, MutualRow.other_id == user_id)))
            for other in sorted(set(others) - {user_id}):
                session.add_all([MutualRow(user_id=user_id, other_id=other),
                                 MutualRow(user_id=other, other_id=user_id)])

    # --- what the gate and retroscan read ---------------------------------------------------------

    def gallery(self, model: str, owner: str | None = None) -> Gallery:
        """Every enrolled photo or recording embedded by `model`, with its subject and, for cameos,
        the grant; with `owner`, only those of subjects whose consent that user gives."""
        with Session(self._engine) as session:
            figures = {f.figure_id: f for f in session.scalars(select(FigureRow))}
            cameo_rows = list(session.scalars(select(CameoRow)))
            grants = self._grants(session, cameo_rows)
            rows = session.scalars(select(FaceEmbeddingRow).where(FaceEmbeddingRow.model == model)
                                   .order_by(FaceEmbeddingRow.embedding_id))
            subjects: dict[tuple[str, str], int] = {}
            skipped: set[tuple[str, str]] = set()
            listed: list[Subject] = []
            subject_of, vectors = [], []
            for row in rows:
                key = (row.subject_kind, row.subject_id)
                if key in skipped:
                    continue
                if key not in subjects:
                    subject = self._subject(row, figures, grants)
                    if subject is None or (owner is not None and subject.owner != owner):
                        skipped.add(key)
                        continue
                    subjects[key] = len(listed)
                    listed.append(subject)
                subject_of.append(subjects[key])
                vectors.append(np.frombuffer(row.vector, np.float32))
        matrix = np.vstack(vectors) if vectors else Gallery().vectors
        return Gallery(tuple(listed), tuple(subject_of), matrix)

    def enrolled_media(self, owner: str) -> set[str]:
        """What is enrolled (FACE, VOICE) of the people whose consent `owner` gives: their cameo,
        and any public figure whose cameo they are."""
        figures = select(FigureRow.figure_id).where(FigureRow.cameo_user == owner)
        query = select(FaceEmbeddingRow.medium).where(or_(
            and_(FaceEmbeddingRow.subject_kind == "cameo", FaceEmbeddingRow.subject_id == owner),
            and_(FaceEmbeddingRow.subject_kind == "figure", FaceEmbeddingRow.subject_id.in_(figures)))).distinct()
        with Session(self._engine) as session:
            return set(session.scalars(query))

    def record_sightings(self, sightings: Sequence[Sighting]) -> None:
        """Upsert by (clip, person): each person sees each clip once, with its latest verdict."""
        with Session(self._engine) as session, session.begin():
            for s in sightings:
                session.merge(FaceSightingRow(clip_id=s.clip_id, subject_kind=s.subject_kind, subject_id=s.subject_id,
                                              creator_id=s.creator_id, distance=s.distance, frame=s.frame,
                                              verdict=s.verdict, source=s.source, seen_at=utcnow()))

    def sightings(self, subject_kind: str, subject_id: str) -> list[Sighting]:
        query = (select(FaceSightingRow).where(FaceSightingRow.subject_kind == subject_kind,
                                               FaceSightingRow.subject_id == subject_id)
                 .order_by(FaceSightingRow.seen_at))
        with Session(self._engine) as session:
            return [Sighting(r.clip_id, r.subject_kind, r.subject_id, r.creator_id, r.distance, r.frame, r.verdict,
                             r.source) for r in session.scalars(query)]

    # --- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _rows(kind: str, subject_id: str, faces: Sequence[NewEmbedding]) -> list[FaceEmbeddingRow]:
        now = utcnow()
        return [FaceEmbeddingRow(embedding_id=uuid.uuid4().hex, subject_kind=kind, subject_id=subject_id,
                                 model=f.model, medium=f.medium, vector=np.asarray(f.vector, np.float32).tobytes(),
                                 media_sha256=f.media_sha256, thumbnail=f.thumbnail, created_at=now)
                for f in faces]

    @staticmethod
    def _cameo(session: Session, user_id: str) -> CameoRow:
        row = session.get(CameoRow, user_id)
        if row is None:
            raise SubjectNotFound(f"no enrolled cameo for user {user_id!r}")
        return row

    @staticmethod
    def _counts(session: Session, kind: str, medium: str, subject_id: str | None = None) -> dict[str, int]:
        """Enrolled photos or recordings per subject of `kind` (only `subject_id`'s, when given)."""
        query = (select(FaceEmbeddingRow.subject_id, func.count())
                 .where(FaceEmbeddingRow.subject_kind == kind, FaceEmbeddingRow.medium == medium)
                 .group_by(FaceEmbeddingRow.subject_id))
        if subject_id is not None:
            query = query.where(FaceEmbeddingRow.subject_id == subject_id)
        return dict(session.execute(query).all())

    @staticmethod
    def _grants(session: Session, cameos: Sequence[CameoRow]) -> dict[str, Grant]:
        mutuals: dict[str, set[str]] = {}
        for user, other in session.execute(select(MutualRow.user_id, MutualRow.other_id)):
            mutuals.setdefault(user, set()).add(other)
        return {c.user_id: Grant(c.permission, frozenset(c.approved or ()), frozenset(mutuals.get(c.user_id, ())))
                for c in cameos}

    @staticmethod
    def _subject(row: FaceEmbeddingRow, figures: dict[str, FigureRow], grants: dict[str, Grant]) -> Subject | None:
        if row.subject_kind == "figure":
            figure = figures.get(row.subject_id)
            if figure is None:
                return None
            # A figure consents through their own cameo, when they enrolled one.
            return Subject("figure", figure.figure_id, figure.name,
                           grants.get(figure.cameo_user) if figure.cameo_user else None, figure.cameo_user)
        grant = grants.get(row.subject_id)
        return None if grant is None else Subject("cameo", row.subject_id, row.subject_id, grant, row.subject_id)
