"""Where a pipeline runs: in this process (FnApiRunner), or on Apache Flink through Beam's
portable runner, with the JVM parts from `make jars` (clipguard/core/jars.py), never downloaded.

On Flink:
- the job server is Beam's FlinkJobServerDriver, started by Beam's FlinkRunner from a local jar;
- Kafka is read by Java's KafkaIO (`ReadFromKafka`), built by a local expansion service. Its
  transforms run EMBEDDED, inside the Flink workers, so no Docker environment is ever chosen
  (apache/beam#30663, #21021). It reads through the legacy UnboundedSource (`use_deprecated_read`),
  because portable runners do not checkpoint splittable DoFns (apache/beam#20979), and it commits
  offsets when Flink finalizes a checkpoint;
- the Python transforms run in this process (LOOPBACK) with `[local]`, and in an operator's worker
  pool (EXTERNAL, `--worker-pool HOST:PORT`) on a cluster.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from clipguard.core.config import GATE_GROUP, LOCAL_FLINK, TOPIC_CLIPS
from clipguard.core.jars import jar_set
from clipguard.core.vocab import RunnerName, words
from pipelines.kafka_io import KafkaRecord

RUNNERS = words(RunnerName)
# KafkaIO on a portable runner: the legacy source, which Flink checkpoints (apache/beam#20979).
FLINK_EXPERIMENTS = ("use_deprecated_read",)
# By its full name: Beam 2.62 knows no short one for it.
FN_API_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


@dataclass(frozen=True)
class Runner:
    """The runner a pipeline is submitted to, and how."""

    name: str = RunnerName.INPROCESS
    flink_master: str = LOCAL_FLINK
    parallelism: int | None = None
    checkpoint_interval_ms: int = 10_000
    worker_pool: str | None = None     # HOST:PORT of a Beam Python worker pool, for a cluster

    def __post_init__(self) -> None:
        if self.name not in RUNNERS:
            raise ValueError(f"unknown runner {self.name!r}; choose one of {', '.join(RUNNERS)}")
        if self.name == RunnerName.FLINK and self.flink_master != LOCAL_FLINK and not self.worker_pool:
            raise ValueError(f"a Flink cluster at {self.flink_master} runs the Python transforms in a worker "
                             "pool: start one (python -m apache_beam.runners.worker.worker_pool_main "
                             "--service_port=50000) on every TaskManager host and pass --worker-pool HOST:PORT")

    @property
    def on_flink(self) -> bool:
        return self.name == RunnerName.FLINK

    def options(self, extra_args: Sequence[str] = (), streaming: bool = True) -> PipelineOptions:
        args = [*self.beam_args(), *extra_args]
        return PipelineOptions(args, streaming=streaming)

    def beam_args(self) -> list[str]:
        if not self.on_flink:
            # Beam's default runner tries Prism first, whose binary is downloaded at run time.
            return [f"--runner={FN_API_RUNNER}"]
        beam_jars = jar_set("beam")
        args = ["--runner=FlinkRunner", f"--flink_master={self.flink_master}",
                f"--flink_job_server_jar={beam_jars / 'flink-job-server.jar'}",
                f"--checkpointing_interval={self.checkpoint_interval_ms}",
                # KafkaIO commits a checkpoint's offsets once it completes. By default Flink
                # checkpoints while a bundle is still in the Python workers, so a gate killed
                # then loses the bundle's clips: committed, never decided. Finishing the bundle
                # first means a committed offset is a decided clip.
                "--finish_bundle_before_checkpointing",
                *(f"--experiments={e}" for e in FLINK_EXPERIMENTS)]
        if self.worker_pool:
            args += ["--environment_type=EXTERNAL", f"--environment_config={self.worker_pool}"]
        else:
            args.append("--environment_type=LOOPBACK")
        if self.parallelism:
            args.append(f"--parallelism={self.parallelism}")
        return args

    @contextmanager
    def watched(self) -> Iterator[None]:
        """A lost job server becomes one clear error, so a supervisor restarts the gate; the job
        resumes from the offsets of its last completed checkpoint."""
        import grpc

        if self.on_flink:
            java_dies_with_this_process()
        try:
            yield
        except grpc.RpcError as exc:
            if not self.on_flink:
                raise
            raise RuntimeError(f"lost the Flink job server ({exc.code().name}: {exc.details()}); start the "
                               "gate again: it resumes from the offsets of the last completed checkpoint") from None


IN_PROCESS = Runner()


def java_dies_with_this_process() -> None:
    """Beam starts the job server and the expansion service as `java` children and stops them
    only on a clean exit. A gate that is killed would leave them running, and an orphaned
    `[local]` job server keeps running the job: a second gate, deciding every clip. So `java`
    on PATH becomes a shim that asks the kernel to kill it when its parent dies (setpriv
    --pdeathsig; Beam starts both from the main thread, which lives as long as the gate)."""
    real_java, setpriv = shutil.which("java"), shutil.which("setpriv")
    if real_java is None:
        raise FileNotFoundError("no `java` on PATH: the Flink runner needs a Java 17 runtime")
    if setpriv is None or Path(real_java).parent.name == "java-shim":
        return
    shim = Path(tempfile.mkdtemp(prefix="clipguard-")) / "java-shim"
    shim.mkdir()
    (shim / "java").write_text(f'#!/bin/sh\nexec {setpriv} --pdeathsig KILL {real_java} "$@"\n')
    (shim / "java").chmod(0o755)
    os.environ["PATH"] = f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"


def expansion_service() -> beam.transforms.external.JavaJarExpansionService:
    """KafkaIO's expansion service from the local jars; its Java transforms run EMBEDDED."""
    from apache_beam.transforms.external import JavaJarExpansionService

    jar = jar_set("beam") / "expansion-service.jar"
    return JavaJarExpansionService(str(jar), append_args=[
        "--defaultEnvironmentType=EMBEDDED", *(f"--experiments={e}" for e in FLINK_EXPERIMENTS)])


def read_kafka_xlang(bootstrap: str) -> beam.PTransform:
    """`clips.generated` through Java's KafkaIO, as KafkaRecords. Offsets are committed when the
    runner finalizes a checkpoint, so the gate's sink must not commit them itself."""
    from apache_beam.io.kafka import ReadFromKafka

    return ReadFromKafka(
        consumer_config={"bootstrap.servers": bootstrap, "group.id": GATE_GROUP,
                         "enable.auto.commit": "false", "auto.offset.reset": "earliest"},
        topics=[TOPIC_CLIPS], with_metadata=True, commit_offset_in_finalize=True,
        expansion_service=expansion_service(),
    ) | "ToRecord" >> beam.Map(to_record)


def to_record(r: beam.Row) -> KafkaRecord:
    return KafkaRecord(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
