"""`clipguard bench --suite banks`: what hash banks cost, each against a baseline in the same run.

1. Import of 1,000,000 PDQ entries (random hashes, `te` lines) into a fresh SQLite registry,
   against parsing and checking the same lines with threatexchange's signal types alone. One
   round each: an import takes tens of seconds, and the issue's bar is absolute (60 s).
2. The gate's bank index: read and built from the registry's 1M entries, then 1,000 more read
   by the gate's loader after an import (it reads only what an import added); one clip's frames
   queried at 1,000,000 entries against 10,000, interleaved (bench/compare.py): the cost grows far
   slower than the entries (multi-index hashing), or this says otherwise.
3. The family's own work per clip (file MD5 + SHA-256, PDQ of the sampled frames) on the gate
   bench's 10 s 720p clips, against decoding and sampling them.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path

import click
from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

from bench.compare import MIN_ROUNDS, interleaved, per_call, timed_ms
from bench.pipeline import bench_clips
from bench.results import say
from classifiers.bank.formats import parse
from classifiers.bank.handler import MIN_PDQ_QUALITY, file_hashes, vpdq_feature
from classifiers.bank.index import BankIndex, ClipHashes, VpdqBars
from clipguard.core.banks import BankSet
from clipguard.core.config import Settings
from media.sampling import sample_frames
from pipelines.moderate import BankEntries
from registry.banks import BankStore, NewEntry
from registry.db import migrate
from usecases.banks import import_entries

ENTRIES = 1_000_000
SMALL = 10_000
DELTA = 1_000
CLIPS = 6
IMPORT_TARGET_S = 60.0


def run_bank_bench(settings: Settings, rounds: int = MIN_ROUNDS) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        say(f"[1/3] {ENTRIES:,} random PDQ entries: import into a fresh SQLite registry vs parsing alone")
        text = "".join(f"pdq {secrets.token_hex(32)}\n" for _ in range(ENTRIES))
        parse_s = _seconds(lambda: parse(text, "te"))
        url = f"sqlite:///{Path(tmp) / 'banks.db'}"
        store = BankStore(migrate(url))
        store.create("bench", "bench", "block", False, None, "bench")
        import_s = _seconds(lambda: import_entries(store, "bench", text, "te", None, "bench", lambda *_: None))
        say(f"[2/3] the gate's index: build from {ENTRIES:,} stored entries; one clip's 16 frames at "
            f"{ENTRIES:,} vs {SMALL:,} entries, {rounds} rounds")
        loader = BankEntries(url)
        read_s = _seconds(loader)
        banks = loader()
        started = time.perf_counter()
        large = BankIndex(banks, 31, VpdqBars())
        large.query(ClipHashes({}, (VpdqCompactFeature("0" * 64, 100, 0.0),)), MIN_PDQ_QUALITY)   # builds its tables
        build_s = time.perf_counter() - started
        store.add_entries("bench", [NewEntry("pdq", secrets.token_hex(32)) for _ in range(DELTA)], "bench", {})
        delta_s = _seconds(loader)
        small = BankIndex(BankSet(banks.versions, banks.entries[:SMALL]), 31, VpdqBars())
        media = settings.home / "bench" / "media"
        media.mkdir(parents=True, exist_ok=True)
        clips = bench_clips(media, CLIPS)
        sampled = [sample_frames(p, settings.media) for p in clips]
        queries = [ClipHashes({}, tuple(vpdq_feature(f) for f in c.frames)) for c in sampled]
        frames = sum(len(q.frames) for q in queries)
        query = {f"{n:,} entries": timed_ms("ms per clip", lambda i=i: [i.query(q, MIN_PDQ_QUALITY) for q in queries],
                                            per=len(queries))
                 for n, i in ((ENTRIES, large), (SMALL, small))}
        sizes = list(query)
        by_size = interleaved(query[sizes[0]], query[sizes[1]], tuple(sizes), rounds=rounds, say=say)
        say(f"[3/3] the family's hashing per clip ({CLIPS} clips of 10 s 720p) vs decode + sampling, {rounds} rounds")
        hashing = per_call(lambda i: (file_hashes(clips[i]), [vpdq_feature(f) for f in sampled[i].frames]),
                           range(CLIPS))
        decode = per_call(lambda i: sample_frames(clips[i], settings.media), range(CLIPS))
        per_clip = interleaved(hashing, decode, ("bank hashing", "decode+sample"), rounds=rounds, say=say)
    click.echo(f"banks: import of {ENTRIES:,} PDQ entries into SQLite {import_s:.1f} s (target <= "
               f"{IMPORT_TARGET_S:.0f} s: {'met' if import_s <= IMPORT_TARGET_S else 'MISSED'}); parsing and "
               f"checking alone {parse_s:.1f} s, so storing is {import_s / parse_s:.2f}x the parse (one round each)")
    click.echo(f"banks: gate index over {ENTRIES:,} entries: read {read_s:.1f} s, built (with its search tables) "
               f"{build_s:.1f} s; after an "
               f"import of {DELTA:,} more, the gate's loader read them in {delta_s:.2f} s")
    click.echo(f"banks: one clip's frames ({frames / len(queries):.1f} on average) against the index, "
               f"{ENTRIES // SMALL}x the entries:")
    for comparison in by_size.values():
        click.echo(f"  {comparison.line(3)}")
    click.echo("banks: the family's hashing per clip:")
    for comparison in per_clip.values():
        click.echo(f"  {comparison.line(2)}")
    return {"entries": ENTRIES, "import_s": import_s, "parse_s": parse_s, "read_s": read_s, "build_s": build_s,
            "delta_entries": DELTA, "delta_read_s": delta_s,
            "query": {f: c.to_dict() for f, c in by_size.items()},
            "hashing": {f: c.to_dict() for f, c in per_clip.items()}}


def _seconds(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started
