"""Uploaded media (a claim's references, an enrolment's photos) read into RGB frames or a
recording, after the checks every upload gets: not empty, under the byte and pixel caps
(decompression bombs included), readable, at least 32 px or 5 s. One door, so every upload is
refused the same way.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from clipguard.core.config import MediaLimits
from clipguard.core.media import Audio
from media.sampling import MediaError, read_recording, sample_frames

MAX_UPLOAD_BYTES = 64 << 20
MAX_UPLOAD_PIXELS = 40_000_000
MIN_UPLOAD_SIDE = 32
CLIP_FRAMES = 4          # an uploaded clip contributes this many frames at most
MIN_RECORDING_S = 5.0    # the shortest excerpt the music family claims to find
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


class BadUpload(ValueError):
    """An uploaded file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


@dataclass(frozen=True)
class Media:
    frames: list[np.ndarray]    # RGB; none for a recording
    kind: str                   # image | clip | audio
    sha256: str
    audio: Audio | None = None  # a recording, or a clip's soundtrack


def read_media(upload: Upload, limits: MediaLimits) -> Media:
    if not upload.data:
        raise BadUpload(f"{upload.name}: the file is empty")
    if len(upload.data) > MAX_UPLOAD_BYTES:
        raise BadUpload(f"{upload.name}: {len(upload.data)} bytes; uploads are capped at "
                        f"{MAX_UPLOAD_BYTES >> 20} MiB")
    digest = hashlib.sha256(upload.data).hexdigest()
    if Path(upload.name).suffix.lower() in IMAGE_SUFFIXES or _looks_like_image(upload.data):
        return Media([_image(upload)], "image", digest)
    # The client's file name never reaches the file system: PyAV probes the content, not the suffix.
    with tempfile.NamedTemporaryFile(prefix="upload-") as tmp:
        tmp.write(upload.data)
        tmp.flush()
        try:
            return _clip_or_recording(upload, Path(tmp.name), limits, digest)
        except MediaError as exc:
            # The message names the temporary file; the client sent it under its own name.
            detail = str(exc).replace(Path(tmp.name).name, "the file")
            raise BadUpload(f"{upload.name}: not a readable image, clip or recording ({detail})") from None


def _clip_or_recording(upload: Upload, path: Path, limits: MediaLimits, digest: str) -> Media:
    try:
        clip = sample_frames(path, limits)
    except MediaError as exc:
        if exc.code != "media_no_video":
            raise
        return _recording(upload, path, limits, digest)
    _check_side(upload, clip.width, clip.height)
    step = max(1, len(clip.frames) // CLIP_FRAMES)
    return Media([f.rgb for f in clip.frames[::step][:CLIP_FRAMES]], "clip", digest, clip.audio)


def _recording(upload: Upload, path: Path, limits: MediaLimits, digest: str) -> Media:
    audio = read_recording(path, limits)
    if audio is None:
        raise MediaError("media_no_video", "it has neither a video nor an audio stream")
    if audio.duration_s < MIN_RECORDING_S:
        raise BadUpload(f"{upload.name}: {audio.duration_s:.1f} s of audio; a recording needs "
                        f"{MIN_RECORDING_S:.0f} s at least")
    return Media([], "audio", digest, audio)


def _looks_like_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except Image.DecompressionBombError:
        return True     # an image, and `_image` refuses it with the reason
    except (UnidentifiedImageError, OSError):
        return False


def _image(upload: Upload) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(upload.data)) as image:
                if image.width * image.height > MAX_UPLOAD_PIXELS:
                    raise BadUpload(f"{upload.name}: {image.width}x{image.height} pixels is over the "
                                    f"{MAX_UPLOAD_PIXELS // 1_000_000} MP cap")
                image.load()
                rgb = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise BadUpload(f"{upload.name}: not a readable image ({exc})") from None
    _check_side(upload, rgb.shape[1], rgb.shape[0])
    return rgb


def _check_side(upload: Upload, width: int, height: int) -> None:
    if min(width, height) < MIN_UPLOAD_SIDE:
        raise BadUpload(f"{upload.name}: {width}x{height} is too small to match ({MIN_UPLOAD_SIDE} px at least)")
