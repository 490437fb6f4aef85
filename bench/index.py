"""`clipguard bench --suite index`: PDQ matching cost as the reference count grows.

Random 256-bit PDQ references (10k and 1M), queried one frame at a time with near copies of
stored hashes (0-31 bits flipped) and with unrelated hashes. Ours is `classifiers.hamming`
(multi-index hashing); the baseline is python-threatexchange's `PDQIndex` (faiss's
IndexBinaryMultiHash, the index under Meta's HMA), run on the same hashes in the same process
when the `bench` extra is installed. Both report every reference within distance 31.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click
import numpy as np

from classifiers.hamming import HammingIndex

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
