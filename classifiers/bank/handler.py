"""Matches every clip against the enabled banks: the MD5 and SHA-256 of its file, the PDQ of its sampled
frames, and its vPDQ. The frames' features are vPDQ's (PDQ hex, quality, time) from the gate's
own decode, at its one-per-second uniform sampling plus scene cuts, so the clip is decoded once
and under the gate's limits; `vpdq.computeHash` over the same file yields the same hashes
within a few bits (tests/integration/test_banks.py measures it).

The banks are re-read every few seconds, and rebuilt only when an enabled bank's version moved."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

from classifiers.bank.index import FILE_HASHES, PDQ_BITS, BankHit, BankIndex, ClipHashes, VpdqBars, clip_features
from classifiers.base import Refreshed, SignalHandler
from classifiers.pdq import frame_pdq
from clipguard.core.banks import BankSet
from clipguard.core.media import Frame
from clipguard.core.signals import ClipInput, Finding, Signal
from clipguard.core.vocab import BankSignalType, SignalFamily

REFRESH_S = 5.0
MIN_PDQ_QUALITY = 50        # threatexchange's: a flat frame's PDQ matches everything flat
READ_CHUNK = 1 << 20


class BankHandler(SignalHandler[Refreshed[BankSet, BankIndex]]):
    name = SignalFamily.BANK
    model_name = "md5+pdq+vpdq"
    model_version = "threatexchange-1.2.17/pdqhash-0.2.8"

    def __init__(self, banks: Callable[[], BankSet], pdq_radius: int, vpdq: VpdqBars,
                 refresh_s: float = REFRESH_S, max_batch_size: int = 8):
        super().__init__(max_batch_size=max_batch_size)
        self._banks, self._pdq_radius, self._vpdq, self._refresh_s = banks, pdq_radius, vpdq, refresh_s

    def load_model(self) -> Refreshed[BankSet, BankIndex]:
        def build(banks: BankSet) -> BankIndex:
            return BankIndex(banks, self._pdq_radius, self._vpdq)

        return Refreshed(self._banks, build, self._refresh_s, build(BankSet()), BankSet.identity)

    def score(self, model: Refreshed[BankSet, BankIndex], batch: Sequence[ClipInput]) -> list[Signal]:
        index = model.current()
        return [self._score_clip(index, item) for item in batch]

    def _score_clip(self, index: BankIndex, item: ClipInput) -> Signal:
        frames = item.clip.frames
        hashes = ClipHashes(file_hashes(item.clip.path) if item.clip.path else {},
                            tuple(vpdq_feature(f) for f in frames))
        findings = tuple(bank_finding(hit, hashes, [(f.index, f.t) for f in frames])
                         for hit in index.query(hashes, MIN_PDQ_QUALITY))
        return Signal(self.name, self.model_name, self.model_version, ok=True, findings=findings,
                      features=clip_features(hashes, [f.index for f in frames]))


def vpdq_feature(frame: Frame) -> VpdqCompactFeature:
    hex_, quality = frame_pdq(frame)
    return VpdqCompactFeature(hex_, quality, float(frame.t))


def file_hashes(path: Path) -> dict[str, str]:
    """The file's MD5 and SHA-256 in one read, as threatexchange's video_md5 and video_sha256."""
    digests = {BankSignalType.MD5: hashlib.md5(usedforsecurity=False), BankSignalType.SHA256: hashlib.sha256()}
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            for digest in digests.values():
                digest.update(chunk)
    return {kind: digest.hexdigest() for kind, digest in digests.items()}


def bank_finding(hit: BankHit, clip: ClipHashes, frames: Sequence[tuple[int, float]]) -> Finding:
    """A hit as the gate and retroscan both report it: hashes and distances, never a frame, since
    looking at what a bank lists is itself restricted."""
    entry = hit.entry
    evidence = {"bank": entry.bank, "entry_id": entry.entry_id, "signal_type": entry.signal_type,
                "label": entry.label, "source_id": entry.source_id, "action": entry.action, "report": entry.report,
                "pdq_threshold": entry.pdq_threshold, "distance": hit.distance}
    if entry.signal_type in FILE_HASHES:
        evidence["hash"] = clip.files[entry.signal_type]
        detail = f"the file's {entry.signal_type.upper()} is entry {entry.entry_id} of bank {entry.bank!r}"
    elif entry.signal_type == BankSignalType.PDQ:
        index, t = frames[hit.frame]
        evidence |= {"hash": clip.frames[hit.frame].pdq_hex, "entry_hash": entry.signal, "frame": index, "t": t}
        detail = (f"frame {index}'s PDQ is {hit.distance:.0f} bits from entry {entry.entry_id} of bank "
                  f"{entry.bank!r}")
    else:
        evidence |= {"query_match_percent": hit.query_match_percent,
                     "compared_match_percent": hit.compared_match_percent}
        detail = (f"{hit.query_match_percent:.0f}% of the clip's frames match vPDQ entry {entry.entry_id} of bank "
                  f"{entry.bank!r}")
    # A closeness in [0, 1]: PDQ bits out of 256; file hashes and vPDQ already count in percent.
    scale = PDQ_BITS if entry.signal_type == BankSignalType.PDQ else 100
    return Finding(detail, round(1 - hit.distance / scale, 4), evidence)
