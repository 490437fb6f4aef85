"""`clipguard bench --suite index`: PDQ and ORB matching cost as the reference count grows.

Random 256-bit PDQ references (10k and 1M), queried one frame at a time with near copies of
stored hashes (0-31 bits flipped) and with unrelated hashes. Ours is `classifiers.character.hamming`
(multi-index hashing); the baseline is python-threatexchange's `PDQIndex` (faiss's
IndexBinaryMultiHash, the index under Meta's HMA), run on the same hashes in the same process
when the `bench` extra is installed. Both report every reference within distance 31.

ORB (10, 100 and 1,000 references): `OrbIndex`, the gate's, against matching the frame with each
reference in turn (`orb.best_inliers`, what the gate did before), on edited copies of the
claimed works. The table shows whether the cost per frame follows the reference count.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import click
import numpy as np

from bench.characters import at_gate_size, letterboxed
from classifiers.character import orb
from classifiers.character.hamming import HammingIndex
from classifiers.character.reference_index import OrbIndex, Reference
from clipguard.core.config import MediaLimits
from fixtures.clips import image
from fixtures.edits import EDITS
from usecases.policy_files import load_policy

SIZES = (10_000, 1_000_000)
RADIUS = 31           # threatexchange's PDQ match threshold, so both answer the same question
QUERIES = 400


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def _dataset(n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    stored = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    queries = []
    for row in rng.choice(n, QUERIES // 2, replace=False):
        bits = np.unpackbits(stored[row]).astype(bool)
        bits[rng.choice(256, rng.integers(0, RADIUS + 1), replace=False)] ^= True
        queries.append(np.packbits(bits).tobytes().hex())
    queries += [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(QUERIES // 2)]
    return [r.tobytes().hex() for r in stored], queries


def _timed(query: Callable[[str], set[int]], queries: list[str]) -> tuple[list[set[int]], np.ndarray]:
    found, times = [], []
    for q in queries:
        started = time.perf_counter()
        found.append(query(q))
        times.append((time.perf_counter() - started) * 1000)
    return found, np.array(times)


def _searcher(index: HammingIndex) -> Callable[[str], set[int]]:
    return lambda q: set(index.search([q])[0][0].tolist())


def run_index_bench() -> list[dict]:
    rng = np.random.default_rng(2026)
    rows = []
    for n in SIZES:
        hexes, queries = _dataset(n, rng)
        click.echo(f"index: {n:,} PDQ references, {len(queries)} single-frame queries", err=True)
        before = _rss_bytes()
        started = time.perf_counter()
        index = HammingIndex(256, RADIUS)
        index.add(hexes)
        index.search(queries[:1])            # builds the tables
        build_s = time.perf_counter() - started
        found, times = _timed(_searcher(index), queries)
        row = {"n": n, "ours_p50_ms": float(np.percentile(times, 50)), "ours_p99_ms": float(np.percentile(times, 99)),
               "ours_mib": index.nbytes() / 2**20, "ours_rss_mib": (_rss_bytes() - before) / 2**20,
               "ours_build_s": build_s, "hits": sum(map(len, found))}
        del index
        row.update(_threatexchange(hexes, queries, found))
        rows.append(row)
    _print(rows)
    return rows


def _threatexchange(hexes: list[str], queries: list[str], ours: list[set[int]]) -> dict:
    try:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex
    except ImportError:
        return {"threatexchange": "not installed (pip install -e '.[bench]')"}
    before = _rss_bytes()
    started = time.perf_counter()
    index = PDQIndex(entries=((h, i) for i, h in enumerate(hexes)))
    build_s = time.perf_counter() - started
    found, times = _timed(lambda q: {m.metadata for m in index.query(q)}, queries)
    agree = sum(a == b for a, b in zip(found, ours, strict=True)) / len(queries)
    return {"tx_p50_ms": float(np.percentile(times, 50)), "tx_p99_ms": float(np.percentile(times, 99)),
            "tx_rss_mib": (_rss_bytes() - before) / 2**20, "tx_build_s": build_s, "same_results": agree}


def _print(rows: list[dict]) -> None:
    click.echo(f"\n{'references':>10} {'ours p50':>9} {'ours p99':>9} {'index MiB':>9} {'RSS MiB':>8} {'build s':>8} "
               f"{'tx p50':>8} {'tx p99':>8} {'tx RSS MiB':>10} {'tx build':>8} {'p99 tx/ours':>11} {'same':>6}")
    for r in rows:
        ours = (f"{r['n']:>10,} {r['ours_p50_ms']:>8.2f}m {r['ours_p99_ms']:>8.2f}m {r['ours_mib']:>9.1f} "
                f"{r['ours_rss_mib']:>8.1f} {r['ours_build_s']:>8.1f}")
        if "tx_p99_ms" not in r:
            click.echo(f"{ours}  threatexchange {r['threatexchange']}")
            continue
        click.echo(f"{ours} {r['tx_p50_ms']:>7.2f}m {r['tx_p99_ms']:>7.2f}m {r['tx_rss_mib']:>10.1f} "
                   f"{r['tx_build_s']:>8.1f} {r['tx_p99_ms'] / r['ours_p99_ms']:>10.2f}x {r['same_results']:>6.0%}")
    click.echo("times in ms per single-frame query; index MiB: our arrays; RSS MiB: the process's growth while "
               "building (threatexchange's includes its per-entry Python list); "
               "'same' = share of queries where both returned the same set")


# ORB: matching cost as claims grow. References are crops of the bundled pictures (distinct art
# that shares textures, the hard case for a descriptor index), among which the claimed works sit.
ORB_SIZES = (10, 100, 1000)
ORB_CLAIMED = ("chelsea", "astronaut", "coffee", "rocket", "camera", "clock", "logo", "immunohistochemistry")
ORB_DISTRACTORS = ("hubble_deep_field", "coins", "brick", "grass", "gravel", "horse", "moon", "page", "retina",
                   "text", "colorwheel", "microaneurysms", "checkerboard")
ORB_MATCH = load_policy().signals["character"]["orb"]["match_inliers"]
ORB_EDITS = ("crop_20", "mirror", "rotate_5", "background")
# Matching each reference in turn takes ~40 ms per reference per frame: a few frames suffice.
BASELINE_FRAMES = {10: 8, 100: 4, 1000: 1}


def _orb_references(n: int, rng: np.random.Generator) -> list[Reference]:
    claimed = [_orb_reference(w, w, image(w)) for w in ORB_CLAIMED]
    crops = []
    for i in range(n - len(claimed)):
        picture = image(ORB_DISTRACTORS[i % len(ORB_DISTRACTORS)])
        h, w = picture.shape[:2]
        ch, cw = int(h * rng.uniform(0.35, 0.7)), int(w * rng.uniform(0.35, 0.7))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = np.rot90(picture[y:y + ch, x:x + cw], k=int(rng.integers(0, 4)))
        crops.append(_orb_reference(f"crop-{i}", f"distractor-{i}", np.ascontiguousarray(crop)))
        if (i + 1) % 250 == 0:
            click.echo(f"  {i + 1} crops", err=True)
    return claimed + crops


def _orb_reference(reference_id: str, claim_id: str, rgb: np.ndarray) -> Reference:
    return Reference(reference_id, claim_id, claim_id, "block", orb=orb.serialize(orb.reference_variants(rgb)))


def _orb_queries() -> list[tuple[str, orb.OrbFeatures]]:
    """Each claimed work under each edit, in a 640x360 frame at the gate's 512 px."""
    limits = MediaLimits()
    return [(w, orb.orb_features(at_gate_size(letterboxed(EDITS[e](image(w))), limits)))
            for w in ORB_CLAIMED for e in ORB_EDITS]


