"""Shadow policies, backtests and promotion, below the gate: the transition matrix, the diff of
two policies, the stored inputs a backtest re-decides, and the audited promotion."""

import datetime as dt
from dataclasses import replace

import pytest

from clipguard.core.signals import Finding, Signal
from policies.diff import ABSENT, policy_diff
from policies.engine import decide
from policies.transitions import SAMPLES_PER_CELL, Transitions
from registry.db import engine_for
from registry.inputs import DecisionInputs, StoredInputs
from registry.policy_versions import PolicyVersions, PromotionRefused
from registry.review import AuditLog
from registry.shadows import ShadowDecisions
from registry.store import DecisionStore
from tests.builders import decided, decision
from usecases.backtest import backtest, redecide, shadow_transitions
from usecases.policy_files import live_policy, load_policy, shadow_policies

LIVE = load_policy()


def explicit(score: float) -> Signal:
    evidence = {"score_max": score, "score_topk_mean": score, "k": 3, "frame": 30, "t": 1.0}
    return Signal("explicit", "open_nsfw", "v", ok=True, findings=(Finding(f"explicit {score}", score, evidence),))


def signals(score: float) -> dict[str, Signal]:
    return {"explicit": explicit(score),
            "character": Signal("character", "pdq+phash+orb+alias", "v", ok=True),
            "faces": Signal("faces", "dlib-resnet-v1", "v", ok=True),
            "lineage": Signal("lineage", "registry", "1", ok=True),
            "provenance": Signal("provenance", "c2pa", "v", ok=True),
            "bank": Signal("bank", "md5+pdq+vpdq", "v", ok=True),
            "music": Signal("music", "landmarks", "v", ok=True),
            "voice": Signal("voice", "ge2e-resemblyzer", "v", ok=True)}


def stricter(review: float, version: str = "shadow-1"):
    return replace(LIVE, version=version, signals={**LIVE.signals, "explicit": {**LIVE.signals["explicit"],
                                                                                "review": review}})


def inputs_of(score: float, attrs: dict | None = None, media_error=None) -> dict:
    records = [s.as_record() for s in signals(score).values()]
    return {"attrs": attrs or {}, "media_error": media_error, "signals": records}


def test_a_signal_survives_its_record_and_is_judged_the_same():
    signal = explicit(0.31)
    again = Signal.from_record(signal.as_record())
    assert again == replace(signal, features={}, elapsed_ms=0.0)
    assert decide({"explicit": again}, LIVE).reasons == decide({"explicit": signal}, LIVE).reasons


def test_transitions_count_cells_keep_few_samples_and_say_what_the_queue_gains():
    t = Transitions("p@2", days=2.0)
    for i in range(7):
        t.add(f"a{i}", "allow", "review")
    t.add("r", "review", "allow")
    t.add("b", "block", "block")
    assert (t.clips, t.changed, t.reviews_added, t.reviews_removed) == (9, 8, 7, 1)
    assert len(t.samples[("allow", "review")]) == SAMPLES_PER_CELL
    body = t.to_dict()
    assert body["queue"] == {"reviews_added": 7, "reviews_removed": 1, "added_per_day": 3.5, "removed_per_day": 0.5}
    assert [(c["live"], c["candidate"], c["count"]) for c in body["matrix"]] == [
        ("allow", "review", 7), ("review", "allow", 1), ("block", "block", 1)]
    assert "8 of 9 clips change verdict" in t.table()[-1]
    # Under a day of traffic is not extrapolated into a daily flood.
    assert Transitions("p@2", days=0.01).per_day(5) == 5


def test_a_policy_diff_names_each_changed_bar_and_nothing_else():
    shadow = stricter(0.1)
    shadow = replace(shadow, signals={**shadow.signals, "faces": {k: v for k, v in shadow.signals["faces"].items()
                                                                  if k != "declared"}})
    changes = {c.path: (c.before, c.after) for c in policy_diff(LIVE, shadow)}
    assert changes == {"signals.explicit.review": (0.2, 0.1), "signals.faces.declared.verdict": ("review", ABSENT)}
    assert policy_diff(LIVE, LIVE) == []


def test_a_stored_clip_is_redecided_from_its_inputs_alone():
    stored = StoredInputs("c1", LIVE.label, "allow", inputs_of(0.15))
    assert redecide(stored, LIVE) == "allow"
    assert redecide(stored, stricter(0.1)) == "review"
    teen = StoredInputs("c2", LIVE.label, "review", inputs_of(0.15, {"audience": "teen"}))
    assert redecide(teen, LIVE) == "review"           # the audience's stricter bar, from the stored attrs
    broken = StoredInputs("c3", LIVE.label, "review", inputs_of(0.0, media_error=["media_corrupt", "bad"]))
    assert redecide(broken, stricter(0.1)) == "review"


