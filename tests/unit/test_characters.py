from dataclasses import replace
from pathlib import Path

import numpy as np

from classifiers.character.handler import Catalog, CharacterHandler, LiveIndex, hash_frame
from classifiers.character.reference_index import PdqIndex, PhashIndex, Reference
from clipguard.core.config import MediaLimits
from clipguard.core.contracts import ClipGenerated
from clipguard.core.signals import ClipInput
from fixtures.clips import image
from media.sampling import Frame, SampledClip, sample_frames

CAT = hash_frame(image("chelsea"))
REF = Reference("ref-1", "claim-1", "Chelsea", "block", CAT.pdq, CAT.phash)


def clip_input(clips_dir: Path, name: str) -> ClipInput:
    event = ClipGenerated(name, "alice", (clips_dir / f"{name}.mp4").as_uri(), "2026-11-21T10:00:00Z")
    return ClipInput(event, sample_frames(clips_dir / f"{name}.mp4", MediaLimits()))


def test_frame_hashes_are_deterministic_and_well_formed():
    again = hash_frame(image("chelsea"))
    assert again == CAT
    assert len(CAT.pdq) == 64 and len(CAT.phash) == 16 and CAT.quality >= 50


def test_the_index_finds_the_claimed_work_only_in_the_frames_that_show_it(clips_dir: Path):
    frames = clip_input(clips_dir, "cat-cutin").clip.frames
    matches = PdqIndex.build([REF]).query([hash_frame(f.rgb) for f in frames])
    cat_frames = {frames[m.frame].index for m in matches if m.measure <= 31}
    assert cat_frames == {72, 96}  # the cat shot runs from frame 72 to 107


def test_unrelated_images_are_far_from_the_claim():
    index = PdqIndex.build([REF])
    for name in ("coffee", "rocket", "astronaut", "camera"):
        assert all(m.measure > 45 for m in index.query([hash_frame(image(name))]))


def test_flat_frames_are_not_matched_by_pdq():
    flat = hash_frame(np.full((64, 64, 3), 128, dtype=np.uint8))
    assert flat.quality < 50
    # Even a reference with the identical hash is not a PDQ match: flat hashes match noise.
    ref = replace(REF, pdq=flat.pdq, phash=flat.phash)
    assert PdqIndex.build([ref]).query([flat]) == []
    assert [m.measure for m in PhashIndex.build([ref]).query([flat])] == [0]


def test_the_live_index_picks_up_new_references_after_its_refresh_interval():
    loads: list[int] = []

    def load():
        loads.append(1)
        return Catalog([REF] * len(loads))

    live = LiveIndex(load, refresh_s=0.0)
    assert len(live.current()) == 1 and len(live.current()) == 2
    frozen = LiveIndex(load, refresh_s=3600)
    assert len(frozen.current()) == len(frozen.current())


def test_the_live_index_is_rebuilt_only_when_the_catalog_changes():
    catalogs = iter([Catalog([REF]), Catalog([REF]), Catalog([REF, replace(REF, reference_id="ref-2")])])
    live = LiveIndex(lambda: next(catalogs), refresh_s=0.0)
    first = live.current()
    assert live.current() is first
    third = live.current()
    assert third is not first and len(third) == 2


def test_the_handler_reports_evidence_and_keeps_frame_hashes(clips_dir: Path):
    handler = CharacterHandler(lambda: Catalog([REF]))
    model = handler.load_model()
    cat, coffee = handler.score_isolated(model, [clip_input(clips_dir, "cat-character"),
                                                 clip_input(clips_dir, "coffee-pan")])
    assert cat.ok and cat.findings and cat.findings[0].evidence["claim_id"] == "claim-1"
    assert coffee.ok and not [f for f in coffee.findings if f.evidence.get("distance", 99) <= 31]
    assert len(coffee.features["frames"]) == 4 and coffee.elapsed_ms > 0


def test_a_clip_that_breaks_the_handler_fails_alone(clips_dir: Path):
    handler = CharacterHandler(lambda: Catalog([REF]))
    good = clip_input(clips_dir, "coffee-pan")
    unhashable = SampledClip((Frame(0, 0.0, False, rgb=np.zeros((0, 0, 3), dtype=np.uint8)),), 0.0, 0, 0, 1)
    results = handler.score_isolated(handler.load_model(), [good, ClipInput(good.event, unhashable)])
    assert results[0].ok
    assert not results[1].ok and results[1].error


def test_multi_index_hashing_finds_exactly_what_brute_force_finds():
    from classifiers.hamming import MULTI_INDEX_FROM, HammingIndex

    rng = np.random.default_rng(7)
    stored = rng.integers(0, 256, size=(MULTI_INDEX_FROM + 5000, 32), dtype=np.uint8)
    queries = []
    for row in rng.choice(len(stored), 40, replace=False):   # near copies, 0-47 bits away
        flipped = np.unpackbits(stored[row]).astype(bool)
        flipped[rng.choice(256, rng.integers(0, 48), replace=False)] ^= True
        queries.append(np.packbits(flipped).tobytes().hex())
    queries += [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(10)]
    hexes = [r.tobytes().hex() for r in stored]
    fast, slow = HammingIndex(256, 47), HammingIndex(256, 47, multi_index=False)
    fast.add(hexes)
    slow.add(hexes)
    for (fp, fd), (sp, sd) in zip(fast.search(queries), slow.search(queries), strict=True):
        assert dict(zip(fp.tolist(), fd.tolist(), strict=True)) == dict(zip(sp.tolist(), sd.tolist(), strict=True))
    assert sum(len(p) for p, _ in fast.search(queries)) >= 40   # the planted copies were all found
