"""Uploaded media (a claim's references, an enrolment's photos) read into RGB frames, after the
checks every upload gets: not empty, under the byte and pixel caps (decompression bombs
included), readable, at least 32 px. One door, so every upload is refused the same way.
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
from media.sampling import MediaError, sample_frames

MAX_UPLOAD_BYTES = 64 << 20
MAX_UPLOAD_PIXELS = 40_000_000
MIN_UPLOAD_SIDE = 32
CLIP_FRAMES = 4          # an uploaded clip contributes this many frames at most
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


class BadUpload(ValueError):
    """An uploaded file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


@dataclass(frozen=True)
class Media:
    frames: list[np.ndarray]    # RGB
    kind: str                   # image | clip
    sha256: str


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
            clip = sample_frames(Path(tmp.name), limits)
        except MediaError as exc:
            # The message names the temporary file; the client sent it under its own name.
            detail = str(exc).replace(Path(tmp.name).name, "the file")
            raise BadUpload(f"{upload.name}: not a readable image or clip ({detail})") from None
    _check_side(upload, clip.width, clip.height)
    step = max(1, len(clip.frames) // CLIP_FRAMES)
    return Media([f.rgb for f in clip.frames[::step][:CLIP_FRAMES]], "clip", digest)


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
