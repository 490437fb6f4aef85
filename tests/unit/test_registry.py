import pytest
from sqlalchemy import inspect

from registry.claims import ClaimStore, NewReference
from registry.db import engine_for, migrate
from registry.models import Base
from registry.store import KEEP_SIGNALS_FOR, DecisionStore
from tests.builders import decided, decision


def test_migrations_create_every_table_and_rerun_cleanly(database_url: str):
    engine = migrate(database_url)  # the fixture migrated once already
    # Every table the models declare, and nothing the migrations made that the models lost.
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}


def test_recording_the_same_clip_twice_keeps_one_row_with_the_latest(database_url: str):
    store = DecisionStore(engine_for(database_url))
    store.record([decided(decision("c1", "review"))])
    store.record([decided(decision("c1", "block", at="2026-11-21T10:00:05.000Z"))])
    assert store.get("c1")["verdict"] == "block"
    assert [d["clip_id"] for d in store.all()] == ["c1"]


def test_a_gate_replay_does_not_overwrite_an_analysts_decision(database_url: str):
    store = DecisionStore(engine_for(database_url))
    store.record([decided(decision("c1", "takedown", source="analyst"))])
    store.record([decided(decision("c1", "allow"))])
    assert store.get("c1")["source"] == "analyst" and store.get("c1")["verdict"] == "takedown"


def test_signals_are_kept_only_for_clips_that_may_be_shown(database_url: str):
    store = DecisionStore(engine_for(database_url))
    store.record([decided(decision("shown")), decided(decision("queued", "review")),
                  decided(decision("blocked", "block"))])
    assert store.signals("shown")["character"]["frames"][0]["pdq"] == "ab"
    assert "character" in store.signals("queued")
    assert store.signals("blocked") == {}


def test_retroscan_ranges_cover_every_shown_clip_exactly_once(database_url: str):
    store = DecisionStore(engine_for(database_url))
    shown = [f"c{i:03d}" for i in range(23)]
    store.record([decided(decision(c, "review" if i % 5 == 0 else "allow")) for i, c in enumerate(shown)]
                 + [decided(decision("c005x", "block"))])
    ranges = store.retroscan_ranges("character", KEEP_SIGNALS_FOR, size=5)
    assert len(ranges) == 5 and ranges[0][0] is None and ranges[-1][1] is None
    read = [clip for r in ranges for clip, _, _ in store.retroscan_candidates("character", KEEP_SIGNALS_FOR, r)]
    assert read == shown                      # in order, none twice, the blocked clip left out
    assert store.retroscan_ranges("faces", KEEP_SIGNALS_FOR, size=5) == []


def test_claims_are_filed_found_and_indexed(database_url: str):
    claims = ClaimStore(engine_for(database_url))
    refs = [NewReference("front", "0" * 64, "f" * 16), NewReference("side", "1" * 64, "e" * 16)]
    claim_id = claims.add("studio", "Chelsea", "takedown", refs)
    assert claims.find("studio", "Chelsea") == claim_id and claims.find("other", "Chelsea") is None
    refs = claims.active_references()
    assert {r.claim_id for r in refs} == {claim_id} and {r.phash for r in refs} == {"f" * 16, "e" * 16}


@pytest.mark.parametrize(("action", "refs", "complaint"), [
    ("allow", [NewReference("x", "0" * 64, "0" * 16)], "claim action"),
    ("block", [], "at least one reference"),
])
def test_bad_claims_are_refused_and_nothing_is_stored(database_url: str, action, refs, complaint):
    claims = ClaimStore(engine_for(database_url))
    with pytest.raises(ValueError, match=complaint):
        claims.add("studio", "T", action, refs)
    assert claims.active_references() == []
