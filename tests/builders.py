"""Decisions and decided clips as the gate would record them, for registry and service tests."""

from __future__ import annotations

import json

from clipguard.core.contracts import ClipGenerated, Decision, Reason
from clipguard.core.triage import review_severity
from fixtures.clips import image
from media.sampling import thumbnail_jpeg
from registry.store import DecidedClip, StoredFrame

AT = "2026-11-21T10:00:00.000Z"


def decision(clip_id: str, verdict: str = "allow", source: str = "gate", at: str = AT,
             signal: str = "character") -> Decision:
    reasons = () if verdict == "allow" else (Reason("p@1/x", signal, f"{signal} why", 0.5, {"frame": 1}),)
    return Decision(clip_id, verdict, reasons, "p@1", {"pdq+phash": "v"}, at, 5.0, source=source)


def decided(d: Decision, creator_id: str = "alice", with_frames: bool = False,
            prompt: str | None = None) -> DecidedClip:
    frames = (StoredFrame(1, 0.0, thumbnail_jpeg(image("chelsea"))),
              StoredFrame(30, 1.0, thumbnail_jpeg(image("coffee")))) if with_frames else ()
    event = ClipGenerated(d.clip_id, creator_id, f"file:///media/{d.clip_id}.mp4", AT, prompt=prompt)
    return DecidedClip(d, json.loads(event.to_json()),
                       {"character": ("v", {"frames": [{"index": 0, "pdq": "ab"}]})}, frames,
                       review_severity([r.signal for r in d.reasons]))
