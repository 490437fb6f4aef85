"""`clipguard bench --suite provenance`: what the provenance family and decision signing cost a
clip, against decoding and sampling the same clip, interleaved (bench/compare.py).

1. The gate bench's 10 s 720p clips, each signed as the test generator would sign it.
2. Reading the manifest against one trust anchor (one c2pa read, which hashes the whole file),
   and against three (the extra reads that name the anchor), each per clip.
3. Signing a decision into a copy of each clip (usecases/signing.py), per clip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import numpy as np

from bench.compare import MIN_ROUNDS, interleaved, per_call
from bench.pipeline import bench_clips
from bench.results import say
from classifiers.provenance.manifests import read_manifest
from classifiers.provenance.report import ManifestReport
from clipguard.core.config import Settings
from fixtures.provenance import Authority, sign_as_generator
from media.sampling import sample_frames
from usecases.signing import sign_decision

CLIPS = 6


def run_provenance_bench(settings: Settings, rounds: int = MIN_ROUNDS) -> dict:
    media = settings.home / "bench" / "media"
    media.mkdir(parents=True, exist_ok=True)
    say(f"[1/3] {CLIPS} bench clips in {media}, signed by a throwaway generator CA")
    generator, others = Authority.create("bench generator CA"), [Authority.create(f"other CA {i}") for i in (1, 2)]
    moderator = Authority.create("bench clipguard CA").issue("clipguard bench")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        signed = [sign_as_generator(p, folder / f"signed-{p.name}", generator.issue("bench generator"))
                  for p in bench_clips(media, CLIPS)]
        decode = per_call(lambda p: sample_frames(p, settings.media), signed)
        say(f"[2/3] reading manifests against 1 and 3 anchors vs decode + sampling, {rounds} rounds")
        one = per_call(lambda p: _trusted(read_manifest(p, [generator.pem])), signed)
        three = per_call(lambda p: _trusted(read_manifest(p, [o.pem for o in others] + [generator.pem])), signed)
        say(f"[3/3] signing a decision into a copy of each clip vs decode + sampling, {rounds} rounds")
        sign = per_call(lambda p: sign_decision(_decision(p), p, folder / "out", moderator), signed)
        sides = {"read, 1 anchor": one, "read, 3 anchors": three, "sign decision": sign}
        compared = {name: interleaved(measure, decode, (name, "decode+sample"), rounds=rounds, say=say)
                    for name, measure in sides.items()}
        size_mb = float(np.median([p.stat().st_size for p in signed])) / 1e6
    click.echo(f"provenance, per clip ({CLIPS} clips of 10 s 720p, {size_mb:.1f} MB median), ms:")
    for figures in compared.values():
        for comparison in figures.values():
            click.echo(f"  {comparison.line(2)}")
    return {"clips": CLIPS, "median_mb": size_mb,
            "comparisons": {name: {f: c.to_dict() for f, c in figures.items()} for name, figures in compared.items()}}


def _trusted(report: ManifestReport) -> None:
    if not report.trusted_by:     # a bench that measured a failing read would measure the wrong thing
        raise RuntimeError(f"the bench clip's manifest did not validate: {report.state} {report.failures}")


def _decision(path: Path) -> dict:
    return {"clip_id": path.stem, "verdict": "allow", "policy_version": "bench@1", "models": {"c2pa": "bench"},
            "decided_at": "2026-12-03T00:00:00Z"}
