"""`clipguard bench --suite memory|soak`: the gate as in production, under a steady load, for minutes.

A `clipguard gate` process against a private embedded broker is fed the demo's fixture clips at a
steady rate (each under a new id). Every 30 s the harness reads the gate's resident memory (its
whole process tree) and the backlog (events sent minus offsets the gate has committed). At the
end it waits for every clip's decision and prints what it measured.

`memory` runs it plain. `soak` also plays the operator's supervisor (a gate that exits is started
again at once) and injects faults on a schedule:
- the gate is killed with SIGKILL, three times;
- the media root disappears for a while (every clip that needs it then must be a review);
- PostgreSQL is restarted once, when the registry is a local Debian cluster.
Nothing may be lost, nothing allowed because of a failure, and the backlog must drain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from clipguard.app.broker import ensure_topics, free_port, start_broker
from clipguard.app.demo import start_gate
from clipguard.core.config import GATE_GROUP, TOPIC_CLIPS, Settings
from clipguard.core.contracts import ClipGenerated, isoformat, parse_timestamp, utcnow
from fixtures.clips import write_demo_clips
from pipelines.kafka_io import committed_count, read_decisions

REPORT_EVERY_S = 30.0
READABLE = ("coffee-pan", "rocket-launch", "cat-cutin", "astronaut-portrait", "space-montage", "cat-character")
MEDIA_AWAY_S = 30.0
CALIBRATION_CLIPS = 30
LOAD_SHARE = 0.8        # of the measured throughput, when no rate is given


@dataclass(frozen=True)
class Fault:
    at: float       # fraction of the run
    kind: str       # kill | media_away | postgres


SOAK_FAULTS = (Fault(0.2, "kill"), Fault(0.35, "media_away"), Fault(0.5, "kill"), Fault(0.6, "postgres"),
               Fault(0.8, "kill"))


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


@dataclass
class Reading:
    t: float
    sent: int
    backlog: int
    rss_mib: float
    run: int        # which gate process (0, then one more per restart)


@dataclass
class SupervisedGate:
    """The gate, started again whenever it exits, as a process supervisor would."""

    settings: Settings
    log: Path
    process: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.process = start_gate(self.settings, log=self.log)
            self.starts.append(time.time())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def run_soak(settings: Settings, seconds: float, rate: float | None, faults: tuple[Fault, ...] = (),
             database_url: str | None = None, say: Callable[[str], None] | None = None) -> dict:
    """Feed the gate `rate` clips/s (None: 80% of the throughput it shows on a backlog first) for
    `seconds`, injecting `faults`; what it measured."""
    say = say or (lambda msg: click.echo(msg, err=True))
    work = settings.home / "bench-soak"
    media = work / "media"
    write_demo_clips(media)
    address = f"127.0.0.1:{free_port()}"
    s = replace(settings, home=work, kafka_bootstrap=address, media_roots=(media,),
                database_url=database_url or f"sqlite:///{work / 'soak.db'}")
    broker = start_broker(address, str(work / "broker.log"))
    gate = SupervisedGate(s, work / "gate.log")
    readings: list[Reading] = []
    injected: list[tuple[float, str]] = []
    sent_at: dict[str, float] = {}
    pending = sorted(faults, key=lambda f: f.at)
    media_back_at = None
    try:
        ensure_topics(address)
        gate.ensure_running()
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=address, acks="all")
        if rate is None:
            rate = LOAD_SHARE * _throughput(producer, address, media)
        started = time.time()
        say(f"gate soak: {rate:.2f} clips/s for {seconds:.0f} s, faults: "
            f"{', '.join(f'{f.kind}@{f.at * seconds:.0f}s' for f in pending) or 'none'}")
        while (now := time.time()) - started < seconds:
            elapsed = now - started
            if pending and elapsed >= pending[0].at * seconds:
                fault = pending.pop(0)
                injected.append((elapsed, _inject(fault, gate, media, s.database_url)))
                say(f"  t={elapsed:4.0f} s  fault: {injected[-1][1]}")
                if fault.kind == "media_away":
                    media_back_at = elapsed + MEDIA_AWAY_S
            if media_back_at is not None and elapsed >= media_back_at:
                media.with_name("media-away").rename(media)
                injected.append((elapsed, "media root back"))
                say(f"  t={elapsed:4.0f} s  fault over: media root back")
                media_back_at = None
            gate.ensure_running()
            clip_id = f"soak-{len(sent_at)}"
            name = READABLE[len(sent_at) % len(READABLE)]
            event = ClipGenerated(clip_id, "bench", (media / f"{name}.mp4").as_uri(), isoformat(utcnow()))
            producer.send(TOPIC_CLIPS, value=event.to_json()).get(timeout=30)
            sent_at[clip_id] = time.time()
            time.sleep(max(0.0, started + len(sent_at) / rate - time.time()))
            if time.time() - started >= REPORT_EVERY_S * (len(readings) + 1):
                readings.append(_reading(started, len(sent_at), gate, address))
                r = readings[-1]
                say(f"  t={r.t:4.0f} s  sent {r.sent:4d}  backlog {r.backlog:3d}  RSS {r.rss_mib:6.0f} MiB  "
                    f"gate run {r.run}")
        if media_back_at is not None:
            media.with_name("media-away").rename(media)
        producer.close()
        decided = read_decisions(address, set(sent_at), timeout_s=300,
                                 on_poll=lambda _: gate.ensure_running())
        readings.append(_drained(started, len(sent_at), gate, address))
    finally:
        gate.stop()
        broker.terminate()
    return _report(sent_at, decided, readings, injected, rate, say)


def _throughput(producer, address: str, media: Path) -> float:
    """Clips per second the gate decides from a backlog, once warm: from its first decision to
    its last."""
    ids = [f"calibrate-{i}" for i in range(CALIBRATION_CLIPS)]
    for i, clip_id in enumerate(ids):
        uri = (media / f"{READABLE[i % len(READABLE)]}.mp4").as_uri()
        producer.send(TOPIC_CLIPS, value=ClipGenerated(clip_id, "bench", uri, isoformat(utcnow())).to_json())
    producer.flush()
    seen: list[tuple[float, int]] = []
    read_decisions(address, set(ids), timeout_s=300, on_poll=lambda done: seen.append((time.time(), len(done))))
    first = next(t for t, n in seen if n > 0)
    last = next(t for t, n in seen if n == len(ids))
    measured = (len(ids) - 1) / max(1e-3, last - first)
    click.echo(f"gate throughput on a backlog of {len(ids)} clips: {measured:.2f} clips/s", err=True)
    return measured


def _inject(fault: Fault, gate: SupervisedGate, media: Path, database_url: str) -> str:
    if fault.kind == "kill":
        gate.kill()
        return f"gate {gate.process.pid} killed with SIGKILL"
    if fault.kind == "media_away":
        media.rename(media.with_name("media-away"))
        return f"media root gone for {MEDIA_AWAY_S:.0f} s"
    if fault.kind == "postgres":
        return _restart_postgres(database_url)
    raise ValueError(f"unknown fault {fault.kind!r}")


def _restart_postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        return "PostgreSQL restart skipped: the registry is SQLite"
    clusters = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True)
    if clusters.returncode != 0 or not clusters.stdout.split():
        return "PostgreSQL restart skipped: no local Debian cluster"
    version, name = clusters.stdout.split()[:2]
    subprocess.run(["pg_ctlcluster", version, name, "restart"], check=True, capture_output=True)
    return f"PostgreSQL {version}/{name} restarted"


def _reading(started: float, sent: int, gate: SupervisedGate, address: str) -> Reading:
    committed = committed_count(address, TOPIC_CLIPS, GATE_GROUP)
    rss = tree_rss_mib(gate.process.pid) if gate.process and gate.process.poll() is None else 0.0
    return Reading(time.time() - started, sent, max(0, sent - committed), rss, len(gate.starts) - 1)


def _drained(started: float, sent: int, gate: SupervisedGate, address: str, timeout_s: float = 30.0) -> Reading:
    """The last reading, once the offsets of every decided clip are committed (they follow the
    decisions within a bundle), or after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while (reading := _reading(started, sent, gate, address)).backlog and time.monotonic() < deadline:
        time.sleep(0.5)
    return reading


