"""The one interface every signal family implements.

A `SignalHandler` is a Beam `ModelHandler` whose example is a `ClipInput` (the event plus its
sampled frames) and whose inference is a `Signal`. `RunInference` batches clips through it.
The base class owns the failure rule: a clip whose signal could not be computed gets a failed
`Signal`, never an exception that takes its batch-mates or the pipeline down.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from clipguard.contracts import ClipGenerated
from pipelines.media import SampledClip

log = logging.getLogger(__name__)
M = TypeVar("M")


@dataclass(frozen=True)
class ClipInput:
    event: ClipGenerated
    clip: SampledClip


@dataclass(frozen=True)
class Finding:
    """One thing a signal saw, with what an analyst needs to check it."""

    detail: str
    score: float | None
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Signal:
    name: str                      # explicit | likeness | consent | character
    model: str
    model_version: str
    ok: bool
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    # What retroscan needs later to re-match this clip without decoding it again.
    features: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0


class SignalHandler(ModelHandler[ClipInput, Signal, M], Generic[M]):
    """Subclasses set `name`, `model_name`, `model_version` and implement load_model and score."""

    name: str
    model_name: str
    model_version: str

    def __init__(self, min_batch_size: int = 1, max_batch_size: int = 8):
        super().__init__()
        self._batching = {"min_batch_size": min_batch_size, "max_batch_size": max_batch_size}

    def score(self, model: M, batch: Sequence[ClipInput]) -> list[Signal]:
        raise NotImplementedError

    def identify(self, model: M) -> tuple[str, str]:
        """(model name, version) of a loaded model: what a decision names in `models`, even for a
        clip this model never scored (unreadable media is still judged by the gate's models)."""
        return self.model_name, self.model_version

    def failed(self, error: str) -> Signal:
        return Signal(self.name, self.model_name, self.model_version, ok=False, error=error)

    def run_inference(self, batch: Sequence[ClipInput], model: M,
                      inference_args: dict[str, Any] | None = None) -> Iterable[PredictionResult]:
        started = time.perf_counter()
        try:
            signals = self.score(model, batch)
        except Exception:
            # One bad clip must not fail its batch-mates: retry them one by one.
            log.exception("%s failed on a batch of %d; isolating", self.name, len(batch))
            signals = [self._score_one(model, item) for item in batch]
        each_ms = (time.perf_counter() - started) * 1000 / max(1, len(batch))
        for item, signal in zip(batch, signals, strict=True):
            yield PredictionResult(item, _with_elapsed(signal, each_ms), self.model_name)

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


def _with_elapsed(signal: Signal, elapsed_ms: float) -> Signal:
    return Signal(**{**signal.__dict__, "elapsed_ms": round(elapsed_ms, 3)})


def weights_digest(folder: Path, patterns: Sequence[str] = ("*.safetensors", "*.bin")) -> str:
    """A short SHA-256 of an operator's weights files: what a decision's model version names."""
    digest = hashlib.sha256()
    for path in [p for pattern in patterns for p in sorted(folder.glob(pattern))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
