"""Tables. Any change here needs a migration in registry/migrations/versions/."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator):
    """A timestamp that comes back timezone-aware in UTC from every database. SQLite keeps no
    zone, so without this it would hand back naive values that cannot be compared with now()."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.astimezone(dt.UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


class Base(DeclarativeBase):
    pass


class DecisionRow(Base):
    """The current decision per clip; the payload is the full `moderation.decision/1`."""

    __tablename__ = "decisions"
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    creator_id: Mapped[str] = mapped_column(String(128), index=True)
    verdict: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class ClipSignalRow(Base):
    """What a signal computed for a clip that may be shown (allow or review), for retroscan."""

    __tablename__ = "clip_signals"
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    signal: Mapped[str] = mapped_column(String(32), primary_key=True)
    creator_id: Mapped[str] = mapped_column(String(128), index=True)
    model_version: Mapped[str] = mapped_column(String(128))
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ClaimRow(Base):
    __tablename__ = "claims"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)          # active | withdrawn
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    aliases: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)   # [{"text", "lang"}]
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ClaimReferenceRow(Base):
    __tablename__ = "claim_references"
    reference_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(256))
    pdq: Mapped[str] = mapped_column(String(64))
    phash: Mapped[str] = mapped_column(String(16))
    # A small JPEG of the reference, shown beside the matched frame in the console.
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    media_kind: Mapped[str] = mapped_column(String(8), default="image")     # image | clip | audio
    media_sha256: Mapped[str] = mapped_column(String(64), default="")      # of the file the holder sent
    orb: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)   # serialized ORB variants
    # A CLIP embedding (float32) and the weights that made it; only comparable with the same weights.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    embedding_model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # A recording's landmarks (classifiers.music.index.to_bytes); pdq and phash are then empty.
    audio: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class ClaimEventRow(Base):
    """A claim's history: filed, withdrawn, retroscanned. Append-only."""

    __tablename__ = "claim_events"
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class ClaimMatchRow(Base):
    """A clip that matched a claim, shown to the claim's holder."""

    __tablename__ = "claim_matches"
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id", ondelete="CASCADE"), primary_key=True)
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    reference_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    method: Mapped[str] = mapped_column(String(16))
    measure: Mapped[float] = mapped_column(Float)       # Hamming distance, or ORB inliers
    frame: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))     # gate | retroscan
    matched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class DecisionHistoryRow(Base):
    """Every decision ever made for a clip, append-only: gate, retroscan and analyst."""

    __tablename__ = "decision_history"
    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clip_id: Mapped[str] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class ClipRow(Base):
    """The `clip.generated/1` event behind a decision, for the analyst's view of prompt and creator."""

    __tablename__ = "clips"
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    creator_id: Mapped[str] = mapped_column(String(128), index=True)
    event: Mapped[dict[str, Any]] = mapped_column(JSON)


class FrameRow(Base):
    """A JPEG thumbnail of a sampled frame, kept for clips an analyst may need to look at."""

    __tablename__ = "clip_frames"
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    frame_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    t: Mapped[float] = mapped_column(Float)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class AccountRow(Base):
    __tablename__ = "accounts"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ApiTokenRow(Base):
    """A bearer token: the public id finds the row, the secret's SHA-256 is compared."""

    __tablename__ = "api_tokens"
    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account: Mapped[str] = mapped_column(ForeignKey("accounts.name", ondelete="CASCADE"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class SessionRow(Base):
    """A console login. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "console_sessions"
    session_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(ForeignKey("accounts.name", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class LoginFailureRow(Base):
    __tablename__ = "login_failures"
    failure_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class ReviewItemRow(Base):
    """One piece of analyst work: a `review` decision, an owner's removal request or a dispute."""

    __tablename__ = "review_items"
    # A replayed gate decision must not queue the same clip twice for the same reason.
    __table_args__ = (Index("one_open_item_per_clip_and_kind", "clip_id", "kind", unique=True,
                            postgresql_where=text("status <> 'done'"), sqlite_where=text("status <> 'done'")),)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    clip_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)   # open | claimed | done
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(String(512))
    filed_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claim_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)


class AuditRow(Base):
    """Append-only: who did what to which clip, when, and the state before and after."""

    __tablename__ = "audit_log"
    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(32))
    clip_id: Mapped[str | None] = mapped_column(String(128), index=True, nullable=True)
    item_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class QualityAlertRow(Base):
    """A failed data-quality expectation, raised by `clipguard audit`."""

    __tablename__ = "quality_alerts"
    alert_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    raised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    suite: Mapped[str] = mapped_column(String(64))
    check_name: Mapped[str] = mapped_column(String(64))
    problem: Mapped[str] = mapped_column(String(256))
    observed: Mapped[str] = mapped_column(Text)
    window: Mapped[str] = mapped_column(String(128))


