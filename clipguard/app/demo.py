"""`clipguard demo`: the whole gate on the embedded defaults, start to finish.

broker -> seed a claim -> publish fixture clips and some bad events -> gate (a real subprocess,
as in production) until every clip is decided -> table + HTML report -> stop everything.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from kafka import KafkaProducer

from classifiers.faces.handler import configured_backend
from clipguard.app.broker import ensure_topics, start_broker
from clipguard.app.report import write_report
from clipguard.core.config import TOPIC_CLIPS, Settings
from clipguard.core.contracts import ClipGenerated, isoformat, utcnow
from fixtures.clips import (
    DEMO_CLIPS,
    png_file,
    write_corrupt_clip,
    write_demo_clips,
    write_frames,
    write_zero_frame_clip,
)
from fixtures.edits import EDITS, on_background
from fixtures.faces import face_photo, photo_file
from pipelines.kafka_io import read_dead_letters, read_decisions
from registry.accounts import AccountStore
from registry.claims import ClaimStore
from registry.db import migrate
from registry.faces import FaceStore
from registry.review import ReviewQueue
from usecases.enrolment import enrol_faces
from usecases.references import build_references, configured_embedder

DEMO_CREATOR = "demo-creator"
DEMO_HOLDER = "demo-studio"
DEMO_ANALYST = "demo-analyst"
DEMO_CLAIM = "Chelsea the Cat"
# The demo's public figure, enrolled from matplotlib's photo of her; a mirrored, brightened copy
# of it on a brick wall stands in for a generated clip of her likeness.
DEMO_FIGURE = "Grace Hopper"


@dataclass(frozen=True)
class BadEvent:
    label: str
    payload: bytes


def bad_events(media: Path) -> list[BadEvent]:
    """Malformed events the gate must dead-letter, never allow."""
    base = {"schema": "clip.generated/1", "creator_id": DEMO_CREATOR, "created_at": isoformat(utcnow())}
    return [
        BadEvent("not JSON", b"\x89PNG this is not an event"),
        BadEvent("missing media_uri", json.dumps({**base, "clip_id": "no-media"}).encode()),
        BadEvent("media outside the roots", json.dumps(
            {**base, "clip_id": "passwd", "media_uri": "file:///etc/passwd"}).encode()),
        BadEvent("id too long", json.dumps(
            {**base, "clip_id": "x" * 200, "media_uri": (media / "coffee-pan.mp4").as_uri()}).encode()),
    ]


def seed(settings: Settings) -> Path:
    """The demo's claimed work (the cat image, held by a demo studio, blocked on sight) and an
    analyst account for the console. Returns the file that holds the analyst's password."""
    engine = migrate(settings.database_url)
    credentials = settings.home / "demo-analyst.txt"
    accounts = AccountStore(engine)
    if accounts.role_of(DEMO_ANALYST) is None:
        password = secrets.token_urlsafe(18)
        credentials.touch(mode=0o600)
        credentials.write_text(f"{DEMO_ANALYST}\n{password}\n")
        accounts.add(DEMO_ANALYST, "analyst", password)
    claims = ClaimStore(engine)
    if claims.find(DEMO_HOLDER, DEMO_CLAIM) is None:
        references = build_references([png_file("skimage-chelsea.png", "chelsea")], settings.media,
                                      configured_embedder(settings))
        claims.add(DEMO_HOLDER, DEMO_CLAIM, "block", references,
                   aliases=[("Chelsea the Cat", "en"), ("Chelsea le chat", "fr")])
    faces = FaceStore(engine)
    if all(f["name"] != DEMO_FIGURE for f in faces.figures()):
        faces.add_figure(DEMO_FIGURE, enrol_faces([photo_file("grace-hopper")], settings.media,
                                                  configured_backend(settings.face_model_dir)), "demo")
    return credentials


def write_media(settings: Settings) -> dict[str, Path]:
    if not settings.media_roots:
        raise ValueError("CLIPGUARD_MEDIA_ROOTS is empty; the demo needs one folder to write its clips to")
    folder = settings.media_roots[0] / "demo"
    clips = write_demo_clips(folder)
    clips["corrupt"] = write_corrupt_clip(folder / "corrupt.mp4")
    clips["zero-frames"] = write_zero_frame_clip(folder / "zero-frames.mp4")
    likeness = on_background(EDITS["brightness"](EDITS["mirror"](face_photo("grace-hopper"))), "brick", 0.8)
    clips["figure-likeness"] = write_frames(folder / "figure-likeness.mp4", [likeness] * 72)
    return clips


