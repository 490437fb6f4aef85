"""`clipguard bench --suite scale`: the gate's throughput as Flink spreads it, against the gate in
this process, in one run.

1. The gate bench's 10 s 720p clips (bench/pipeline.py), on Apache Kafka with 4 partitions.
2. In process: `run_gate` on FnApiRunner over a backlog of events (the baseline).
3. On a Flink session cluster of a JobManager and two TaskManagers (one slot each) with Beam's
   worker pool: `clipguard gate --runner flink` at parallelism 1, then 2, each over a backlog of
   its own. A run ends when the job has committed every offset, so the next starts clean.

Clips/s is measured between the first and the last decision of a run, so start-up (the job's
submission, the workers' model loading) is left out, as in the gate bench.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import click

from bench.engines import kafka_and_flink
from bench.pipeline import bench_clips, clips_per_second, decided, send
from clipguard.app.demo import seed, start_gate
from clipguard.app.flink_cluster import FlinkCluster
from clipguard.core.config import GATE_GROUP, TOPIC_CLIPS, Settings
from pipelines.gate import run_gate
from pipelines.kafka_io import committed_count

PARTITIONS = 4
PARALLELISMS = (1, 2)
RUN_TIMEOUT_S = 900


def run_scale_bench(settings: Settings, clips: int = 6) -> dict:
    from kafka import KafkaProducer

    say = lambda msg: click.echo(msg, err=True)  # noqa: E731
    work = settings.home / "bench-scale"
    media = settings.home / "bench" / "media"
    media.mkdir(parents=True, exist_ok=True)
    events = 4 * clips
    say(f"[1/4] {clips} clips of 10 s 720p in {media}; {events} events per run, {PARTITIONS} partitions")
    paths = bench_clips(media, clips)
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench.db").unlink(missing_ok=True)
    rates: dict[str, float] = {}
    with kafka_and_flink(work, PARTITIONS) as (address, cluster):
        s = replace(settings, home=work, kafka_bootstrap=address, media_roots=(media,),
                    database_url=f"sqlite:///{work / 'bench.db'}")
        seed(s)
        producer = KafkaProducer(bootstrap_servers=address, acks="all")
        say("[2/4] in process (FnApiRunner), the baseline")
        ids = list(send(producer, paths, "inprocess", events))
        run_gate(s, idle_exit_s=3.0)
        rates["inprocess"] = clips_per_second(decided(s, ids))
        say(f"      {rates['inprocess']:.2f} clips/s")
        started = time.monotonic()
        cluster.start(taskmanagers=2)
        say(f"[3/4] Flink cluster up in {time.monotonic() - started:.0f} s")
        sent = events
        for parallelism in PARALLELISMS:
            say(f"[4/4] Flink, parallelism {parallelism}")
            ids = list(send(producer, paths, f"flink-p{parallelism}", events))
            sent += events
            rates[f"flink_p{parallelism}"] = flink_run(s, cluster, parallelism, ids, sent, work)
            say(f"      {rates[f'flink_p{parallelism}']:.2f} clips/s")
        producer.close()
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "events_per_run": events, "partitions": PARTITIONS,
        "clips_per_s": {k: round(v, 3) for k, v in rates.items()},
        "over_inprocess": {k: round(v / rates["inprocess"], 2) for k, v in rates.items() if k != "inprocess"},
        "p2_over_p1": round(rates["flink_p2"] / rates["flink_p1"], 2),
    }
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print_results(results)
    return results


def flink_run(s: Settings, cluster: FlinkCluster, parallelism: int, ids: list[str], sent: int, work: Path) -> float:
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


def print_results(r: dict) -> None:
    click.echo(f"clipguard bench --suite scale on {r['machine']}: {r['events_per_run']} events of 10 s 720p per run, "
               f"{r['partitions']} partitions")
    base = r["clips_per_s"]["inprocess"]
    click.echo(f"{'gate':<32} {'clips/s':>8} {'vs in process':>14}")
    click.echo(f"{'in process (FnApiRunner)':<32} {base:>8.2f} {'1.00x':>14}")
    for parallelism in PARALLELISMS:
        key = f"flink_p{parallelism}"
        click.echo(f"{f'Flink cluster, parallelism {parallelism}':<32} {r['clips_per_s'][key]:>8.2f} "
                   f"{r['over_inprocess'][key]:>13.2f}x")
    click.echo(f"parallelism 2 / parallelism 1: {r['p2_over_p1']:.2f}x")
