"""The gate as it runs in production: a `clipguard gate` process, a real Kafka-protocol broker,
and the registry on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import signal
import statistics
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from classifiers.character.handler import REFRESH_S
from clipguard.app.broker import free_port
from clipguard.app.demo import start_gate
from clipguard.core.config import Settings
from fixtures.clips import png_file
from pipelines.kafka_io import read_dead_letters, read_decisions
from registry.claims import ClaimStore
from registry.db import engine_for, migrate
from registry.review import ReviewQueue
from registry.store import DecisionStore
from tests.gate_helpers import (
    MID_STREAM_BACKLOG,
    MID_STREAM_PARTITIONS,
    await_committed,
    await_first_decision,
    clip_event,
    publish,
    running_broker,
    scrape,
)
from usecases.references import build_references

# The memory regression test's bound on the gate's growth; see the test for what it was measured against.
MAX_GROWTH_MIB_PER_CLIP = 0.4


@pytest.fixture
def gate_settings(settings: Settings, bootstrap: str) -> Settings:
    return replace(settings, kafka_bootstrap=bootstrap)


def test_bad_events_are_dead_lettered_or_reviewed_and_the_gate_keeps_going(gate_settings: Settings,
                                                                             clips_dir: Path, tmp_path: Path):
    s = gate_settings
    base = {"schema": "clip.generated/1", "creator_id": "alice", "created_at": "2026-11-21T10:00:00Z"}
    dead = {
        b"this is not json": "not_json",
        json.dumps({**base, "clip_id": "no-uri"}).encode(): "missing_field",
        json.dumps({**base, "schema": "clip.generated/9", "clip_id": "v9",
                    "media_uri": "file:///x"}).encode(): "wrong_schema",
        clip_event("x" * 129, clips_dir / "coffee-pan.mp4"): "bad_id",
        clip_event("passwd", Path("/etc/passwd")): "media_outside_roots",
        clip_event("traversal", clips_dir / ".." / ".." / "etc" / "passwd"): "media_outside_roots",
        json.dumps({**base, "clip_id": "http", "media_uri": "http://example.com/a.mp4"}).encode(): "media_scheme",
    }
    reviewed = {
        "missing": (clip_event("missing", clips_dir / "nope.mp4"), "media_missing"),
        "corrupt": (clip_event("corrupt", clips_dir / "corrupt.mp4"), "media_corrupt"),
        "zero": (clip_event("zero", clips_dir / "zero-frames.mp4"), "media_no_video"),
        "empty": (clip_event("empty", clips_dir / "empty.mp4"), "media_empty"),
        "huge": (clip_event("huge", clips_dir / "coffee-pan.mp4", size_bytes=10**13), "media_too_large"),
    }
    publish(s.kafka_bootstrap, [clip_event("before", clips_dir / "coffee-pan.mp4"), *dead,
                                *(e for e, _ in reviewed.values())])
    port = free_port()
    gate = start_gate(s, log=tmp_path / "gate.log", metrics_port=port)
    try:
        got = read_decisions(s.kafka_bootstrap, {"before", *reviewed}, timeout_s=120)
        letters = read_dead_letters(s.kafka_bootstrap, len(dead), timeout_s=120)
        # Still alive after all that: a clip sent now is decided by the same process.
        publish(s.kafka_bootstrap, [clip_event("after", clips_dir / "rocket-launch.mp4")])
        got.update(read_decisions(s.kafka_bootstrap, {"after"}, timeout_s=120))
        committed = await_committed(s.kafka_bootstrap, 1 + len(dead) + len(reviewed) + 1)
        assert gate.poll() is None, (tmp_path / "gate.log").read_text()[-2000:]
        samples = scrape(port)
    finally:
        gate.terminate()
        gate.wait(timeout=30)

    assert got["before"]["verdict"] == got["after"]["verdict"] == "allow"
    for clip_id, (_, code) in reviewed.items():
        assert got[clip_id]["verdict"] == "review", clip_id
        assert got[clip_id]["reasons"][0]["evidence"]["error_code"] == code
    assert sorted(letter["error_code"] for letter in letters) == sorted(dead.values())
    assert {base64.b64decode(letter["payload_b64"]) for letter in letters} == set(dead)
    assert not {json.loads(p).get("clip_id") for p in dead if p.startswith(b"{")} & set(got)
    stored = {d["clip_id"]: d["verdict"] for d in DecisionStore(engine_for(s.database_url)).all()}
    assert stored == {k: v["verdict"] for k, v in got.items()}
    assert committed == 1 + len(dead) + len(reviewed) + 1
    # Each review reached the analysts' queue, with the event behind it for the item page.
    queued = ReviewQueue(engine_for(s.database_url)).items("pending")
    assert sorted(i.clip_id for i in queued) == sorted(reviewed)
    assert DecisionStore(engine_for(s.database_url)).event(next(iter(reviewed)))["creator_id"] == "alice"

    # /metrics counted exactly what was sent and written.
    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("clipguard_gate_events_total") == committed
    assert value("clipguard_gate_decisions_total", verdict="allow", signal="none") == 2
    assert value("clipguard_gate_decisions_total", verdict="review", signal="media") == len(reviewed)
    for code, n in Counter(dead.values()).items():
        assert value("clipguard_gate_dead_letters_total", code=code) == n
    for stage in ("decode", "signal_character", "signal_explicit", "policy", "sinks"):
        assert value("clipguard_gate_stage_seconds_count", stage=stage) > 0, stage
    assert value("clipguard_gate_stage_seconds_count", stage="decode") == 2  # only two clips were readable
    assert value("clipguard_gate_end_to_end_seconds_count") == 2 + len(reviewed)
    lags = {k: v for k, v in samples.items() if k[0] == "clipguard_gate_consumer_lag"}
    assert len(lags) == 3 and all(v >= 0 for v in lags.values())


def test_a_gate_killed_mid_stream_resumes_and_decides_every_clip(settings: Settings, broker_engine: str,
                                                                  clips_dir: Path, tmp_path: Path):
    names = ["coffee-pan", "rocket-launch", "cat-cutin", "space-montage", "astronaut-portrait", "cat-character"]
    events = {f"clip-{i:03d}": clips_dir / f"{names[i % len(names)]}.mp4" for i in range(MID_STREAM_BACKLOG)}
    with running_broker(broker_engine, tmp_path / "broker", partitions=MID_STREAM_PARTITIONS) as address:
        s = replace(settings, kafka_bootstrap=address)
        publish(address, [clip_event(c, p) for c, p in events.items()])
        log = tmp_path / "gate.log"
        first = start_gate(s, log=log)
        try:
            await_first_decision(s.database_url)                                 # it is mid-stream now
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        decided_before_restart = len(DecisionStore(engine_for(s.database_url)).all())
        assert decided_before_restart < len(events), "the gate finished before it was killed; nothing was tested"

        second = start_gate(s, "--idle-exit", "5", log=log)
        try:
            got = read_decisions(address, set(events), timeout_s=180)
            committed = await_committed(address, len(events))
        finally:
            second.terminate()
            second.wait(timeout=30)
    assert set(got) == set(events)
    stored = DecisionStore(engine_for(s.database_url)).all()
    assert {d["clip_id"] for d in stored} == set(events)
    assert all(d["verdict"] in ("allow", "block") for d in stored)
    assert committed == len(events)


def test_a_claim_filed_while_the_gate_runs_applies_within_ten_seconds(gate_settings: Settings, clips_dir: Path,
                                                                      tmp_path: Path):
    s = gate_settings
    publish(s.kafka_bootstrap, [clip_event("cat-before", clips_dir / "cat-character.mp4")])
    gate = start_gate(s, log=tmp_path / "gate.log")
    try:
        before = read_decisions(s.kafka_bootstrap, {"cat-before"}, timeout_s=120)["cat-before"]
        ClaimStore(engine_for(s.database_url)).add(
            "studio", "Chelsea", "block", build_references([png_file("cat.png", "chelsea")], s.media))
        time.sleep(REFRESH_S + 1)   # under the 10 s the claims issue allows, with no restart
        publish(s.kafka_bootstrap, [clip_event("cat-after", clips_dir / "cat-character.mp4")])
        after = read_decisions(s.kafka_bootstrap, {"cat-after"}, timeout_s=120)["cat-after"]
        await_committed(s.kafka_bootstrap, 2)   # the registry, and so the holder's matches, are written by then
    finally:
        gate.terminate()
        gate.wait(timeout=30)
    assert before["verdict"] == "allow"
    assert after["verdict"] == "block" and after["reasons"][0]["signal"] == "character"
    matches = ClaimStore(engine_for(s.database_url)).list("studio")
    assert matches and ClaimStore(engine_for(s.database_url)).matches(matches[0].claim_id, "studio")[0].clip_id == \
        "cat-after"


def test_hostile_media_on_one_partition_is_reviewed_and_a_crash_looping_event_set_aside(
        gate_settings: Settings, clips_dir: Path, tmp_path: Path):
    from kafka import KafkaProducer

    from clipguard.core.config import TOPIC_CLIPS
    from registry.attempts import POISON_AFTER, DecodeAttempts

    s = gate_settings
    svg = clips_dir / "hostile.svg"
    svg.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64"/></svg>')
    whole = (clips_dir / "coffee-pan.mp4").read_bytes()
    (clips_dir / "truncated.mp4").write_bytes(whole[: len(whole) // 3])
    events = {"svg": svg, "truncated": clips_dir / "truncated.mp4", "zero-byte": clips_dir / "empty.mp4",
              "killer": clips_dir / "rocket-launch.mp4", "valid": clips_dir / "coffee-pan.mp4"}
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    # One key, so one partition: each bad clip sits in front of the valid one.
    sent = {c: producer.send(TOPIC_CLIPS, key=b"one-creator", value=clip_event(c, p)).get(timeout=30)
            for c, p in events.items()}
    producer.close()
    assert len({m.partition for m in sent.values()}) == 1
    # "killer" is the record three earlier gates died decoding (their counts survive in the registry).
    attempts = DecodeAttempts(migrate(s.database_url))
    killer = sent["killer"]
    for _ in range(POISON_AFTER):
        attempts.begin(TOPIC_CLIPS, killer.partition, killer.offset, "killer")

    gate = start_gate(s, log=tmp_path / "gate.log")
    try:
        got = read_decisions(s.kafka_bootstrap, set(events) - {"killer"}, timeout_s=120)
        letters = read_dead_letters(s.kafka_bootstrap, 1, timeout_s=60)
        assert gate.poll() is None, (tmp_path / "gate.log").read_text()[-2000:]
        committed = await_committed(s.kafka_bootstrap, len(events))
    finally:
        gate.terminate()
        gate.wait(timeout=30)
    assert {c: got[c]["verdict"] for c in ("svg", "truncated", "zero-byte")} == dict.fromkeys(
        ("svg", "truncated", "zero-byte"), "review")
    assert got["valid"]["verdict"] == "allow"
    assert "killer" not in got
    assert [(d["error_code"], d["source"]["offset"]) for d in letters] == [("poison", killer.offset)]
    assert "died while decoding" in letters[0]["reason"]
    assert committed == len(events)


def test_the_gates_memory_stays_flat_over_200_clips(bootstrap: str, clips_dir: Path, tmp_path: Path):
    import threading

    from bench.soak import tree_rss_mib

    # SQLite only: the gate's memory does not depend on the registry, and this takes two minutes.
    s = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'memory.db'}", kafka_bootstrap=bootstrap,
                 media_roots=(clips_dir,))
    names = ["coffee-pan", "rocket-launch", "cat-cutin", "space-montage", "astronaut-portrait", "cat-character"]
    events = [clip_event(f"m-{i:03d}", clips_dir / f"{names[i % len(names)]}.mp4") for i in range(200)]
    store = DecisionStore(migrate(s.database_url))
    gate = start_gate(s, log=tmp_path / "gate.log")

    def feed() -> None:
        # Paced below the gate's throughput, as a steady stream arrives: a backlog would measure
        # how much the gate holds in flight, not what each clip leaves behind.
        for i in range(0, len(events), 2):
            publish(s.kafka_bootstrap, events[i:i + 2])
            time.sleep(1.0)

    def rss_once_decided(count: int) -> float:
        deadline = time.monotonic() + 400
        while len(store.all()) < count:
            assert gate.poll() is None and time.monotonic() < deadline, (tmp_path / "gate.log").read_text()[-2000:]
            time.sleep(0.5)
        return tree_rss_mib(gate.pid)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    counts = range(50, 201, 10)
    try:
        readings = [rss_once_decided(count) for count in counts]
    finally:
        gate.terminate()
        gate.wait(timeout=30)
        feeder.join(timeout=120)
    growth = statistics.linear_regression(counts, readings).slope
    print(f"gate RSS {min(readings):.0f}-{max(readings):.0f} MiB from 50 to 200 clips, {growth:+.3f} MiB per clip")
    # RSS swings by about 50 MiB between readings while clips decode (measured here 2026-12-02:
    # 525-580 MiB over 500 clips, slope +0.016 MiB per clip), so two readings cannot tell a leak
    # from a swing (a CI run failed on +44 MiB); the slope over 16 of them can, with a standard
    # error of about 0.07 MiB per clip. The bound is over five of those; the leak first reported
    # was 1.36 MiB per clip. The precise check of Beam's
    # metrics leak is tests/unit/test_beam_fixes.py.
    assert growth < MAX_GROWTH_MIB_PER_CLIP, list(zip(counts, readings, strict=True))
