"""The music signal: does a clip's soundtrack hold an excerpt of a recording a rights holder
claimed? The active claims' audio references are indexed by their landmarks
(`classifiers/music/index.py`), re-read every few seconds like the character family's frames."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifiers.base import Refreshed, SignalHandler
from classifiers.music.index import AudioHit, LandmarkIndex, landmarks_from_bytes
from classifiers.music.landmarks import PEAKS_PER_S, Peaks, peaks
from clipguard.core.claims import Reference
from clipguard.core.signals import ClipInput, Finding, Signal
from clipguard.core.vocab import SignalFamily

REFRESH_S = 5.0


@dataclass(frozen=True)
class MusicIndex:
    references: Sequence[Reference]
    landmarks: LandmarkIndex

    @classmethod
    def of(cls, references: Sequence[Reference]) -> MusicIndex:
        """The audio references among `references`, indexed."""
        refs = [r for r in references if r.audio]
        return cls(refs, LandmarkIndex.build(landmarks_from_bytes(r.audio) for r in refs))

    @classmethod
    def build(cls, catalog: Any) -> MusicIndex:
        """From the claims' catalog (pipelines.moderate.ClaimCatalog)."""
        return cls.of(catalog.references)

    def findings(self, clip: Peaks) -> tuple[Finding, ...]:
        hits = self.landmarks.query(clip) if len(self.landmarks) else []
        return tuple(music_finding(self.references[h.reference], h) for h in hits)


def audio_ids(catalog: Any) -> tuple[str, ...]:
    return tuple(r.reference_id for r in catalog.references if r.audio)


class MusicHandler(SignalHandler[Refreshed[Any, MusicIndex]]):
    name = SignalFamily.MUSIC
    model_name = "landmarks"
    model_version = f"stft512/{PEAKS_PER_S}pps/v1"

    def __init__(self, claims: Callable[[], Any], refresh_s: float = REFRESH_S, max_batch_size: int = 8):
        super().__init__(max_batch_size=max_batch_size)
        self._claims, self._refresh_s = claims, refresh_s

    def load_model(self) -> Refreshed[Any, MusicIndex]:
        return Refreshed(self._claims, MusicIndex.build, self._refresh_s, MusicIndex((), LandmarkIndex()), audio_ids)

    def score(self, model: Refreshed[Any, MusicIndex], batch: Sequence[ClipInput]) -> list[Signal]:
        index = model.current()
        return [self._score_clip(index, item) for item in batch]

    def _score_clip(self, index: MusicIndex, item: ClipInput) -> Signal:
        audio = item.clip.audio
        if audio is None:
            return Signal(self.name, self.model_name, self.model_version, ok=True, features={"audio_s": 0.0})
        clip = peaks(audio.samples, audio.rate)
        return Signal(self.name, self.model_name, self.model_version, ok=True, findings=index.findings(clip),
                      features={"audio_s": round(audio.duration_s, 3), **peak_features(clip)})


def peak_features(clip: Peaks) -> dict[str, list[int]]:
    """The soundtrack's peaks as the registry keeps them (a few hundred integers for 10 s), so
    retroscan can match a claim filed later without decoding the clip again."""
    return {"peak_frames": clip.frames.astype(int).tolist(), "peak_bins": clip.bins.astype(int).tolist()}


def stored_peaks(features: dict[str, Any]) -> Peaks:
    return Peaks(np.asarray(features.get("peak_frames", []), np.float32),
                 np.asarray(features.get("peak_bins", []), np.float32))


def music_finding(ref: Reference, hit: AudioHit) -> Finding:
    (c0, c1), (r0, r1) = hit.clip_range, hit.reference_range
    return Finding(
        detail=f"{c0:.1f}-{c1:.1f} s of the soundtrack match {r0:.1f}-{r1:.1f} s of claim {ref.title!r}",
        score=round(hit.landmarks / max(1, hit.query_landmarks), 4),
        evidence={"claim_id": ref.claim_id, "reference_id": ref.reference_id, "title": ref.title,
                  "action": ref.action, "method": "landmarks", "landmarks": hit.landmarks,
                  "query_landmarks": hit.query_landmarks, "clip_range": list(hit.clip_range),
                  "reference_range": list(hit.reference_range), "speed": hit.warp[1],
                  "pitch": hit.warp[0]})
