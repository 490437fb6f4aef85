"""Remix lineage below the gate: the registry's walk down a clip's remixes (bounded, cycle-safe),
and the lineage family's rule for a remix of a blocked or taken-down clip."""

import json
from dataclasses import replace

import pytest

from classifiers.lineage.handler import LineageHandler
from classifiers.lineage.rule import check_lineage_policy, lineage_rule
from clipguard.core import families
from clipguard.core.contracts import ClipGenerated
from clipguard.core.signals import ClipInput
from policies.engine import decide
from registry.db import engine_for
from registry.lineage import Lineage
from registry.store import DecidedClip, DecisionStore
from tests.builders import AT, decision
from usecases.policy_files import load_policy

LIVE = load_policy()
SECTION = LIVE.signals["lineage"]


def record(store: DecisionStore, clip_id: str, remix_of: str | None, verdict: str = "allow") -> None:
    event = ClipGenerated(clip_id, "alice", f"file:///media/{clip_id}.mp4", AT, remix_of=remix_of)
    store.record([DecidedClip(decision(clip_id, verdict), json.loads(event.to_json()), {})])


def test_the_walk_finds_every_generation_once_and_survives_a_cycle(database_url: str):
    engine = engine_for(database_url)
    store = DecisionStore(engine)
    for clip_id, parent in [("a", "c"), ("b", "a"), ("c", "b"), ("b2", "a"), ("d", "c"), ("x", None)]:
        record(store, clip_id, parent, verdict="block" if clip_id == "b2" else "allow")
    walked = [(d.clip_id, d.parent_id, d.generation, d.root_id) for d in Lineage(engine).descendants(["a"])]
    assert walked == [("b", "a", 1, "a"), ("b2", "a", 1, "a"), ("c", "b", 2, "a"), ("d", "c", 3, "a")]
    assert [d.clip_id for d in Lineage(engine).descendants(["a"], max_generations=2)] == ["b", "b2", "c"]
    parent, children = Lineage(engine).family("a")
    assert (parent.clip_id, parent.verdict) == ("c", "allow")
    assert [(c.clip_id, c.verdict) for c in children] == [("b", "allow"), ("b2", "block")]
    assert Lineage(engine).family("x") == (None, [])


def remix(parent_id: str | None) -> ClipInput:
    return ClipInput(ClipGenerated("r1", "bob", "file:///media/r1.mp4", AT, remix_of=parent_id), None)


@pytest.mark.parametrize(("parent_verdict", "expected"), [("takedown", "review"), ("block", "review"),
                                                          ("review", "allow"), ("allow", "allow"), (None, "allow")])
def test_a_remix_of_a_removed_clip_is_never_allowed_unseen(parent_verdict: str | None, expected: str):
    parents = {} if parent_verdict is None else {
        "p1": {**decision("p1", parent_verdict).to_dict(), "source": "retroscan"}}
    handler = LineageHandler(lambda ids: {i: parents[i] for i in ids if i in parents})
    [signal] = handler.score(handler.load_model(), [remix("p1")])
    ruled = lineage_rule(signal, SECTION, LIVE.label, {})
    assert (ruled[0][0] if ruled else "allow") == expected
    if ruled:
        reason = ruled[0][1]
        assert reason.signal == "lineage" and reason.evidence["parent_id"] == "p1"
        assert "character why" in reason.detail          # the parent's reasons travel with it
    # Not a remix at all: no lookup, no finding.
    [plain] = handler.score(handler.load_model(), [remix(None)])
    assert plain.ok and plain.findings == ()


def test_a_policy_that_would_allow_a_remix_of_a_removed_clip_is_refused():
    with pytest.raises(ValueError, match="review, block or takedown"):
        check_lineage_policy({**SECTION, "verdict": "allow"})
    with pytest.raises(ValueError, match="unknown verdicts"):
        check_lineage_policy({**SECTION, "parent_verdicts": ["gone"]})


def test_the_lineage_signal_is_required_so_a_failed_lookup_is_reviewed():
    clean = {m.family: replace(m.example(), findings=()) for m in families.registered()}
    clean["explicit"] = families.family("explicit").example()
    clean["explicit"] = replace(clean["explicit"], findings=(replace(
        clean["explicit"].findings[0], evidence={**clean["explicit"].findings[0].evidence,
                                                 "score_max": 0.01, "score_topk_mean": 0.01}),))
    assert decide(clean, LIVE).verdict == "allow"
    failed = {**clean, "lineage": replace(clean["lineage"], ok=False, error="registry unreachable")}
    assert decide(failed, LIVE).verdict == "review"
    assert decide({k: v for k, v in clean.items() if k != "lineage"}, LIVE).verdict == "review"
