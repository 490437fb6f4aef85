"""The engines the scale-out benches run on: Apache Kafka and a Flink session cluster, both from
`make jars`, both stopped when the bench ends, however it ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clipguard.app.broker import PARTITIONS, ensure_topics, free_port, start_broker
from clipguard.app.flink_cluster import FlinkCluster


@contextmanager
def kafka_and_flink(work: Path, partitions: int = PARTITIONS) -> Iterator[tuple[str, FlinkCluster]]:
    """Kafka's address, with clipguard's topics, and a cluster for the bench to start when it
    wants to time that apart."""
    address = f"127.0.0.1:{free_port()}"
    broker = start_broker(address, str(work / "broker.log"), engine="kafka", home=work / "broker")
    cluster = FlinkCluster(work / "flink")
    try:
        ensure_topics(address, partitions=partitions)
        yield address, cluster
    finally:
        cluster.stop()
        broker.terminate()
        broker.wait(timeout=60)
