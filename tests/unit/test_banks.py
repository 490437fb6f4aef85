"""The bank family's parts without media: file formats, the index, the rule, and the PDQ each
sampled frame carries."""

from __future__ import annotations

from dataclasses import replace
from random import Random

import pytest
from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature, vpdq_to_json
from threatexchange.signal_type.pdq.pdq_hasher import _pdq_from_numpy_array

from classifiers.bank import DEFAULT_SECTION
from classifiers.bank.formats import BadBankFile, parse, write
from classifiers.bank.handler import bank_finding, vpdq_feature
from classifiers.bank.index import BankIndex, ClipHashes, VpdqBars
from classifiers.bank.rule import bank_rule
from classifiers.character.reference_index import hash_frame
from classifiers.pdq import pdq_hash, with_pdq
from clipguard.core.banks import BankEntry, BankSet
from clipguard.core.media import Frame, SampledClip
from clipguard.core.signals import Signal
from fixtures.clips import image
from fixtures.signatures import far, near

RNG = Random(23)
BASE = "".join(RNG.choice("0123456789abcdef") for _ in range(64))


def entry(entry_id: int, kind: str, signal: str, action: str = "block", threshold: int | None = None) -> BankEntry:
    return BankEntry(entry_id, "b", kind, signal, "", "", action, False, threshold)


def frames(*hexes: str) -> tuple[VpdqCompactFeature, ...]:
    return tuple(VpdqCompactFeature(h, 100, float(t)) for t, h in enumerate(hexes))


def test_te_and_csv_files_round_trip_with_labels_and_vpdq_json():
    video = vpdq_to_json(list(frames(BASE, far(BASE, 100, RNG))))
    entries = [{"signal_type": "pdq", "signal": BASE, "label": "l,1", "source_id": "s"},
               {"signal_type": "vpdq", "signal": video, "label": "", "source_id": ""},
               {"signal_type": "md5", "signal": "0" * 32, "label": "", "source_id": ""}]
    back = parse("".join(write(entries, "csv")), "csv")
    assert [(e.signal_type, e.signal, e.label) for e in back] == [(e["signal_type"], e["signal"], e["label"])
                                                                 for e in entries]
    te = parse("".join(write(entries, "te")), "te")
    assert [e.signal for e in te] == [e["signal"] for e in entries]
    assert parse(BASE.upper() + "\n", "te", "pdq")[0].signal == BASE     # case means nothing in a hash


def test_every_bad_line_is_named_and_a_bad_header_refuses_the_file():
    with pytest.raises(BadBankFile) as bad:
        parse(f"pdq {BASE}\nvpdq [\"zz,1,0\"]\nmd5\n", "te")
    assert [n for n, _ in bad.value.errors] == [2, 3]
    with pytest.raises(BadBankFile, match="the first line must be the header"):
        parse("hash,kind\n", "csv")


def test_pdq_hits_within_the_widest_bar_and_the_rule_applies_each_banks_own():
    loose, strict = entry(1, "pdq", near(BASE, 20, RNG)), entry(2, "pdq", near(BASE, 20, RNG), "takedown", 10)
    index = BankIndex(BankSet((("b", 1),), (loose, strict, entry(3, "pdq", far(BASE, 90, RNG)))), 31, VpdqBars())
    clip = ClipHashes({}, frames(BASE))
    hits = index.query(clip, 50)
    assert sorted(h.entry.entry_id for h in hits) == [1, 2]
    signal = Signal("bank", "m", "v", ok=True, findings=tuple(bank_finding(h, clip, [(0, 0.0)]) for h in hits))
    ruled = bank_rule(signal, DEFAULT_SECTION, "p@1", {})
    assert [(verdict, r.evidence["entry_id"]) for verdict, r in ruled] == [("block", 1)]   # 20 bits > entry 2's 10
    assert ruled[0][1].signal == "bank" and "thumbnail" not in ruled[0][1].evidence


def test_file_hashes_match_exactly_and_vpdq_needs_most_of_the_clip():
    video = [BASE, far(BASE, 100, RNG), far(BASE, 100, RNG), far(BASE, 100, RNG)]
    banks = BankSet((("b", 1),), (entry(1, "md5", "a" * 32), entry(2, "vpdq", vpdq_to_json(list(frames(*video))))))
    index = BankIndex(banks, 31, VpdqBars())
    assert [h.entry.entry_id for h in index.query(ClipHashes({"md5": "a" * 32}, ()), 50)] == [1]
    assert index.query(ClipHashes({"md5": "b" * 32}, ()), 50) == []
    most = index.query(ClipHashes({}, frames(*(near(h, 4, RNG) for h in video[:3]), far(BASE, 100, RNG))), 50)
    assert [(h.entry.entry_id, h.query_match_percent) for h in most] == [(2, 75.0)]
    signal = Signal("bank", "m", "v", ok=True, findings=(bank_finding(most[0], ClipHashes({}, ()), []),))
    assert bank_rule(signal, DEFAULT_SECTION, "p@1", {}) == []       # 75% < the 80% bar
    whole = index.query(ClipHashes({}, frames(*(near(h, 4, RNG) for h in video))), 50)
    assert whole[0].query_match_percent == 100.0


def test_a_frames_pdq_is_threatexchanges_and_is_hashed_once_for_every_family():
    rgb = image("coffee")
    assert pdq_hash(rgb) == _pdq_from_numpy_array(rgb)
    clip = with_pdq(SampledClip((Frame(0, 0.0, False, rgb),), 1.0, rgb.shape[1], rgb.shape[0], 1))
    frame = clip.frames[0]
    assert frame.pdq == pdq_hash(rgb)
    assert hash_frame(rgb).pdq == hash_frame(rgb, frame.pdq).pdq == frame.pdq[0]
    # A hash the pipeline put on the frame is what both families read, not recomputed.
    planted = replace(frame, pdq=("f" * 64, 77))
    assert (vpdq_feature(planted).pdq_hex, vpdq_feature(planted).quality) == ("f" * 64, 77)
    assert hash_frame(planted.rgb, planted.pdq).pdq == "f" * 64
