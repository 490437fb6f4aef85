"""The enabled banks' entries, indexed once per change, one signal type at a time:

- MD5 and SHA-256 of the file: a dict from the file's hash to its entries;
- PDQ: exact search within the widest bar in use (classifiers/hamming.py: multi-index hashing,
  so the cost of a frame grows far slower than the entries);
- vPDQ: every entry's frames in one Hamming index, so only entries sharing a frame with the clip
  are candidates; those are then scored with python-threatexchange's own vPDQ matcher.

A hit is reported with its measure (bits, or vPDQ's match percentages); the policy's bars decide
what a hit means (classifiers/bank/rule.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threatexchange.extensions.vpdq.vpdq_brute_matcher import match_VPDQ_hash_brute
from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature, json_to_vpdq

from classifiers.base import best_per
from classifiers.hamming import HammingIndex
from clipguard.core.banks import BankEntry, BankSet
from clipguard.core.vocab import BankSignalType

PDQ_BITS = 256


@dataclass(frozen=True)
class VpdqBars:
    """vPDQ's match rule (threatexchange's defaults: 31 bits, quality 50, 80% and 0%)."""

    distance: int = 31
    quality: int = 50
    query_match_percent: float = 80.0
    compared_match_percent: float = 0.0

    @classmethod
    def widest(cls, sections: Sequence[Mapping[str, Any]]) -> VpdqBars:
        """The frame bars under which every policy section's hits are found (the percentages are
        each rule's to judge)."""
        return cls(max(s["vpdq"]["distance"] for s in sections), min(s["vpdq"]["quality"] for s in sections))


FILE_HASHES = (BankSignalType.MD5, BankSignalType.SHA256)


@dataclass(frozen=True)
class ClipHashes:
    """What a clip is matched on: its file's MD5 and SHA-256 (none when there is no file) and its
    vPDQ features, one per sampled frame: PDQ hex, quality and time."""

    files: dict[str, str]
    frames: tuple[VpdqCompactFeature, ...]


@dataclass(frozen=True)
class BankHit:
    entry: BankEntry
    distance: float                 # PDQ bits; file hashes 0; vPDQ 100 - query match percent
    frame: int | None = None        # position among the clip's frames (PDQ)
    query_match_percent: float | None = None
    compared_match_percent: float | None = None


class BankIndex:
    def __init__(self, banks: BankSet, pdq_radius: int, vpdq: VpdqBars):
        self._vpdq = vpdq
        by_type: dict[str, list[BankEntry]] = defaultdict(list)
        for entry in banks.entries:
            by_type[entry.signal_type].append(entry)
        self._files: dict[tuple[str, str], list[BankEntry]] = defaultdict(list)
        for entry in by_type[BankSignalType.MD5] + by_type[BankSignalType.SHA256]:
            self._files[entry.signal_type, entry.signal].append(entry)
        self._pdq_entries = by_type[BankSignalType.PDQ]
        # Wide enough for every bank's own bar as well as the policy's.
        radius = max([pdq_radius] + [e.pdq_threshold or 0 for e in self._pdq_entries])
        self._pdq = HammingIndex(PDQ_BITS, radius)
        self._pdq.add([e.signal for e in self._pdq_entries])
        self._vpdq_entries = by_type[BankSignalType.VPDQ]
        self._vpdq_features = [json_to_vpdq(e.signal) for e in self._vpdq_entries]
        owners = [i for i, features in enumerate(self._vpdq_features) for _ in features]
        self._vpdq_owner = np.asarray(owners, dtype=np.int64)
        self._vpdq_frames = HammingIndex(PDQ_BITS, vpdq.distance)
        self._vpdq_frames.add([f.pdq_hex for features in self._vpdq_features for f in features])
        self.size = len(banks.entries)

    def __len__(self) -> int:
        return self.size

    def query(self, clip: ClipHashes, min_pdq_quality: int) -> list[BankHit]:
        return self._file_hits(clip) + self._pdq_hits(clip, min_pdq_quality) + self._vpdq_hits(clip)

    def _file_hits(self, clip: ClipHashes) -> list[BankHit]:
        return [BankHit(entry, 0.0) for key in clip.files.items() for entry in self._files.get(key, [])]

    def _pdq_hits(self, clip: ClipHashes, min_quality: int) -> list[BankHit]:
        usable = [i for i, f in enumerate(clip.frames) if f.quality >= min_quality]
        if not usable or not len(self._pdq):
            return []
        found = self._pdq.search([clip.frames[i].pdq_hex for i in usable])
        hits = (BankHit(self._pdq_entries[p], float(d), frame)
                for frame, (positions, distances) in zip(usable, found, strict=True)
                for p, d in zip(positions.tolist(), distances.tolist(), strict=True))
        closest = best_per(hits, lambda h: h.entry.entry_id, lambda h: -h.distance)   # the closest frame per entry
        return sorted(closest, key=lambda h: (h.distance, h.entry.entry_id))

    def _vpdq_hits(self, clip: ClipHashes) -> list[BankHit]:
        if not clip.frames or not len(self._vpdq_frames):
            return []
        found = self._vpdq_frames.search([f.pdq_hex for f in clip.frames])
        candidates = sorted({int(o) for positions, _ in found for o in self._vpdq_owner[positions]})
        hits = []
        for i in candidates:
            result = match_VPDQ_hash_brute(list(clip.frames), self._vpdq_features[i], self._vpdq.quality,
                                           self._vpdq.distance)
            if result.query_match_percent > 0:
                hits.append(BankHit(self._vpdq_entries[i], round(100.0 - result.query_match_percent, 3), None,
                                    round(result.query_match_percent, 3), round(result.compared_match_percent, 3)))
        return hits


def clip_features(hashes: ClipHashes, indexes: Sequence[int]) -> dict:
    """What the gate stores of a clip for a later retroscan against new bank entries: the file's
    hashes, vPDQ's own serialisation of each frame, and each frame's number in the stream."""
    return {"files": dict(hashes.files), "vpdq": [str(f) for f in hashes.frames], "frame_index": list(indexes)}


def stored_hashes(features: dict) -> ClipHashes:
    """The inverse of `clip_features`."""
    return ClipHashes(dict(features.get("files", {})),
                      tuple(VpdqCompactFeature.from_str(s) for s in features.get("vpdq", [])))
