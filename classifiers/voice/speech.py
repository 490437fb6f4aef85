"""Where a soundtrack speaks, and who: voiced audio cut into the encoder's partials, embedded, and
grouped into speakers.

    audio -> level raised to -30 dBFS -> WebRTC VAD (30 ms) -> voiced stretches, pauses kept
        up to 180 ms (resemblyzer's own preprocessing) -> partials of 1.6 s over the voiced audio
        -> one embedding each -> partials that agree merged into speakers

Every partial keeps the clip times it came from, so a match can say where in the clip the voice
speaks. Used by the gate and by enrolment alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifiers.voice.encoder import HOP, PARTIAL_FRAMES, RATE, VoiceEncoder, mel_frames

VAD_WINDOW = RATE * 30 // 1000
VAD_SMOOTHING = 8          # windows averaged before a voiced/silent call
MAX_PAUSE = 6              # silent windows kept inside speech
TARGET_DBFS = -30.0
PARTIAL_SAMPLES = PARTIAL_FRAMES * HOP
# Partials per second of voiced audio: 1.3 (resemblyzer's) overlaps them; the gate needs less.
ENROL_RATE = 1.3
GATE_RATE = 0.8
# Groups of partials closer than this on average are one speaker. Over the calibration speech
# (110 utterances, 65 speakers; 1.6 s partials) one speaker's partials lie 0.52-0.81 apart
# (5th-95th percentile), two speakers' 0.91-1.15.
SAME_SPEAKER = 0.8
# The shortest speech worth embedding: one partial's worth.
MIN_SPEECH_S = PARTIAL_SAMPLES / RATE


@dataclass(frozen=True)
class Speech:
    """The voiced samples of a soundtrack and, per sample, its time in the clip."""

    samples: np.ndarray
    times: np.ndarray       # seconds, one per sample

    @property
    def duration_s(self) -> float:
        return len(self.samples) / RATE


@dataclass(frozen=True)
class Speaker:
    """One voice in a clip: the mean of its partials' embeddings and where it spoke."""

    embedding: np.ndarray
    partials: int
    spans: tuple[tuple[float, float], ...]      # clip seconds of each partial

    @property
    def clip_range(self) -> tuple[float, float]:
        return min(s[0] for s in self.spans), max(s[1] for s in self.spans)

    @property
    def seconds(self) -> float:
        return len(self.spans) * PARTIAL_SAMPLES / RATE


def voiced(samples: np.ndarray, rate: int = RATE) -> Speech:
    """The stretches of `samples` (mono float32 at RATE) that the VAD hears as speech."""
    import webrtcvad

    if rate != RATE:
        raise ValueError(f"speech is read at {RATE} Hz, not {rate}")
    usable = len(samples) - len(samples) % VAD_WINDOW
    wav = _louder(samples[:usable])
    pcm = (np.clip(wav, -1, 1) * 32767).astype("<i2").tobytes()
    vad = webrtcvad.Vad(3)
    flags = np.array([vad.is_speech(pcm[i * 2:(i + VAD_WINDOW) * 2], RATE) for i in range(0, usable, VAD_WINDOW)],
                     bool)
    if not flags.any():
        return Speech(np.zeros(0, np.float32), np.zeros(0))
    smoothed = np.convolve(flags.astype(float), np.ones(VAD_SMOOTHING) / VAD_SMOOTHING, "same").round().astype(bool)
    kept = np.convolve(smoothed.astype(float), np.ones(MAX_PAUSE + 1), "same") > 0   # short pauses kept
    mask = np.repeat(kept, VAD_WINDOW)
    index = np.flatnonzero(mask)
    return Speech(wav[index], index / RATE)


def enough_speech(samples: np.ndarray) -> Speech | None:
    """The voiced part of `samples`, or None when it is shorter than one partial."""
    speech = voiced(samples)
    return speech if speech.duration_s >= MIN_SPEECH_S else None


def _louder(samples: np.ndarray) -> np.ndarray:
    """Raised (never lowered) to TARGET_DBFS, as the encoder's training audio was."""
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
    if rms <= 0:
        return samples.astype(np.float32)
    gain_db = TARGET_DBFS - 20 * np.log10(rms)
    return (samples * (10 ** (gain_db / 20) if gain_db > 0 else 1.0)).astype(np.float32)


def partial_starts(samples: int, rate: float) -> list[int]:
    """Starts (in samples) of partials every 1/rate seconds over `samples`; the last one is kept
    when at least three quarters of it is audio, and there is always one."""
    step = max(HOP, round(RATE / rate / HOP) * HOP)
    starts = list(range(0, max(1, samples - PARTIAL_SAMPLES + step), step))
    if len(starts) > 1 and samples - starts[-1] < 0.75 * PARTIAL_SAMPLES:
        starts.pop()
    return starts


def cut_partials(speech: Speech, rate: float) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The encoder's input for `speech`: (partials, PARTIAL_FRAMES, MELS) mel frames, and each
    partial's span in clip seconds."""
    starts = partial_starts(len(speech.samples), rate)
    padded = np.pad(speech.samples, (0, max(0, starts[-1] + PARTIAL_SAMPLES - len(speech.samples))))
    mel = mel_frames(padded)
    mels = np.stack([mel[start // HOP:start // HOP + PARTIAL_FRAMES] for start in starts])
    last = len(speech.times) - 1

    def at(sample: int) -> float:
        return round(float(speech.times[min(sample, last)]), 2)

    spans = [(at(s), at(s + PARTIAL_SAMPLES)) for s in starts]
    return mels, spans


def embed_speech(encoder: VoiceEncoder, speech: Speech, rate: float) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """One embedding per partial of `speech`, and each partial's span in clip seconds."""
    mels, spans = cut_partials(speech, rate)
    return encoder.embed_partials(mels), spans


def speakers(embeddings: np.ndarray, spans: Sequence[tuple[float, float]],
             same_speaker: float = SAME_SPEAKER) -> list[Speaker]:
    """Partials grouped by average linkage: the two groups whose partials lie closest on average
    merge, until no two lie within `same_speaker`. Each group is one speaker, its embedding the
    L2-normalised mean. A clip has a few dozen partials at most, so the cubic cost is nothing."""
    distances = np.linalg.norm(embeddings[:, None, :] - embeddings[None, :, :], axis=2)
    groups = [[i] for i in range(len(embeddings))]
    while len(groups) > 1:
        linkage = [(float(distances[np.ix_(a, b)].mean()), x, y) for x, a in enumerate(groups)
                   for y, b in enumerate(groups) if x < y]
        closest, x, y = min(linkage)
        if closest >= same_speaker:
            break
        groups[x] += groups.pop(y)
    return [Speaker(_unit(embeddings[group].mean(axis=0)), len(group), tuple(spans[i] for i in sorted(group)))
            for group in groups]


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
