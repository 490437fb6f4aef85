"""The JSON contracts clipguard speaks on Kafka, with strict validation.

Every rejection is a `ContractError` carrying a stable error code (what dashboards and the
dead-letter topic key on) and a message that says what was wrong.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from clipguard.core.vocab import Source, Verdict, words

CLIP_GENERATED = "clip.generated/1"
DECISION = "moderation.decision/1"
DEADLETTER = "moderation.deadletter/1"

# Precedence: a later entry beats an earlier one when reasons disagree.
VERDICTS = words(Verdict)
SOURCES = words(Source)

ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_EVENT_BYTES = 1 << 20
MAX_PROMPT_CHARS = 4000
MAX_CAMEOS = 16


class ContractError(ValueError):
    """An event that breaks its contract. `code` is stable; the message is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def strongest(verdicts: list[Verdict]) -> Verdict:
    """The verdict that wins under takedown > block > review > allow."""
    return max(verdicts, key=VERDICTS.index, default="allow")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def isoformat(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ContractError("bad_timestamp", f"{name} must be an ISO-8601 string, got {type(value).__name__}")
    try:
        ts = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ContractError("bad_timestamp", f"{name} is not an ISO-8601 timestamp: {value[:64]!r}") from None
    if ts.tzinfo is None:
        raise ContractError("bad_timestamp", f"{name} must carry a timezone: {value[:64]!r}")
    return ts


def check_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        shown = repr(value)[:64]
        raise ContractError("bad_id", f"{name} must be 1-128 chars of [A-Za-z0-9._:-], got {shown}")
    return value


# Text people type: something besides whitespace, and no control character but tab and newline
# (PostgreSQL refuses NUL in text). The REST schema publishes the same pattern. Lone surrogates
# are refused too: they cannot be encoded to UTF-8 at all.
TEXT_PATTERN = r"^[\t\n ]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b-\x1f\x7f]*$"
_TEXT = re.compile(TEXT_PATTERN)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_text(value: Any, name: str, max_chars: int) -> str:
    """Free text people type (a title, a name, an alias, a note): 1-`max_chars` characters, not
    only whitespace, nothing that cannot be stored."""
    if not isinstance(value, str) or not value.strip():
        raise ContractError("bad_text", f"{name} must not be empty or only whitespace")
    if len(value) > max_chars:
        raise ContractError("bad_text", f"{name} is {len(value)} characters; the limit is {max_chars}")
    if not _TEXT.fullmatch(value) or _SURROGATE.search(value):
        raise ContractError("bad_text", f"{name} contains a control character or a lone surrogate")
    return value


@dataclass(frozen=True)
class ClipGenerated:
    clip_id: str
    creator_id: str
    media_uri: str
    created_at: str
    prompt: str | None = None
    cameo_ids: tuple[str, ...] = ()
    remix_of: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    schema: str = CLIP_GENERATED

    def to_json(self) -> bytes:
        body = asdict(self)
        body["cameo_ids"] = list(self.cameo_ids)
        return json.dumps(body, sort_keys=True).encode()


_CLIP_FIELDS = {"schema", "clip_id", "creator_id", "media_uri", "prompt", "cameo_ids",
                "remix_of", "created_at", "attrs"}


def parse_clip_generated(raw: bytes) -> ClipGenerated:
    """Decode and validate one `clip.generated/1` event, or raise ContractError."""
    if len(raw) > MAX_EVENT_BYTES:
        raise ContractError("event_too_large", f"event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES}")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError("not_json", f"event is not UTF-8 JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ContractError("not_object", f"event must be a JSON object, got {type(body).__name__}")
    if body.get("schema") != CLIP_GENERATED:
        raise ContractError("wrong_schema", f"schema must be {CLIP_GENERATED!r}, got {body.get('schema')!r:.64}")
    missing = sorted({"clip_id", "creator_id", "media_uri", "created_at"} - body.keys())
    if missing:
        raise ContractError("missing_field", f"missing required field(s): {', '.join(missing)}")
    unknown = sorted(body.keys() - _CLIP_FIELDS)
    if unknown:
        raise ContractError("unknown_field", f"unknown field(s): {', '.join(unknown)[:200]}")
    prompt = body.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > MAX_PROMPT_CHARS):
        raise ContractError("bad_prompt", f"prompt must be null or a string of at most {MAX_PROMPT_CHARS} chars")
    cameo_ids = body.get("cameo_ids", [])
    if not isinstance(cameo_ids, list) or len(cameo_ids) > MAX_CAMEOS:
        raise ContractError("bad_cameo_ids", f"cameo_ids must be a list of at most {MAX_CAMEOS} ids")
    attrs = body.get("attrs", {})
    if not isinstance(attrs, dict):
        raise ContractError("bad_attrs", "attrs must be a JSON object")
    media_uri = body["media_uri"]
    if not isinstance(media_uri, str) or not media_uri:
        raise ContractError("bad_media_uri", "media_uri must be a non-empty string")
    remix_of = body.get("remix_of")
    parse_timestamp(body["created_at"], "created_at")
    return ClipGenerated(
        clip_id=check_id(body["clip_id"], "clip_id"),
        creator_id=check_id(body["creator_id"], "creator_id"),
        media_uri=media_uri,
        created_at=body["created_at"],
        prompt=prompt,
        cameo_ids=tuple(check_id(c, "cameo_ids[]") for c in cameo_ids),
        remix_of=None if remix_of is None else check_id(remix_of, "remix_of"),
        attrs=attrs,
    )


def thumbnail_ref(clip_id: str, frame_index: int) -> str:
    """Where evidence points for a frame's thumbnail: a path under the console's /console/ root.
    The thumbnail exists while the clip's verdict keeps frames and the retention period lasts."""
    return f"frames/{quote(clip_id)}/{frame_index}.jpg"


@dataclass(frozen=True)
class Reason:
    policy: str
    signal: str
    detail: str
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    clip_id: str
    verdict: Verdict
    reasons: tuple[Reason, ...]
    policy_version: str
    models: dict[str, str]
    decided_at: str
    latency_ms: float
    source: str = "gate"
    schema: str = DECISION

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["reasons"] = [asdict(r) for r in self.reasons]
        return body

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True).encode()


def parse_decision(raw: bytes) -> Decision:
    """Decode a `moderation.decision/1` (consumers of the decisions topic use this)."""
    body = json.loads(raw)
    if body.get("schema") != DECISION:
        raise ContractError("wrong_schema", f"schema must be {DECISION!r}")
    if body.get("verdict") not in VERDICTS or body.get("source") not in SOURCES:
        raise ContractError("bad_decision", "verdict or source outside the allowed values")
    reasons = tuple(Reason(**r) for r in body.pop("reasons"))
    return Decision(reasons=reasons, **body)


@dataclass(frozen=True)
class DeadLetter:
    """A rejected event, kept whole so it can be replayed once the producer is fixed."""

    error_code: str
    reason: str
    payload_b64: str
    source: dict[str, Any]
    received_at: str
    schema: str = DEADLETTER

    @classmethod
    def of(cls, code: str, reason: str, raw: bytes, source: dict[str, Any]) -> DeadLetter:
        return cls(code, reason, base64.b64encode(raw).decode(), source, isoformat(utcnow()))

    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()