def _one_at_a_time(references: list[tuple[Reference, list[orb.OrbFeatures]]], frame: orb.OrbFeatures) -> set[str]:
    return {r.claim_id for r, variants in references if orb.best_inliers(frame, variants) >= ORB_MATCH}


def run_orb_bench() -> list[dict]:
    rng = np.random.default_rng(2026)
    queries = _orb_queries()
    rows = []
    for n in ORB_SIZES:
        click.echo(f"orb: building {n} references ({len(ORB_CLAIMED)} claimed works among crops)", err=True)
        references = _orb_references(n, rng)
        started = time.perf_counter()
        index = OrbIndex.build(references)
        build_s = time.perf_counter() - started
        times, found = [], 0
        for work, frame in queries:
            started = time.perf_counter()
            matches = index.query([frame])
            times.append((time.perf_counter() - started) * 1000)
            found += any(m.reference.claim_id == work and m.measure >= ORB_MATCH for m in matches)
        unpacked = [(r, orb.deserialize(r.orb)) for r in references]
        sample = queries[:: len(queries) // BASELINE_FRAMES[n]][: BASELINE_FRAMES[n]]
        started = time.perf_counter()
        baseline_found = sum(work in _one_at_a_time(unpacked, frame) for work, frame in sample)
        baseline_ms = (time.perf_counter() - started) * 1000 / len(sample)
        out = io.BytesIO()
        index.serialize(out)
        rows.append({"references": n, "descriptors": index.descriptors,
                     "search": "hnsw" if index.approximate else "exact", "build_s": build_s,
                     "p50_ms": float(np.percentile(times, 50)),
                     "p99_ms": float(np.percentile(times, 99)), "recall": found / len(queries),
                     "baseline_ms": baseline_ms, "baseline_recall": baseline_found / len(sample),
                     "baseline_frames": len(sample), "serialized_mib": len(out.getvalue()) / 2**20})
    _print_orb(rows, len(queries))
    return rows


def _print_orb(rows: list[dict], queries: int) -> None:
    click.echo(f"\n{'references':>10} {'descriptors':>11} {'search':>6} {'build s':>8} {'p50 ms':>8} {'p99 ms':>8} "
               f"{'found':>6} {'each-ref ms':>11} {'found':>6} {'each/index':>10} {'saved MiB':>9}")
    for r in rows:
        click.echo(f"{r['references']:>10,} {r['descriptors']:>11,} {r['search']:>6} {r['build_s']:>8.1f} "
                   f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['recall']:>6.0%} {r['baseline_ms']:>11.1f} "
                   f"{r['baseline_recall']:>6.0%} {r['baseline_ms'] / r['p50_ms']:>9.1f}x "
                   f"{r['serialized_mib']:>9.1f}")
    click.echo(f"per frame of {queries} (claimed works under {', '.join(ORB_EDITS)}): the index's query, and "
               f"matching each reference in turn (the baseline, on the first {rows[-1]['baseline_frames']}-"
               f"{rows[0]['baseline_frames']} frames); found: the right claim at >= {ORB_MATCH} inliers")
