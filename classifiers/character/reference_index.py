"""Claim references, indexed one signal type at a time, in python-threatexchange's shape: each
index is built from references, takes more with `add`, answers `query` with the closest
reference per (frame, claim), and writes itself out with `serialize` and back with `deserialize`.

    PdqIndex, PhashIndex   exact Hamming search within a radius (classifiers/hamming.py)
    OrbIndex               every reference's ORB descriptors in one nearest-neighbour index
                           (exact, then an inverted file),
                           then the RANSAC check on the references that enough descriptors vote for

A serialized index holds the references' identity (id, claim, title, action) and its own
signal's data only, as plain arrays: loading one never runs pickled code.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, ClassVar, Protocol, Self, TypeVar

import faiss
import imagehash
import numpy as np
from PIL import Image

from classifiers.base import best_per
from classifiers.character import orb
from classifiers.hamming import HammingIndex
from classifiers.pdq import pdq_hash
from clipguard.core.claims import Reference

PDQ_BITS = 256
PHASH_BITS = 64
# Below this PDQ quality a frame is nearly flat and its hash matches noise (PDQ's own guidance).
MIN_PDQ_QUALITY = 50
# The widest distances the index reports; the policy decides what is a match and what a near miss.
# PDQ's covers the policy's review band (45) and keeps the multi-index probes at 2 bits per chunk.
SEARCH_PDQ = 47
SEARCH_PHASH = 14
SEARCH_INLIERS = 10
# Each frame descriptor's nearest reference descriptors: enough that a reference's best and
# second-best (the ratio test) are usually among them, when several references share corners.
ORB_NEIGHBOURS = 8
# From this many reference descriptors (about 20 references) an inverted file answers instead of
# the exact scan, whose cost grows with every reference: the descriptors are split into
# ORB_LISTS clusters and each query scans its ORB_PROBES nearest. On the ORB scaling bench it found
# every claimed copy at 100 and 1,000 references; at 100, in one run, it answered in 15 ms a frame
# against the exact scan's 234 and the HNSW graph's 79 (the graph it replaced), and it builds in
# 2-5 s against the graph's 75-80 s (docs/benchmarks.md#orb-scaling).
ORB_APPROXIMATE_FROM = 100_000
ORB_LISTS = 1024
ORB_PROBES = 8
ORB_TRAINING_PER_LIST = 64      # descriptors sampled per list to train on; faiss asks for 39 at least
FORMAT_VERSION = 2


@dataclass(frozen=True)
class FrameHash:
    pdq: str        # 64 hex chars
    quality: int
    phash: str      # 16 hex chars


def hash_frame(rgb: np.ndarray, pdq: tuple[str, int] | None = None) -> FrameHash:
    """PDQ and pHash of one RGB frame: used for clip frames and for claim references alike. A
    frame's PDQ that the pipeline already computed is passed in rather than computed again."""
    hex_, quality = pdq if pdq is not None else pdq_hash(rgb)
    return FrameHash(hex_, quality, str(imagehash.phash(Image.fromarray(rgb))))


@dataclass(frozen=True)
class Match:
    reference: Reference
    method: str      # pdq | phash: `measure` is a Hamming distance; orb: the RANSAC inlier count
    measure: int
    frame: int       # position in the clip's sampled frames


Q = TypeVar("Q", contravariant=True)


class SignalIndex(Protocol[Q]):
    """One signal type's index of claim references (threatexchange's SignalTypeIndex)."""

    method: ClassVar[str]

    @classmethod
    def build(cls, references: Iterable[Reference]) -> Self: ...

    def __len__(self) -> int: ...

    def add(self, references: Iterable[Reference]) -> None: ...

    def query(self, frames: Sequence[Q]) -> list[Match]: ...

    def serialize(self, out: BinaryIO) -> None: ...

    @classmethod
    def deserialize(cls, data: BinaryIO) -> Self: ...


def _keep_closest(matches: Iterable[Match], closer: bool) -> list[Match]:
    """The best match per (frame, claim): lowest measure if `closer`, else highest."""
    best = best_per(matches, lambda m: (m.frame, m.reference.claim_id), lambda m: -m.measure if closer else m.measure)
    return sorted(best, key=lambda m: (m.measure if closer else -m.measure, m.frame))


class _ReferenceIndex:
    """What every signal index shares: its references, and building from them by `add`."""

    _refs: list[Reference]

    @classmethod
    def build(cls, references: Iterable[Reference]) -> Self:
        index = cls()
        index.add(references)
        return index

    def __len__(self) -> int:
        return len(self._refs)

    def add(self, references: Iterable[Reference]) -> None:
        raise NotImplementedError