def _report(sent_at: dict[str, float], decided: dict[str, dict], readings: list[Reading],
            injected: list[tuple[float, str]], rate: float, say: Callable[[str], None]) -> dict:
    latencies = sorted(parse_timestamp(d["decided_at"], "decided_at").timestamp() - sent_at[c]
                       for c, d in decided.items() if c in sent_at)
    verdicts = {c: d["verdict"] for c, d in decided.items() if c in sent_at}
    failed_open = [c for c, d in decided.items() if d["verdict"] == "allow"
                   and any(r["signal"] == "media" for r in d["reasons"])]
    growth = _growth_within_runs(readings)
    result = {"sent": len(sent_at), "decided": len(verdicts), "rate": rate, "readings": readings,
              "injected": injected, "restarts": max((r.run for r in readings), default=0),
              "verdicts": {v: list(verdicts.values()).count(v) for v in sorted(set(verdicts.values()))},
              "media_reviews": sum(1 for d in decided.values()
                                   if any(r["signal"] == "media" for r in d["reasons"])),
              "allowed_on_failure": failed_open,
              "latency_p50_s": latencies[len(latencies) // 2] if latencies else None,
              "latency_p99_s": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else None,
              "final_backlog": readings[-1].backlog if readings else None, **growth}
    say(f"decided {result['decided']}/{result['sent']} ({result['verdicts']}); {result['media_reviews']} "
        f"reviewed for unreadable media, {len(failed_open)} allowed on a failure; "
        f"{result['restarts']} gate restarts")
    if latencies:
        say(f"event to decision p50 {result['latency_p50_s']:.2f} s, p99 {result['latency_p99_s']:.2f} s; "
            f"backlog at the end {result['final_backlog']}")
    if growth["growth_pct"] is not None:
        say(f"RSS {growth['rss_from_mib']:.0f} -> {growth['rss_to_mib']:.0f} MiB over "
            f"{growth['growth_window_s']:.0f} s of one gate process: {growth['growth_pct']:+.1f}%, "
            f"{growth['growth_mib_per_clip']:.2f} MiB per clip")
    return result


def _growth_within_runs(readings: list[Reading]) -> dict:
    """RSS growth over the longest stretch one gate process ran, from its second reading (the
    first is still warming up) to its last."""
    runs: dict[int, list[Reading]] = {}
    for r in readings:
        if r.rss_mib:
            runs.setdefault(r.run, []).append(r)
    stretches = [rs[1:] for rs in runs.values() if len(rs) >= 3]
    if not stretches:
        return {"growth_pct": None, "growth_mib_per_clip": None, "rss_from_mib": None, "rss_to_mib": None,
                "growth_window_s": None}
    longest = max(stretches, key=lambda rs: rs[-1].t - rs[0].t)
    first, last = longest[0], longest[-1]
    return {"growth_pct": 100 * (last.rss_mib - first.rss_mib) / first.rss_mib,
            "growth_mib_per_clip": (last.rss_mib - first.rss_mib) / max(1, last.sent - first.sent),
            "rss_from_mib": first.rss_mib, "rss_to_mib": last.rss_mib, "growth_window_s": last.t - first.t}
