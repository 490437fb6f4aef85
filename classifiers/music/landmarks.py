"""Audio landmarks, as in Wang's Shazam paper and Ellis's audfprint: the prominent peaks of a
spectrogram, paired with the peaks that follow them closely, each pair hashed as (anchor
frequency, frequency step, time step) and kept with the anchor's time.

A pair survives what leaves the loudest peaks where they were: level changes, a voice-over that
masks some of them, lossy re-encoding. A speed or pitch change moves every peak, so the query side
(`warps`) hashes the clip's peaks again under each scaling within ±5%, and the index keeps one
hash per reference pair. Peaks are found once; a warp only rescales their coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter
from scipy.signal import resample_poly, stft

RATE = 8_000                    # music's energy and its peaks sit well below 4 kHz
N_FFT = 512                     # 64 ms windows ...
HOP = 256                       # ... every 32 ms
FRAMES_PER_S = RATE / HOP
PEAK_BINS, PEAK_FRAMES = 15, 9  # a peak is the loudest in this neighbourhood
PEAKS_PER_S = 40                # the loudest peaks per second are kept
FANOUT = 20                     # pairs per anchor
PAIR_FRAMES = (1, 48)           # how far ahead a paired peak may be
PAIR_BINS = 63                  # how far up or down
F_STEP = 2                      # frequency quantum of a hash, in bins (31 Hz)
BINS = N_FFT // 2 + 1

# Speed changes scale time and frequency together, pitch changes frequency alone; 1.25% steps
# keep every true scaling within a rounding of a hash quantum at the top of the band.
SCALES = tuple(round(1 + 0.0125 * k, 4) for k in range(-4, 5))
WARPS = tuple(sorted({(s, s) for s in SCALES} | {(s, 1.0) for s in SCALES}))   # (frequency, speed)


@dataclass(frozen=True)
class Peaks:
    frames: np.ndarray      # float32, spectrogram frame of each peak
    bins: np.ndarray        # float32, frequency bin of each peak


@dataclass(frozen=True)
class Landmarks:
    hashes: np.ndarray      # uint32
    frames: np.ndarray      # int32, the anchor's frame

    def __len__(self) -> int:
        return len(self.hashes)


def peaks(samples: np.ndarray, rate: int, per_s: int = PEAKS_PER_S) -> Peaks:
    """The spectrogram's prominent peaks, about `per_s` a second, in time order."""
    audio = samples if rate == RATE else resample_poly(samples, RATE, rate).astype(np.float32)
    if len(audio) < N_FFT:
        return Peaks(np.zeros(0, np.float32), np.zeros(0, np.float32))
    _, _, spec = stft(audio, nperseg=N_FFT, noverlap=N_FFT - HOP, boundary=None, padded=False)
    level = np.log(np.abs(spec) + 1e-6)
    # Against each band's own median, so a bass line does not take every peak.
    level -= np.median(level, axis=1, keepdims=True)
    local = (level == maximum_filter(level, size=(PEAK_BINS, PEAK_FRAMES))) & (level > 1.0)
    local[:3] = False   # DC and rumble
    f, t = np.nonzero(local)
    strength = level[f, t]
    keep = int(per_s * level.shape[1] / FRAMES_PER_S) + 1
    chosen = np.argsort(-strength)[:keep]
    order = np.argsort(t[chosen], kind="stable")
    return Peaks(t[chosen][order].astype(np.float32), f[chosen][order].astype(np.float32))


def landmarks(p: Peaks, warp: tuple[float, float] = (1.0, 1.0)) -> Landmarks:
    """The peaks' pairs under `warp` = (frequency scale, time scale), hashed. A reference is
    hashed unwarped; a query under every warp in WARPS."""
    f_scale, t_scale = warp
    frames = p.frames * t_scale     # a clip played s times as fast is s times shorter ...
    bins = p.bins / f_scale         # ... and s times higher
    anchors, targets = _pairs(frames, bins)
    if not len(anchors):
        return Landmarks(np.zeros(0, np.uint32), np.zeros(0, np.int32))
    f1 = np.round(bins[anchors] / F_STEP).astype(np.int64)
    df = np.round((bins[targets] - bins[anchors]) / F_STEP).astype(np.int64) + PAIR_BINS // F_STEP + 1
    dt = np.round(frames[targets] - frames[anchors]).astype(np.int64)
    ok = (f1 >= 0) & (f1 < 256) & (df >= 0) & (df < 128) & (dt >= PAIR_FRAMES[0]) & (dt < 64)
    hashes = (f1 << 13) | (df << 6) | dt
    return Landmarks(hashes[ok].astype(np.uint32), np.round(frames[anchors][ok]).astype(np.int32))


def _pairs(frames: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(anchor, target) peak indices: each peak with the next FANOUT peaks in its target zone.
    Peaks are in time order, so the k-th peak after each anchor is one shifted array; the zone
    ends PAIR_FRAMES[1] ahead, which bounds how far k must go."""
    n = len(frames)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    reach = max(1, min(n - 1, int((np.searchsorted(frames, frames + PAIR_FRAMES[1], "right") - np.arange(n)).max())))
    anchors = np.arange(n)[:, None]
    targets = anchors + np.arange(1, reach + 1)[None, :]
    inside = targets < n
    targets = np.minimum(targets, n - 1)
    dt = frames[targets] - frames[anchors]
    ok = inside & (dt >= PAIR_FRAMES[0]) & (dt <= PAIR_FRAMES[1]) & (np.abs(bins[targets] - bins[anchors]) <= PAIR_BINS)
    ok &= np.cumsum(ok, axis=1) <= FANOUT
    rows, cols = np.nonzero(ok)
    return rows.astype(np.int64), targets[rows, cols].astype(np.int64)
