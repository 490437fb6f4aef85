"""A clip's first audio stream, decoded to mono float32 at one fixed rate, for the audio families.

Held to the same limits as the video: the stream may not run past the clip's duration limit, and
decoding stops at the caller's deadline. A file without an audio stream has no audio (None), and
the audio families then simply have nothing to say.
"""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np

from clipguard.core.config import MediaLimits
from clipguard.core.media import Audio, MediaError

AUDIO_RATE = 16_000     # what speech models expect; music fingerprints halve it


def decode_audio(path: Path, limits: MediaLimits, deadline: float | None = None) -> Audio | None:
    """The first audio stream of `path` as mono float32 at AUDIO_RATE, or None without one.
    `deadline` is a time.monotonic() by which decoding must be done (the video's, when both)."""
    deadline = deadline if deadline is not None else time.monotonic() + limits.decode_deadline_s
    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
        max_samples = int(limits.max_duration_s * AUDIO_RATE)
        pieces: list[np.ndarray] = []
        held = 0
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                held += _keep(out, pieces)
            if held > max_samples:
                raise MediaError("media_too_large", f"{path.name}'s audio runs past the "
                                                    f"{limits.max_duration_s:.0f}s limit")
            if time.monotonic() > deadline:
                raise MediaError("media_too_slow", f"{path.name}'s audio took over "
                                                   f"{limits.decode_deadline_s:.0f}s to decode")
        for out in resampler.resample(None):
            _keep(out, pieces)
    if not pieces:
        return None
    return Audio(np.concatenate(pieces), AUDIO_RATE)


def _keep(frame: av.AudioFrame, pieces: list[np.ndarray]) -> int:
    samples = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    pieces.append(samples)
    return len(samples)
