"""The gate on Apache Flink (Beam's portable FlinkRunner), reading Apache Kafka through Java's
KafkaIO, with every jar from `make jars` and nothing fetched at run time: inside its job server
(`[local]`), and on a cluster of a JobManager and two TaskManagers, each its own JVM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from clipguard.app.demo import start_gate
from clipguard.app.flink_cluster import FlinkCluster
from clipguard.core.config import TOPIC_DEADLETTER, Settings
from pipelines.kafka_io import read_decisions, read_topic_until
from registry.db import engine_for, migrate
from registry.store import DecisionStore
from tests.gate_helpers import (
    await_committed,
    clip_event,
    committed_total,
    offline_env,
    publish,
    running_broker,
    sqlite_settings,
)

NAMES = ["coffee-pan", "rocket-launch", "cat-cutin", "space-montage", "astronaut-portrait", "cat-character"]
# The tests' loads: 20 clips for the job-server kill, 40 on the cluster (about 2 minutes on 2
# cores). Raise them to see more; issue 14 asks for 100 and 200.
KILL_TEST_CLIPS = int(os.environ.get("CLIPGUARD_KILL_TEST_CLIPS", "20"))
CLUSTER_CLIPS = int(os.environ.get("CLIPGUARD_CLUSTER_CLIPS", "40"))
FLINK = ("--runner", "flink", "--parallelism", "2", "--checkpoint-interval-ms", "2000")


def test_the_gate_on_flink_survives_its_job_server_killed_and_decides_every_clip_once(tmp_path: Path,
                                                                                     clips_dir: Path):
    with running_broker("kafka", tmp_path / "broker") as address:
        s = sqlite_settings(tmp_path, address, clips_dir)
        events = {f"fl-{i:03d}": clips_dir / f"{NAMES[i % len(NAMES)]}.mp4" for i in range(KILL_TEST_CLIPS)}
        malformed = [b"not json", b"[]", json.dumps({"schema": "clip.generated/1", "clip_id": "no-uri"}).encode(),
                     json.dumps({"schema": "clip.generated/9", "clip_id": "v9", "media_uri": "file:///x"}).encode(),
                     clip_event("outside", Path("/etc/passwd"))]
        migrate(s.database_url)
        publish(address, [*(clip_event(c, p) for c, p in events.items()), *malformed])

        user_home = tmp_path / "user"
        env = offline_env(user_home)
        log = tmp_path / "gate.log"
        first = start_gate(s, *FLINK, log=log, extra_env=env)
        try:
            wait_for_decisions(s, 2, timeout_s=240, gate=first)
            job_server = job_server_of(first.pid)
            os.kill(job_server, signal.SIGKILL)
            # What the restarted gate must read again: everything past the last checkpoint. (The
            # gate's Python workers may still finish the bundle they hold, so the registry can be
            # complete by now; the offsets cannot.)
            committed_at_kill = committed_total(address)
            # The gate's pipeline has lost its runner: it stops with one line, rather than hang.
            assert first.wait(timeout=120) == 2
            assert "lost the Flink job server" in log.read_text(errors="replace")
        finally:
            if first.poll() is None:
                first.kill()
        assert committed_at_kill < len(events) + len(malformed), "every offset was committed before the kill"

        second = start_gate(s, *FLINK, log=log, extra_env=env)
        try:
            # The second job reads everything past the last checkpoint and checkpoints it. A
            # committed offset must be a decided clip: a checkpoint taken while a bundle was still
            # in the Python workers once committed clips the kill then lost (issue 14).
            committed = await_committed(address, len(events) + len(malformed), timeout_s=240)
            assert committed == len(events) + len(malformed), (committed, log.read_text(errors="replace")[-3000:])
            undecided = set(events) - {d["clip_id"] for d in DecisionStore(engine_for(s.database_url)).all()}
            assert not undecided, f"committed but never decided: {sorted(undecided)}"
            got = read_decisions(address, set(events), timeout_s=60)
            letters = distinct_dead_letters(address, len(malformed), timeout_s=60)
            children = java_children(second.pid)
        finally:
            second.kill()        # a gate killed outright takes its job server and expansion service with it
            second.wait(timeout=60)
        assert len(children) == 2
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [pid for pid in children if alive(pid)], "a killed gate left its java children running"

    assert set(got) == set(events)
    # At least once: the restarted job replays from its last checkpoint, so a dead letter may come
    # twice on Kafka. Its source offset is its identity.
    by_source = {(lt["source"]["partition"], lt["source"]["offset"]): lt["error_code"] for lt in letters}
    assert sorted(by_source.values()) == ["media_outside_roots", "missing_field", "not_json", "not_object",
                                          "wrong_schema"]
    stored = DecisionStore(engine_for(s.database_url)).all()
    assert sorted(d["clip_id"] for d in stored) == sorted(events)            # one current decision each
    assert all(d["verdict"] in ("allow", "block") for d in stored)           # no check failed into review
    assert not list(user_home.rglob("*.jar")), "Beam downloaded a jar at run time"


def test_the_gate_on_a_two_taskmanager_cluster_rides_out_a_killed_taskmanager(tmp_path: Path, clips_dir: Path):
    cluster = FlinkCluster(tmp_path / "flink")
    with running_broker("kafka", tmp_path / "broker", partitions=4) as address:
        s = sqlite_settings(tmp_path, address, clips_dir)
        migrate(s.database_url)
        events = {f"cl-{i:03d}": clips_dir / f"{NAMES[i % len(NAMES)]}.mp4" for i in range(CLUSTER_CLIPS)}
        malformed = [b"not json", b"[]", json.dumps({"schema": "clip.generated/1", "clip_id": "x"}).encode(),
                     clip_event("outside", Path("/etc/passwd"))]
        publish(address, [*(clip_event(c, p) for c, p in events.items()), *malformed])
        gate = None
        try:
            cluster.start(taskmanagers=2)
            gate = start_gate(s, "--runner", "flink", "--flink-master", cluster.master, "--worker-pool",
                              cluster.worker_pool_address, "--parallelism", "2", "--checkpoint-interval-ms", "2000",
                              log=tmp_path / "gate.log")
            wait_for_decisions(s, 3, timeout_s=300, gate=gate)
            cluster.taskmanagers[0].kill()
            cluster.taskmanagers[0].wait(timeout=30)
            committed_at_kill = committed_total(address)
            assert committed_at_kill < len(events) + len(malformed), "every offset was committed before the kill"
            cluster.start_taskmanager()      # a replacement; the job restarts from its last checkpoint
            got = read_decisions(address, set(events), timeout_s=600)
            letters = distinct_dead_letters(address, len(malformed), timeout_s=60)
        finally:
            if gate is not None:
                gate.terminate()
                gate.wait(timeout=60)
            if cluster.jobmanager is not None:
                cluster.cancel_jobs()
            cluster.stop()

    assert set(got) == set(events)
    by_source = {(lt["source"]["partition"], lt["source"]["offset"]): lt["error_code"] for lt in letters}
    assert sorted(by_source.values()) == sorted(["not_json", "not_object", "missing_field", "media_outside_roots"])
    stored = DecisionStore(engine_for(s.database_url)).all()
    assert sorted(d["clip_id"] for d in stored) == sorted(events)            # one current decision each
    assert all(d["verdict"] in ("allow", "block") for d in stored)


def distinct_dead_letters(bootstrap: str, count: int, timeout_s: float) -> list[dict]:
    """Dead letters until `count` distinct source offsets have one (a replay may repeat them)."""
    def sources(values: list[bytes]) -> set[tuple[int, int]]:
        return {(v["source"]["partition"], v["source"]["offset"]) for v in map(json.loads, values)}

    raw = read_topic_until(bootstrap, TOPIC_DEADLETTER, lambda values: len(sources(values)) >= count, timeout_s)
    return [json.loads(v) for v in raw]


def wait_for_decisions(s: Settings, count: int, timeout_s: float, gate: subprocess.Popen) -> None:
    store = DecisionStore(engine_for(s.database_url))
    deadline = time.monotonic() + timeout_s
    while len(store.all()) < count:
        assert gate.poll() is None, f"the gate exited with status {gate.returncode}"
        assert time.monotonic() < deadline, f"fewer than {count} decisions within {timeout_s:.0f}s"
        time.sleep(0.5)


def java_children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid), "java"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def job_server_of(pid: int) -> int:
    """The Flink job server the gate started (its other java child is the expansion service)."""
    found = subprocess.run(["pgrep", "-P", str(pid), "-f", "flink-job-server.jar"],
                           capture_output=True, text=True).stdout.split()
    assert found, f"the gate (pid {pid}) runs no Flink job server"
    return int(found[0])