class FigureRow(Base):
    """A public figure whose likeness is not to be generated without their consent."""

    __tablename__ = "figures"
    figure_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    # A figure who also enrolled a cameo consents through it: their cameo's permission applies.
    cameo_user: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class CameoRow(Base):
    """A person who enrolled their face, and whom they let use it."""

    __tablename__ = "cameos"
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    permission: Mapped[str] = mapped_column(String(16))     # only_me | approved | mutuals | everyone | revoked
    approved: Mapped[list[str]] = mapped_column(JSON, default=list)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CameoEventRow(Base):
    """A cameo's history: enrolled, permission changed, revoked, removal asked. Append-only."""

    __tablename__ = "cameo_events"
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class MutualRow(Base):
    """Two platform users who follow each other, as the platform reports it; stored both ways."""

    __tablename__ = "mutuals"
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    other_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class FaceEmbeddingRow(Base):
    """One enrolled photo or recording of a figure or a cameo owner, embedded by one face or
    voice model."""

    __tablename__ = "face_embeddings"
    embedding_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(8))       # figure | cameo
    subject_id: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(128))            # only comparable within one model
    medium: Mapped[str] = mapped_column(String(8), server_default="face")   # face | voice
    vector: Mapped[bytes] = mapped_column(LargeBinary)         # float32
    media_sha256: Mapped[str] = mapped_column(String(64))
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)   # the face, as JPEG
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_face_embeddings_subject", "subject_kind", "subject_id"),)


class FaceSightingRow(Base):
    """A clip in which an enrolled person's face was seen: what the person sees of themselves."""

    __tablename__ = "face_sightings"
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    creator_id: Mapped[str] = mapped_column(String(128))
    distance: Mapped[float] = mapped_column(Float)
    frame: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)

    __table_args__ = (Index("ix_face_sightings_subject", "subject_kind", "subject_id"),)


class DecodeAttemptRow(Base):
    """A Kafka record whose media was being decoded and has not finished: a row left behind means
    the gate died during that decode."""

    __tablename__ = "decode_attempts"
    topic: Mapped[str] = mapped_column(String(249), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    clip_id: Mapped[str] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class DecisionInputRow(Base):
    """What the gate decided a clip from, for every gate decision: the event's attrs, any media
    error and each signal's findings (Signal.as_record), so a backtest re-decides without media."""

    __tablename__ = "decision_inputs"
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    policy: Mapped[str] = mapped_column(String(160))     # the live policy's label
    verdict: Mapped[str] = mapped_column(String(16))     # the live policy's verdict
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)


class ShadowDecisionRow(Base):
    """What a shadow policy decided for a clip beside the live one; never published."""

    __tablename__ = "shadow_decisions"
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    shadow_policy: Mapped[str] = mapped_column(String(160), primary_key=True)
    live_policy: Mapped[str] = mapped_column(String(160))
    live_verdict: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class PolicyVersionRow(Base):
    """A policy version once promoted: the live one, and those it replaced (retired)."""

    __tablename__ = "policy_versions"
    label: Mapped[str] = mapped_column(String(160), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)    # live | retired
    promoted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    promoted_by: Mapped[str] = mapped_column(String(128))


class RemixEdgeRow(Base):
    """A clip's `remix_of` parent, as its event declared it: the lineage a takedown follows."""

    __tablename__ = "remix_edges"
    clip_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    parent_id: Mapped[str] = mapped_column(String(128), index=True)


class BankRow(Base):
    """A list of known harmful content's hashes, shared between platforms (no media is kept)."""

    __tablename__ = "banks"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    report: Mapped[bool] = mapped_column(Boolean)
    enabled: Mapped[bool] = mapped_column(Boolean)
    pdq_threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer)       # bumped by every change to it or its entries
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class BankEntryRow(Base):
    """A hash in a bank; a removed entry keeps its row, with the time it was removed."""

    __tablename__ = "bank_entries"
    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(ForeignKey("banks.name", ondelete="CASCADE"), index=True)
    signal_type: Mapped[str] = mapped_column(String(16))
    signal: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(256), default="")
    source_id: Mapped[str] = mapped_column(String(256), default="")
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class BankEventRow(Base):
    """A bank's history: created, imported, disabled, enabled, entries removed. Append-only."""

    __tablename__ = "bank_events"
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(ForeignKey("banks.name", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class BankMatchRow(Base):
    """A clip that matched a bank entry: hashes and distances only, never frames."""

    __tablename__ = "bank_matches"
    match_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(128), index=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    clip_id: Mapped[str] = mapped_column(String(128), index=True)
    signal_type: Mapped[str] = mapped_column(String(16))
    distance: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))     # gate | retroscan
    matched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class BankReportRow(Base):
    """A match of a bank that must be reported, queued for an exporter: append-only, and a row
    once handed over is marked with the time, never deleted."""

    __tablename__ = "bank_reports"
    report_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_id: Mapped[int] = mapped_column(Integer, index=True)
    bank: Mapped[str] = mapped_column(String(128), index=True)
    queued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    exported_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
