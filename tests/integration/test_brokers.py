"""The brokers under the gate: Apache Kafka keeps every event and decision through a kill -9, and
the platform's side works through a second client library, confluent-kafka (librdkafka)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from clipguard.app.broker import ensure_topics, free_port, start_broker
from clipguard.app.demo import start_gate
from clipguard.core.config import TOPIC_CLIPS, TOPIC_DEADLETTER, TOPIC_DECISIONS
from pipelines.kafka_io import read_decisions
from registry.db import engine_for
from registry.store import DecisionStore
from tests.gate_helpers import (
    MID_STREAM_BACKLOG,
    MID_STREAM_PARTITIONS,
    await_committed,
    await_first_decision,
    clip_event,
    publish,
    running_broker,
    sqlite_settings,
)

NAMES = ["coffee-pan", "rocket-launch", "cat-cutin", "space-montage", "astronaut-portrait", "cat-character"]


def test_a_kafka_broker_killed_mid_stream_loses_no_event_and_no_decision(tmp_path: Path, clips_dir: Path):
    address = f"127.0.0.1:{free_port()}"
    home, log = tmp_path / "broker", str(tmp_path / "broker.log")
    s = sqlite_settings(tmp_path, address, clips_dir)
    before = {f"before-{i:02d}": clips_dir / f"{NAMES[i % len(NAMES)]}.mp4" for i in range(MID_STREAM_BACKLOG)}
    after = {f"after-{i:02d}": clips_dir / f"{NAMES[i % len(NAMES)]}.mp4" for i in range(8)}
    brokers = [start_broker(address, log, engine="kafka", home=home)]
    gate = None
    try:
        ensure_topics(address, partitions=MID_STREAM_PARTITIONS)
        publish(address, [clip_event(c, p) for c, p in before.items()])
        gate = start_gate(s, log=tmp_path / "gate.log")
        await_first_decision(s.database_url)                            # mid-stream now
        brokers[-1].send_signal(signal.SIGKILL)
        brokers[-1].wait(timeout=30)
        decided_while_up = len(DecisionStore(engine_for(s.database_url)).all())
        assert decided_while_up < len(before), "the gate finished before the kill; nothing was tested"
        time.sleep(3)                                                   # long enough for the gate to notice
        brokers.append(start_broker(address, log, engine="kafka", home=home))
        publish(address, [clip_event(c, p) for c, p in after.items()])
        got = read_decisions(address, set(before) | set(after), timeout_s=240)
        committed = await_committed(address, len(before) + len(after))
        assert gate.poll() is None, "the gate exited while the broker was away"
    finally:
        for proc in filter(None, [gate, *brokers]):
            proc.terminate()
            proc.wait(timeout=30)
    assert set(got) == set(before) | set(after)
    stored = DecisionStore(engine_for(s.database_url)).all()
    assert {d["clip_id"] for d in stored} == set(before) | set(after)
    assert committed == len(before) + len(after)


@pytest.mark.parametrize("engine", ["tansu", "kafka"])
def test_the_platform_produces_and_consumes_through_confluent_kafka(engine: str, tmp_path: Path, clips_dir: Path):
    with running_broker(engine, tmp_path / "broker") as address:
        s = sqlite_settings(tmp_path, address, clips_dir)
        events = {f"rd-{i}": clips_dir / f"{NAMES[i]}.mp4" for i in range(3)}
        producer = Producer({"bootstrap.servers": address, "acks": "all"})
        for clip_id, path in events.items():
            producer.produce(TOPIC_CLIPS, clip_event(clip_id, path), key=clip_id.encode())
        producer.produce(TOPIC_CLIPS, b"{not json")
        assert producer.flush(30) == 0, "confluent-kafka could not deliver every event"

        gate = start_gate(s, "--idle-exit", "5", log=tmp_path / "gate.log")
        try:
            decisions, letters = consume_as_the_feed(address, set(events), n_letters=1, timeout_s=180)
        finally:
            gate.terminate()
            gate.wait(timeout=30)
        assert set(decisions) == set(events)
        assert all(d["schema"] == "moderation.decision/1" and d["verdict"] in ("allow", "block")
                   for d in decisions.values())
        assert [letter["error_code"] for letter in letters] == ["not_json"]
        # The feed's group committed what it read: a restarted feed gets nothing twice.
        again, _ = consume_as_the_feed(address, set(), n_letters=0, timeout_s=8)
        assert again == {}


def consume_as_the_feed(bootstrap: str, clip_ids: set[str], n_letters: int,
                        timeout_s: float) -> tuple[dict[str, dict], list[dict]]:
    """Read decisions and dead letters in a consumer group, as the platform's feed does, until
    `clip_ids` are decided and `n_letters` dead letters arrived (or, with none wanted, for
    `timeout_s`), committing what was read."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "feed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": 6000})
    consumer.subscribe([TOPIC_DECISIONS, TOPIC_DEADLETTER])
    decisions: dict[str, dict] = {}
    letters: list[dict] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not (clip_ids and set(decisions) >= clip_ids
                                                   and len(letters) >= n_letters):
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            value = json.loads(message.value())
            if message.topic() == TOPIC_DECISIONS:
                decisions[value["clip_id"]] = value
            else:
                letters.append(value)
            consumer.commit(message, asynchronous=False)
    finally:
        consumer.close()
    return decisions, letters