def publish(settings: Settings, clips: dict[str, Path], bad: list[BadEvent]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    attrs = {c.name: c.attrs for c in DEMO_CLIPS}
    for name, path in clips.items():
        event = ClipGenerated(clip_id=name, creator_id=DEMO_CREATOR, media_uri=path.as_uri(),
                              created_at=isoformat(utcnow()), prompt=f"demo clip {name}",
                              attrs=attrs.get(name, {}))
        producer.send(TOPIC_CLIPS, key=name.encode(), value=event.to_json())
    for event in bad:
        producer.send(TOPIC_CLIPS, value=event.payload)
    producer.flush()
    producer.close()


def start_gate(settings: Settings, *args: str, log: Path | None = None, metrics_port: int = 0,
               extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """`clipguard gate` as its own process, as in production, logging to `log` (default: in home)."""
    out = open(log or settings.home / "gate.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "clipguard", "gate", "--metrics-port", str(metrics_port), *args],
                            stdout=out, stderr=subprocess.STDOUT, env={**settings.to_env(), **(extra_env or {})})


def await_outcomes(settings: Settings, clip_ids: set[str], n_bad: int, timeout_s: float,
                   gate: subprocess.Popen) -> tuple[dict[str, dict], list[dict]]:
    shown = [-1]

    def watch(decided: set[str]) -> None:
        if gate.poll() is not None:
            raise RuntimeError(f"the gate exited with status {gate.returncode}; see {settings.home / 'gate.log'}")
        if len(decided) != shown[0]:
            shown[0] = len(decided)
            click.echo(f"  decided {len(decided)}/{len(clip_ids)} clips", err=True)

    decisions = read_decisions(settings.kafka_bootstrap, clip_ids, timeout_s, watch)
    return decisions, read_dead_letters(settings.kafka_bootstrap, n_bad, timeout_s)


def run_demo(settings: Settings, timeout_s: float = 300.0) -> None:
    settings.ensure_home()
    say = lambda msg: click.echo(msg, err=True)  # noqa: E731
    say(f"[1/6] starting the embedded broker on {settings.kafka_bootstrap}")
    broker = start_broker(settings.kafka_bootstrap, str(settings.home / "broker.log"))
    gate = None
    try:
        ensure_topics(settings.kafka_bootstrap)
        say("[2/6] seeding the registry with a demo claim and writing fixture clips")
        credentials = seed(settings)
        clips = write_media(settings)
        bad = bad_events(settings.media_roots[0] / "demo")
        say(f"[3/6] publishing {len(clips)} clips and {len(bad)} malformed events to {TOPIC_CLIPS}")
        publish(settings, clips, bad)
        say("[4/6] running the gate until every clip is decided")
        gate = start_gate(settings)
        decisions, dead = await_outcomes(settings, set(clips), len(bad), timeout_s, gate)
        say("[5/6] decisions")
        print_table(decisions, dead)
        report = write_report(settings.home / "report.html", decisions, dead, clips, settings.media)
        say(f"[6/6] report written to {report}")
        queued = len(ReviewQueue(migrate(settings.database_url)).items("pending"))
        say(f"{queued} clip(s) wait in the review queue: run `clipguard serve` and log in at "
            f"http://127.0.0.1:8000/console as {DEMO_ANALYST} (password in {credentials})")
    finally:
        for proc in (gate, broker):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def print_table(decisions: dict[str, dict], dead: list[dict]) -> None:
    click.echo(f"{'clip':<20} {'verdict':<9} first reason")
    for clip_id, d in sorted(decisions.items()):
        reason = d["reasons"][0]["detail"] if d["reasons"] else "-"
        click.echo(f"{clip_id:<20} {d['verdict']:<9} {reason[:100]}")
    for letter in dead:
        click.echo(f"{'(dead letter)':<20} {'-':<9} {letter['error_code']}: {letter['reason'][:90]}")
