"""The data-quality suites: each expectation fails on a batch crafted to break it (and names
itself), every suite passes on good data and on the demo's output, and `clipguard audit` exits
non-zero on a bad snapshot."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from clipguard.core.config import Settings
from quality import suites
from quality.audit import Validator
from quality.batches import claim_citation_table, decision_table, event_table
from registry.alerts import AlertStore
from registry.claims import ClaimStore, NewReference
from registry.db import engine_for
from registry.integrity import CLAIM_REFERENCE_COUNTS
from registry.models import ClaimRow
from tests.conftest import DemoRun, clipguard, form_csrf

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def good_events() -> list[dict[str, Any]]:
    return [{"schema": "clip.generated/1", "clip_id": f"clip-{i}", "creator_id": f"creator-{i % 3}",
             "media_uri": f"file:///media/clip-{i}.mp4", "created_at": "2026-11-21T11:00:00Z",
             "prompt": "a cat on the moon", "cameo_ids": ["dana"] if i % 5 == 0 else [], "attrs": {}}
            for i in range(10)]


def good_decisions() -> list[dict[str, Any]]:
    verdicts = ["allow"] * 6 + ["review"] * 2 + ["block"] * 2
    return [{"clip_id": f"clip-{i}", "verdict": v, "source": "gate", "policy_version": "default@1",
             "models": {"open_nsfw": "1"}, "latency_ms": 800.0, "decided_at": "2026-11-21T11:00:01Z",
             "reasons": [{"policy": "p", "signal": "explicit", "detail": "d", "score": 0.05 + i / 100, "evidence": {}}]}
            for i, v in enumerate(verdicts)]


def failed_checks(suite: str, frame) -> set[str]:
    expectations = {"clip_generated": suites.clip_events, "decision_log": suites.decision_log}[suite]
    result = Validator(docs_dir=None).frame(suite, expectations(suites.DriftBounds()), frame)
    return {f.check for f in result.failures}


def test_good_batches_pass_every_expectation():
    assert failed_checks("clip_generated", event_table(good_events(), NOW)) == set()
    assert failed_checks("decision_log", decision_table(good_decisions())) == set()


def _set(index: int, key: str, value: Any):
    def mutate(rows: list[dict]) -> None:
        if value is KeyError:
            del rows[index][key]
        else:
            rows[index][key] = value
    return mutate


def _all(key: str, value: Any):
    def mutate(rows: list[dict]) -> None:
        for row in rows:
            row[key] = value
    return mutate


EVENT_CASES = {
    "clip_id_present": _set(0, "clip_id", KeyError),
    "creator_id_present": _set(1, "creator_id", KeyError),
    "media_uri_present": _set(2, "media_uri", None),
    "created_at_present": _set(3, "created_at", KeyError),
    "clip_id_pattern": _set(4, "clip_id", "../../etc/passwd"),
    "creator_id_pattern": _set(4, "creator_id", "x" * 200),
    "clip_id_unique": _set(5, "clip_id", "clip-6"),
    "media_uri_scheme": _set(6, "media_uri", "https://example.com/a.mp4"),
    "created_at_parseable": _set(7, "created_at", "yesterday"),
    "created_at_not_future": _set(8, "created_at", "2027-01-01T00:00:00Z"),
    "prompt_length": _set(9, "prompt", "x" * 5000),
    "cameo_share": _all("cameo_ids", ["dana"]),
}
# A missing timestamp cannot be parsed either: that case trips both, and says so.
ALSO_FAILS = {"created_at_present": {"created_at_parseable"}}


@pytest.mark.parametrize("check", list(EVENT_CASES))
def test_each_event_expectation_fails_on_its_own_bad_batch(check: str):
    events = copy.deepcopy(good_events())
    EVENT_CASES[check](events)
    assert failed_checks("clip_generated", event_table(events, NOW)) == {check} | ALSO_FAILS.get(check, set())


DECISION_CASES = {
    "verdict_allowed": _set(0, "verdict", "maybe"),
    "reasons_for_non_allow": _set(7, "reasons", []),
    "policy_version_present": _set(1, "policy_version", None),
    "models_present": _set(2, "models", {}),
    "latency_non_negative": _set(3, "latency_ms", -5.0),
    "one_gate_decision_per_clip": _set(4, "clip_id", "clip-5"),
    "allow_share": _all("verdict", "allow"),
    "review_share": lambda rows: [row.update(verdict="review") for row in rows[2:8]],   # 60% review
    "explicit_score_mean": _all("reasons", [{"signal": "explicit", "score": 0.9, "detail": "d"}]),
}


@pytest.mark.parametrize("check", list(DECISION_CASES))
def test_each_decision_expectation_fails_on_its_own_bad_batch(check: str):
    decisions = copy.deepcopy(good_decisions())
    DECISION_CASES[check](decisions)
    assert failed_checks("decision_log", decision_table(decisions)) == {check}


def test_an_analyst_overturning_a_gate_decision_is_not_a_second_gate_decision():
    decisions = [*good_decisions(), {**good_decisions()[6], "source": "analyst", "verdict": "allow"}]
    assert "one_gate_decision_per_clip" not in failed_checks("decision_log", decision_table(decisions))


def test_drift_bounds_learned_from_a_reference_window_catch_a_shifted_mix():
    reference = decision_table([{**good_decisions()[i % 10], "clip_id": f"r{i}"} for i in range(200)])
    bounds = suites.DriftBounds.learn(reference, event_table([], NOW))
    assert bounds.learned_from == 200 and bounds.allow_share.low < 0.6 < bounds.allow_share.high
    shifted = [{**d, "verdict": "allow"} if i < 9 else d for i, d in enumerate(good_decisions())]  # 90% allow
    result = Validator(None).frame("decision_log", suites.decision_log(bounds), decision_table(shifted))
    assert "allow_share" in {f.check for f in result.failures}
    # The default bounds only catch the absurd: 90% allow passes them.
    assert "allow_share" not in failed_checks("decision_log", decision_table(shifted))


def test_registry_integrity_through_the_sql_datasource(database_url: str):
    engine = engine_for(database_url)
    claims = ClaimStore(engine)
    claim_id = claims.add("studio", "Cat", "block", [NewReference("cat", "0" * 64, "0" * 16)])
    validator = Validator(None)
    ok = validator.query("claims_ok", suites.registry_claims(), database_url, CLAIM_REFERENCE_COUNTS)
    assert ok.failures == [] and ok.rows == 1
    with Session(engine) as session, session.begin():
        session.add(ClaimRow(claim_id="bare", holder_id="studio", title="No refs", action="block", status="active",
                             created_at=NOW))
    bad = validator.query("claims_bad", suites.registry_claims(), database_url, CLAIM_REFERENCE_COUNTS)
    assert [f.check for f in bad.failures] == ["claim_has_reference"]

    citing = [{"clip_id": "c1", "verdict": "block", "reasons": [{"evidence": {"claim_id": claim_id}}]}]
    result = validator.frame("cites_ok", suites.registry_citations(), claim_citation_table(citing, claims.statuses()))
    assert result.failures == []
    with Session(engine) as session, session.begin():
        session.execute(update(ClaimRow).where(ClaimRow.claim_id == claim_id).values(status="withdrawn"))
    result = validator.frame("cites_bad", suites.registry_citations(), claim_citation_table(citing, claims.statuses()))
    assert [f.check for f in result.failures] == ["no_decision_on_withdrawn_claim"]


def _demo_copy(demo_run: DemoRun, tmp_path: Path) -> Settings:
    from dataclasses import replace

    assert demo_run.result.returncode == 0, demo_run.result.stderr[-2000:]
    home = tmp_path / "home"
    shutil.copytree(demo_run.settings.home, home, ignore=shutil.ignore_patterns("media"))
    return replace(demo_run.settings, home=home, database_url=f"sqlite:///{home / 'clipguard.db'}")


def test_the_audit_passes_on_the_demo_and_writes_data_docs(demo_run: DemoRun, tmp_path: Path):
    settings = _demo_copy(demo_run, tmp_path)
    result = clipguard(["audit"], settings, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "clip_generated       12/12 expectations met over 10 rows" in result.stdout
    assert "decision_log         9/9 expectations met over 10 rows" in result.stdout
    assert "registry_cameos" in result.stdout
    index = settings.home / "datadocs" / "index.html"
    assert index.exists() and "clip_generated" in index.read_text()


def test_the_audit_names_each_problem_in_a_bad_snapshot_and_exits_non_zero(demo_run: DemoRun, tmp_path: Path):
    settings = _demo_copy(demo_run, tmp_path)
    events = good_events()
    del events[0]["creator_id"]
    events[1]["clip_id"] = events[2]["clip_id"]
    decisions = [{**d, "verdict": "allow", "reasons": d["reasons"]} for d in good_decisions()]
    (tmp_path / "events.jsonl").write_text("\n".join(map(json.dumps, events)))
    (tmp_path / "decisions.jsonl").write_text("\n".join(map(json.dumps, decisions)))
    result = clipguard(["audit", "--events", str(tmp_path / "events.jsonl"),
                        "--decisions", str(tmp_path / "decisions.jsonl")], settings, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    assert "FAILED creator_id_present: events without creator_id" in result.stdout
    assert "FAILED clip_id_unique: the same clip_id twice in one batch" in result.stdout
    assert "FAILED allow_share: the share of allow decisions drifted (observed 1.0)" in result.stdout
    raised = {alert.check for _, _, alert in AlertStore(engine_for(settings.database_url)).recent()}
    assert raised == {"creator_id_present", "clip_id_unique", "allow_share"}


def test_the_console_shows_alerts_and_serves_data_docs_behind_its_login(demo_run: DemoRun, tmp_path: Path):
    from fastapi.testclient import TestClient

    from service.app import create_app

    settings = _demo_copy(demo_run, tmp_path)
    (tmp_path / "events.jsonl").write_text(json.dumps({"clip_id": "x"}))
    assert clipguard(["audit", "--events", str(tmp_path / "events.jsonl")], settings, timeout=300).returncode == 1
    app = create_app(settings, publish=lambda d: None)
    app.state.services.accounts.add("ana", "analyst", "correct horse battery staple")
    client = TestClient(app)
    assert client.get("/console/datadocs/index.html", follow_redirects=False).status_code == 303   # login first
    token = form_csrf(client.get("/login").text)
    client.post("/login", data={"name": "ana", "password": "correct horse battery staple", "csrf_token": token})
    overview = client.get("/console").text
    assert "creator_id_present" in overview and 'href="/console/datadocs/index.html"' in overview
    assert "clip_generated" in client.get("/console/datadocs/index.html").text
    assert client.get("/console/datadocs/..%2Fclipguard.db").status_code == 404


def test_a_script_planted_in_an_event_is_escaped_in_the_data_docs(demo_run: DemoRun, tmp_path: Path):
    settings = _demo_copy(demo_run, tmp_path)
    planted = "<script>alert(document.cookie)</script>"
    events = good_events()
    events[0]["clip_id"] = planted
    events[1]["media_uri"] = "javascript:" + planted
    (tmp_path / "events.jsonl").write_text("\n".join(map(json.dumps, events)))
    result = clipguard(["audit", "--events", str(tmp_path / "events.jsonl")], settings, timeout=300)
    assert result.returncode == 1 and "FAILED" in result.stdout, result.stdout + result.stderr[-2000:]
    pages = [p.read_text() for p in (settings.home / "datadocs").rglob("*.html")]
    assert pages and not any(planted in page for page in pages)
    assert any("&lt;script&gt;" in page or "&amp;lt;script&amp;gt;" in page for page in pages)
