"""The `character` signal: does a clip show a work that a rights holder has claimed?

Three methods: PDQ and pHash (near-identical copies), ORB with a RANSAC check (crops, rotations,
mirrors, art on a new background), each an index in python-threatexchange's shape
(`classifiers/reference_index.py`), and the claim's aliases in the prompt (`classifiers/aliases.py`).
The hashes of every frame go into `features`, so retroscan can re-match a published clip against
a claim filed later without decoding it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from classifiers.base import Refreshed, SignalHandler
from classifiers.character import orb
from classifiers.character.aliases import Alias, AliasIndex, AliasMatch
from classifiers.character.embeddings import ClipEmbedder, EmbeddingIndex
from classifiers.character.reference_index import (
    MIN_PDQ_QUALITY,
    ORB_NEIGHBOURS,
    PDQ_BITS,
    PHASH_BITS,
    Match,
    OrbIndex,
    PdqIndex,
    PhashIndex,
    Reference,
    hash_frame,
)
from clipguard.core.claims import visual
from clipguard.core.contracts import thumbnail_ref
from clipguard.core.signals import ClipInput, Finding, Signal

# How often the gate reloads the active claims: a new claim applies within this many seconds.
REFRESH_S = 5.0


@dataclass(frozen=True)
class Catalog:
    """What the active claims give the index: reference frames and prompt aliases."""

    references: Sequence[Reference] = ()
    aliases: Sequence[Alias] = ()

    def identity(self) -> tuple:
        """Equal for catalogs that index the same: the same references and aliases."""
        return tuple(r.reference_id for r in self.references), tuple(self.aliases)


@dataclass(frozen=True)
class CharacterIndex:
    pdq: PdqIndex
    phash: PhashIndex
    orb: OrbIndex
    aliases: AliasIndex
    embeddings: EmbeddingIndex

    @classmethod
    def build(cls, catalog: Catalog, embedding_version: str | None = None) -> CharacterIndex:
        refs = visual(catalog.references)
        return cls(PdqIndex.build(refs), PhashIndex.build(refs), OrbIndex.build(refs), AliasIndex(catalog.aliases),
                   EmbeddingIndex(refs, embedding_version))

    def __len__(self) -> int:
        return len(self.pdq)


class LiveIndex(Refreshed[Catalog, CharacterIndex]):
    """The active claims' CharacterIndex, re-read every `refresh_s` and rebuilt when the claims
    changed; with the CLIP embedder, when one is configured, that embeds the clips' frames."""

    def __init__(self, load: Callable[[], Catalog], refresh_s: float, embedder: ClipEmbedder | None = None):
        self.embedder = embedder
        version = embedder.version if embedder else None
        super().__init__(load, lambda catalog: CharacterIndex.build(catalog, version), refresh_s,
                         CharacterIndex.build(Catalog()), Catalog.identity)


class CharacterHandler(SignalHandler[LiveIndex]):
    name = "character"
    model_name = "pdq+phash+orb+alias"
    model_version = (f"pdqhash-0.2.8/imagehash-4.3.2/q{MIN_PDQ_QUALITY}/opencv-{cv2.__version__}"
                     f"-orb{orb.FRAME_FEATURES}-nn{ORB_NEIGHBOURS}")

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
        hashes = [hash_frame(f.rgb, f.pdq) for f in frames]
        matches = index.pdq.query(hashes) + index.phash.query(hashes)
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
