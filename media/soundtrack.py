"""What an analyst sees and hears of a clip's soundtrack: a spectrogram strip with a stretch
marked, and that stretch as a WAV to play. The console renders both from the clip's own file on
request; nothing is stored beside the decision."""

from __future__ import annotations

import io
import wave

import numpy as np
from PIL import Image, ImageDraw

from clipguard.core.media import Audio

STRIP_SIZE = (720, 96)
# The longest stretch served to play: a reason's range is seconds, never the whole of a long clip.
MAX_EXCERPT_S = 30.0
_WINDOW, _HOP = 512, 256


def spectrogram_png(audio: Audio, marked: tuple[float, float], size: tuple[int, int] = STRIP_SIZE) -> bytes:
    """The whole soundtrack as a log-magnitude spectrogram (low frequencies at the bottom), with
    `marked` (seconds) outlined and the rest dimmed."""
    width, height = size
    samples = audio.samples.astype(np.float32)
    if len(samples) < _WINDOW:
        samples = np.pad(samples, (0, _WINDOW - len(samples)))
    frames = np.lib.stride_tricks.sliding_window_view(samples, _WINDOW)[::_HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(_WINDOW).astype(np.float32), axis=1)) ** 2
    level = 10 * np.log10(power + 1e-10)
    top = level.max()
    grey = np.clip((level - (top - 80)) / 80, 0, 1)          # 80 dB of range, loudest white
    image = Image.fromarray((255 * grey.T[::-1]).astype(np.uint8)).resize(size, Image.BILINEAR).convert("RGB")
    x0, x1 = (round(width * min(max(t / max(audio.duration_s, 1e-9), 0.0), 1.0)) for t in marked)
    shade = Image.new("RGB", size, (0, 0, 0))
    mask = Image.new("L", size, 150)
    ImageDraw.Draw(mask).rectangle([x0, 0, x1, height], fill=0)
    image = Image.composite(shade, image, mask)
    ImageDraw.Draw(image).rectangle([x0, 0, max(x0, x1 - 1), height - 1], outline=(230, 160, 20), width=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def excerpt_wav(audio: Audio, start_s: float, end_s: float) -> bytes:
    """`start_s`-`end_s` of the soundtrack as 16-bit mono WAV, at most MAX_EXCERPT_S long."""
    if not 0 <= start_s < end_s:
        raise ValueError(f"an excerpt runs from a start to a later end, not {start_s}-{end_s}")
    end_s = min(end_s, start_s + MAX_EXCERPT_S)
    piece = audio.samples[int(start_s * audio.rate):int(end_s * audio.rate)]
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(audio.rate)
        wav.writeframes((np.clip(piece, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()
