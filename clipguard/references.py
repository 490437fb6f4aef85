"""A rights holder's reference media (images or clips) turned into what the registry stores:
PDQ and pHash, ORB variants, a thumbnail, the media's SHA-256. One door for the CLI, the REST API
and the demo, so every claim is checked the same way. Nothing is stored here: a claim whose
references do not all read is refused whole by the caller.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from classifiers import orb
from classifiers.characters import hash_frame
from classifiers.embeddings import ClipEmbedder, to_bytes
from clipguard.config import MediaLimits, Settings
from pipelines.media import MediaError, sample_frames, thumbnail_jpeg
from registry.claims import NewReference

MAX_REFERENCE_BYTES = 64 << 20
MAX_REFERENCE_PIXELS = 40_000_000
CLIP_FRAMES = 4          # a reference clip contributes this many frames at most
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


class BadReference(ValueError):
    """A reference file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ReferenceFile:
    name: str
    data: bytes


def configured_embedder(settings: Settings) -> ClipEmbedder | None:
    """The operator's CLIP model, when CLIPGUARD_CLIP_MODEL_DIR names one."""
    return ClipEmbedder(settings.clip_model_dir) if settings.clip_model_dir else None


def build_references(files: list[ReferenceFile], limits: MediaLimits,
                     embedder: ClipEmbedder | None = None) -> list[NewReference]:
    """References for every file; with an `embedder`, each also carries its CLIP embedding."""
    if not files:
        raise BadReference("a claim needs at least one reference image or clip")
    references = []
    for file in files:
        if not file.data:
            raise BadReference(f"{file.name}: the file is empty")
        if len(file.data) > MAX_REFERENCE_BYTES:
            raise BadReference(f"{file.name}: {len(file.data)} bytes; references are capped at "
                                 f"{MAX_REFERENCE_BYTES >> 20} MiB")
        digest = hashlib.sha256(file.data).hexdigest()
        frames, kind = _frames(file, limits)
        references += [_reference(f"{file.name}#{i}" if len(frames) > 1 else file.name, rgb, kind, digest)
                       for i, rgb in enumerate(frames)]
        if embedder is not None:
            vectors = embedder.images(frames)
            references[-len(frames):] = [replace(r, embedding=to_bytes(v), embedding_model=embedder.version)
                                         for r, v in zip(references[-len(frames):], vectors, strict=True)]
    return references


def _reference(label: str, rgb: np.ndarray, kind: str, digest: str) -> NewReference:
    hashes = hash_frame(rgb)
    return NewReference(label[:256], hashes.pdq, hashes.phash, thumbnail_jpeg(rgb), kind, digest,
                        orb.serialize(orb.reference_variants(rgb)))


def _frames(file: ReferenceFile, limits: MediaLimits) -> tuple[list[np.ndarray], str]:
    if Path(file.name).suffix.lower() in IMAGE_SUFFIXES or _looks_like_image(file.data):
        return [_image(file)], "image"
    with tempfile.NamedTemporaryFile(suffix=Path(file.name).suffix or ".mp4") as tmp:
        tmp.write(file.data)
        tmp.flush()
        try:
            clip = sample_frames(Path(tmp.name), limits)
        except MediaError as exc:
            raise BadReference(f"{file.name}: not a readable image or clip ({exc})") from None
    step = max(1, len(clip.frames) // CLIP_FRAMES)
    return [f.rgb for f in clip.frames[::step][:CLIP_FRAMES]], "clip"


def _looks_like_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except (UnidentifiedImageError, OSError):
        return False


def _image(file: ReferenceFile) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(file.data)) as image:
                if image.width * image.height > MAX_REFERENCE_PIXELS:
                    raise BadReference(f"{file.name}: {image.width}x{image.height} pixels is over the "
                                         f"{MAX_REFERENCE_PIXELS // 1_000_000} MP cap")
                image.load()
                rgb = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise BadReference(f"{file.name}: not a readable image ({exc})") from None
    if min(rgb.shape[:2]) < 32:
        raise BadReference(f"{file.name}: {rgb.shape[1]}x{rgb.shape[0]} is too small to match (32 px at least)")
    return rgb