class _HammingSignalIndex(_ReferenceIndex):
    """A perceptual hash per reference, searched exactly within `radius` bits."""

    method: ClassVar[str]
    bits: ClassVar[int]
    radius: ClassVar[int]
    multi_index: ClassVar[bool]

    def __init__(self) -> None:
        self._refs: list[Reference] = []
        self._hashes = HammingIndex(self.bits, self.radius, self.multi_index)

    def add(self, references: Iterable[Reference]) -> None:
        new = list(references)
        self._refs += new
        self._hashes.add([getattr(r, self.method) for r in new])

    def query(self, frames: Sequence[FrameHash]) -> list[Match]:
        usable = [i for i, f in enumerate(frames) if self._usable(f)]
        if not self._refs or not usable:
            return []
        found = self._hashes.search([getattr(frames[i], self.method) for i in usable])
        return _keep_closest((Match(self._refs[p], self.method, d, frame)
                              for frame, (positions, distances) in zip(usable, found, strict=True)
                              for p, d in zip(positions.tolist(), distances.tolist(), strict=True)), closer=True)

    @staticmethod
    def _usable(frame: FrameHash) -> bool:
        return True

    def serialize(self, out: BinaryIO) -> None:
        hashes = [getattr(r, self.method) for r in self._refs]
        _write(out, self.method, self._refs, {"hashes": np.frombuffer(bytes.fromhex("".join(hashes)), np.uint8)})

    @classmethod
    def deserialize(cls, data: BinaryIO) -> Self:
        identities, arrays = _read(data, cls.method)
        hexes = arrays["hashes"].reshape(len(identities), cls.bits // 8)
        return cls.build(Reference(*identity, **{cls.method: row.tobytes().hex()})
                         for identity, row in zip(identities, hexes, strict=True))


class PdqIndex(_HammingSignalIndex):
    method, bits, radius, multi_index = "pdq", PDQ_BITS, SEARCH_PDQ, True

    @staticmethod
    def _usable(frame: FrameHash) -> bool:
        return frame.quality >= MIN_PDQ_QUALITY


class PhashIndex(_HammingSignalIndex):
    # 64 bits in 4 chunks at radius 14 would probe 3 flipped bits per chunk: slower than a scan.
    method, bits, radius, multi_index = "phash", PHASH_BITS, SEARCH_PHASH, False


class OrbIndex(_ReferenceIndex):
    """Every reference variant's ORB descriptors in one index. A frame's descriptors vote for the
    variants their near neighbours belong to (Lowe's ratio test within each variant), and only
    the variants with enough votes get the RANSAC check, so the cost of a frame grows with the
    candidates, not with the references."""

    method: ClassVar[str] = "orb"

    def __init__(self) -> None:
        self._refs: list[Reference] = []
        self._variant_ref = np.zeros(0, np.int32)         # variant -> position in _refs
        self._variant_start = np.zeros(1, np.int64)       # variant -> its first descriptor row
        self._descriptors = np.zeros((0, 32), np.uint8)
        self._points = np.zeros((0, 2), np.float32)
        self._search: faiss.IndexBinary = faiss.IndexBinaryFlat(256)

    @property
    def descriptors(self) -> int:
        return len(self._descriptors)

    @property
    def approximate(self) -> bool:
        return not isinstance(self._search, faiss.IndexBinaryFlat)

    def add(self, references: Iterable[Reference]) -> None:
        new = [(r, orb.deserialize(r.orb)) for r in references if r.orb]
        variants = [(len(self._refs) + i, v) for i, (_, vs) in enumerate(new) for v in vs]
        self._refs += [r for r, _ in new]
        self._append(np.array([p for p, _ in variants], np.int32),
                     np.array([len(v) for _, v in variants], np.int64),
                     np.vstack([self._descriptors[:0], *(v.descriptors for _, v in variants)]),
                     np.vstack([self._points[:0], *(v.points for _, v in variants)]))

    def _append(self, variant_ref: np.ndarray, sizes: np.ndarray, descriptors: np.ndarray,
                points: np.ndarray, search: faiss.IndexBinary | None = None) -> None:
        self._variant_ref = np.concatenate([self._variant_ref, variant_ref])
        self._variant_start = np.concatenate([self._variant_start, self._variant_start[-1] + np.cumsum(sizes)])
        self._descriptors = np.vstack([self._descriptors, descriptors])
        self._points = np.vstack([self._points, points])
        if search is not None:
            self._search = search
        elif isinstance(self._search, faiss.IndexBinaryFlat) and len(self._descriptors) >= ORB_APPROXIMATE_FROM:
            self._search = _inverted_file(self._descriptors)
        elif len(descriptors):
            self._search.add(descriptors)

    def query(self, frames: Sequence[orb.OrbFeatures], draws: orb.Draws = orb.ransac_iterations) -> list[Match]:
        """The best-supported reference per (frame, claim), with at least SEARCH_INLIERS inliers;
        `draws` sizes each candidate's RANSAC."""
        if not self._refs:
            return []
        return _keep_closest((m for position, frame in enumerate(frames) for m in self._frame(position, frame, draws)),
                             closer=False)

    def _frame(self, position: int, frame: orb.OrbFeatures, draws: orb.Draws) -> Iterable[Match]:
        if len(frame) < orb.MIN_GOOD:
            return
        distances, rows = self._search.search(frame.descriptors, ORB_NEIGHBOURS)
        variants = np.searchsorted(self._variant_start, rows, side="right") - 1
        variants[rows < 0] = -1
        query, column = np.nonzero(_ratio_test(distances, variants))
        voted = variants[query, column]
        for variant in np.flatnonzero(np.bincount(voted) >= SEARCH_INLIERS):     # fewer votes, fewer inliers
            chosen = voted == variant
            start, end = self._variant_start[variant], self._variant_start[variant + 1]
            count = orb.agreeing(frame.points[query[chosen]], self._points[rows[query[chosen], column[chosen]]],
                                 self._points[start:end], SEARCH_INLIERS, draws)
            if count >= SEARCH_INLIERS:
                yield Match(self._refs[self._variant_ref[variant]], self.method, count, position)

    def serialize(self, out: BinaryIO) -> None:
        arrays = {"variant_ref": self._variant_ref, "variant_start": self._variant_start,
                  "descriptors": self._descriptors, "points": self._points}
        if self.approximate:
            arrays["inverted_file"] = faiss.serialize_index_binary(self._search)
        _write(out, self.method, self._refs, arrays)

    @classmethod
    def deserialize(cls, data: BinaryIO) -> Self:
        identities, arrays = _read(data, cls.method)
        index = cls()
        index._refs = [Reference(*identity) for identity in identities]
        search = faiss.deserialize_index_binary(arrays["inverted_file"]) if "inverted_file" in arrays else None
        index._append(arrays["variant_ref"], np.diff(arrays["variant_start"]), arrays["descriptors"],
                      arrays["points"], search)
        return index


def _inverted_file(descriptors: np.ndarray) -> faiss.IndexBinaryIVF:
    """The descriptors in an inverted file trained on a fixed sample of them; descriptors added
    later go to the lists trained now."""
    lists = min(ORB_LISTS, len(descriptors))
    sample = np.random.default_rng(0).choice(len(descriptors), min(len(descriptors), ORB_TRAINING_PER_LIST * lists),
                                             replace=False)
    inverted = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(256), 256, lists)
    inverted.train(descriptors[np.sort(sample)])
    inverted.add(descriptors)
    inverted.nprobe = ORB_PROBES
    return inverted


