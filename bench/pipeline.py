"""`clipguard bench`: what the gate costs per clip, how fast it goes, and how long a clip waits.

1. Generates 10 s 1280x720 30 fps clips (three shots each, so scene cuts are exercised).
2. Decode and sampling alone, against decoding every frame with FFmpeg's AUTO threading,
   interleaved over several rounds (bench/compare.py).
3. Throughput: the streaming gate, in-process on FnApiRunner against a private embedded broker,
   over a backlog of events, with RunInference batching on (8) and off (1, the baseline), one
   run of each a round, interleaved.
   Clips/s is measured between the first and the last decision, so start-up is excluded.
4. Per-stage milliseconds per clip, from the gate's own Beam metrics in the batched run.
5. Latency: a gate process fed at 80% of the batched throughput; event -> decision p50/p99.
6. Many claims: the character family's scoring, in this process, one sampled clip at a time, with
   the demo's claim and 999 more references (bench/index.py's crops of bundled pictures) against
   the demo's claim alone, interleaved: what the issue's 1,000-claim row adds to a clip.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
from apache_beam.metrics.metric import MetricsFilter

from bench.compare import MIN_ROUNDS, Comparison, Measure, interleaved, timed_ms
from bench.index import orb_references
from bench.results import say
from classifiers.character.handler import Catalog, CharacterHandler
from classifiers.pdq import with_pdq
from clipguard.app.broker import ensure_topics, free_port, start_broker
from clipguard.app.demo import seed, start_gate
from clipguard.core.config import TOPIC_CLIPS, MediaLimits, Settings
from clipguard.core.contracts import ClipGenerated, isoformat, parse_timestamp, utcnow
from clipguard.core.signals import ClipInput
from fixtures.clips import IMAGES, Shot, write_clip
from media.sampling import sample_frames
from pipelines.gate import run_gate
from pipelines.kafka_io import read_decisions
from pipelines.moderate import NAMESPACE, ClaimCatalog

SIZE, FPS, SECONDS = (1280, 720), 30, 10.0
CLAIMED_REFERENCES = 1000
DECODE_TARGET_S = 0.3


def bench_clips(folder: Path, count: int) -> list[Path]:
    """`count` 10 s 720p clips of three shots each, cached between runs."""
    paths = []
    for i in range(count):
        path = folder / f"bench-{i:02d}.mp4"
        if not path.exists():
            shots = tuple(Shot(IMAGES[(i + k) % len(IMAGES)], SECONDS / 3) for k in range(3))
            write_clip(path, shots, fps=FPS, size=SIZE)
            click.echo(f"  generated {path.name}", err=True)
        paths.append(path)
    return paths


def decode_pass(paths: list[Path], limits: MediaLimits) -> Measure:
    """One round: every clip decoded and sampled once; the median seconds per clip."""
    def measure() -> dict[str, float]:
        times = []
        for path in paths:
            started = time.perf_counter()
            sample_frames(path, limits)
            times.append(time.perf_counter() - started)
        return {"s_per_clip": float(np.median(times))}

    return measure


def send(producer, clips: list[Path], tag: str, count: int) -> dict[str, float]:
    """Publish `count` events; returns each clip_id with the epoch second it was sent."""
    sent = {}
    for i in range(count):
        clip_id = f"{tag}-{i:04d}"
        event = ClipGenerated(clip_id, "bench", clips[i % len(clips)].as_uri(), isoformat(utcnow()))
        producer.send(TOPIC_CLIPS, key=clip_id.encode(), value=event.to_json())
        sent[clip_id] = time.time()
    producer.flush()
    return sent


def decided(settings: Settings, ids: list[str], timeout_s: float = 600) -> list[dict]:
    latest = read_decisions(settings.kafka_bootstrap, set(ids), timeout_s)
    return [latest[i] for i in ids]


def decided_at(decision: dict) -> float:
    return parse_timestamp(decision["decided_at"], "decided_at").timestamp()


def clips_per_second(decisions: list[dict]) -> float:
    times = sorted(map(decided_at, decisions))
    return (len(times) - 1) / max(times[-1] - times[0], 1e-9)


def throughput_run(settings: Settings, producer, clips: list[Path], tag: str, events: int,
                   batch: int) -> tuple[float, dict[str, float]]:
    ids = list(send(producer, clips, tag, events))
    result = run_gate(settings, idle_exit_s=3.0, max_batch_size=batch)
    stages = {d.key.metric.name.removesuffix("_us"): d.committed.mean / 1000
              for d in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["distributions"]
              if d.committed and d.committed.count}
    return clips_per_second(decided(settings, ids)), stages


def latency_run(settings: Settings, producer, clips: list[Path], rate: float, events: int) -> list[float]:
    """Event-to-decision milliseconds with events sent at a steady `rate` per second."""
    gate = start_gate(settings)
    try:
        decided(settings, list(send(producer, clips, "warmup", 1)), timeout_s=120)
        sent: dict[str, float] = {}
        interval, started = 1.0 / rate, time.monotonic()
        for i in range(events):
            time.sleep(max(0.0, started + i * interval - time.monotonic()))
            sent |= send(producer, [clips[i % len(clips)]], f"load-{i:04d}", 1)
        return [(decided_at(d) - sent[d["clip_id"]]) * 1000 for d in decided(settings, list(sent))]
    finally:
        gate.terminate()
        gate.wait(timeout=30)


def run_bench(settings: Settings, clips: int = 6, load_events: int = 24, rounds: int = MIN_ROUNDS,
              profile: bool = False) -> dict:
    """The gate's figures; with `profile`, each stage profiled on the same clips and registry after them."""
    from kafka import KafkaProducer

    work = settings.home / "bench"
    media = work / "media"
    media.mkdir(parents=True, exist_ok=True)
    say(f"[1/6] {clips} clips of {SECONDS:.0f} s {SIZE[0]}x{SIZE[1]} @ {FPS} fps in {media}")
    paths = bench_clips(media, clips)
    say(f"[2/6] decode + sampling alone, {rounds} rounds: the default against decoding every frame with "
        "FFmpeg's AUTO threads")
    decode = interleaved(decode_pass(paths, settings.media),
                         decode_pass(paths, replace(settings.media, reference_frames_only=False,
                                                    decode_threads="AUTO")),
                         ("default", "every frame"), rounds=rounds, say=say)["s_per_clip"]
    shutil.rmtree(work / "db", ignore_errors=True)
    address = f"127.0.0.1:{free_port()}"
    s = replace(settings, home=work, kafka_bootstrap=address, media_roots=(media,),
                database_url=f"sqlite:///{work / 'db' / 'bench.db'}")
    broker = start_broker(address, str(work / "broker.log"))
    try:
        ensure_topics(address)
        seed(s)
        producer = KafkaProducer(bootstrap_servers=address, acks="all")
        events = 4 * clips
        stages: dict[str, float] = {}

        def throughput(batch: int) -> Measure:
            def measure() -> dict[str, float]:
                rate, measured = throughput_run(s, producer, paths, f"b{batch}-{time.time_ns()}", events, batch)
                if batch > 1:
                    stages.update(measured)
                return {"clips_per_s": rate}

            return measure

        say(f"[3-4/6] throughput, batching on (8) against off (1), {events} events a run, {rounds} rounds")
        batching = interleaved(throughput(8), throughput(1), ("batching on", "batching off"),
                               higher_is_better=("clips_per_s",), rounds=rounds, say=say)["clips_per_s"]
        rate = 0.8 * batching.a_spread.median
        say(f"[5/6] latency at {rate:.2f} clips/s (80% of batched throughput), {load_events} events")
        latencies = latency_run(s, producer, paths, rate, load_events)
        producer.close()
    finally:
        broker.terminate()
        broker.wait(timeout=30)
    say(f"[6/6] the character family with {CLAIMED_REFERENCES:,} claimed references against the demo's one, "
        f"{rounds} rounds")
    claims = character_with_claims(s, paths, CLAIMED_REFERENCES, rounds)
    results = {
        "clip": f"{SECONDS:.0f} s {SIZE[0]}x{SIZE[1]} {FPS} fps H.264",
        "events": events,
        "decode": decode.to_dict(),
        "stage_ms_per_clip": {k: round(v, 3) for k, v in sorted(stages.items())},
        "batching": batching.to_dict(),
        "latency_rate_clips_per_s": round(rate, 3),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 1),
        "latency_ms_p99": round(float(np.percentile(latencies, 99)), 1),
        "decode_target_s": DECODE_TARGET_S,
        "character_with_claims": {"references": CLAIMED_REFERENCES, **claims.to_dict()},
    }
    print_results(results, decode, batching, claims)
    if profile:
        from bench.profile import print_profile, profile_stages

        stages = profile_stages(s, paths)
        print_profile(stages)
        results["profile"] = {stage: [line.__dict__ for line in lines] for stage, lines in stages.items()}
    return results


