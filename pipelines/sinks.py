"""The gate's one sink: decisions and dead letters to Kafka, decisions to the registry, and
only then the consumed offsets back to the gate's group.

Everything is flushed at the end of each bundle, in that order, so a crash at any point leaves
offsets at or behind what was durably written: a restart replays, never skips.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from classifiers.character.rule import measure_value
from clipguard.core import families
from clipguard.core.config import TOPIC_DEADLETTER, TOPIC_DECISIONS
from clipguard.core.contracts import Decision, parse_timestamp
from clipguard.core.vocab import SignalFamily
from media.sampling import thumbnail_jpeg
from pipelines import metrics
from pipelines.kafka_io import CONSUMER_TIMEOUTS, broker_unreachable
from pipelines.moderate import Decided, Rejected, StageTimer
from registry.banks import BankStore, bank_matches
from registry.claims import ClaimMatch, ClaimStore
from registry.db import engine_for
from registry.faces import FaceStore, Sighting
from registry.outages import through_outages
from registry.store import DecidedClip, DecisionStore, StoredFrame

log = logging.getLogger("clipguard.gate")
PROGRESS_EVERY_S = 30.0
# The families whose findings are enrolled people, each a sighting of that person.
PEOPLE_SIGNALS = (SignalFamily.FACES, SignalFamily.VOICE)
SEND_TIMEOUT_S = 30.0


def decided_clip(decided: Decided, keep_frames_for: tuple[str, ...]) -> DecidedClip:
    frames = ()
    if (decided.clip is not None and decided.decision.verdict in keep_frames_for
            and not withholds_frames(decided.decision)):
        frames = tuple(StoredFrame(f.index, f.t, thumbnail_jpeg(f.rgb)) for f in decided.clip.frames)
    return DecidedClip(decided.decision, json.loads(decided.event.to_json()),
                       {name: (s.model_version, s.features) for name, s in decided.signals.items() if s.features},
                       frames, decided.severity, decision_inputs(decided), decided.shadows)


def decision_inputs(decided: Decided) -> dict[str, Any]:
    """What the policy read to decide the clip, for a backtest to read again."""
    return {"attrs": decided.event.attrs, "media_error": decided.media_error and list(decided.media_error),
            "signals": [s.as_record() for s in decided.signals.values()]}


def withholds_frames(decision: Decision) -> bool:
    """Whether a reason comes from a family whose findings no analyst may look at (hash banks)."""
    withholding = {m.family for m in families.registered() if m.withholds_frames}
    return any(r.signal in withholding for r in decision.reasons)


def claim_matches(decision: Decision) -> list[ClaimMatch]:
    """The claims a decision's character reasons cite, for their holders to see. The measure is the
    method's own: a Hamming distance, ORB inliers or a CLIP similarity (an alias has none: 0)."""
    return [ClaimMatch(e["claim_id"], decision.clip_id, e.get("reference_id"), e["method"], measure_value(e),
                       e.get("frame"), decision.verdict, decision.source)
            for r in decision.reasons if r.signal == "character" for e in [r.evidence]]


def person_sightings(decided: Decided) -> list[Sighting]:
    """Every enrolled person the faces or voice signal found in a clip, permitted or not, so each
    can find the clips that show them (one sighting per clip: the last signal's)."""
    return [Sighting(decided.decision.clip_id, e["kind"], e["subject_id"], decided.event.creator_id, e["distance"],
                     e.get("frame"), decided.decision.verdict, decided.decision.source)
            for family in PEOPLE_SIGNALS if (signal := decided.signals.get(family)) is not None
            for f in signal.findings for e in [f.evidence] if e["kind"] in ("figure", "cameo")]


def count_written(outcome: Decided | Rejected) -> None:
    """Metrics for one outcome that is now durably written."""
    if isinstance(outcome, Rejected):
        metrics.DEAD_LETTERS.labels(outcome.deadletter.error_code).inc()
        return
    decision = outcome.decision
    deciding = decision.reasons[0].signal if decision.verdict != "allow" and decision.reasons else "none"
    metrics.DECISIONS.labels(decision.verdict, deciding).inc()
    for shadow in outcome.shadows:
        metrics.SHADOW_DECISIONS.labels(shadow.policy_version, decision.verdict, shadow.verdict).inc()
    created = parse_timestamp(outcome.event.created_at, "created_at").timestamp()
    decided = parse_timestamp(decision.decided_at, "decided_at").timestamp()
    metrics.END_TO_END_SECONDS.observe(max(0.0, decided - created))


