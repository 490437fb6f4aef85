"""`clipguard bench --suite scale`: the gate's throughput as Flink spreads it, against the gate in
this process, in one run.

1. The gate bench's 10 s 720p clips (bench/pipeline.py), on Apache Kafka with 4 partitions.
2. In process: `run_gate` on FnApiRunner over a backlog of events (the baseline).
3. On a Flink session cluster of a JobManager and two TaskManagers (one slot each) with Beam's
   worker pool: `clipguard gate --runner flink` at parallelism 1 and 2, each over a backlog of
   its own. A run ends when the job has committed every offset, so the next starts clean.
The three run in turn, round after round (bench/compare.py), so noise falls on all of them.

Clips/s is measured between the first and the last decision of a run, so start-up (the job's
submission, the workers' model loading) is left out, as in the gate bench.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import click

from bench.compare import MIN_ROUNDS, Comparison, Measure, compared, in_turn
from bench.engines import kafka_and_flink
from bench.pipeline import bench_clips, clips_per_second, decided, send
from bench.results import say
from clipguard.app.demo import seed, start_gate
from clipguard.app.flink_cluster import FlinkCluster
from clipguard.core.config import GATE_GROUP, TOPIC_CLIPS, Settings
from pipelines.gate import run_gate
from pipelines.kafka_io import committed_count

PARTITIONS = 4
PARALLELISMS = (1, 2)
RUN_TIMEOUT_S = 900


def run_scale_bench(settings: Settings, clips: int = 6, rounds: int = MIN_ROUNDS) -> dict:
    from kafka import KafkaProducer

    work = settings.home / "bench-scale"
    media = settings.home / "bench" / "media"
    media.mkdir(parents=True, exist_ok=True)
    events = 4 * clips
    say(f"[1/3] {clips} clips of 10 s 720p in {media}; {events} events per run, {PARTITIONS} partitions")
    paths = bench_clips(media, clips)
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench.db").unlink(missing_ok=True)
    with kafka_and_flink(work, PARTITIONS) as (address, cluster):
        s = replace(settings, home=work, kafka_bootstrap=address, media_roots=(media,),
                    database_url=f"sqlite:///{work / 'bench.db'}")
        seed(s)
        producer = KafkaProducer(bootstrap_servers=address, acks="all")
        started = time.monotonic()
        cluster.start(taskmanagers=2)
        say(f"[2/3] Flink cluster up in {time.monotonic() - started:.0f} s")
        sent = [0]

        def gate_on(runner: str, run: Callable[[list[str], int], float]) -> Measure:
            def measure() -> dict[str, float]:
                ids = list(send(producer, paths, f"{runner}-{sent[0]:05d}", events))
                sent[0] += events
                return {"clips_per_s": run(ids, sent[0])}

            return measure

        def in_process(ids: list[str], _: int) -> float:
            run_gate(s, idle_exit_s=3.0)
            return clips_per_second(decided(s, ids))

        sides = {"in process": gate_on("inprocess", in_process),
                 **{f"Flink p{p}": gate_on(f"flink-p{p}", partial(flink_run, s, cluster, p, work=work))
                    for p in PARALLELISMS}}
        say(f"[3/3] {', '.join(sides)} in turn, {rounds} rounds")
        # No warm-up round: every run starts its own gate (and job), whose start-up the clips/s leaves out.
        measured = in_turn(sides, rounds, warmup=0, say=say)
        producer.close()
    rate = ("clips_per_s",)
    comparisons = [compared(measured, "Flink p1", "in process", rate)["clips_per_s"],
                   compared(measured, "Flink p2", "in process", rate)["clips_per_s"],
                   compared(measured, "Flink p2", "Flink p1", rate)["clips_per_s"]]
    print_results(events, comparisons)
    return {"events_per_run": events, "partitions": PARTITIONS, "compared": [c.to_dict() for c in comparisons]}


def flink_run(s: Settings, cluster: FlinkCluster, parallelism: int, ids: list[str], sent: int, *, work: Path) -> float:
    """One gate job on the cluster until every event so far is decided and committed; its clips/s."""
    gate = start_gate(s, "--runner", "flink", "--flink-master", cluster.master, "--worker-pool",
                      cluster.worker_pool_address, "--parallelism", str(parallelism),
                      "--checkpoint-interval-ms", "2000", log=work / f"gate-p{parallelism}.log")
    try:
        rate = clips_per_second(decided(s, ids, timeout_s=RUN_TIMEOUT_S))
        deadline = time.monotonic() + 120
        while committed_count(s.kafka_bootstrap, TOPIC_CLIPS, GATE_GROUP) < sent:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the parallelism-{parallelism} job did not commit {sent} offsets in 120 s")
            time.sleep(0.5)
        return rate
    finally:
        gate.terminate()
        gate.wait(timeout=60)
        cluster.cancel_jobs()
        cluster.await_no_jobs()


def print_results(events: int, comparisons: list[Comparison]) -> None:
    click.echo(f"clipguard bench --suite scale: {events} events of 10 s 720p per run, {PARTITIONS} partitions, "
               "a 2-TaskManager cluster; clips/s, median (min-max) over the rounds")
    for comparison in comparisons:
        click.echo(f"  {comparison.line()}")
