"""`clipguard retroscan`: a Beam batch pipeline that re-matches published clips against a claim.

    stored character features of clips now allowed or in review
        -> match against the claim's references (PDQ and pHash, the policy's bars)
        -> takedown decisions (source "retroscan") -> Kafka, registry, the holder's matches

It reads the frame hashes the gate stored, so no clip is decoded again. ORB features and prompts
are not stored per clip, so a retroscan finds re-uploads that the hashes find: near copies,
not crops (see the README).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

from classifiers.base import Signal
from classifiers.characters import FrameHash, HashIndex, frame_finding
from clipguard.config import Settings
from clipguard.contracts import Decision, isoformat, strongest, utcnow
from clipguard.publish import DecisionPublisher
from pipelines.gate import pipeline_options
from policies.engine import Policy, character_rule, load_policy
from registry.claims import ClaimMatch, ClaimStore
from registry.db import engine_for, migrate
from registry.store import DecisionStore

log = logging.getLogger("clipguard.retroscan")
NAMESPACE = "clipguard.retroscan"
# Clips that are, or may become, visible: a takedown claim reaches both.
RESCANNED_VERDICTS = ("allow", "review")


@dataclass(frozen=True)
class Takedown:
    decision: Decision
    match: ClaimMatch


@dataclass(frozen=True)
class RetroscanResult:
    claim_id: str
    scanned: int
    taken_down: list[str]
    elapsed_s: float


class MatchClaim(beam.DoFn):
    """One stored clip against the claim's references; yields a Takedown when the policy says so."""

    def __init__(self, database_url: str, claim_id: str, policy: Policy):
        self._url = database_url
        self._claim_id = claim_id
        self._policy = policy
        self._scanned = Metrics.counter(NAMESPACE, "scanned")

    def setup(self) -> None:
        self._index = HashIndex(ClaimStore(engine_for(self._url)).active_references(self._claim_id))

    def process(self, stored: tuple[str, dict[str, Any]]) -> Iterator[Takedown]:
        clip_id, features = stored
        self._scanned.inc()
        frames = features.get("frames", [])
        hashes = [FrameHash(f["pdq"], f["quality"], f["phash"]) for f in frames]
        findings = tuple(frame_finding(clip_id, frames[m.frame]["index"], frames[m.frame]["t"], m)
                         for m in self._index.query(hashes))
        signal = Signal("character", "retroscan", "stored-hashes", ok=True, findings=findings)
        ruled = character_rule(signal, self._policy.signals["character"], self._policy.label, {})
        hits = [(verdict, reason) for verdict, reason in ruled if verdict == "takedown"]
        if not hits:
            return
        verdict = strongest([v for v, _ in hits])
        reason = min((r for _, r in hits), key=lambda r: r.evidence["distance"])
        now = utcnow()
        decision = Decision(clip_id, verdict, (reason,), self._policy.label,
                            {"retroscan": "stored-hashes"}, isoformat(now), 0.0, source="retroscan")
        evidence = reason.evidence
        yield Takedown(decision, ClaimMatch(self._claim_id, clip_id, evidence["reference_id"], evidence["method"],
                                            evidence["distance"], evidence["frame"], verdict, "retroscan"))


class WriteTakedowns(beam.DoFn):
    """Per bundle: each decision confirmed on Kafka inside the registry transaction that records it."""

    def __init__(self, settings: Settings):
        self._bootstrap = settings.kafka_bootstrap
        self._url = settings.database_url
        self._written = Metrics.counter(NAMESPACE, "taken_down")

    def setup(self) -> None:
        self._publish = DecisionPublisher(self._bootstrap)
        engine = engine_for(self._url)
        self._decisions, self._claims = DecisionStore(engine), ClaimStore(engine)

    def teardown(self) -> None:
        self._publish.close()

    def start_bundle(self) -> None:
        self._batch: list[Takedown] = []

    def process(self, takedown: Takedown) -> None:
        self._batch.append(takedown)

    def finish_bundle(self) -> None:
        if not self._batch:
            return
        changed = set(self._decisions.record_retroscan([t.decision for t in self._batch], self._publish))
        self._claims.record_matches([t.match for t in self._batch if t.match.clip_id in changed])
        self._written.inc(len(changed))
        log.info("retroscan took down %d clip(s) in this bundle", len(changed))


def run_retroscan(settings: Settings, claim_id: str, policy_path: str | None = None) -> RetroscanResult:
    started = time.monotonic()
    engine = migrate(settings.database_url)
    claims = ClaimStore(engine)
    info = claims.get(claim_id, holder_id=None)
    if info.status != "active":
        raise ValueError(f"claim {claim_id} is {info.status}; only an active claim is retroscanned")
    if info.action != "takedown":
        raise ValueError(f"claim {claim_id} asks for {info.action!r}; retroscan applies only takedown claims")
    policy = load_policy(policy_path)
    candidates = list(DecisionStore(engine).retroscan_candidates("character", RESCANNED_VERDICTS))
    log.info("retroscan of claim %s over %d stored clips", claim_id, len(candidates))
    with beam.Pipeline(options=pipeline_options([], streaming=False)) as pipeline:
        (pipeline
         | "StoredClips" >> beam.Create(candidates, reshuffle=False)
         | "Match" >> beam.ParDo(MatchClaim(settings.database_url, claim_id, policy))
         | "Write" >> beam.ParDo(WriteTakedowns(settings)))
    counters = {c.key.metric.name: c.committed for c in pipeline.result.metrics().query(
        MetricsFilter().with_namespace(NAMESPACE))["counters"]}
    taken = [m.clip_id for m in claims.matches(claim_id, None) if m.source == "retroscan"]
    elapsed = time.monotonic() - started
    claims.note(claim_id, "retroscan", "retroscanned", {"scanned": counters.get("scanned", 0),
                                                         "taken_down": counters.get("taken_down", 0),
                                                         "seconds": round(elapsed, 2)})
    return RetroscanResult(claim_id, counters.get("scanned", 0), taken, elapsed)
