"""Claims end to end below the service: reference intake, ORB and alias matching, the policy's
reading of them, the claims CLI, and retroscan on a real broker."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifiers.character import orb
from classifiers.character.aliases import Alias, AliasIndex, check_aliases, normalize, parse_alias
from classifiers.character.handler import Catalog, CharacterHandler
from classifiers.character.reference_index import Reference, hash_frame
from classifiers.character.rule import character_rule
from clipguard.core.config import MediaLimits, Settings
from clipguard.core.contracts import ClipGenerated
from clipguard.core.signals import ClipInput
from fixtures.clips import image, png_file, write_frames
from fixtures.edits import EDITS, on_background
from media.sampling import Frame, SampledClip
from media.uploads import BadUpload, Upload
from pipelines.kafka_io import read_decisions
from pipelines.moderate import ClaimCatalog
from pipelines.retroscan import run_retroscan
from registry.claims import ClaimStore
from registry.db import engine_for
from registry.review import ReviewQueue
from registry.store import DecisionStore
from tests.builders import decided, decision
from tests.conftest import clipguard
from usecases.policy_files import load_policy
from usecases.references import build_references

POLICY = load_policy()
CAT_REFS = build_references([png_file("chelsea.png", "chelsea")], MediaLimits())
CAT = Reference("ref-cat", "claim-cat", "Chelsea", "block", CAT_REFS[0].pdq, CAT_REFS[0].phash, CAT_REFS[0].orb)


def verdicts_for(rgb: np.ndarray, prompt: str | None = None, catalog: Catalog | None = None) -> set[str]:
    """What the policy makes of the character signal on a one-frame clip of `rgb`."""
    handler = CharacterHandler(lambda: catalog or Catalog([CAT]))
    clip = SampledClip((Frame(0, 0.0, False, rgb),), 1.0, rgb.shape[1], rgb.shape[0], 1)
    event = ClipGenerated("c", "alice", "file:///m.mp4", "2026-11-21T10:00:00Z", prompt=prompt)
    signal = handler.score(handler.load_model(), [ClipInput(event, clip)])[0]
    return {v for v, _ in character_rule(signal, POLICY.signals["character"], POLICY.label, {})}


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_edit_family_of_the_claimed_art_is_blocked(edit: str):
    assert "block" in verdicts_for(EDITS[edit](image("chelsea"))), edit


@pytest.mark.parametrize("name", ["astronaut", "coffee", "rocket", "camera", "brick", "horse", "moon", "page",
                                  "logo", "retina", "coins", "grass"])
def test_unclaimed_pictures_match_nothing(name: str):
    assert verdicts_for(image(name)) == set()
    assert verdicts_for(on_background(image(name), background="coffee")) == set()


def test_orb_variants_survive_serialization():
    variants = orb.reference_variants(image("chelsea"))
    again = orb.deserialize(orb.serialize(variants))
    assert len(again) == 4
    assert all(np.array_equal(a.descriptors, b.descriptors) for a, b in zip(variants, again, strict=True))


@pytest.mark.parametrize(("alias", "prompt", "hit"), [
    ("SpongeBob", "sp0nge b0b dancing on the beach", True),
    ("SpongeBob", "SPONGEBOB!!", True),
    ("Bob l'éponge", "bob l'eponge au cinema", True),
    ("Rick", "a wall of red bricks", False),
    ("Rick Sanchez", "rick and morty", False),
    ("Chelsea the Cat", "chelsea-the-cat in space", True),
])
def test_alias_matching_tolerates_case_accents_spacing_and_leetspeak(alias: str, prompt: str, hit: bool):
    index = AliasIndex([Alias("claim", "Title", "block", alias, "und")])
    assert bool(index.query(prompt)) == hit, (normalize(alias), normalize(prompt))


def test_an_alias_alone_sends_a_clip_to_review_not_block():
    catalog = Catalog([CAT], [Alias("claim-cat", "Chelsea", "block", "Chelsea the Cat", "en")])
    assert verdicts_for(image("coffee"), prompt="Chelsea the Cat drinks coffee", catalog=catalog) == {"review"}


def test_aliases_parse_with_languages_and_short_ones_are_refused():
    assert parse_alias("Bob l'éponge@fr") == ("Bob l'éponge", "fr")
    assert parse_alias("user@example.com") == ("user@example.com", "und")
    with pytest.raises(ValueError, match="too short"):
        check_aliases([("Al", "en")])


def png_bytes(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def test_a_clip_reference_contributes_several_frames(tmp_path: Path):
    clip = write_frames(tmp_path / "ref.mp4", [on_background(image("chelsea"), scale=0.9)] * 48)
    refs = build_references([Upload("ref.mp4", clip.read_bytes())], MediaLimits())
    assert 1 < len(refs) <= 4 and {r.media_kind for r in refs} == {"clip"} and all(r.orb for r in refs)


@pytest.mark.parametrize(("name", "data", "complaint"), [
    ("empty.png", b"", "the file is empty"),
    ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a readable image"),
    ("notes.txt", b"just some text, not media", "not a readable image, clip or recording"),
    ("tiny.png", png_bytes(np.zeros((8, 8, 3), np.uint8)), "too small"),
])
def test_bad_references_are_refused_with_the_reason(name: str, data: bytes, complaint: str):
    with pytest.raises(BadUpload, match=complaint):
        build_references([png_file("good.png", "chelsea"), Upload(name, data)], MediaLimits())


def test_the_gate_catalog_reads_only_new_references_and_drops_withdrawn_ones(database_url: str, monkeypatch):
    store = ClaimStore(engine_for(database_url))
    cat = store.add("studio", "Chelsea", "block", CAT_REFS)
    catalog = ClaimCatalog(database_url)
    assert [r.claim_id for r in catalog().references] == [cat]
    read: list[str] = []
    real = ClaimStore.active_references

    def counted(self, claim_id=None, reference_ids=None):
        read.extend(reference_ids or ["everything"])
        return real(self, claim_id, reference_ids)

    monkeypatch.setattr(ClaimStore, "active_references", counted)
    rocket = store.add("studio", "Rocket", "takedown", build_references([png_file("r.png", "rocket")], MediaLimits()))
    assert {r.claim_id for r in catalog().references} == {cat, rocket}
    assert read == [r.reference_id for r in real(store, rocket)]
    store.withdraw(cat, "studio")
    assert [r.claim_id for r in catalog().references] == [rocket]
    assert len(read) == 1


def test_the_claims_cli_files_lists_and_withdraws(settings: Settings, tmp_path: Path):
    cat = tmp_path / "cat.png"
    cat.write_bytes(png_file("cat.png", "chelsea").data)
    filed = clipguard(["claims", "add", "--holder", "studio", "--title", "Chelsea", "--alias", "Chelsea le chat@fr",
                       "--reference", str(cat), "--action", "takedown"], settings, timeout=120)
    assert filed.returncode == 0, filed.stderr
    claim_id = filed.stdout.strip()
    listed = clipguard(["claims", "list", "--holder", "studio"], settings, timeout=60).stdout
    assert f"{claim_id}\tstudio\tactive\ttakedown\tChelsea\tChelsea le chat@fr" in listed
    assert clipguard(["claims", "withdraw", claim_id, "--holder", "other"], settings, timeout=60).returncode == 2
    assert clipguard(["claims", "withdraw", claim_id, "--holder", "studio"], settings, timeout=60).returncode == 0
    assert "\twithdrawn\t" in clipguard(["claims", "list"], settings, timeout=60).stdout
    history = ClaimStore(engine_for(settings.database_url)).get(claim_id, "studio").history
    # A takedown claim is retroscanned whichever door filed it (the API's test sees the same).
    assert [h["action"] for h in history] == ["filed", "retroscan", "retroscanned", "withdrawn"]


def test_a_bad_reference_stores_nothing(settings: Settings, tmp_path: Path):
    good, bad = tmp_path / "cat.png", tmp_path / "bad.png"
    good.write_bytes(png_file("cat.png", "chelsea").data)
    bad.write_bytes(b"\x89PNG broken")
    result = clipguard(["claims", "add", "--holder", "studio", "--title", "Chelsea", "--reference", str(good),
                        "--reference", str(bad)], settings, timeout=120)
    assert result.returncode == 2 and "bad.png: not a readable image" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert ClaimStore(engine_for(settings.database_url)).list() == []


def test_retroscan_takes_down_published_copies_and_spares_the_rest(settings: Settings, bootstrap: str):
    settings = replace(settings, kafka_bootstrap=bootstrap)
    engine = engine_for(settings.database_url)
    store = DecisionStore(engine)

    def published(clip_id: str, picture: np.ndarray, verdict: str = "allow", source: str = "gate") -> None:
        h = hash_frame(picture)
        clip = decided(decision(clip_id, verdict, source=source))
        store.record([replace(clip, features={"character": ("v", {"frames": [
            {"index": 0, "t": 0.0, "pdq": h.pdq, "quality": h.quality, "phash": h.phash}]})})])

    published("copy", EDITS["brightness"](image("chelsea")))
    published("other", image("coffee"))
    published("reviewed-copy", image("chelsea"), verdict="review")
    published("analyst-allowed", image("chelsea"), source="analyst")
    claim_id = ClaimStore(engine).add("studio", "Chelsea", "takedown", CAT_REFS)

    result = run_retroscan(settings, claim_id)
    assert sorted(result.taken_down) == ["copy", "reviewed-copy"]
    assert result.scanned == 4
    on_kafka = read_decisions(bootstrap, {"copy", "reviewed-copy"}, timeout_s=30)
    assert {d["source"] for d in on_kafka.values()} == {"retroscan"}
    assert {d["verdict"] for d in on_kafka.values()} == {"takedown"}
    assert store.get("copy")["verdict"] == "takedown" and store.get("other")["verdict"] == "allow"
    assert store.get("analyst-allowed")["source"] == "analyst"
    matches = ClaimStore(engine).matches(claim_id, "studio")
    assert {m.clip_id for m in matches} == {"copy", "reviewed-copy"}
    assert ClaimStore(engine).get(claim_id, None).history[-1]["action"] == "retroscanned"


def test_a_takedown_cascades_through_three_generations_of_remixes(settings: Settings, bootstrap: str):
    """parent (a copy) <- remix-1 (other art) <- remix-2 (other art) <- remix-3 (a copy), with a
    `remix_of` cycle back to the parent, a blocked remix, and an analyst's call below it."""
    settings = replace(settings, kafka_bootstrap=bootstrap)
    engine = engine_for(settings.database_url)
    store = DecisionStore(engine)

    def published(clip_id: str, picture: np.ndarray, remix_of: str | None, verdict: str = "allow",
                  source: str = "gate") -> None:
        h = hash_frame(picture)
        clip = decided(decision(clip_id, verdict, source=source))
        store.record([replace(clip, event={**clip.event, "remix_of": remix_of}, features={"character": ("v", {
            "frames": [{"index": 0, "t": 0.0, "pdq": h.pdq, "quality": h.quality, "phash": h.phash}]})})])

    published("parent", image("chelsea"), remix_of="remix-2")        # a malformed chain: a cycle
    published("remix-1", image("coffee"), "parent")
    published("remix-2", image("astronaut"), "remix-1")
    published("remix-3", EDITS["brightness"](image("chelsea")), "remix-2")
    published("remix-blocked", image("rocket"), "remix-1", verdict="block")
    published("remix-analyst", image("camera"), "remix-2", source="analyst")
    published("unrelated", image("camera"), None)
    claim_id = ClaimStore(engine).add("studio", "Chelsea", "takedown", CAT_REFS)

    result = run_retroscan(settings, claim_id)
    assert sorted(result.taken_down) == ["parent", "remix-3"]
    assert (result.remixes.taken_down, result.remixes.reviewed) == ([], ["remix-1", "remix-2"])
    assert result.remixes.hidden == 2               # the blocked remix, and the analyst's call
    verdicts = {d["clip_id"]: (d["verdict"], d["source"]) for d in store.all()}
    assert verdicts == {"parent": ("takedown", "retroscan"), "remix-1": ("review", "retroscan"),
                        "remix-2": ("review", "retroscan"), "remix-3": ("takedown", "retroscan"),
                        "remix-blocked": ("block", "gate"), "remix-analyst": ("allow", "analyst"),
                        "unrelated": ("allow", "gate")}
    reason = store.get("remix-2")["reasons"][0]
    assert reason["signal"] == "lineage" and reason["evidence"] == {
        "parent_id": "remix-1", "root_id": "parent", "generation": 2, "cause": f"claim {claim_id} ('Chelsea')"}
    queued = {i.clip_id: i.filed_by for i in ReviewQueue(engine).items("pending")}
    assert queued == {"remix-1": "retroscan", "remix-2": "retroscan"}
    on_kafka = read_decisions(bootstrap, {"parent", "remix-1", "remix-2", "remix-3"}, timeout_s=30)
    assert {c: d["verdict"] for c, d in on_kafka.items()} == {"parent": "takedown", "remix-1": "review",
                                                             "remix-2": "review", "remix-3": "takedown"}
    # A second pass finds the remixes already dealt with, and queues nothing twice.
    again = run_retroscan(settings, claim_id)
    assert again.taken_down == [] and len(ReviewQueue(engine).items("pending")) == 2


