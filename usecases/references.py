"""A rights holder's reference media (images, clips, recordings) turned into what the registry
stores: PDQ and pHash, ORB variants, a thumbnail, the media's SHA-256; a recording's (or a clip's
soundtrack's) spectral landmarks. One door for the CLI, the REST API
and the demo, so every claim is checked the same way. Nothing is stored here: a claim whose
references do not all read is refused whole by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from classifiers.character import orb
from classifiers.character.embeddings import ClipEmbedder, to_bytes
from classifiers.character.handler import hash_frame
from classifiers.music.index import landmarks_to_bytes
from classifiers.music.landmarks import landmarks, peaks
from clipguard.core.config import MediaLimits, Settings
from media.sampling import thumbnail_jpeg
from media.uploads import MIN_RECORDING_S, BadUpload, Media, Upload, read_media
from registry.claims import NewReference


def configured_embedder(settings: Settings) -> ClipEmbedder | None:
    """The operator's CLIP model, when CLIPGUARD_CLIP_MODEL_DIR names one."""
    return ClipEmbedder(settings.clip_model_dir) if settings.clip_model_dir else None


# A recording with fewer than this many pairs holds too little sound to tell from others.
MIN_REFERENCE_LANDMARKS = 50


def build_references(files: Iterable[Upload], limits: MediaLimits,
                     embedder: ClipEmbedder | None = None) -> list[NewReference]:
    """References for every file; with an `embedder`, each also carries its CLIP embedding."""
    references = []
    for file in files:
        media = read_media(file, limits)
        references += _recordings(file.name, media)
        frames = media.frames
        references += [_reference(f"{file.name}#{i}" if len(frames) > 1 else file.name, rgb, media.kind,
                                  media.sha256) for i, rgb in enumerate(frames)]
        if embedder is not None and frames:
            vectors = embedder.images(frames)
            references[-len(frames):] = [replace(r, embedding=to_bytes(v), embedding_model=embedder.version)
                                         for r, v in zip(references[-len(frames):], vectors, strict=True)]
    if not references:
        raise BadUpload("a claim needs at least one reference image, clip or recording")
    return references


def _recordings(name: str, media: Media) -> list[NewReference]:
    """A recording's reference, for the music family; a clip's soundtrack too, when it holds
    enough sound to match (a silent or too short one is no reference, and no error)."""
    audio = media.audio
    if audio is None or (media.frames and audio.duration_s < MIN_RECORDING_S):
        return []
    marks = landmarks(peaks(audio.samples, audio.rate))
    if len(marks) < MIN_REFERENCE_LANDMARKS:
        if media.frames:
            return []
        raise BadUpload(f"{name}: {len(marks)} spectral landmarks; too little distinct sound to match "
                        f"(silence or a steady tone?)")
    label = f"{name}#audio" if media.frames else name
    return [NewReference(label[:256], "", "", None, "audio", media.sha256, audio=landmarks_to_bytes(marks))]


def _reference(label: str, rgb: np.ndarray, kind: str, digest: str) -> NewReference:
    hashes = hash_frame(rgb)
    return NewReference(label[:256], hashes.pdq, hashes.phash, thumbnail_jpeg(rgb), kind, digest,
                        orb.serialize(orb.reference_variants(rgb)))
