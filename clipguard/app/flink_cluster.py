"""A Flink session cluster on this machine, from the distribution `make jars` fetched: one
JobManager and any number of TaskManagers, each its own JVM, plus the Beam Python worker pool
the gate's Python transforms run in (the EXTERNAL environment).

It is what the multi-process tests and `clipguard bench --suite scale` run the gate on. An
operator's own cluster needs the same two things on every TaskManager host: Beam's Java jars
(for KafkaIO, which runs EMBEDDED) and a worker pool; docs/scale-out.md says how.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from clipguard.app.broker import free_port, port_open
from clipguard.core.jars import classpath, jar_set

JOBMANAGER_MAIN = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
TASKMANAGER_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"
# Flink's globally terminal job states: a job in any other holds, or may take, slots.
TERMINAL_JOB_STATES = frozenset({"FINISHED", "CANCELED", "FAILED"})
LOG4J = """rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
"""


@dataclass
class FlinkCluster:
    """Started by `start`; `master` is what `--flink-master` takes."""

    folder: Path
    rest_port: int = field(default_factory=free_port)
    rpc_port: int = field(default_factory=free_port)
    worker_pool_port: int = field(default_factory=free_port)
    jobmanager: subprocess.Popen | None = None
    taskmanagers: list[subprocess.Popen] = field(default_factory=list)
    worker_pool: subprocess.Popen | None = None

    @property
    def master(self) -> str:
        return f"127.0.0.1:{self.rest_port}"

    @property
    def worker_pool_address(self) -> str:
        return f"127.0.0.1:{self.worker_pool_port}"

    def start(self, taskmanagers: int = 2, timeout_s: float = 120) -> FlinkCluster:
        self._write_config()
        self.jobmanager = self._jvm("jobmanager", JOBMANAGER_MAIN)
        for _ in range(taskmanagers):
            self.start_taskmanager()
        # The pool starts each SDK worker as `python` from PATH: this interpreter's, first.
        path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
        self.worker_pool = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
             f"--service_port={self.worker_pool_port}"],
            stdout=open(self.folder / "worker-pool.log", "ab"), stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": path})
        self.wait_for_taskmanagers(taskmanagers, timeout_s)
        return self

    def start_taskmanager(self) -> subprocess.Popen:
        proc = self._jvm(f"taskmanager-{len(self.taskmanagers)}", TASKMANAGER_MAIN, with_beam=True)
        self.taskmanagers.append(proc)
        return proc

    def wait_for_taskmanagers(self, count: int, timeout_s: float) -> None:
        """Until `count` TaskManagers have registered with the JobManager."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if port_open("127.0.0.1", self.rest_port):
                try:
                    if len(self._rest("taskmanagers")["taskmanagers"]) >= count:
                        return
                except OSError:
                    pass
            time.sleep(0.5)
        raise TimeoutError(f"{count} Flink TaskManagers did not register within {timeout_s:.0f}s; "
                           f"see the logs in {self.folder}")

    def unfinished_jobs(self) -> list[str]:
        """Jobs that hold or may take slots: running, restarting or still cancelling, not only RUNNING."""
        return [j["id"] for j in self._rest("jobs")["jobs"] if j["status"] not in TERMINAL_JOB_STATES]

    def cancel_jobs(self) -> None:
        """A job outlives the `clipguard gate` that submitted it to a cluster; this ends them.

        A job caught restarting is cancelled too: left alone it takes its slots back and, in the
        same consumer group, reads the next job's events."""
        for job in self.unfinished_jobs():
            self._rest(f"jobs/{job}?mode=cancel", method="PATCH")

    def await_no_jobs(self, timeout_s: float = 60) -> None:
        """Until no job is unfinished and every slot is free again, so the next job gets them all."""
        deadline = time.monotonic() + timeout_s
        while (jobs := self.unfinished_jobs()) or (slots := self.slots())[0] < slots[1]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Flink jobs or slots not released {timeout_s:.0f}s after their cancel: "
                                   f"unfinished jobs {jobs}, slots free/total {self.slots()}")
            time.sleep(0.5)

    def slots(self) -> tuple[int, int]:
        """(free, total) task slots across the registered TaskManagers."""
        overview = self._rest("overview")
        return overview["slots-available"], overview["slots-total"]

    def _rest(self, path: str, method: str = "GET") -> dict:
        """One call to the JobManager's REST API, its JSON answer decoded."""
        request = urllib.request.Request(f"http://{self.master}/{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
        return json.loads(body) if body else {}

    def stop(self) -> None:
        for proc in [self.worker_pool, *self.taskmanagers, self.jobmanager]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [self.worker_pool, *self.taskmanagers, self.jobmanager]:
            if proc is not None:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def _write_config(self) -> None:
        conf = self.folder / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "flink-conf.yaml").write_text("\n".join([
            "jobmanager.rpc.address: 127.0.0.1",
            "jobmanager.bind-host: 127.0.0.1",
            f"jobmanager.rpc.port: {self.rpc_port}",
            "jobmanager.memory.process.size: 1024m",
            "taskmanager.bind-host: 127.0.0.1",
            "taskmanager.host: 127.0.0.1",
            "taskmanager.memory.process.size: 2048m",
            "taskmanager.numberOfTaskSlots: 1",
            # Each job submitted to a session cluster gets a child-first class loader that Beam's
            # Flink runner never lets go (apache/beam#25510, #32372): about 50 MB of metaspace a
            # job, and a TaskManager died of `OutOfMemoryError: Metaspace` after 5 or 6 jobs in the
            # scale bench. Beam's jars are on the TaskManagers' class path already, so loading
            # parent-first leaves the per-job loader almost nothing to hold; the larger metaspace
            # is margin for what it still does.
            "classloader.resolve-order: parent-first",
            "taskmanager.memory.jvm-metaspace.size: 512m",
            "rest.address: 127.0.0.1",
            "rest.bind-address: 127.0.0.1",
            f"rest.port: {self.rest_port}",
            # A killed TaskManager's job restarts from its last checkpoint once one is back.
            "restart-strategy.type: fixed-delay",
            "restart-strategy.fixed-delay.attempts: 1000",
            "restart-strategy.fixed-delay.delay: 2 s",
            # Long enough for a busy 2-core machine, short enough to notice a killed TaskManager.
            "heartbeat.timeout: 30000",
            "",
        ]))
        (conf / "log4j.properties").write_text(LOG4J)

    def _jvm(self, name: str, main: str, with_beam: bool = False) -> subprocess.Popen:
        jars = [classpath("flink")]
        if with_beam:
            # KafkaIO and the Java SDK harness run EMBEDDED in the TaskManager, from Beam's jars;
            # Flink's own classes come from the distribution, not from Beam's copies of them.
            jars += [str(j) for j in sorted((jar_set("beam") / "lib").glob("*.jar"))
                          if not j.name.startswith(("flink-", "slf4j-simple"))]
        conf = self.folder / "conf"
        jvm_args, dynamic = self._resource_params("GET_TM_RESOURCE_PARAMS" if main == TASKMANAGER_MAIN
                                                  else "GET_JM_RESOURCE_PARAMS")
        return subprocess.Popen(
            ["java", *jvm_args, f"-Dlog.file={self.folder / (name + '.log')}",
             f"-Dlog4j.configurationFile=file:{conf / 'log4j.properties'}",
             "-cp", ":".join(jars), main, "--configDir", str(conf), *dynamic],
            stdout=open(self.folder / f"{name}.out", "ab"), stderr=subprocess.STDOUT)

    def _resource_params(self, which: str) -> tuple[list[str], list[str]]:
        """The heap sizes and resource settings Flink's own start scripts compute (BashJavaUtils)
        from the configured process size: without them a TaskManager refuses to start."""
        answer = subprocess.run(
            ["java", "-cp", f"{classpath('flink')}:{jar_set('flink') / 'bin' / 'bash-java-utils.jar'}",
             "org.apache.flink.runtime.util.bash.BashJavaUtils", which, "--configDir", str(self.folder / "conf")],
            capture_output=True, text=True, timeout=60)
        results = [line.split(":", 1)[1] for line in answer.stdout.splitlines()
                   if line.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")]
        if answer.returncode or len(results) < 2:
            raise RuntimeError(f"Flink could not size its {which}: {answer.stdout[-500:]} {answer.stderr[-500:]}")
        return results[0].split(), results[1].split()