def test_retroscan_samples_media_again_to_find_crops_the_hashes_miss(settings: Settings, bootstrap: str,
                                                                      tmp_path: Path):
    settings = replace(settings, kafka_bootstrap=bootstrap, media_roots=(tmp_path,))
    engine = engine_for(settings.database_url)
    store = DecisionStore(engine)

    def published(clip_id: str, picture: np.ndarray) -> Path:
        path = write_frames(tmp_path / f"{clip_id}.mp4", [picture] * 24)
        h = hash_frame(picture)
        clip = decided(decision(clip_id, "allow"))
        store.record([replace(clip, event={**clip.event, "media_uri": path.as_uri()}, features={"character": (
            "v", {"frames": [{"index": 0, "t": 0.0, "pdq": h.pdq, "quality": h.quality, "phash": h.phash}]})})])
        return path

    published("cropped", on_background(EDITS["crop_20"](image("chelsea")), background="coffee"))
    published("unrelated", on_background(image("rocket"), background="coffee"))
    published("gone", image("moon")).unlink()
    claim_id = ClaimStore(engine).add("studio", "Chelsea", "takedown", CAT_REFS)

    assert run_retroscan(settings, claim_id, reread_media=False).taken_down == []
    result = run_retroscan(settings, claim_id)
    assert result.taken_down == ["cropped"] and result.unreadable == 1
    [match] = ClaimStore(engine).matches(claim_id, "studio")
    assert match.method == "orb" and match.measure >= POLICY.signals["character"]["orb"]["match_inliers"]
    assert store.get("cropped")["reasons"][0]["evidence"]["method"] == "orb"
    assert store.get("gone")["verdict"] == "allow"
    noted = ClaimStore(engine).get(claim_id, None).history[-1]["detail"]
    assert noted["media_decoded"] == 2 and noted["media_unreadable"] == 1


def test_the_retroscan_command_names_what_it_cannot_find(settings: Settings):
    missing = clipguard(["retroscan", "--claim", "nope"], settings, timeout=120)
    assert missing.returncode == 2 and "no claim 'nope'" in missing.stderr
    neither = clipguard(["retroscan"], settings, timeout=60)
    assert neither.returncode == 2 and "exactly one of --claim ID, --cameo USER or --bank NAME" in neither.stderr
    bank = clipguard(["retroscan", "--bank", "nope"], settings, timeout=120)
    assert bank.returncode == 2 and "no bank 'nope'" in bank.stderr
