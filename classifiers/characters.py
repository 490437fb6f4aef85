"""The `character` signal: does a clip show a work that a rights holder has claimed?

Three methods, each an index with add and query, in the shape of python-threatexchange's signal
types: PDQ and pHash (near-identical copies), ORB with a RANSAC check (crops, rotations, mirrors,
art on a new background; `classifiers/orb.py`), and the claim's aliases in the prompt
(`classifiers/aliases.py`). The hashes of every frame go into `features`, so retroscan can
re-match a published clip against a claim filed later without decoding it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image

from classifiers import orb
from classifiers.aliases import Alias, AliasIndex, AliasMatch
from classifiers.base import ClipInput, Finding, Signal, SignalHandler
from classifiers.embeddings import ClipEmbedder, EmbeddingIndex
from classifiers.hamming import HammingIndex
from clipguard.contracts import thumbnail_ref

PDQ_BITS = 256
PHASH_BITS = 64
# Below this PDQ quality a frame is nearly flat and its hash matches noise (PDQ's own guidance).
MIN_PDQ_QUALITY = 50
# The widest distances the index reports; the policy decides what is a match and what a near miss.
# PDQ's covers the policy's review band (45) and keeps the multi-index probes at 2 bits per chunk.
SEARCH_PDQ = 47
SEARCH_PHASH = 14
SEARCH_INLIERS = 10
# How often the gate reloads the active claims: a new claim applies within this many seconds.
REFRESH_S = 5.0


@dataclass(frozen=True)
class FrameHash:
    pdq: str        # 64 hex chars
    quality: int
    phash: str      # 16 hex chars


def hash_frame(rgb: np.ndarray) -> FrameHash:
    """PDQ and pHash of one RGB frame: used for clip frames and for claim references alike."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    pdq = np.packbits(bits.astype(np.uint8)).tobytes().hex()
    return FrameHash(pdq, int(quality), str(imagehash.phash(Image.fromarray(rgb))))


class Reference(Protocol):
    reference_id: str
    claim_id: str
    title: str
    action: str
    pdq: str
    phash: str
    orb: bytes | None


@dataclass(frozen=True)
class Catalog:
    """What the active claims give the index: reference frames and prompt aliases."""

    references: Sequence[Reference] = ()
    aliases: Sequence[Alias] = ()


@dataclass(frozen=True)
class Match:
    reference: Reference
    method: str      # pdq | phash: `measure` is a Hamming distance; orb: the RANSAC inlier count
    measure: int
    frame: int       # position in the clip's sampled frames


class HashIndex:
    """PDQ and pHash references, searched exactly within each method's radius (classifiers/hamming.py)."""

    def __init__(self, references: Iterable[Reference] = ()):
        self._refs: list[Reference] = []
        self._pdq = HammingIndex(PDQ_BITS, SEARCH_PDQ)
        self._phash = HammingIndex(PHASH_BITS, SEARCH_PHASH, multi_index=False)
        self.add(references)

    def __len__(self) -> int:
        return len(self._refs)

    def add(self, references: Iterable[Reference]) -> None:
        new = list(references)
        self._refs += new
        self._pdq.add([r.pdq for r in new])
        self._phash.add([r.phash for r in new])

    def query(self, frames: Sequence[FrameHash]) -> list[Match]:
        """The closest reference hit of each method per (frame, claim), within the search radius."""
        if not self._refs or not frames:
            return []
        usable = [i for i, f in enumerate(frames) if f.quality >= MIN_PDQ_QUALITY]
        best: dict[tuple[int, str, str], Match] = {}
        for method, found, rows in (("pdq", self._pdq.search([frames[i].pdq for i in usable]), usable),
                                    ("phash", self._phash.search([f.phash for f in frames]), range(len(frames)))):
            for frame, (positions, distances) in zip(rows, found, strict=True):
                for position, distance in zip(positions.tolist(), distances.tolist(), strict=True):
                    ref = self._refs[position]
                    key = (frame, ref.claim_id, method)
                    if key not in best or distance < best[key].measure:
                        best[key] = Match(ref, method, distance, frame)
        return sorted(best.values(), key=lambda m: (m.measure, m.frame))


class OrbIndex:
    """Each frame against each reference's ORB variants; linear in the references (see README)."""

    def __init__(self, references: Iterable[Reference] = ()):
        self._refs: list[tuple[Reference, list[orb.OrbFeatures]]] = []
        self.add(references)

    def __len__(self) -> int:
        return len(self._refs)

    def add(self, references: Iterable[Reference]) -> None:
        self._refs += [(r, orb.deserialize(r.orb)) for r in references if r.orb]

    def query(self, frames: Sequence[orb.OrbFeatures]) -> list[Match]:
        """The best-supported reference per (frame, claim), with at least SEARCH_INLIERS inliers."""
        best: dict[tuple[int, str], Match] = {}
        for position, features in enumerate(frames):
            for ref, variants in self._refs:
                count = orb.best_inliers(features, variants)
                key = (position, ref.claim_id)
                if count >= SEARCH_INLIERS and (key not in best or count > best[key].measure):
                    best[key] = Match(ref, "orb", count, position)
        return sorted(best.values(), key=lambda m: (-m.measure, m.frame))


@dataclass(frozen=True)
class CharacterIndex:
    hashes: HashIndex
    orb: OrbIndex
    aliases: AliasIndex
    embeddings: EmbeddingIndex

    @classmethod
    def build(cls, catalog: Catalog, embedding_version: str | None = None) -> CharacterIndex:
        return cls(HashIndex(catalog.references), OrbIndex(catalog.references), AliasIndex(catalog.aliases),
                   EmbeddingIndex(catalog.references, embedding_version))

    def __len__(self) -> int:
        return len(self.hashes)


