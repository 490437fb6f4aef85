"""`clipguard bench --suite memory`: does the gate's memory stay flat under a steady load?

A `clipguard gate` process, as in production, against a private embedded broker, fed the demo's
fixture clips at a steady rate (each under a new id) for a while. Every 30 s it prints the
resident memory of the gate's process tree; at the end, how many clips were decided, the gate's
own latency, and the growth per clip between the first reading past warm-up and the last.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import replace

import click

from clipguard.app.broker import ensure_topics, free_port, start_broker
from clipguard.app.demo import start_gate
from clipguard.core.config import TOPIC_CLIPS, Settings
from clipguard.core.contracts import ClipGenerated, isoformat, utcnow
from fixtures.clips import write_demo_clips
from pipelines.kafka_io import read_decisions

REPORT_EVERY_S = 30.0
READABLE = ("coffee-pan", "rocket-launch", "cat-cutin", "astronaut-portrait", "space-montage", "cat-character")


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, MiB."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    pages = 0
    for p in [pid, *map(int, children)]:
        try:
            with open(f"/proc/{p}/statm") as statm:
                pages += int(statm.read().split()[1])
        except FileNotFoundError:
            pass
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_memory_bench(settings: Settings, seconds: float = 480.0, rate: float = 0.7) -> dict:
    from kafka import KafkaProducer

    say = lambda msg: click.echo(msg, err=True)  # noqa: E731
    work = settings.home / "bench-memory"
    clips = write_demo_clips(work / "media")
    address = f"127.0.0.1:{free_port()}"
    s = replace(settings, home=work, kafka_bootstrap=address, media_roots=(work / "media",),
                database_url=f"sqlite:///{work / 'memory.db'}")
    broker = start_broker(address, str(work / "broker.log"))
    gate = None
    try:
        ensure_topics(address)
        gate = start_gate(s, log=work / "gate.log")
        producer = KafkaProducer(bootstrap_servers=address, acks="all")
        readings: list[tuple[float, int, float]] = []
        started, sent = time.time(), 0
        say(f"gate memory: {rate} clips/s for {seconds:.0f} s")
        while time.time() - started < seconds:
            name = READABLE[sent % len(READABLE)]
            event = ClipGenerated(f"mem-{sent}", "bench", clips[name].as_uri(), isoformat(utcnow()))
            producer.send(TOPIC_CLIPS, value=event.to_json()).get(timeout=30)
            sent += 1
            time.sleep(max(0.0, started + sent / rate - time.time()))
            if time.time() - started >= REPORT_EVERY_S * (len(readings) + 1):
                readings.append((time.time() - started, sent, tree_rss_mib(gate.pid)))
                say(f"  t={readings[-1][0]:4.0f} s  sent {sent:4d}  RSS {readings[-1][2]:6.0f} MiB")
        decided = read_decisions(address, {f"mem-{i}" for i in range(sent)}, timeout_s=180)
    finally:
        if gate is not None:
            gate.terminate()
            gate.wait(timeout=30)
        broker.terminate()
    latencies = sorted(d["latency_ms"] for d in decided.values())
    warm = readings[min(1, len(readings) - 1)]
    last = readings[-1]
    result = {"sent": sent, "decided": len(decided), "rate": rate, "readings": readings,
              "latency_p50_ms": latencies[len(latencies) // 2] if latencies else None,
              "latency_p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else None,
              "growth_mib_per_clip": (last[2] - warm[2]) / max(1, last[1] - warm[1]),
              "growth_pct": 100 * (last[2] - warm[2]) / warm[2]}
    click.echo(f"decided {result['decided']}/{sent}; gate latency p50 {result['latency_p50_ms']:.0f} ms, "
               f"p99 {result['latency_p99_ms']:.0f} ms")
    click.echo(f"RSS {warm[2]:.0f} MiB at t={warm[0]:.0f} s -> {last[2]:.0f} MiB at t={last[0]:.0f} s: "
               f"{result['growth_pct']:+.1f}%, {result['growth_mib_per_clip']:.2f} MiB per clip")
    return result
