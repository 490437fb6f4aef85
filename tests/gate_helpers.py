"""Driving a real `clipguard gate` process against a real broker, for the integration tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaProducer
from sqlalchemy.exc import DBAPIError

from clipguard.app.broker import PARTITIONS, ensure_topics, free_port, start_broker
from clipguard.core.config import GATE_GROUP, TOPIC_CLIPS, Settings
from clipguard.core.contracts import ClipGenerated
from pipelines.kafka_io import MAX_RECORDS_PER_POLL, committed_count
from registry.db import engine_for
from registry.store import DecisionStore

# For a test that kills something "mid-stream": one partition, and more events on it than the gate
# reads in one poll, so its first bundle cannot decide the whole backlog before the kill.
MID_STREAM_PARTITIONS = 1
MID_STREAM_BACKLOG = MAX_RECORDS_PER_POLL + 16


def sqlite_settings(tmp_path: Path, bootstrap: str, media_root: Path) -> Settings:
    """A gate's settings on its own SQLite registry in `tmp_path`."""
    return Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'gate.db'}",
                    kafka_bootstrap=bootstrap, media_roots=(media_root,))


def clip_event(clip_id: str, path: Path, **attrs) -> bytes:
    return ClipGenerated(clip_id, "alice", path.as_uri(), "2026-11-21T10:00:00Z", attrs=attrs).to_json()


def publish(bootstrap: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for value in values:
        producer.send(TOPIC_CLIPS, value=value)
    producer.flush()
    producer.close()


def offline_env(home: Path) -> dict[str, str]:
    """An empty HOME, where Beam caches the jars it downloads, and proxies that refuse every
    connection: a download at run time fails the run instead of passing quietly."""
    home.mkdir(parents=True, exist_ok=True)
    refused = {name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
    return {"HOME": str(home), **refused, "no_proxy": "127.0.0.1,localhost"}


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample on the gate's /metrics, keyed by (name, sorted labels)."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    text = urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def await_committed(bootstrap: str, count: int, timeout_s: float = 60) -> int:
    """Wait until the gate has committed `count` offsets in all, which it does only after the
    decisions are in Kafka and in the registry; returns the last total seen."""
    deadline = time.monotonic() + timeout_s
    while (total := committed_total(bootstrap)) < count and time.monotonic() < deadline:
        time.sleep(0.3)
    return total


def await_first_decision(database_url: str, timeout_s: float = 120) -> None:
    """Wait until the gate has recorded a decision. Read from the registry rather than the
    decisions topic, so a test that kills something "mid-stream" does not first spend seconds
    joining a consumer while the gate works through its backlog."""
    store = DecisionStore(engine_for(database_url))
    deadline = time.monotonic() + timeout_s
    while not _decided_any(store):
        assert time.monotonic() < deadline, f"the gate decided nothing in {timeout_s:.0f} s"
        time.sleep(0.2)


def _decided_any(store: DecisionStore) -> bool:
    try:
        return bool(store.all())
    except DBAPIError:      # the gate has not created its tables yet
        return False


def committed_total(bootstrap: str) -> int:
    return committed_count(bootstrap, TOPIC_CLIPS, GATE_GROUP)


@contextmanager
def running_broker(engine: str, home: Path, partitions: int = PARTITIONS) -> Iterator[str]:
    """A fresh broker of `engine` with clipguard's topics on a free port, its files in `home`."""
    address = f"127.0.0.1:{free_port()}"
    home.mkdir(parents=True, exist_ok=True)
    proc = start_broker(address, str(home / "broker.log"), engine=engine, home=home)
    try:
        ensure_topics(address, partitions=partitions)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=30)