class LiveIndex:
    """A CharacterIndex rebuilt from its source every `refresh_s`, so new claims apply without a
    restart; with the CLIP embedder, when one is configured, that embeds the clips' frames."""

    def __init__(self, load: Callable[[], Catalog], refresh_s: float, embedder: ClipEmbedder | None = None):
        self._load = load
        self._refresh_s = refresh_s
        self.embedder = embedder
        self._index = CharacterIndex.build(Catalog())
        self._loaded_at = float("-inf")

    def current(self) -> CharacterIndex:
        if time.monotonic() - self._loaded_at >= self._refresh_s:
            self._index = CharacterIndex.build(self._load(), self.embedder.version if self.embedder else None)
            self._loaded_at = time.monotonic()
        return self._index


class CharacterHandler(SignalHandler[LiveIndex]):
    name = "character"
    model_name = "pdq+phash+orb+alias"
    model_version = (f"pdqhash-0.2.8/imagehash-4.3.2/q{MIN_PDQ_QUALITY}/opencv-{cv2.__version__}"
                     f"-orb{orb.FRAME_FEATURES}")

    def __init__(self, references: Callable[[], Catalog], refresh_s: float = REFRESH_S,
                 clip_model_dir: Path | None = None, **batching: int):
        super().__init__(**batching)
        self._references = references
        self._refresh_s = refresh_s
        self._clip_model_dir = clip_model_dir

    def load_model(self) -> LiveIndex:
        embedder = ClipEmbedder(self._clip_model_dir) if self._clip_model_dir else None
        return LiveIndex(self._references, self._refresh_s, embedder)

    def identify(self, model: LiveIndex) -> tuple[str, str]:
        if model.embedder is None:
            return self.model_name, self.model_version
        return f"{self.model_name}+clip", f"{self.model_version}/{model.embedder.version}"

    def score(self, model: LiveIndex, batch: Sequence[ClipInput]) -> list[Signal]:
        index = model.current()
        return [self._score_clip(index, item, model) for item in batch]

    def _score_clip(self, index: CharacterIndex, item: ClipInput, model: LiveIndex) -> Signal:
        frames = item.clip.frames
        hashes = [hash_frame(f.rgb) for f in frames]
        matches = index.hashes.query(hashes)
        if len(index.orb):
            matches += index.orb.query([orb.orb_features(f.rgb) for f in frames])
        clip_id = item.event.clip_id
        findings = tuple(frame_finding(clip_id, frames[m.frame].index, frames[m.frame].t, m) for m in matches)
        findings += tuple(self._alias_finding(a) for a in index.aliases.query(item.event.prompt))
        if model.embedder is not None and len(index.embeddings):
            findings += self._embedding_findings(index.embeddings, model.embedder, item)
        features = {"frames": [{"index": f.index, "t": f.t, "pdq": h.pdq, "quality": h.quality,
                                "phash": h.phash} for f, h in zip(frames, hashes, strict=True)]}
        name, version = self.identify(model)
        return Signal(self.name, name, version, ok=True, findings=findings, features=features)

    @staticmethod
    def _embedding_findings(index: EmbeddingIndex, embedder: ClipEmbedder, item: ClipInput) -> tuple[Finding, ...]:
        frames = item.clip.frames
        vectors = embedder.images([f.rgb for f in frames])
        findings = []
        for hit in index.query(vectors):
            ref, frame = hit.reference, frames[hit.position]
            zero_shot = embedder.zero_shot(vectors[hit.position], ref.title)
            findings.append(Finding(
                detail=f"frame {frame.index} is close to claim {ref.title!r} in CLIP space",
                score=round(hit.similarity, 4),
                evidence={"claim_id": ref.claim_id, "reference_id": ref.reference_id, "title": ref.title,
                          "action": ref.action, "method": "clip", "similarity": round(hit.similarity, 4),
                          "zero_shot": round(zero_shot, 4), "frame": frame.index, "t": frame.t,
                          "thumbnail": thumbnail_ref(item.event.clip_id, frame.index)}))
        return tuple(findings)

    @staticmethod
    def _alias_finding(match: AliasMatch) -> Finding:
        alias = match.alias
        return Finding(
            detail=f"the prompt names claim {alias.title!r} ({match.words!r} reads as alias {alias.text!r})",
            score=None,
            evidence={"claim_id": alias.claim_id, "title": alias.title, "action": alias.action, "method": "alias",
                      "alias": alias.text, "lang": alias.lang, "words": match.words})


def frame_finding(clip_id: str, frame_index: int, t: float, m: Match) -> Finding:
    """A frame's match to a claim reference, as the gate and retroscan both report it."""
    if m.method == "orb":
        measure, score = {"inliers": m.measure}, round(min(1.0, m.measure / 100), 4)
    else:
        measure = {"distance": m.measure}
        score = round(1 - m.measure / (PDQ_BITS if m.method == "pdq" else PHASH_BITS), 4)
    return Finding(
        detail=f"frame {frame_index} resembles claim {m.reference.title!r} ({m.method})", score=score,
        evidence={"claim_id": m.reference.claim_id, "reference_id": m.reference.reference_id,
                  "title": m.reference.title, "action": m.reference.action, "method": m.method, **measure,
                  "frame": frame_index, "t": t, "thumbnail": thumbnail_ref(clip_id, frame_index)})
