"""Galleries of enrolled people, searched by embedding: what the faces and voice families share.

    registry gallery (one embedding version) -> vector index (exact, or HNSW when large)
        -> nearest subjects of a query vector -> likeness evidence: who, how close, the runner-up,
           and whether that person's grant permits this creator

A face and a voice are compared the same way: Euclidean distance between embeddings of one model
version, one hit per subject at its closest enrolled vector. What each family adds is where in
the clip its vector came from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from classifiers.base import Refreshed, best_per
from clipguard.core.people import Gallery, Grant, Subject

# Whether a person's grant lets a creator use their likeness: the consent policy
# (policies/consent.py), handed in by whoever builds the handler, since deciding consent is not
# the classifier's job.
Permits = Callable[[Grant, str, str], bool]

# How reasons and findings name the two kinds of enrolled subject.
SUBJECT_NOUN = {"figure": "public figure", "cameo": "cameo owner"}


@dataclass(frozen=True)
class Hit:
    subject: Subject
    distance: float


class VectorIndex(Protocol):
    """Nearest enrolled vectors of a query: rows and their Euclidean distances."""

    def query(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...


class ExactIndex:
    """Every vector compared: exact, and fast enough well past 100k vectors on two cores."""

    def __init__(self, vectors: np.ndarray):
        self._vectors = np.ascontiguousarray(vectors, np.float32)
        self._norms = (self._vectors ** 2).sum(axis=1)

    def query(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not len(self._vectors):
            return []
        squared = self._norms - 2 * (self._vectors @ vector.astype(np.float32)) + float(vector @ vector)
        k = min(k, len(squared))
        rows = np.argpartition(squared, k - 1)[:k]
        rows = rows[np.argsort(squared[rows])]
        return [(int(r), float(np.sqrt(max(0.0, squared[r])))) for r in rows]


class HnswIndex:
    """faiss's HNSW graph: approximate, for galleries too large to scan per query."""

    def __init__(self, vectors: np.ndarray, neighbours: int = 32, search_depth: int = 128):
        import faiss

        self._index = faiss.IndexHNSWFlat(vectors.shape[1], neighbours)
        self._index.hnsw.efConstruction = 80
        self._index.hnsw.efSearch = search_depth
        self._index.add(np.ascontiguousarray(vectors, np.float32))

    def query(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        squared, rows = self._index.search(np.ascontiguousarray(vector[None, :], np.float32), k)
        return [(int(r), float(np.sqrt(max(0.0, d)))) for d, r in zip(squared[0], rows[0], strict=True) if r >= 0]


# Below this many vectors the exact scan wins outright (`clipguard bench --suite faces` measures it).
ANN_FROM = 200_000


def vector_index(vectors: np.ndarray) -> VectorIndex:
    return HnswIndex(vectors) if len(vectors) >= ANN_FROM else ExactIndex(vectors)


class GalleryIndex:
    """The gallery behind one VectorIndex, answering per subject rather than per enrolled vector."""

    def __init__(self, gallery: Gallery):
        self.gallery = gallery
        self._index = vector_index(gallery.vectors)

    def nearest(self, vector: np.ndarray, within: float, k: int = 16) -> list[Hit]:
        """Subjects with a vector within `within` of `vector`, each at its closest one, nearest first."""
        close = [(self.gallery.subject_of[row], d) for row, d in self._index.query(vector, k) if d <= within]
        best = best_per(close, lambda hit: hit[0], lambda hit: -hit[1])
        return [Hit(self.gallery.subjects[i], d) for i, d in sorted(best, key=lambda hit: hit[1])]


class LiveGallery(Refreshed[Gallery, GalleryIndex]):
    """The enrolled vectors of one model version, re-read from the registry every `refresh_s`, so
    enrolments and revocations apply to the gate without a restart."""

    def __init__(self, load: Callable[[str], Gallery], version: str, refresh_s: float):
        super().__init__(lambda: load(version), GalleryIndex, refresh_s, GalleryIndex(Gallery()))


def attributed(index: GalleryIndex, vector: np.ndarray, within: float, creator: str, declared: Sequence[str],
               permits: Permits) -> dict[str, Any] | None:
    """The enrolled person closest to `vector` (within `within`) as likeness evidence, or None.
    A face or voice is one person's: one near a public figure and a cameo owner alike is the
    closer one's, with the next closest and the margin between them in the evidence."""
    hits = index.nearest(vector, within)
    if not hits:
        return None
    hit, subject = hits[0], hits[0].subject
    evidence: dict[str, Any] = {"kind": subject.kind, "subject_id": subject.subject_id, "name": subject.name,
                                "distance": round(hit.distance, 4)}
    if len(hits) > 1:
        other = hits[1]
        evidence["next_closest"] = {"kind": other.subject.kind, "subject_id": other.subject.subject_id,
                                    "name": other.subject.name, "distance": round(other.distance, 4),
                                    "margin": round(other.distance - hit.distance, 4)}
    grant, owner = subject.grant, subject.owner
    return evidence | {"permission": grant.permission if grant else None, "cameo_user": owner,
                       "declared": owner is not None and owner in declared,
                       "creator_permitted": grant is not None and permits(grant, owner, creator)}


def closeness(distance: float) -> float:
    """A finding's score from its distance: 1 at the enrolled vector itself, 0 from distance 1."""
    return round(max(0.0, 1 - distance), 4)
