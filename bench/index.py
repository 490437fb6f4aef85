"""`clipguard bench --suite index`: PDQ and ORB matching cost as the reference count grows.

Random 256-bit PDQ references (10k and 1M), queried one frame at a time with near copies of
stored hashes (0-31 bits flipped) and with unrelated hashes. Ours is `classifiers.hamming`
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
from functools import partial

import click
import numpy as np

from bench.characters import at_gate_size, letterboxed
from bench.compare import MIN_ROUNDS, Comparison, Measure, interleaved, per_call, timed_ms
from bench.results import say
from classifiers.character import orb
from classifiers.character.reference_index import OrbIndex, Reference, hash_frame
from classifiers.hamming import HammingIndex
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


def _found(query: Callable[[str], set[int]], queries: list[str]) -> list[set[int]]:
    return [query(q) for q in queries]


def _searcher(index: HammingIndex) -> Callable[[str], set[int]]:
    return lambda q: set(index.search([q])[0][0].tolist())


def run_index_bench(rounds: int = MIN_ROUNDS) -> list[dict]:
    rng = np.random.default_rng(2026)
    rows, comparisons = [], []
    for n in SIZES:
        row, compared = _pdq_at(n, rng, rounds)
        rows.append(row)
        comparisons += [(n, c) for c in compared]
    _print(rows, comparisons)
    return rows


def _pdq_at(n: int, rng: np.random.Generator, rounds: int) -> tuple[dict, list[Comparison]]:
    hexes, queries = _dataset(n, rng)
    say(f"index: {n:,} PDQ references, {len(queries)} single-frame queries")
    before = _rss_bytes()
    started = time.perf_counter()
    index = HammingIndex(256, RADIUS)
    index.add(hexes)
    index.search(queries[:1])            # builds the tables
    ours = _searcher(index)
    row = {"n": n, "ours_mib": index.nbytes() / 2**20, "ours_rss_mib": (_rss_bytes() - before) / 2**20,
           "ours_build_s": time.perf_counter() - started}
    found = _found(ours, queries)
    row["hits"] = sum(map(len, found))
    theirs = _threatexchange(hexes, row)
    if theirs is None:
        row.update(per_call(ours, queries)())
        return row, []
    same = sum(a == b for a, b in zip(_found(theirs, queries), found, strict=True))
    row["same_results"] = same / len(queries)
    compared = interleaved(per_call(ours, queries), per_call(theirs, queries), ("ours", "threatexchange"),
                           rounds=rounds, say=say)
    row["compared"] = {figure: c.to_dict() for figure, c in compared.items()}
    return row, list(compared.values())


def _threatexchange(hexes: list[str], row: dict) -> Callable[[str], set[int]] | None:
    """threatexchange's PDQIndex over the same hashes, its build cost noted in `row`; None when
    the `bench` extra is not installed."""
    try:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex
    except ImportError:
        row["threatexchange"] = "not installed (pip install -e '.[bench]')"
        return None
    before = _rss_bytes()
    started = time.perf_counter()
    index = PDQIndex(entries=((h, i) for i, h in enumerate(hexes)))
    row.update(tx_build_s=time.perf_counter() - started, tx_rss_mib=(_rss_bytes() - before) / 2**20)
    return lambda q: {m.metadata for m in index.query(q)}


def _print(rows: list[dict], comparisons: list[tuple[int, Comparison]]) -> None:
    click.echo(f"\n{'references':>10} {'index MiB':>9} {'RSS MiB':>8} {'build s':>8} {'tx RSS MiB':>10} "
               f"{'tx build s':>10} {'same':>6}")
    for r in rows:
        ours = f"{r['n']:>10,} {r['ours_mib']:>9.1f} {r['ours_rss_mib']:>8.1f} {r['ours_build_s']:>8.1f}"
        if "compared" not in r:
            click.echo(f"{ours}  p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms; threatexchange "
                       f"{r['threatexchange']}")
            continue
        click.echo(f"{ours} {r['tx_rss_mib']:>10.1f} {r['tx_build_s']:>10.1f} {r['same_results']:>6.0%}")
    for n, comparison in comparisons:
        click.echo(f"  {n:>9,} refs, {comparison.line(3)}")
    click.echo("ms per single-frame query, median (min-max) over the rounds, ours and threatexchange interleaved; "
               "'as fast' is threatexchange's time over ours in the same round. index MiB: our arrays; RSS MiB: "
               "the process's growth while building (threatexchange's includes its per-entry Python list); "
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


def orb_references(n: int, rng: np.random.Generator) -> list[Reference]:
    """`n` ORB references: the claimed works, then random crops of other bundled pictures turned
    0-270 degrees, so that many references share textures."""
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
    """A reference as the registry stores one (hashes and ORB variants), so the character
    family indexes it whole."""
    hashes = hash_frame(rgb)
    return Reference(reference_id, claim_id, claim_id, "block", hashes.pdq, hashes.phash,
                     orb.serialize(orb.reference_variants(rgb)))


def _orb_queries() -> list[tuple[str, orb.OrbFeatures]]:
    """Each claimed work under each edit, in a 640x360 frame at the gate's 512 px."""
    limits = MediaLimits()
    return [(w, orb.orb_features(at_gate_size(letterboxed(EDITS[e](image(w))), limits)))
            for w in ORB_CLAIMED for e in ORB_EDITS]