def character_with_claims(settings: Settings, clips: list[Path], references: int, rounds: int) -> Comparison:
    """The character family's ms a clip with `references` claimed references against the
    registry's claims alone, on the same sampled clips, one clip a call as under light load."""
    inputs = [ClipInput(ClipGenerated(f"claims-{i}", "bench", p.as_uri(), isoformat(utcnow())),
                        with_pdq(sample_frames(p, settings.media))) for i, p in enumerate(clips)]
    few = ClaimCatalog(settings.database_url)()
    extra = orb_references(references - len(few.references), np.random.default_rng(2026))
    many = Catalog([*few.references, *extra], few.aliases)

    def scoring(catalog: Catalog) -> tuple[str, Measure]:
        handler = CharacterHandler(lambda: catalog)
        model = handler.load_model()
        indexed = len(model.current().orb)     # built once, as the gate does per change of claims
        measure = timed_ms("ms_per_clip", lambda: [handler.score(model, [item]) for item in inputs], per=len(inputs))
        return f"{indexed:,} indexed", measure

    (label_many, many_ms), (label_few, few_ms) = scoring(many), scoring(few)
    return interleaved(many_ms, few_ms, (label_many, label_few), rounds=rounds, say=say)["ms_per_clip"]


def print_results(r: dict, decode: Comparison, batching: Comparison, claims: Comparison) -> None:
    click.echo(f"clipguard bench --suite gate; clips: {r['clip']}; {r['events']} events per throughput run")
    click.echo(f"decode+sample alone, {decode.line(3)}")
    default_s = decode.a_spread.median
    verdict = "met" if default_s <= r["decode_target_s"] else "NOT met"
    click.echo(f"  target <= {r['decode_target_s']} s per 10 s 720p clip by the default's median: {verdict}")
    click.echo(f"{'stage, inside the gate':<22} ms/clip (last batched run)")
    for stage, ms in r["stage_ms_per_clip"].items():
        click.echo(f"{stage:<22} {ms:>9.3f}")
    click.echo(f"throughput, {batching.line()}")
    click.echo(f"latency at {r['latency_rate_clips_per_s']:.2f} clips/s   p50 {r['latency_ms_p50']:.0f} ms, "
               f"p99 {r['latency_ms_p99']:.0f} ms")
    click.echo(f"character family, in process, {claims.line(1)}")
