"""The review queue, audit log and decision history on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from clipguard.core.contracts import Decision
from clipguard.core.signals import Finding, Signal
from policies.decisions import analyst_decision, gate_decision
from policies.engine import decide
from registry.db import engine_for
from registry.models import ReviewItemRow
from registry.review import AuditLog, NotFound, QueueError, ReviewQueue
from registry.store import DecisionStore
from tests.builders import decided, decision
from usecases.policy_files import load_policy
from usecases.review import act_on_item


@pytest.fixture
def stores(database_url: str) -> tuple[DecisionStore, ReviewQueue, AuditLog]:
    engine = engine_for(database_url)
    return DecisionStore(engine), ReviewQueue(engine), AuditLog(engine)


def test_a_review_decision_is_queued_once_even_when_the_gate_replays_it(stores):
    store, queue, audit = stores
    store.record([decided(decision("c1", "review")), decided(decision("c2", "allow"))])
    store.record([decided(decision("c1", "review", at="2026-11-21T10:00:09.000Z"))])
    items = queue.items("pending")
    assert [(i.clip_id, i.kind, i.status) for i in items] == [("c1", "review", "open")]
    assert [d["source"] for d in audit.decision_history("c1")] == ["gate"]


def test_items_are_ordered_by_severity_then_deadline(stores, database_url):
    store, queue, _ = stores
    store.record([decided(decision("rights", "review", signal="character")),
                  decided(decision("explicit", "review", signal="explicit")),
                  decided(decision("unreadable", "review", signal="media"))])
    # Make the rights item older than its deadline: it still waits behind higher severity.
    with Session(engine_for(database_url)) as session, session.begin():
        session.execute(update(ReviewItemRow).where(ReviewItemRow.clip_id == "rights")
                        .values(due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    assert [i.clip_id for i in queue.items("pending")] == ["explicit", "rights", "unreadable"]
    assert queue.claim_next("ana").clip_id == "explicit"
    assert queue.claim_next("bob").clip_id == "rights"   # equal severity: the overdue one first


def test_an_analyst_verdict_is_published_recorded_and_audited(stores):
    store, queue, audit = stores
    store.record([decided(decision("c1", "review"))])
    item = queue.claim_next("ana")
    published: list[Decision] = []
    result = act_on_item(queue, item.item_id, "ana", "block", "matches the claimed cat", published.append)
    assert published == [result] and result.source == "analyst" and result.verdict == "block"
    assert result.reasons[0].evidence["previous_verdict"] == "review"
    assert store.get("c1")["verdict"] == "block" and store.get("c1")["source"] == "analyst"
    assert [(d["source"], d["verdict"]) for d in audit.decision_history("c1")] == [("gate", "review"),
                                                                                 ("analyst", "block")]
    entry = audit.search(clip_id="c1", actor="ana")[0]
    assert (entry.action, entry.note, entry.before["verdict"], entry.after["verdict"]) == (
        "block", "matches the claimed cat", "review", "block")
    assert queue.item(item.item_id).status == "done"


def test_a_failed_publish_records_nothing_and_keeps_the_claim(stores):
    store, queue, audit = stores
    store.record([decided(decision("c1", "review"))])
    item = queue.claim_next("ana")

    def broker_down(_: Decision) -> None:
        raise ConnectionError("broker gone")

    with pytest.raises(ConnectionError):
        act_on_item(queue, item.item_id, "ana", "takedown", "bad", broker_down)
    assert store.get("c1")["verdict"] == "review"
    assert [d["source"] for d in audit.decision_history("c1")] == ["gate"]
    assert queue.item(item.item_id).status == "claimed"
    assert [e.action for e in audit.search(clip_id="c1")] == ["claim"]


def test_only_the_holder_of_an_unexpired_claim_can_act(stores):
    store, queue, _ = stores
    store.record([decided(decision("c1", "review"))])
    with pytest.raises(QueueError, match="not claimed by ana"):
        act_on_item(queue, queue.items()[0].item_id, "ana", "allow", "fine", lambda d: None)
    item = queue.claim_next("ana", hold=dt.timedelta(seconds=-1))   # already expired
    with pytest.raises(QueueError, match="not claimed by ana"):
        act_on_item(queue, item.item_id, "ana", "allow", "fine", lambda d: None)
    assert queue.claim_next("bob").item_id == item.item_id   # the expired claim is free again
    with pytest.raises(QueueError, match="held by bob"):
        act_on_item(queue, item.item_id, "ana", "allow", "fine", lambda d: None)


@pytest.mark.parametrize(("action", "note", "complaint"), [
    ("allow", "   ", "a note is required"),
    ("delete", "x", "action must be one of"),
    ("allow", "x" * 5000, "the limit is"),
])
def test_bad_actions_are_refused(stores, action, note, complaint):
    store, queue, _ = stores
    store.record([decided(decision("c1", "review"))])
    item = queue.claim_next("ana")
    with pytest.raises(QueueError, match=complaint):
        act_on_item(queue, item.item_id, "ana", action, note, lambda d: None)
    with pytest.raises(NotFound):
        act_on_item(queue, "no-such-item", "ana", "allow", "x", lambda d: None)


def test_two_analysts_claiming_at_once_never_get_the_same_item(stores):
    store, queue, _ = stores
    store.record([decided(decision(f"c{i}", "review")) for i in range(24)])
    claimed: dict[str, list[str]] = {f"analyst{n}": [] for n in range(4)}
    start = threading.Barrier(len(claimed))

    def work(name: str) -> None:
        start.wait()
        while (item := queue.claim_next(name)) is not None:
            claimed[name].append(item.item_id)

    threads = [threading.Thread(target=work, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    everything = [i for ids in claimed.values() for i in ids]
    assert len(everything) == 24 and len(set(everything)) == 24
    assert sum(1 for ids in claimed.values() if ids) >= 2   # they really did race


def test_escalated_items_go_to_admins_one_level_higher(stores):
    store, queue, audit = stores
    store.record([decided(decision("c1", "review"))])
    item = queue.claim_next("ana")
    raised = queue.escalate(item.item_id, "ana", "needs legal")
    assert raised.escalated and raised.status == "open" and raised.severity == item.severity + 1
    assert queue.claim_next("bob") is None
    assert queue.claim_next("root", escalated=True).item_id == item.item_id
    assert audit.search(clip_id="c1")[0].action == "claim" and "escalate" in [e.action for e in audit.search()]


def test_a_creator_disputes_a_block_and_the_history_keeps_every_step(stores):
    store, queue, audit = stores
    store.record([decided(decision("c1", "block"), creator_id="carol"), decided(decision("c2", "allow"))])
    with pytest.raises(NotFound):
        queue.file_dispute("c1", "mallory", "mine", "platform")   # someone else's clip
    with pytest.raises(QueueError, match="only block and takedown"):
        queue.file_dispute("c2", "alice", "why", "platform")
    item = queue.file_dispute("c1", "carol", "it is my own cat", "platform")
    with pytest.raises(QueueError, match="already has an open dispute"):
        queue.file_dispute("c1", "carol", "again", "platform")
    assert queue.claim_next("ana").item_id == item.item_id
    act_on_item(queue, item.item_id, "ana", "allow", "her own photo, not the claimed work", lambda d: None)
    assert [(d["source"], d["verdict"]) for d in audit.decision_history("c1")] == [("gate", "block"),
                                                                                 ("analyst", "allow")]
    assert [e.action for e in reversed(audit.search(clip_id="c1"))] == ["dispute", "claim", "allow"]


def test_frames_are_kept_for_review_and_block_and_pruned_after_retention(stores):
    store, _, _ = stores
    store.record([decided(decision("r", "review"), with_frames=True)])
    assert [i for i, _ in store.frames("r")] == [1, 30]
    assert store.frame_jpeg("r", 1)[:2] == b"\xff\xd8"    # a JPEG
    assert store.prune_frames(dt.datetime.now(dt.UTC) - dt.timedelta(days=1)) == 0
    assert store.prune_frames(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == 2
    assert store.frames("r") == [] and store.frame_jpeg("r", 1) is None


def test_queue_stats_count_depth_overdue_actions_and_verdicts(stores):
    store, queue, _ = stores
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    store.record([decided(decision("a", "review", at=now)), decided(decision("b", "review", at=now)),
                  decided(decision("c", "allow", at=now))])
    act_on_item(queue, queue.claim_next("ana").item_id, "ana", "allow", "fine", lambda d: None)
    stats = queue.stats()
    assert stats.depth == {"review": 1} and stats.overdue == 0 and stats.oldest_open is not None
    assert sum(n for _, n in stats.actions_per_hour) == 1
    assert sum(mix.get("review", 0) for _, mix in stats.verdict_mix) == 2
    assert sum(mix.get("allow", 0) for _, mix in stats.verdict_mix) == 2   # the gate's and the analyst's
    assert [ms for _, ms in stats.gate_latency_p50_ms if ms is not None] == [5.0]


def test_the_queue_orders_by_the_reasons_that_set_the_review(stores):
    """Severity comes from the policy's real ruling: the reasons that made a clip a review, not
    every reason on it. The packaged policy always adds an explicit reason, even to an allow."""
    policy = load_policy()
    calm = Signal("explicit", "open_nsfw", "v", ok=True, findings=(Finding("calm", 0.01, {
        "score_max": 0.01, "score_topk_mean": 0.01, "k": 3, "frame": 0, "t": 0.0}),))
    risky = replace(calm, findings=(Finding("risky", 0.5, {**calm.findings[0].evidence, "score_max": 0.5}),))
    alias = Signal("character", "pdq+phash+orb+alias", "v", ok=True, findings=(Finding("alias", None, {
        "claim_id": "c1", "title": "Chelsea", "action": "block", "method": "alias", "alias": "chelsea",
        "lang": "en", "words": "chelsea"}),))
    quiet = {"character": replace(alias, findings=()), "faces": Signal("faces", "dlib-resnet-v1", "v", ok=True),
             "lineage": Signal("lineage", "registry", "1", ok=True),
             "provenance": Signal("provenance", "c2pa", "v", ok=True),
             "bank": Signal("bank", "md5+pdq+vpdq", "v", ok=True),
             "voice": Signal("voice", "ge2e-resemblyzer", "v", ok=True)}
    cases = {
        "faces-failed": {**quiet, "faces": Signal("faces", "dlib-resnet-v1", "v", ok=False, error="boom"),
                         "explicit": calm},
        "explicit-review": {**quiet, "explicit": risky},
        "alias-review": {**quiet, "character": alias, "explicit": calm},
    }
    rulings = {clip: decide(signals, policy) for clip, signals in cases.items()}
    assert {clip: (r.verdict, r.severity) for clip, r in rulings.items()} == {
        "faces-failed": ("review", 4), "explicit-review": ("review", 3), "alias-review": ("review", 2)}
    store, queue, _ = stores
    now = dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)
    store.record([replace(decided(gate_decision(clip, r, policy.label, {}, now.timestamp(), now)), severity=r.severity)
                  for clip, r in rulings.items()])
    assert [i.clip_id for i in queue.items("pending")] == ["faces-failed", "explicit-review", "alias-review"]


def test_an_owner_cannot_take_down_more_than_ten_clips_before_an_analyst_checks(stores):
    from policies.decisions import owner_removal
    from registry.review import MAX_UNCHECKED_REMOVALS, TooManyRemovals

    store, queue, _ = stores
    store.record([decided(decision(f"c{i}", "allow")) for i in range(MAX_UNCHECKED_REMOVALS + 1)])
    published = []
    for i in range(MAX_UNCHECKED_REMOVALS):
        queue.file_removal(f"c{i}", "mallory", "that is me", {"distance": 0.3}, published.append, owner_removal)
    with pytest.raises(TooManyRemovals, match="has 10 removal requests"):
        queue.file_removal(f"c{MAX_UNCHECKED_REMOVALS}", "mallory", "me too", {}, published.append, owner_removal)
    assert len(published) == MAX_UNCHECKED_REMOVALS and store.get(f"c{MAX_UNCHECKED_REMOVALS}")["verdict"] == "allow"
    # An analyst checks one: room for one more.
    item = queue.claim_next("ana")
    assert item.kind == "removal_request"
    queue.act(item.item_id, "ana", "allow", "not her face", published.append, analyst_decision)
    queue.file_removal(f"c{MAX_UNCHECKED_REMOVALS}", "mallory", "me too", {}, published.append, owner_removal)
    assert store.get(f"c{MAX_UNCHECKED_REMOVALS}")["verdict"] == "takedown"