def _index_match(index: OrbIndex, frame: orb.OrbFeatures) -> list:
    return index.query([frame])


def _one_at_a_time(references: list[tuple[Reference, list[orb.OrbFeatures]]], frame: orb.OrbFeatures) -> set[str]:
    return {r.claim_id for r, variants in references if orb.best_inliers(frame, variants) >= ORB_MATCH}


def run_orb_bench(rounds: int = MIN_ROUNDS) -> list[dict]:
    rng = np.random.default_rng(2026)
    queries = _orb_queries()
    rows, comparisons = [], []
    for n in ORB_SIZES:
        say(f"orb: building {n} references ({len(ORB_CLAIMED)} claimed works among crops)")
        references = orb_references(n, rng)
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
        baseline_found = sum(work in _one_at_a_time(unpacked, frame) for work, frame in sample)
        compared = interleaved(_per_frame(partial(_index_match, index), sample),
                               _per_frame(partial(_one_at_a_time, unpacked), sample),
                               ("index", "each-ref"), rounds=rounds, say=say)["ms_per_frame"]
        comparisons.append((n, compared))
        out = io.BytesIO()
        index.serialize(out)
        rows.append({"references": n, "descriptors": index.descriptors,
                     "search": "ivf" if index.approximate else "exact", "build_s": build_s,
                     "p50_ms": float(np.percentile(times, 50)),
                     "p99_ms": float(np.percentile(times, 99)), "recall": found / len(queries),
                     "baseline_recall": baseline_found / len(sample), "baseline_frames": len(sample),
                     "compared": compared.to_dict(), "serialized_mib": len(out.getvalue()) / 2**20})
    _print_orb(rows, comparisons, len(queries))
    return rows


def _per_frame(match: Callable[[orb.OrbFeatures], object], sample: list[tuple[str, orb.OrbFeatures]]) -> Measure:
    """One round: every sample frame matched once; mean ms per frame."""
    return timed_ms("ms_per_frame", lambda: [match(frame) for _, frame in sample], per=len(sample))


def _print_orb(rows: list[dict], comparisons: list[tuple[int, Comparison]], queries: int) -> None:
    click.echo(f"\n{'references':>10} {'descriptors':>11} {'search':>6} {'build s':>8} {'p50 ms':>8} {'p99 ms':>8} "
               f"{'found':>6} {'each-ref found':>14} {'saved MiB':>9}")
    for r in rows:
        click.echo(f"{r['references']:>10,} {r['descriptors']:>11,} {r['search']:>6} {r['build_s']:>8.1f} "
                   f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['recall']:>6.0%} {r['baseline_recall']:>14.0%} "
                   f"{r['serialized_mib']:>9.1f}")
    for n, comparison in comparisons:
        click.echo(f"  {n:>5,} refs, {comparison.line(1)}")
    click.echo(f"p50/p99 per frame of {queries} (claimed works under {', '.join(ORB_EDITS)}), with the index; "
               f"ms_per_frame: the index against matching each reference in turn (the baseline), interleaved, on "
               f"the first {rows[-1]['baseline_frames']}-{rows[0]['baseline_frames']} frames; found: the right "
               f"claim at >= {ORB_MATCH} inliers")
