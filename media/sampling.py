"""Resolve an event's media and turn it into a few representative frames, and its soundtrack.

Resolution refuses anything but `file://` URIs that stay inside the media roots after every
symlink is followed. Sampling takes uniform frames plus the first frame after each scene cut,
capped per clip, so a cut-in of a few seconds of claimed footage is not skipped.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlparse

import av
import numpy as np
from PIL import Image

from clipguard.core.config import MediaLimits
from clipguard.core.media import Audio, Frame, MediaError, SampledClip
from media.audio import decode_audio


def uri_path(uri: str) -> str:
    """The local path a `file://` URI names, percent-decoded but not yet resolved."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise MediaError("media_scheme", f"only file:// media URIs are accepted, got {parsed.scheme or 'no'} scheme")
    if parsed.netloc not in ("", "localhost"):
        raise MediaError("media_scheme", f"file:// URIs must not name a host, got {parsed.netloc!r}")
    # surrogateescape: a file name that is not UTF-8 comes back as the str Python names it by,
    # as `Path.as_uri()` quoted its bytes.
    return unquote(parsed.path, errors="surrogateescape")


def resolve_media(uri: str, roots: tuple[Path, ...]) -> Path:
    """The real path of a `file://` URI inside one of `roots`, or MediaError."""
    raw = uri_path(uri)
    if "\x00" in raw:
        raise MediaError("media_outside_roots", "media path contains a NUL byte")
    # realpath follows every symlink, so a link inside a root that points out is caught here.
    real = Path(os.path.realpath(raw))
    for root in roots:
        if real.is_relative_to(os.path.realpath(root)):
            return real
    raise MediaError("media_outside_roots", f"{raw[:200]} is outside the media roots")


def check_size(path: Path, limits: MediaLimits) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaError("media_missing", f"{path.name} does not exist") from None
    if not path.is_file():
        raise MediaError("media_missing", f"{path.name} is not a regular file")
    if size == 0:
        raise MediaError("media_empty", f"{path.name} is empty")
    if size > limits.max_bytes:
        raise MediaError("media_too_large", f"{path.name} is {size} bytes; the limit is {limits.max_bytes}")


def check_declared_size(attrs: dict, limits: MediaLimits) -> None:
    """Producers may declare `attrs.size_bytes`; an oversize clip is refused before it is opened."""
    declared = attrs.get("size_bytes")
    if declared is None:
        return
    if not isinstance(declared, int) or isinstance(declared, bool) or declared < 0:
        raise MediaError("media_bad_size", f"attrs.size_bytes must be a non-negative integer, got {declared!r:.40}")
    if declared > limits.max_bytes:
        raise MediaError("media_too_large", f"declared size {declared} bytes exceeds the {limits.max_bytes} limit")


def sample_frames(path: Path, limits: MediaLimits) -> SampledClip:
    """Decode `path` and keep uniform frames plus scene-cut frames, at most `max_frames`, and its
    first audio stream."""
    check_size(path, limits)
    with decoding(path):
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise MediaError("media_no_video", f"{path.name} has no video stream with frames in it")
            stream = container.streams.video[0]
            stream.thread_type = limits.decode_threads
            if limits.reference_frames_only:
                stream.codec_context.skip_frame = "NONREF"
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > limits.max_pixels:
                raise MediaError("media_too_large", f"{width}x{height} exceeds {limits.max_pixels} pixels")
            declared = float(stream.duration * stream.time_base) if stream.duration else None
            if declared is not None and declared > limits.max_duration_s:
                raise MediaError("media_too_large", f"{declared:.0f}s exceeds the {limits.max_duration_s:.0f}s limit")
            deadline = time.monotonic() + limits.decode_deadline_s      # the video's and the audio's
            sampled = _sample(container, stream, width, height, limits, path.name, deadline)
        return replace(sampled, path=path, audio=decode_audio(path, limits, deadline))


def read_recording(path: Path, limits: MediaLimits) -> Audio | None:
    """The first audio stream of a file that may have no video (a claim's recording)."""
    check_size(path, limits)
    with decoding(path):
        return decode_audio(path, limits)


@contextmanager
def decoding(path: Path) -> Iterator[None]:
    """The boundary of the whole decode path: whatever a hostile or broken file makes PyAV or
    numpy raise (an SVG opens with no codec context at all), the media is unreadable, never a crash."""
    try:
        yield
    except MediaError:
        raise
    except Exception as exc:
        # FFmpeg's messages quote the whole path; the media roots are nobody's business but ours.
        cause = str(exc).replace(str(path), path.name)
        raise MediaError("media_corrupt", f"{path.name} could not be decoded: {type(exc).__name__}: {cause}"[:500]) \
            from None


def _sample(container, stream, width: int, height: int, limits: MediaLimits, name: str,
            deadline: float) -> SampledClip:
    scale = min(1.0, limits.frame_max_side / max(width, height))
    out_w, out_h = max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)
    step = 1.0 / limits.sample_fps
    next_uniform = 0.0
    previous_luma = None
    picked: list[Frame] = []
    count = 0
    t = 0.0
    rate = float(stream.average_rate or 25)
    for frame in container.decode(stream):
        t = float(frame.time) if frame.time is not None else count / rate
        if t > limits.max_duration_s:
            raise MediaError("media_too_large", f"{name} runs past the {limits.max_duration_s:.0f}s limit")
        if time.monotonic() > deadline:
            raise MediaError("media_too_slow", f"{name} took over {limits.decode_deadline_s:.0f}s to decode "
                                               f"({count} frames in)")
        # Scene cuts are judged on a coarse grid of the luma plane: no colour conversion needed.
        luma = _coarse_luma(frame)
        cut = previous_luma is not None and float(np.abs(luma - previous_luma).mean()) > limits.scene_cut_threshold
        previous_luma = luma
        if t >= next_uniform or cut:
            rgb = frame.to_ndarray(format="rgb24", width=out_w, height=out_h)
            # The index is the frame's position in the stream, not among decoded frames.
            picked.append(Frame(index=round(t * rate), t=round(t, 3), cut=cut, rgb=rgb))
            if len(picked) > 4 * limits.max_frames:  # bounds memory on long or strobing clips
                picked = list(_cap(picked, limits.max_frames))
            while next_uniform <= t:
                next_uniform += step
        count += 1
    if not picked:
        raise MediaError("media_no_frames", f"{name} has no decodable frames")
    return SampledClip(_cap(picked, limits.max_frames), round(t, 3), width, height, count)


def _coarse_luma(frame: av.VideoFrame) -> np.ndarray:
    plane = frame.planes[0]
    rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
    return rows[::16, : plane.width : 16].astype(np.float32)


def _cap(frames: list[Frame], limit: int) -> tuple[Frame, ...]:
    """Keep every cut frame first (they carry the most new content), then spread the rest."""
    if len(frames) <= limit:
        return tuple(frames)
    cuts = [f for f in frames if f.cut][:limit]
    rest = [f for f in frames if not f.cut]
    room = limit - len(cuts)
    spread = [rest[round(i * (len(rest) - 1) / max(1, room - 1))] for i in range(room)] if room else []
    return tuple(sorted({f.index: f for f in cuts + spread}.values(), key=lambda f: f.index))


THUMBNAIL_MAX_SIDE = 320


def thumbnail_jpeg(rgb: np.ndarray, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """A small JPEG of one frame, for the analyst's view of the evidence."""
    image = Image.fromarray(rgb)
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()
