"""A rights holder's claimed work as the matchers see it: one reference frame of an active claim.
The registry stores references, the character signal indexes them, retroscan re-matches them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """One reference frame of an active claim, with the signals stored for it."""

    reference_id: str
    claim_id: str
    title: str
    action: str
    pdq: str = ""                      # 64 hex chars
    phash: str = ""                    # 16 hex chars
    orb: bytes | None = None           # classifiers.character.orb.serialize of the reference's variants
    embedding: bytes | None = None     # CLIP, when the operator configured weights
    embedding_model: str | None = None
    audio: bytes | None = None         # classifiers.music.index.to_bytes of a recording's landmarks


def visual(references: Iterable[Reference]) -> list[Reference]:
    """The references that are pictures (an image, or a frame of a clip), not recordings."""
    return [r for r in references if r.pdq]
