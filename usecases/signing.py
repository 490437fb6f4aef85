"""Binding a decision to its clip: a copy of the clip, under the signed folder, whose C2PA
manifest carries clipguard's `org.clipguard.moderation` assertion (clip_id, verdict,
policy_version, models, decided_at), chained to the clip's own manifest as its ingredient.
Anyone with the operator's CA certificate can then check, with any C2PA reader, that the clip
was moderated and under which policy, without asking clipguard."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from classifiers.provenance.report import MODERATION
from classifiers.provenance.signing import SigningKey, sign_copy
from clipguard.core.config import Settings
from media.sampling import check_size, resolve_media
from registry.db import engine_for
from registry.review import AuditLog
from registry.store import DecisionStore

ASSERTED = ("clip_id", "verdict", "policy_version", "models", "decided_at")


def signing_key(settings: Settings) -> SigningKey:
    """The operator's key, or a ValueError saying what to configure."""
    if settings.signing_key is None or settings.signing_certs is None:
        raise ValueError("signing needs CLIPGUARD_SIGNING_KEY and CLIPGUARD_SIGNING_CERTS "
                         "(a PEM private key and its certificate chain, signing certificate first)")
    return SigningKey.from_files(settings.signing_key, settings.signing_certs, settings.signing_tsa_url)


def moderation_assertion(decision: Mapping[str, Any]) -> dict[str, Any]:
    return {key: decision[key] for key in ASSERTED}


def sign_decision(decision: Mapping[str, Any], media: Path, folder: Path, key: SigningKey) -> Path:
    """Write `<folder>/<clip_id>.mp4`: the clip at `media` with the decision signed in."""
    target = folder / f"{decision['clip_id']}.mp4"     # clip ids are [A-Za-z0-9._:-]: one file name
    manifest = {"claim_generator_info": [{"name": "clipguard", "version": version("clipguard")}],
                "title": decision["clip_id"],
                "assertions": [{"label": MODERATION, "data": moderation_assertion(decision)}]}
    sign_copy(media, target, manifest, key, about_source=True)
    return target


def sign_stored(settings: Settings, clip_id: str, entry_id: int | None = None) -> Path:
    """Sign a stored decision of `clip_id`: its current one, or the history entry `entry_id`."""
    engine = engine_for(settings.database_url)
    decisions = DecisionStore(engine)
    if entry_id is None:
        decision = decisions.get(clip_id)
        if decision is None:
            raise ValueError(f"no decision for clip {clip_id!r}")
    else:
        history = AuditLog(engine).decision_history(clip_id)
        decision = next((d for d in history if d["entry_id"] == entry_id), None)
        if decision is None:
            entries = ", ".join(str(d["entry_id"]) for d in history) or "none"
            raise ValueError(f"clip {clip_id!r} has no decision entry {entry_id} (its entries: {entries})")
    event = decisions.event(clip_id)
    if event is None:
        raise ValueError(f"no stored event for clip {clip_id!r}, so no media to sign")
    media = resolve_media(event["media_uri"], settings.media_roots)
    check_size(media, settings.media)
    return sign_decision(decision, media, settings.signed_folder, signing_key(settings))
