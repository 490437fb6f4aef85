"""PDQ of a frame: the hash two families match on, the character family against claims and the
bank family against hash banks. The gate hashes each sampled frame once (`with_pdq`, in
pipelines/moderate.py's LoadMedia) and both families read it from the frame; frames made any
other way are hashed where they are read."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pdqhash

from clipguard.core.media import Frame, SampledClip


def pdq_hash(rgb: np.ndarray) -> tuple[str, int]:
    """(64 hex chars, quality 0-100), bit for bit as python-threatexchange writes PDQ."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def frame_pdq(frame: Frame) -> tuple[str, int]:
    return frame.pdq if frame.pdq is not None else pdq_hash(frame.rgb)


def with_pdq(clip: SampledClip) -> SampledClip:
    return replace(clip, frames=tuple(replace(f, pdq=pdq_hash(f.rgb)) for f in clip.frames))
