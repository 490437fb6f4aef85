"""The claimed recordings' landmarks in one inverted index: every reference pair's hash, sorted,
with the reference and the anchor's frame beside it. A query looks its hashes up by binary search
(np.searchsorted), so its cost grows with the log of the index and with the postings its hashes
share, not with the number of references; then it counts, per reference, the hits that agree on
one time offset. Music that is not the reference agrees on none.

It follows the reference-index interface (build / add / query / serialize) of the other families.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np

from classifiers.music.landmarks import FRAMES_PER_S, WARPS, Landmarks, Peaks, landmarks

FORMAT_VERSION = 1
SEARCH_LANDMARKS = 8        # the fewest agreeing pairs the index reports; the policy's bar is higher


@dataclass(frozen=True)
class AudioHit:
    reference: int          # position of the reference in the index
    landmarks: int          # pairs that agree on one offset
    query_landmarks: int    # pairs the clip had under the winning warp
    clip_range: tuple[float, float]       # seconds in the clip
    reference_range: tuple[float, float]  # seconds in the reference
    warp: tuple[float, float]             # (frequency scale, time scale) the clip matched under


def landmarks_to_bytes(marks: Landmarks) -> bytes:
    out = io.BytesIO()
    np.savez(out, version=FORMAT_VERSION, hashes=marks.hashes, frames=marks.frames)
    return out.getvalue()


def landmarks_from_bytes(data: bytes) -> Landmarks:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        if int(z["version"]) != FORMAT_VERSION:
            raise ValueError(f"landmarks of format {int(z['version'])}; this index reads {FORMAT_VERSION}")
        return Landmarks(z["hashes"].astype(np.uint32), z["frames"].astype(np.int32))


class LandmarkIndex:
    def __init__(self) -> None:
        self._hashes = np.zeros(0, np.uint32)
        self._refs = np.zeros(0, np.int32)
        self._frames = np.zeros(0, np.int32)
        self._count = 0

    @classmethod
    def build(cls, references: Iterable[Landmarks]) -> Self:
        index = cls()
        index.add(references)
        return index

    def __len__(self) -> int:
        return self._count

    def add(self, references: Iterable[Landmarks]) -> None:
        """Append references; their positions continue from the last one's."""
        refs = list(references)
        if not refs:
            return
        positions = np.repeat(np.arange(self._count, self._count + len(refs), dtype=np.int32), [len(r) for r in refs])
        hashes = np.concatenate([self._hashes, *(r.hashes for r in refs)])
        order = np.argsort(hashes, kind="stable")
        self._hashes = hashes[order]
        self._refs = np.concatenate([self._refs, positions])[order]
        self._frames = np.concatenate([self._frames, *(r.frames for r in refs)])[order]
        self._count += len(refs)

    def query(self, clip: Peaks, min_landmarks: int = SEARCH_LANDMARKS) -> list[AudioHit]:
        """Each reference the clip's peaks agree with, under the warp that agrees best."""
        best: dict[int, AudioHit] = {}
        for warp in WARPS:
            for hit in self.query_warp(clip, warp, min_landmarks):
                if hit.reference not in best or hit.landmarks > best[hit.reference].landmarks:
                    best[hit.reference] = hit
        return sorted(best.values(), key=lambda h: -h.landmarks)

    def query_warp(self, clip: Peaks, warp: tuple[float, float],
                   min_landmarks: int = SEARCH_LANDMARKS) -> list[AudioHit]:
        """The references the clip's peaks agree with under one warp (the plain index: no warp)."""
        marks = landmarks(clip, warp)
        lo = np.searchsorted(self._hashes, marks.hashes, "left")
        counts = np.searchsorted(self._hashes, marks.hashes, "right") - lo
        total = int(counts.sum())
        if total < min_landmarks:
            return []
        starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
        postings = starts + np.arange(total)
        query = np.repeat(np.arange(len(marks)), counts)
        refs = self._refs[postings].astype(np.int64)
        offsets = self._frames[postings].astype(np.int64) - marks.frames[query]
        hits = []
        for ref, offset, agreeing in _agreeing(refs, offsets, min_landmarks):
            matched = query[agreeing]
            clip_frames = marks.frames[matched]
            start, end = float(clip_frames.min()) / FRAMES_PER_S, float(clip_frames.max()) / FRAMES_PER_S
            span = (round(start / warp[1], 2), round(end / warp[1], 2))
            ref_span = (round((start + offset / FRAMES_PER_S), 2), round((end + offset / FRAMES_PER_S), 2))
            hits.append(AudioHit(int(ref), len(np.unique(matched)), len(marks), span, ref_span, warp))
        return hits

    def serialize(self) -> bytes:
        out = io.BytesIO()
        np.savez(out, version=FORMAT_VERSION, hashes=self._hashes, refs=self._refs, frames=self._frames,
                 count=self._count)
        return out.getvalue()

    @classmethod
    def deserialize(cls, data: bytes) -> Self:
        index = cls()
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if int(z["version"]) != FORMAT_VERSION:
                raise ValueError(f"an index of format {int(z['version'])}; this reads {FORMAT_VERSION}")
            index._hashes, index._refs, index._frames = z["hashes"], z["refs"], z["frames"]
            index._count = int(z["count"])
        return index


def _agreeing(refs: np.ndarray, offsets: np.ndarray, min_landmarks: int) -> Sequence[tuple[int, int, np.ndarray]]:
    """(reference, offset, posting positions) for each reference whose hits agree on one time
    offset at least `min_landmarks` times. Offsets are binned two frames wide, at two phases,
    so a pair rounded one frame off still agrees."""
    found: dict[int, tuple[int, int, np.ndarray]] = {}
    for phase in (0, 1):
        bins = (offsets + phase) // 2
        keys = refs * (1 << 32) + (bins + (1 << 31))
        unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        for k in np.nonzero(counts >= min_landmarks)[0]:
            ref = int(unique[k] >> 32)
            if ref not in found or counts[k] > len(found[ref][2]):
                agreeing = np.nonzero(inverse == k)[0]
                found[ref] = (ref, int(np.median(offsets[agreeing])), agreeing)
    return list(found.values())
