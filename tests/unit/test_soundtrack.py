"""The console's view of a soundtrack: the strip marks its stretch, the excerpt is that stretch."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from PIL import Image

from clipguard.core.media import Audio
from media.soundtrack import MAX_EXCERPT_S, STRIP_SIZE, excerpt_wav, spectrogram_png

RATE = 16_000
NOISE = Audio((0.1 * np.random.default_rng(1).standard_normal(60 * RATE)).astype(np.float32), RATE)


def test_the_strip_dims_all_but_the_marked_stretch():
    strip = np.asarray(Image.open(io.BytesIO(spectrogram_png(NOISE, (30.0, 45.0)))).convert("L"), float)
    assert strip.shape == STRIP_SIZE[::-1]
    width = STRIP_SIZE[0]
    inside, outside = strip[:, width // 2 + 10:width * 3 // 4 - 10], strip[:, :width // 2 - 10]
    assert inside.mean() > 1.5 * outside.mean()      # the same noise, dimmed outside the stretch


def test_an_excerpt_is_its_stretch_and_never_longer_than_the_cap():
    def seconds(wav_bytes: bytes) -> float:
        with wave.open(io.BytesIO(wav_bytes)) as wav:
            return wav.getnframes() / wav.getframerate()

    assert seconds(excerpt_wav(NOISE, 2.0, 4.5)) == pytest.approx(2.5)
    assert seconds(excerpt_wav(NOISE, 0.0, 60.0)) == pytest.approx(MAX_EXCERPT_S)
    with pytest.raises(ValueError, match="from a start to a later end"):
        excerpt_wav(NOISE, 4.0, 4.0)
