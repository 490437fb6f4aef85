"""The one interface every signal family's handler implements.

A `SignalHandler` loads its model once per worker and scores a batch of `ClipInput`s into one
`Signal` each. It knows nothing of Beam: `pipelines/moderate.py` adapts it to `RunInference`,
and `clipguard scan` runs the same adapter. The base class owns the failure rule: a clip whose
signal could not be computed gets a failed `Signal`, never an exception that takes its
batch-mates or the pipeline down.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Generic, TypeVar

from clipguard.core.signals import ClipInput, Signal

log = logging.getLogger(__name__)
M = TypeVar("M")
S = TypeVar("S")
T = TypeVar("T")


class SignalHandler(Generic[M]):
    """Subclasses set `name`, `model_name`, `model_version` and implement load_model and score."""

    name: str
    model_name: str
    model_version: str

    def __init__(self, min_batch_size: int = 1, max_batch_size: int = 8):
        self._batching = {"min_batch_size": min_batch_size, "max_batch_size": max_batch_size}

    def load_model(self) -> M:
        raise NotImplementedError

    def score(self, model: M, batch: Sequence[ClipInput]) -> list[Signal]:
        raise NotImplementedError

    def identify(self, model: M) -> tuple[str, str]:
        """(model name, version) of a loaded model: what a decision names in `models`, even for a
        clip this model never scored (unreadable media is still judged by the gate's models)."""
        return self.model_name, self.model_version

    def failed(self, error: str) -> Signal:
        return Signal(self.name, self.model_name, self.model_version, ok=False, error=error)

    def score_isolated(self, model: M, batch: Sequence[ClipInput]) -> list[Signal]:
        """One Signal per clip, in order, each with its share of the batch's time; a clip that
        breaks the batch is retried alone, and one that fails alone gets a failed Signal."""
        started = time.perf_counter()
        try:
            signals = self.score(model, batch)
        except Exception:
            log.exception("%s failed on a batch of %d; isolating", self.name, len(batch))
            signals = [self._score_one(model, item) for item in batch]
        each_ms = round((time.perf_counter() - started) * 1000 / max(1, len(batch)), 3)
        return [replace(signal, elapsed_ms=each_ms) for signal in signals]

    def _score_one(self, model: M, item: ClipInput) -> Signal:
        try:
            return self.score(model, [item])[0]
        except Exception as exc:
            log.exception("%s failed on clip %s", self.name, item.event.clip_id)
            return self.failed(f"{type(exc).__name__}: {exc}"[:300])

    def batch_elements_kwargs(self) -> dict[str, int]:
        return dict(self._batching)

    def get_metrics_namespace(self) -> str:
        return f"clipguard.{self.name}"


def best_per(items: Iterable[T], key: Callable[[T], Hashable], closeness: Callable[[T], float]) -> list[T]:
    """The closest item (highest `closeness`) for each key, in the order the keys first came."""
    best: dict[Hashable, T] = {}
    for item in items:
        k = key(item)
        if k not in best or closeness(item) > closeness(best[k]):
            best[k] = item
    return list(best.values())


class Refreshed(Generic[S, T]):
    """What a handler matches against, re-read from its source every `every_s` seconds so new
    claims, enrolments and revocations apply without a restart. Building is the costly part (an
    ORB graph over many claims), so with an `identity` it is rebuilt only when that changed."""

    def __init__(self, read: Callable[[], S], build: Callable[[S], T], every_s: float, empty: T,
                 identity: Callable[[S], Hashable] | None = None):
        self._read, self._build, self._every_s, self._identity = read, build, every_s, identity
        self._value = empty
        self._built_from: Hashable = object()
        self._read_at = float("-inf")

    def current(self) -> T:
        if time.monotonic() - self._read_at >= self._every_s:
            source = self._read()
            identity = self._identity(source) if self._identity else object()
            if identity != self._built_from:
                self._value, self._built_from = self._build(source), identity
            self._read_at = time.monotonic()
        return self._value


def onnx_providers() -> list[str]:
    """onnxruntime's execution providers, CUDA first where this build and machine have it."""
    import onnxruntime

    available = onnxruntime.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def torch_device(wanted: str | None = None) -> str:
    """The device a torch model runs on: `wanted`, else CUDA when torch sees a GPU, else CPU."""
    import torch

    return wanted or ("cuda" if torch.cuda.is_available() else "cpu")


def weights_digest(folder: Path, patterns: Sequence[str] = ("*.safetensors", "*.bin")) -> str:
    """A short SHA-256 of an operator's weights files: what a decision's model version names."""
    digest = hashlib.sha256()
    for path in [p for pattern in patterns for p in sorted(folder.glob(pattern))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
