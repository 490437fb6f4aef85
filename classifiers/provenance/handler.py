"""Reads each clip's C2PA manifest store from its file, against the trust anchors of every
trusted signer the live and shadow policies list, so any of them can judge the same signal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version

from classifiers.base import SignalHandler
from classifiers.provenance.manifests import read_manifest
from clipguard.core.signals import ClipInput, Finding, Signal
from clipguard.core.vocab import SignalFamily


@dataclass(frozen=True)
class Anchors:
    """The loaded "model": the trust anchors' PEM certificates. A class, since Beam's shared
    model cache holds its models by weak reference, which a bare tuple cannot have."""

    pems: tuple[str, ...]


class ProvenanceHandler(SignalHandler[Anchors]):
    name = SignalFamily.PROVENANCE
    model_name = "c2pa"
    model_version = version("c2pa-python")

    def __init__(self, anchors: tuple[str, ...], max_batch_size: int = 8):
        super().__init__(max_batch_size=max_batch_size)
        self._anchors = anchors

    def load_model(self) -> Anchors:
        return Anchors(self._anchors)

    def score(self, model: Anchors, batch: Sequence[ClipInput]) -> list[Signal]:
        return [self._signal(item, model.pems) for item in batch]

    def _signal(self, item: ClipInput, anchors: tuple[str, ...]) -> Signal:
        if item.clip.path is None:      # frames made in memory: there is no file to read
            return self.failed("no media file to read a C2PA manifest from")
        report = read_manifest(item.clip.path, anchors)
        evidence = {**report.as_evidence(), "remix_of": item.event.remix_of}
        return Signal(self.name, self.model_name, self.model_version, ok=True,
                      findings=(Finding(f"C2PA manifest {report.state}", None, evidence),))