class WriteOutcomes(beam.DoFn):
    def __init__(self, bootstrap: str, database_url: str, group: str, commit_offsets: bool = True,
                 keep_frames_for: tuple[str, ...] = ("review", "block")):
        self._commit_offsets = commit_offsets
        self._keep_frames_for = keep_frames_for
        self._bootstrap = bootstrap
        self._database_url = database_url
        self._group = group
        self._sink_timer = StageTimer("sinks")

    def setup(self) -> None:
        self._producer = KafkaProducer(bootstrap_servers=self._bootstrap, acks="all", linger_ms=5)
        self._committer = KafkaConsumer(bootstrap_servers=self._bootstrap, group_id=self._group,
                                        enable_auto_commit=False, **CONSUMER_TIMEOUTS)
        self._store = DecisionStore(engine_for(self._database_url))
        self._claims = ClaimStore(engine_for(self._database_url))
        self._faces = FaceStore(engine_for(self._database_url))
        self._banks = BankStore(engine_for(self._database_url))
        self._reported_at = time.monotonic()

    def teardown(self) -> None:
        self._producer.close()
        self._committer.close()

    def start_bundle(self) -> None:
        self._sends: list[Any] = []
        self._written: list[Decided | Rejected] = []
        self._decided: list[DecidedClip] = []
        self._sightings: list[Sighting] = []
        self._next_offsets: dict[TopicPartition, int] = {}

    def process(self, outcome: Decided | Rejected) -> Iterator[Decided | Rejected]:
        if isinstance(outcome, Decided):
            decision = outcome.decision
            self._sends.append(self._producer.send(TOPIC_DECISIONS, key=decision.clip_id.encode(),
                                                   value=decision.to_json()))
            self._decided.append(decided_clip(outcome, self._keep_frames_for))
            self._sightings += person_sightings(outcome)
        else:
            self._sends.append(self._producer.send(TOPIC_DEADLETTER, value=outcome.deadletter.to_json()))
        self._written.append(outcome)
        source = outcome.source
        if self._commit_offsets and "partition" in source:
            tp = TopicPartition(source["topic"], source["partition"])
            self._next_offsets[tp] = max(self._next_offsets.get(tp, 0), source["offset"] + 1)
        yield outcome

    def finish_bundle(self) -> None:
        started = time.perf_counter()
        self._producer.flush()
        for sent in self._sends:
            sent.get(timeout=SEND_TIMEOUT_S)  # flush() does not raise for a failed send; this does
        if self._decided:
            through_outages(lambda: self._store.record(self._decided), "recording decisions")
            matches = [m for clip in self._decided for m in claim_matches(clip.decision)]
            through_outages(lambda: self._claims.record_matches(matches), "recording claim matches")
            through_outages(lambda: self._faces.record_sightings(self._sightings), "recording face sightings")
            hits = [m for clip in self._decided for m in bank_matches(clip.decision)]
            through_outages(lambda: self._banks.record_matches(hits), "recording bank matches")
        if self._next_offsets:
            offsets = {tp: OffsetAndMetadata(o, "", -1) for tp, o in self._next_offsets.items()}
            # The decisions are in Kafka and the registry by now; a broker that went away between
            # the two is waited for, or the gate would stop over a commit it can simply redo.
            through_outages(lambda: self._committer.commit(offsets), "committing offsets",
                            unreachable=broker_unreachable)
        if self._decided:
            self._sink_timer.since(started, clips=len(self._decided))
        for outcome in self._written:
            count_written(outcome)
        if time.monotonic() - self._reported_at >= PROGRESS_EVERY_S:
            self._reported_at = time.monotonic()
            totals = metrics.written_so_far()
            log.info("gate so far: %s", ", ".join(f"{n} {k}" for k, n in sorted(totals.items())) or "idle")
