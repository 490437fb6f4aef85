"""CLIP embeddings for the character signal, from an operator's weights directory.

Used only when `CLIPGUARD_CLIP_MODEL_DIR` names one: nothing is downloaded, and no CLIP weights
ship with clipguard. transformers' CLIP classes run on the CPU or, when torch sees one, a GPU.
A frame matches a reference when their embeddings are close AND a zero-shot check agrees:
among the claim's title and a few generic captions, the title must be the likeliest one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifiers.base import best_per, torch_device, weights_digest

NEGATIVE_CAPTIONS = ("a photo", "a picture of a person", "a picture of a landscape", "a picture of text")
SEARCH_SIMILARITY = 0.5   # the widest cosine similarity the index reports; the policy judges


class ClipEmbedder:
    def __init__(self, weights_dir: Path, device: str | None = None, max_batch: int = 32):
        import torch
        from transformers import CLIPModel, CLIPProcessor

        self._torch = torch
        self._processor = CLIPProcessor.from_pretrained(weights_dir, local_files_only=True)
        self._model = CLIPModel.from_pretrained(weights_dir, local_files_only=True)
        self._device = torch_device(device)
        self._model.to(self._device).eval()
        self._max_batch = max_batch
        self.version = f"clip-{self._model.config.projection_dim}d/sha256:{weights_digest(Path(weights_dir))}"
        self.logit_scale = float(self._model.logit_scale.exp())

    def images(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """L2-normalised image embeddings, one row per frame."""
        out = []
        with self._torch.inference_mode():
            for i in range(0, len(frames), self._max_batch):
                inputs = self._processor(images=list(frames[i:i + self._max_batch]), return_tensors="pt")
                out.append(_projected(self._model.get_image_features(
                    pixel_values=inputs["pixel_values"].to(self._device))))
        return _normalised(out)

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        with self._torch.inference_mode():
            inputs = self._processor(text=list(texts), return_tensors="pt", padding=True)
            features = self._model.get_text_features(**{k: v.to(self._device) for k, v in inputs.items()})
        return _normalised([_projected(features)])

    def zero_shot(self, frame: np.ndarray, title: str) -> float:
        """The probability CLIP gives "a picture of <title>" for `frame`, against generic captions."""
        captions = self.texts([f"a picture of {title}", *NEGATIVE_CAPTIONS])
        logits = self.logit_scale * captions @ frame
        odds = np.exp(logits - logits.max())
        return float(odds[0] / odds.sum())


def _projected(output):
    # transformers 5 returns a model output whose pooler_output holds the projected features;
    # earlier versions returned the tensor itself.
    return getattr(output, "pooler_output", output)


def _normalised(batches: list) -> np.ndarray:
    if not batches:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.concatenate([b.float().cpu().numpy() for b in batches])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


@dataclass(frozen=True)
class EmbeddingHit:
    position: int       # frame position in the clip's sampled frames
    reference: object   # the Reference whose embedding was closest for this claim
    similarity: float


class EmbeddingIndex:
    """Cosine similarity of frames to every reference embedded with the same weights."""

    def __init__(self, references: Iterable, version: str | None):
        self._refs = [r for r in references if r.embedding and r.embedding_model == version] if version else []
        self._matrix = (np.stack([np.frombuffer(r.embedding, dtype=np.float32) for r in self._refs])
                        if self._refs else np.zeros((0, 0), np.float32))

    def __len__(self) -> int:
        return len(self._refs)

    def query(self, frames: np.ndarray) -> list[EmbeddingHit]:
        """The closest reference per (frame, claim) at or above SEARCH_SIMILARITY."""
        if not self._refs or not len(frames):
            return []
        similarity = frames @ self._matrix.T
        hits = (EmbeddingHit(int(position), self._refs[column], float(similarity[position, column]))
                for position, column in zip(*np.nonzero(similarity >= SEARCH_SIMILARITY), strict=True))
        best = best_per(hits, lambda h: (h.position, h.reference.claim_id), lambda h: h.similarity)
        return sorted(best, key=lambda h: -h.similarity)
