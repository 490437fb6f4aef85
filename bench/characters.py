"""`clipguard bench --suite characters`: recall of each matching method per re-upload edit, at the
threshold that keeps false matches on unclaimed pictures at or under 1%.

Shaped like thorn-oss/perception's benchmarking: dataset -> transforms -> hashes -> recall at a
fixed false-match rate.
  1. Claimed works: scikit-image sample pictures, filed as claims are (`build_references`).
     Unclaimed: the other sample pictures, and their quarters.
  2. Every picture goes through every edit in `fixtures/edits.py`.
  3. Pictures: each edit letterboxed into a 640x360 frame at the gate's 512 px. Clips: the same
     frame encoded as a 2 s H.264 clip and sampled by the gate's decoder. Each method measures
     each query against every claimed work: PDQ and pHash by Hamming distance, ORB by inliers.
  4. Per method, the loosest threshold whose false matches on unclaimed pictures stay at or
     under 1%; recall per edit is the share of claimed pictures matched to the right work.
  5. The policy's bars are picked on the clips, all methods together, at or under 1% false
     matches, keeping the best worst-edit recall.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
from PIL import Image

from bench.compare import MIN_ROUNDS
from bench.feed_characters import feed_recall
from bench.harness import MAX_FALSE_MATCH, loosest_bar
from bench.results import say
from classifiers.character import orb
from classifiers.character.reference_index import (
    MIN_PDQ_QUALITY,
    PDQ_BITS,
    PHASH_BITS,
    SEARCH_INLIERS,
    OrbIndex,
    Reference,
    hash_frame,
)
from classifiers.hamming import distance as hamming_distance
from clipguard.core.config import MediaLimits, Settings
from fixtures.clips import image, png_file, write_frames
from fixtures.edits import EDITS
from media.sampling import sample_frames
from usecases.policy_files import load_policy
from usecases.references import build_references

CLAIMED = ("chelsea", "astronaut", "coffee", "rocket", "camera", "immunohistochemistry", "logo", "clock")
UNCLAIMED = ("hubble_deep_field", "coins", "brick", "grass", "gravel", "horse", "moon", "page", "retina", "text",
             "colorwheel", "microaneurysms", "checkerboard")
FRAME = (640, 360)


def letterboxed(rgb: np.ndarray) -> np.ndarray:
    canvas = Image.new("RGB", FRAME)
    art = Image.fromarray(rgb)
    art.thumbnail(FRAME)
    canvas.paste(art, ((FRAME[0] - art.width) // 2, (FRAME[1] - art.height) // 2))
    return np.asarray(canvas)


def at_gate_size(rgb: np.ndarray, limits: MediaLimits) -> np.ndarray:
    frame = Image.fromarray(rgb)
    frame.thumbnail((limits.frame_max_side, limits.frame_max_side))
    return np.asarray(frame)


@dataclass(frozen=True)
class Query:
    work: str | None          # the claimed work it shows, None for unclaimed
    edit: str
    pdq: dict[str, int]       # claimed work -> best distance over its frames (flat frames: none)
    phash: dict[str, int]
    orb: dict[str, int]       # claimed work -> most inliers over its frames


class Measure:
    """Every method's best measure of some frames against each claimed work's references."""

    def __init__(self, limits: MediaLimits):
        self._refs = {w: build_references([png_file(f"{w}.png", w)], limits) for w in CLAIMED}
        # The gate's own ORB index over every claimed work, so the bars fit what the gate measures.
        self._orb = OrbIndex.build(Reference(f"{w}#{i}", w, w, "block", orb=r.orb)
                                   for w, refs in self._refs.items() for i, r in enumerate(refs))

    def __call__(self, work: str | None, edit: str, frames: Sequence[np.ndarray]) -> Query:
        hashes = [hash_frame(f) for f in frames]
        found = self._orb.query([orb.orb_features(f) for f in frames])
        usable = [h for h in hashes if h.quality >= MIN_PDQ_QUALITY]
        pdq, phash, inliers = {}, {}, {}
        for w, refs in self._refs.items():
            if usable:
                pdq[w] = min(hamming_distance(h.pdq, r.pdq) for h in usable for r in refs)
            phash[w] = min(hamming_distance(h.phash, r.phash) for h in hashes for r in refs)
            inliers[w] = max((m.measure for m in found if m.reference.claim_id == w), default=0)
        return Query(work, edit, pdq, phash, inliers)


def _sources() -> list[tuple[str | None, np.ndarray]]:
    sources = [(w, image(w)) for w in CLAIMED] + [(None, image(u)) for u in UNCLAIMED]
    return sources + [(None, np.ascontiguousarray(c)) for u in UNCLAIMED for c in _quarters(image(u))]


def _quarters(rgb: np.ndarray) -> list[np.ndarray]:
    h, w = rgb.shape[:2]
    return [rgb[y:y + h // 2, x:x + w // 2] for y in (0, h // 2) for x in (0, w // 2)]


def picture_queries(measure: Measure, limits: MediaLimits, say: Callable[[str], None]) -> list[Query]:
    sources, queries = _sources(), []
    for n, (work, picture) in enumerate(sources, 1):
        queries += [measure(work, edit, [at_gate_size(letterboxed(apply(picture)), limits)])
                    for edit, apply in EDITS.items()]
        if n % 10 == 0:
            say(f"  pictures: {n}/{len(sources)} x {len(EDITS)} edits")
    return queries


def clip_queries(measure: Measure, limits: MediaLimits, say: Callable[[str], None]) -> list[Query]:
    sources, queries = _sources(), []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (work, picture) in enumerate(sources, 1):
            for edit, apply in EDITS.items():
                path = write_frames(Path(tmp) / "clip.mp4", [letterboxed(apply(picture))] * 48, 24, FRAME)
                queries.append(measure(work, edit, [f.rgb for f in sample_frames(path, limits).frames]))
            if n % 10 == 0:
                say(f"  clips: {n}/{len(sources)} x {len(EDITS)} edits")
    return queries


@dataclass(frozen=True)
class Method:
    name: str
    closer: Callable[[int, int], bool]   # is `value` within `threshold`?
    candidates: range                    # loosest last


METHODS = (
    Method("pdq", lambda v, t: v <= t, range(0, PDQ_BITS // 2)),
    Method("phash", lambda v, t: v <= t, range(0, PHASH_BITS // 2)),
    Method("orb", lambda v, t: v >= t, range(200, SEARCH_INLIERS - 1, -1)),
)


def hits(q: Query, method: Method, threshold: int) -> set[str]:
    return {w for w, v in getattr(q, method.name).items() if method.closer(v, threshold)}


def matched(q: Query, bars: dict[str, int]) -> set[str]:
    return set().union(*(hits(q, m, bars[m.name]) for m in METHODS))


def false_rate(queries: list[Query], match: Callable[[Query], set[str]]) -> float:
    unclaimed = [q for q in queries if q.work is None]
    return sum(1 for q in unclaimed if match(q)) / len(unclaimed)


def recall(queries: list[Query], edit: str, match: Callable[[Query], set[str]]) -> float:
    claimed = [q for q in queries if q.work is not None and q.edit == edit]
    return sum(1 for q in claimed if q.work in match(q)) / len(claimed)


def per_method_threshold(method: Method, queries: list[Query]) -> tuple[int, float]:
    """The loosest threshold with at most MAX_FALSE_MATCH of unclaimed queries matching anything
    (the strictest candidate when none is within it)."""
    picked = loosest_bar(method.candidates, lambda t: false_rate(queries, lambda q: hits(q, method, t)))
    return picked or (method.candidates[0], 0.0)


def pick_policy(queries: list[Query]) -> dict[str, int] | None:
    """All methods' bars at once, at or under MAX_FALSE_MATCH together: PDQ and pHash anywhere up
    to their per-method bars (0 all but turns a method off), ORB from its per-method bar up to 60;
    the set with the best worst-edit recall, then the best total recall, then the fewest false
    matches, then hash bars nearest the published ones (PDQ 31, pHash 8), then the strictest ORB
    bar, wins. None if no set stays
    within the budget."""
    per = {m.name: per_method_threshold(m, queries)[0] for m in METHODS}
    table = {m.name: np.array([[getattr(q, m.name).get(w, np.nan) for w in CLAIMED] for q in queries])
             for m in METHODS}
    unclaimed = np.array([q.work is None for q in queries])
    own = np.array([CLAIMED.index(q.work) if q.work else 0 for q in queries])
    edits = np.array([q.edit for q in queries])
    best: tuple[tuple[float, float, float, int, int], dict[str, int]] | None = None
    for pdq in range(0, max(31, per["pdq"]) + 1):
        for phash in range(0, max(8, per["phash"]) + 1):
            for orb_bar in range(min(per["orb"], 60), 61):
                with np.errstate(invalid="ignore"):
                    hit = (table["pdq"] <= pdq) | (table["phash"] <= phash) | (table["orb"] >= orb_bar)
                false = hit[unclaimed].any(axis=1).mean()
                if false > MAX_FALSE_MATCH:
                    continue
                right = hit[np.arange(len(queries)), own] & ~unclaimed
                rates = [right[(edits == e) & ~unclaimed].mean() for e in EDITS]
                key = (min(rates), sum(rates), -false, -abs(pdq - 31) - abs(phash - 8), orb_bar)
                if best is None or key > best[0]:
                    best = ({"pdq": pdq, "phash": phash, "orb": orb_bar}, key)[::-1]
    return best[1] if best else None


def run_character_bench(settings: Settings, rounds: int = MIN_ROUNDS) -> dict:
    """Recall is measured once; `rounds` are those of the RANSAC cost comparison on the feed clips."""
    started = time.perf_counter()
    say(f"characters: {len(CLAIMED)} claimed works, {len(UNCLAIMED)} unclaimed pictures and their quarters, "
        f"{len(EDITS)} edits")
    measure = Measure(settings.media)
    pictures = picture_queries(measure, settings.media, say)
    clips = clip_queries(measure, settings.media, say)
    (settings.home / "bench").mkdir(parents=True, exist_ok=True)
    (settings.home / "bench" / "character-queries.json").write_text(json.dumps(
        {"pictures": [q.__dict__ for q in pictures], "clips": [q.__dict__ for q in clips]}))
    per_method = {m.name: per_method_threshold(m, pictures) for m in METHODS}
    picked = pick_policy(clips)
    character = load_policy().signals["character"]
    policy = picked or {"pdq": character["pdq"]["match_distance"], "phash": character["phash"]["match_distance"],
                        "orb": character["orb"]["match_inliers"]}
    with_policy = lambda q: matched(q, policy)  # noqa: E731
    table = {edit: {**{m.name: recall(pictures, edit, lambda q, m=m: hits(q, m, per_method[m.name][0]))
                       for m in METHODS},
                    "clips": recall(clips, edit, with_policy)} for edit in EDITS}
    columns = (*[m.name for m in METHODS], "clips")
    unclaimed = sum(1 for q in pictures if q.work is None)
    click.echo(f"\nrecall per edit: pictures per method at <= {MAX_FALSE_MATCH:.0%} false matches each "
               f"({unclaimed} unclaimed queries); clips with the policy's bars, all methods together")
    click.echo(f"{'edit':<12}" + "".join(f"{c:>8}" for c in columns))
    for edit, row in table.items():
        click.echo(f"{edit:<12}" + "".join(f"{row[c]:>8.0%}" for c in columns))
    click.echo("per-method thresholds on pictures: " + ", ".join(
        f"{m.name} {'>=' if m.name == 'orb' else '<='} {per_method[m.name][0]} "
        f"(false matches {per_method[m.name][1]:.2%})" for m in METHODS))
    clip_false = false_rate(clips, with_policy)
    click.echo(("policy bars picked on clips: " if picked else
                f"no bars keep clips under {MAX_FALSE_MATCH:.0%} false matches; the loaded policy's: ") + ", ".join(
        f"{m.name} {'>=' if m.name == 'orb' else '<='} {policy[m.name]}" for m in METHODS)
        + f"; unclaimed clips matched {clip_false:.2%}; took {time.perf_counter() - started:.0f} s")
    say("feed-like clips of the shared calibration cartoons (fixtures/feed.py)")
    feed = feed_recall(settings.media, rounds)
    return {"per_method": {k: {"value": v, "false_match": f} for k, (v, f) in per_method.items()},
            "recall": table, "policy": policy, "clip_false_match": clip_false, "unclaimed_queries": unclaimed,
            "feed": feed}
