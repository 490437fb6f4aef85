"""Every registered signal family meets the manifest's contract, as python-threatexchange's
`SignalTypeAutoTest` holds every signal type to its interface. A new family gets these checks
by registering, with nothing to write here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from clipguard.core import families
from clipguard.core.config import Settings
from clipguard.core.contracts import VERDICTS, Reason
from clipguard.core.families import HandlerContext, ReasonView
from clipguard.core.people import Gallery
from policies.consent import permits
from policies.engine import PolicyError, decide, parse_policy
from usecases.policy_files import load_policy

MANIFESTS = families.registered()


def test_the_shipped_families_are_registered():
    assert {m.family for m in MANIFESTS} >= {"character", "faces", "explicit"}
    assert len({m.order for m in MANIFESTS}) == len(MANIFESTS), "two families share a place in the chain"


@pytest.fixture(params=MANIFESTS, ids=lambda m: m.family)
def manifest(request: pytest.FixtureRequest) -> families.SignalFamilyManifest:
    return request.param


def test_it_names_its_reason_kinds_with_a_queue_severity(manifest):
    assert manifest.reasons, f"{manifest.family} emits no reason kind"
    assert all(isinstance(s, int) and s >= 1 for s in manifest.reasons.values())
    assert all(families.reason_severity(kind) == s for kind, s in manifest.reasons.items())
    assert families.reason_severity(manifest.family) == manifest.failure_severity


def test_its_handler_is_built_from_the_context_without_loading_a_model(manifest, tmp_path: Path):
    settings = Settings(home=tmp_path, database_url="sqlite://", kafka_bootstrap="127.0.0.1:1", media_roots=())
    handler = manifest.handler(HandlerContext(settings, claims=lambda: None, galleries=lambda model: Gallery(),
                                              permits=permits))
    assert handler.name == manifest.family
    assert handler.model_name


def test_its_rule_judges_its_example_with_its_own_reason_kinds(manifest):
    section = manifest.example_policy
    manifest.check_policy(section)
    ruled = manifest.rule(manifest.example(), section, "conformance@1", {})
    assert ruled, f"{manifest.family}'s rule gave no reason for its own example"
    for verdict, reason in ruled:
        assert verdict in VERDICTS
        assert isinstance(reason, Reason) and reason.signal in manifest.reasons
        assert reason.policy.startswith("conformance@1/") and reason.detail


def test_its_example_is_never_allowed_past_a_failure(manifest):
    policy = parse_policy(f"name: conformance\nversion: '1'\nrequired_signals: [{manifest.family}]\n")
    failed = replace(manifest.example(), ok=False, error="boom", findings=())
    ruling = decide({manifest.family: failed}, policy)
    assert ruling.verdict != "allow"
    assert ruling.severity == manifest.failure_severity


def test_its_view_draws_each_reason_its_rule_gives(manifest):
    section = manifest.example_policy
    for _, reason in manifest.rule(manifest.example(), section, "conformance@1", {}):
        body = {"policy": reason.policy, "signal": reason.signal, "detail": reason.detail, "score": reason.score,
                "evidence": reason.evidence}
        drawn = manifest.view(body, section, {})
        assert drawn and all(isinstance(view, ReasonView) for view in drawn)
        assert any(v.marks or v.boxes or v.scores for v in drawn), f"{manifest.family}'s view drew nothing"
        assert all(isinstance(v, ReasonView) for v in manifest.view(body, None, {}))   # no section for it


def test_its_policy_check_refuses_a_broken_section(manifest):
    with pytest.raises((ValueError, KeyError, TypeError)):
        manifest.check_policy({"models": {"x": {"match_distance": 2, "review_distance": 1}},
                               "declared": {"verdict": "allow"}, "pdq": {"match_distance": 9, "review_distance": 1},
                               "block": 0.1, "review": 0.9})


def test_the_packaged_policy_has_a_section_for_every_family():
    policy = load_policy()
    assert set(policy.signals) == {m.family for m in MANIFESTS}
    assert set(policy.required_signals) == {m.family for m in MANIFESTS}


def test_a_policy_section_for_no_family_is_refused():
    with pytest.raises(PolicyError, match="no rule for signal"):
        parse_policy("name: p\nversion: '1'\nsignals: {nonesuch: {}}\n")


def test_a_bench_entry_names_a_callable(manifest):
    if manifest.bench is None:
        pytest.skip(f"{manifest.family} has no bench harness")
    suite, target = manifest.bench
    assert suite and callable(families.resolve(target))
