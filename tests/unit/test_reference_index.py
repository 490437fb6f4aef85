"""The per-signal reference indexes: the ORB index against the one-reference-at-a-time matcher it
replaces, its approximate (inverted file) mode, RANSAC sized to the search floor, and serialize/deserialize
for every signal type."""

import io

import numpy as np
import pytest

from classifiers.character import orb, reference_index
from classifiers.character.reference_index import OrbIndex, PdqIndex, PhashIndex, Reference, hash_frame
from fixtures.clips import image
from fixtures.edits import EDITS, on_background

CLAIMED = ("chelsea", "astronaut", "coffee", "rocket", "camera", "clock")
OTHERS = ("brick", "grass", "moon", "page", "horse", "coins", "text", "gravel")


def reference(name: str) -> Reference:
    rgb = image(name)
    hashes = hash_frame(rgb)
    return Reference(f"ref-{name}", f"claim-{name}", name.title(), "block", hashes.pdq, hashes.phash,
                     orb.serialize(orb.reference_variants(rgb)))


@pytest.fixture(scope="module")
def references() -> list[Reference]:
    return [reference(name) for name in CLAIMED]


@pytest.fixture(scope="module")
def queries() -> list[tuple[str | None, np.ndarray]]:
    """Edited copies of the claimed art on a new background, and unclaimed pictures."""
    edited = [(name, on_background(EDITS[edit](image(name)))) for name in CLAIMED
              for edit in ("crop_20", "mirror", "rotate_5", "jpeg_25")]
    return edited + [(None, image(name)) for name in OTHERS]


def found(index: OrbIndex, rgb: np.ndarray) -> dict[str, int]:
    return {m.reference.claim_id: m.measure for m in index.query([orb.orb_features(rgb)])}


def one_at_a_time(references: list[Reference], rgb: np.ndarray) -> dict[str, int]:
    """The matcher the index replaces: the frame against each reference's variants in turn."""
    features = orb.orb_features(rgb)
    counts = {r.claim_id: orb.best_inliers(features, orb.deserialize(r.orb)) for r in references}
    return {claim: n for claim, n in counts.items() if n >= reference_index.SEARCH_INLIERS}


@pytest.mark.slow
def test_the_orb_index_finds_what_matching_each_reference_in_turn_finds(references, queries):
    index = OrbIndex.build(references)
    for work, rgb in queries:
        ours, baseline = found(index, rgb), one_at_a_time(references, rgb)
        if work is not None:
            assert f"claim-{work}" in ours, work
        # The strong matches agree; a count near the search bar may fall either side of it.
        assert {c for c, n in baseline.items() if n >= 16} <= set(ours), (work, ours, baseline)
        assert {c for c, n in ours.items() if n >= 16} <= set(baseline), (work, ours, baseline)


@pytest.mark.slow
def test_the_approximate_index_finds_the_same_claims(references, queries, monkeypatch):
    exact = OrbIndex.build(references)
    monkeypatch.setattr(reference_index, "ORB_APPROXIMATE_FROM", 1)
    approximate = OrbIndex.build(references)
    assert approximate.approximate and not exact.approximate
    for work, rgb in queries:
        strong = {c for c, n in found(approximate, rgb).items() if n >= 16}
        assert strong == {c for c, n in found(exact, rgb).items() if n >= 16}, work


@pytest.mark.slow
def test_adding_references_later_equals_building_with_them(references, queries):
    later = OrbIndex.build(references[:2])
    later.add(references[2:])
    whole = OrbIndex.build(references)
    for _, rgb in queries[::3]:
        assert found(later, rgb) == found(whole, rgb)


@pytest.mark.slow
def test_ransac_sized_for_the_weakest_model_that_counts_finds_what_running_it_out_finds(references, queries):
    index = OrbIndex.build(references)
    for work, rgb in queries:
        features = [orb.orb_features(rgb)]
        assert summary(index.query(features)) == summary(index.query(features, orb.all_iterations)), work


def test_ransac_draws_enough_to_be_sure_of_a_model_the_least_pairs_agree_on():
    least = reference_index.SEARCH_INLIERS
    assert orb.ransac_iterations(least - 1, least) == 0      # cannot reach the floor: not run
    assert orb.ransac_iterations(least, least) == 1          # every pair must agree: any draw finds it
    draws = [orb.ransac_iterations(m, least) for m in range(least, 80)]
    assert draws == sorted(draws) and draws[-1] == orb.MAX_ITERATIONS
    for matches, n in zip(range(least + 1, 80), draws[1:], strict=False):
        if n < orb.MAX_ITERATIONS:
            all_agree = np.prod([(least - i) / (matches - i) for i in range(4)])
            assert (1 - all_agree) ** n <= 1 - orb.CONFIDENCE < (1 - all_agree) ** (n - 1)


def summary(matches) -> list[tuple]:
    """What a match says, less the reference fields that only the other signal types store."""
    return [(m.reference.reference_id, m.reference.claim_id, m.reference.title, m.reference.action, m.method,
             m.measure, m.frame) for m in matches]


def round_trip(index):
    out = io.BytesIO()
    index.serialize(out)
    out.seek(0)
    return type(index).deserialize(out)


@pytest.mark.slow
@pytest.mark.parametrize("approximate", [False, True])
def test_a_serialized_orb_index_answers_as_the_original(references, queries, approximate, monkeypatch):
    if approximate:
        monkeypatch.setattr(reference_index, "ORB_APPROXIMATE_FROM", 1)
    index = OrbIndex.build(references)
    again = round_trip(index)
    assert len(again) == len(index)
    for _, rgb in queries:
        features = [orb.orb_features(rgb)]
        assert summary(again.query(features)) == summary(index.query(features))


@pytest.mark.parametrize("kind", [PdqIndex, PhashIndex])
def test_a_serialized_hash_index_answers_as_the_original(references, queries, kind):
    index = kind.build(references)
    again = round_trip(index)
    recompressed = [hash_frame(EDITS["jpeg_25"](image(name))) for name in CLAIMED]
    frames = recompressed + [hash_frame(rgb) for _, rgb in queries]
    assert summary(again.query(frames)) == summary(index.query(frames))
    # The clock's face is too flat for PDQ (quality 42 once recompressed); pHash still reads it.
    expected = {f"claim-{n}" for n in CLAIMED if kind is PhashIndex or n != "clock"}
    assert {m.reference.claim_id for m in index.query(recompressed)} == expected


def test_a_serialized_index_of_another_kind_or_garbage_is_refused(references):
    out = io.BytesIO()
    PdqIndex.build(references).serialize(out)
    out.seek(0)
    with pytest.raises(ValueError, match=r"'pdq' index .* cannot load as a 'orb' index"):
        OrbIndex.deserialize(out)
    with pytest.raises(ValueError, match="not a serialized phash index"):
        PhashIndex.deserialize(io.BytesIO(b"not an index"))
