"""What a decoded clip is, for every layer that reads one: the decoder in `media/` makes it,
the classifiers score it, the pipelines carry it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class MediaError(Exception):
    """The clip's media could not be used. `code` is stable, the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Frame:
    index: int          # frame number in the stream (from its timestamp)
    t: float            # seconds from the start
    cut: bool           # first frame after a scene cut
    rgb: np.ndarray     # HxWx3 uint8, longest side at most MediaLimits.frame_max_side
    # (PDQ hex, quality), once the pipeline has hashed the frame for every family that reads it.
    pdq: tuple[str, int] | None = None


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray     # mono float32 in [-1, 1]
    rate: int               # samples per second

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


@dataclass(frozen=True)
class SampledClip:
    frames: tuple[Frame, ...]
    duration_s: float
    width: int
    height: int
    decoded_frames: int     # how many frames were actually decoded (fewer with reference_frames_only)
    # The file the frames came from, inside the media roots: for the families that read the file
    # itself (provenance reads its C2PA manifest). None for frames made in memory.
    path: Path | None = None
    # The first audio stream, for the audio families; None when the clip has none.
    audio: Audio | None = None