def _ratio_test(distances: np.ndarray, variants: np.ndarray) -> np.ndarray:
    """(frame descriptor, neighbour) pairs that are their variant's nearest descriptor and pass
    Lowe's ratio test against that variant's second nearest. A variant seen once among the
    neighbours is held to the farthest neighbour's distance, a bound below its true second."""
    k = distances.shape[1]
    bound = np.where(variants[:, -1] >= 0, distances[:, -1], 0)
    second = np.repeat(bound[:, None], k, axis=1).astype(np.float32)
    first = variants >= 0
    for j in range(k):
        for later in range(k - 1, j, -1):     # nearest later column of the same variant wins
            same = variants[:, later] == variants[:, j]
            second[:, j] = np.where(same, distances[:, later], second[:, j])
        if j:
            first[:, j] &= ~(variants[:, :j] == variants[:, j:j + 1]).any(axis=1)
    return first & (distances < orb.RATIO * second)


def _write(out: BinaryIO, method: str, references: Sequence[Reference], arrays: dict[str, np.ndarray]) -> None:
    header = {"method": method, "format": FORMAT_VERSION,
              "references": [[r.reference_id, r.claim_id, r.title, r.action] for r in references]}
    np.savez(out, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)


def _read(data: BinaryIO, method: str) -> tuple[list[list[str]], dict[str, np.ndarray]]:
    buffer = io.BytesIO(data.read())
    try:
        with np.load(buffer, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        header = json.loads(arrays.pop("header").tobytes())
    except (ValueError, OSError, KeyError) as exc:
        raise ValueError(f"not a serialized {method} index: {exc}") from exc
    if header.get("method") != method or header.get("format") != FORMAT_VERSION:
        raise ValueError(f"a serialized {header.get('method')!r} index (format {header.get('format')}) "
                         f"cannot load as a {method!r} index (format {FORMAT_VERSION})")
    return header["references"], arrays