def test_a_shadow_needs_a_label_of_its_own(tmp_path):
    same = tmp_path / "same.yaml"
    same.write_text(open(_default_path()).read())
    with pytest.raises(ValueError, match="is used twice"):
        shadow_policies(LIVE, [same])


def _default_path():
    from importlib import resources
    return str(resources.files("policies").joinpath("default.yaml"))


def stored_gate(database_url: str, scores: dict[str, float], shadow=None) -> DecisionStore:
    """The gate's record of clips with these explicit scores: live decisions, inputs, shadows."""
    store = DecisionStore(engine_for(database_url))
    clips = []
    for i, (clip_id, score) in enumerate(scores.items()):
        at = f"2026-11-2{1 + i % 3}T10:00:00.000Z"
        live = replace(decision(clip_id, decide(signals(score), LIVE).verdict, at=at), policy_version=LIVE.label)
        shadows = () if shadow is None else (replace(live, verdict=decide(signals(score), shadow).verdict,
                                                     policy_version=shadow.label),)
        clips.append(replace(decided(live), inputs=inputs_of(score), shadows=shadows))
    store.record(clips)
    return store


def test_a_backtest_equals_the_shadows_decisions_on_the_same_clips(database_url: str):
    scores = {"calm": 0.05, "mild": 0.15, "warm": 0.5, "hot": 0.95, "edge": 0.1}
    shadow = stricter(0.1)
    stored_gate(database_url, scores, shadow)
    engine = engine_for(database_url)
    result = backtest(database_url, shadow)
    assert dict(result.counts) == {("allow", "allow"): 1, ("allow", "review"): 2, ("review", "review"): 1,
                                   ("block", "block"): 1}
    assert sorted(result.samples[("allow", "review")]) == ["edge", "mild"]
    assert result.days == pytest.approx(2.0)
    [seen] = shadow_transitions(ShadowDecisions(engine))
    assert (seen.candidate, dict(seen.counts)) == (shadow.label, dict(result.counts))
    # The live policy itself changes nothing: the stored inputs are what the gate decided from.
    assert backtest(database_url, LIVE).changed == 0
    # Cut into slices, one process each, it adds up to the same.
    sliced = backtest(database_url, shadow, workers=2)
    assert (dict(sliced.counts), sliced.days) == (dict(result.counts), result.days)
    # A window keeps to the clips decided within it.
    day = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    assert backtest(database_url, shadow, since=day, until=day + dt.timedelta(days=1)).clips == 2


def test_inputs_are_kept_for_every_verdict_and_pruned_after_retention(database_url: str):
    stored_gate(database_url, {"a": 0.05, "b": 0.95}, stricter(0.1))
    engine = engine_for(database_url)
    inputs = DecisionInputs(engine)
    assert {s.clip_id: s.verdict for s in inputs.between()} == {"a": "allow", "b": "block"}
    cutoff = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    assert inputs.prune(cutoff) == 1 and ShadowDecisions(engine).prune(cutoff) == 1
    assert [s.clip_id for s in inputs.between()] == ["b"]


def test_a_promotion_is_audited_retires_the_live_one_and_keeps_labels_immutable(database_url: str):
    engine = engine_for(database_url)
    versions = PolicyVersions(engine)
    text = open(_default_path()).read()
    assert versions.promote(LIVE.label, text, "ana", "first") is None
    shadow_text = text.replace(f'version: "{LIVE.version}"', 'version: "next"').replace("review: 0.2", "review: 0.1")
    assert versions.promote("default@next", shadow_text, "ana", "lower the explicit review bar").label == LIVE.label
    assert [(v.label, v.state) for v in versions.history()] == [("default@next", "live"), (LIVE.label, "retired")]
    assert live_policy(engine.url.render_as_string(hide_password=False)).signals["explicit"]["review"] == 0.1
    with pytest.raises(PromotionRefused, match="already live"):
        versions.promote("default@next", shadow_text, "ana", "again")
    with pytest.raises(PromotionRefused, match="new version"):
        versions.promote(LIVE.label, text + "\n# changed\n", "ana", "sneaky")
    [entry, _] = [e for e in AuditLog(engine).search(actor="ana") if e.action == "policy_promote"]
    assert (entry.actor, entry.note, entry.before, entry.after) == (
        "ana", "lower the explicit review bar", {"live": LIVE.label}, {"live": "default@next"})
