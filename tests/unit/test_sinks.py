"""WriteOutcomes' ordering rule, with fakes for the collaborators around it: an offset is committed
only after its decision is acknowledged by Kafka and written to the registry."""

import pytest
from kafka.errors import KafkaTimeoutError
from prometheus_client import REGISTRY

from clipguard.core.contracts import ClipGenerated, Decision
from pipelines.moderate import Decided
from pipelines.sinks import WriteOutcomes


class Sent:
    def __init__(self, error: Exception | None = None):
        self._error = error

    def get(self, timeout: float):
        if self._error:
            raise self._error


class Producer:
    def __init__(self, error: Exception | None = None):
        self.error, self.sent = error, []

    def send(self, topic, key=None, value=None):
        self.sent.append(topic)
        return Sent(self.error)

    def flush(self):
        pass


class Recorder:
    def __init__(self, log: list):
        self.log = log

    def record(self, clips):
        self.log.append(("registry", [c.decision.clip_id for c in clips]))

    def record_matches(self, matches):
        if matches:
            self.log.append(("matches", [m.clip_id for m in matches]))

    def record_sightings(self, sightings):
        if sightings:
            self.log.append(("sightings", [s.clip_id for s in sightings]))

    def commit(self, offsets):
        self.log.append(("commit", {tp.partition: o.offset for tp, o in offsets.items()}))


def decided(clip_id: str, offset: int) -> Decided:
    event = ClipGenerated(clip_id, "alice", "file:///m/a.mp4", "2026-11-21T10:00:00Z")
    decision = Decision(clip_id, "allow", (), "p@1", {}, "2026-11-21T10:00:01.000Z", 3.0)
    return Decided(decision, event, {}, {"topic": "clips.generated", "partition": 2, "offset": offset})


def sink(producer: Producer, log: list) -> WriteOutcomes:
    out = WriteOutcomes("127.0.0.1:1", "sqlite://", "g")
    out._producer, out._store, out._committer = producer, Recorder(log), Recorder(log)
    out._claims = out._faces = out._banks = Recorder(log)
    out._reported_at = float("inf")
    return out


def test_offsets_are_committed_after_kafka_and_the_registry():
    log: list = []
    out = sink(Producer(), log)
    out.start_bundle()
    for i, offset in enumerate((7, 5, 6)):
        list(out.process(decided(f"c{i}", offset)))
    out.finish_bundle()
    assert log == [("registry", ["c0", "c1", "c2"]), ("commit", {2: 8})]


def allowed_count() -> float:
    return REGISTRY.get_sample_value("clipguard_gate_decisions_total", {"verdict": "allow", "signal": "none"}) or 0


def test_a_failed_send_fails_the_bundle_and_commits_nothing():
    log: list = []
    before = allowed_count()
    out = sink(Producer(error=KafkaTimeoutError("broker gone")), log)
    out.start_bundle()
    list(out.process(decided("c1", 4)))
    with pytest.raises(KafkaTimeoutError):
        out.finish_bundle()
    assert log == []
    assert allowed_count() == before  # nothing counted as decided either


def test_written_outcomes_are_counted_once_durable():
    before = allowed_count()
    out = sink(Producer(), [])
    out.start_bundle()
    list(out.process(decided("c1", 4)))
    assert allowed_count() == before
    out.finish_bundle()
    assert allowed_count() == before + 1
