"""`clipguard bench --suite retroscan`: a takedown claim against a catalogue of published clips.

1. Stores N published clips' signatures (default 100,000; the character signal's frame hashes,
   as the gate keeps them) in a private SQLite registry; 1% of them carry a frame a few bits
   from the claimed art (fixtures/signatures.py). Built once and cached under the bench folder.
2. Starts Apache Kafka (`make jars`) and, for the cluster run, a Flink session cluster of a
   JobManager and two TaskManagers with Beam's worker pool (clipguard/app/flink_cluster.py).
3. For each runner, on its own copy of the registry: files the claim through the same use case
   as `clipguard claims add --action takedown`, which runs the retroscan, and reads
   `moderation.decisions` until every planted clip's takedown is there. Claim-to-last-takedown
   runs from filing to the Kafka timestamp of the last takedown. The cluster's start-up is
   measured apart, since a production cluster is already running.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import click

from bench.engines import kafka_and_flink
from clipguard.core.config import TOPIC_DECISIONS, Settings
from clipguard.core.vocab import RunnerName
from fixtures.clips import png_file
from fixtures.signatures import store_signatures
from pipelines.kafka_io import end_offsets, read_records_until
from pipelines.retroscan import run_retroscan
from pipelines.runners import IN_PROCESS, Runner
from registry.claims import ClaimStore
from registry.db import migrate
from usecases.claims import file_claim
from usecases.references import build_references

TARGET_S = 60.0
MATCHING_EVERY = 100      # 1% of the catalogue matches the claim
TAKEDOWNS_TIMEOUT_S = 900


@dataclass(frozen=True)
class RetroscanRun:
    runner: str
    claim_to_last_takedown_s: float
    retroscan_s: float            # the pipeline, as run_retroscan timed it
    scanned: int
    taken_down: int


def run_retroscan_bench(settings: Settings, signatures: int = 100_000) -> dict:
    say = lambda msg: click.echo(msg, err=True)  # noqa: E731
    work = settings.home / "bench-retroscan"
    work.mkdir(parents=True, exist_ok=True)
    art = png_file("claimed.png", "rocket")
    [reference] = build_references([art], settings.media)
    say(f"[1/4] {signatures} stored signatures, 1 in {MATCHING_EVERY} planted to match")
    catalogue, planted = cached_catalogue(work, reference.pdq, reference.phash, signatures, say)
    say("[2/4] Apache Kafka, and a Flink cluster for later")
    with kafka_and_flink(work) as (address, cluster):
        base = replace(settings, home=work, kafka_bootstrap=address, media_roots=(work,))
        say("[3/4] retroscan in this process (FnApiRunner)")
        inprocess = timed_claim(base, catalogue, work / "inprocess.db", art, planted, IN_PROCESS)
        say(f"      {inprocess.claim_to_last_takedown_s:.1f} s claim to last takedown")
        say("[4/4] retroscan on a Flink cluster: a JobManager, two TaskManagers, parallelism 2")
        started = time.monotonic()
        cluster.start(taskmanagers=2)
        cluster_start_s = time.monotonic() - started
        flink = Runner(RunnerName.FLINK, cluster.master, parallelism=2, worker_pool=cluster.worker_pool_address)
        on_cluster = timed_claim(base, catalogue, work / "cluster.db", art, planted, flink)
        say(f"      {on_cluster.claim_to_last_takedown_s:.1f} s claim to last takedown")
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "signatures": signatures, "planted": len(planted), "target_s": TARGET_S,
        "runs": [run.__dict__ for run in (inprocess, on_cluster)],
        "cluster_start_s": round(cluster_start_s, 1),
        "cluster_over_inprocess": round(on_cluster.claim_to_last_takedown_s / inprocess.claim_to_last_takedown_s, 2),
    }
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print_results(results)
    return results


def cached_catalogue(work: Path, pdq: str, phash: str, count: int, say) -> tuple[Path, list[str]]:
    """The registry of `count` published clips, built once per (count, reference)."""
    key = f"{count}-{pdq[:12]}-{phash}"
    catalogue, planted_file = work / f"catalogue-{key}.db", work / f"catalogue-{key}.planted.json"
    if not planted_file.exists():
        catalogue.unlink(missing_ok=True)
        url = f"sqlite:///{catalogue}"
        migrate(url)
        started = time.monotonic()

        def progress(done: int) -> None:
            if done % 20_000 == 0 or done == count:
                say(f"  stored {done}/{count}")

        planted = store_signatures(url, pdq, phash, count, MATCHING_EVERY, progress=progress)
        say(f"  built in {time.monotonic() - started:.0f} s")
        planted_file.write_text(json.dumps(planted))
    return catalogue, json.loads(planted_file.read_text())


def timed_claim(base: Settings, catalogue: Path, registry: Path, art, planted: list[str],
                runner: Runner) -> RetroscanRun:
    """File the takedown claim on a fresh copy of the catalogue; time it to its last takedown on Kafka."""
    shutil.copyfile(catalogue, registry)
    settings = replace(base, database_url=f"sqlite:///{registry}")
    claims = ClaimStore(migrate(settings.database_url))
    start = end_offsets(settings.kafka_bootstrap, TOPIC_DECISIONS)
    results = []
    filed_at = time.time()
    file_claim(claims, "studio", "Claimed art", "takedown", [art], [], settings.media, None,
               lambda _, claim_id: results.append(run_retroscan(settings, claim_id, None, reread_media=False,
                                                                runner=runner)))
    wanted = set(planted)

    def all_taken_down(records: list) -> bool:
        return wanted <= {json.loads(r.value)["clip_id"] for r in records}

    records = read_records_until(settings.kafka_bootstrap, TOPIC_DECISIONS, all_taken_down, TAKEDOWNS_TIMEOUT_S,
                                 start=start)
    last = max(r.timestamp for r in records if json.loads(r.value)["clip_id"] in wanted) / 1000
    [result] = results
    return RetroscanRun(runner.name if not runner.on_flink else f"flink cluster, parallelism {runner.parallelism}",
                        round(last - filed_at, 2), round(result.elapsed_s, 2), result.scanned, len(result.taken_down))


def print_results(r: dict) -> None:
    click.echo(f"clipguard bench --suite retroscan on {r['machine']}: {r['signatures']} stored signatures, "
               f"{r['planted']} matching the claim")
    click.echo(f"{'runner':<32} {'claim->last takedown':>21} {'pipeline':>9} {'scanned':>8} {'taken down':>11}")
    for run in r["runs"]:
        click.echo(f"{run['runner']:<32} {run['claim_to_last_takedown_s']:>19.1f} s {run['retroscan_s']:>7.1f} s "
                   f"{run['scanned']:>8} {run['taken_down']:>11}")
    inprocess = r["runs"][0]["claim_to_last_takedown_s"]
    verdict = "met" if inprocess <= r["target_s"] else "NOT met"
    click.echo(f"target <= {r['target_s']:.0f} s in process: {verdict}")
    click.echo(f"cluster / in process: {r['cluster_over_inprocess']:.2f}x (cluster start-up, not counted: "
               f"{r['cluster_start_s']:.0f} s)")
