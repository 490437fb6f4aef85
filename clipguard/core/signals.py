"""What a signal family computes for one clip: a `Signal` holding `Finding`s.

The policy engine reads these and nothing else of the classifiers, so the types live here, on the
floor both stand on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clipguard.core.contracts import ClipGenerated
from clipguard.core.media import SampledClip


@dataclass(frozen=True)
class ClipInput:
    """One clip as a signal family sees it: the event and its sampled frames."""

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
    name: str                      # the family that computed it: a SignalFamily value
    model: str
    model_version: str
    ok: bool
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    # What retroscan needs later to re-match this clip without decoding it again.
    features: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    def as_record(self) -> dict[str, Any]:
        """What a policy needs to judge this signal again, as JSON: all but features and timing."""
        return {"name": self.name, "model": self.model, "model_version": self.model_version, "ok": self.ok,
                "error": self.error, "findings": [[f.detail, f.score, f.evidence] for f in self.findings]}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Signal:
        return cls(record["name"], record["model"], record["model_version"], record["ok"],
                   tuple(Finding(detail, score, evidence) for detail, score, evidence in record["findings"]),
                   record["error"])
