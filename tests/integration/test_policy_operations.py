"""The policy-operations issue's outside test, on a real gate and broker: a shadow policy whose
explicit review bar differs decides every clip beside the live one, /metrics counts its
transitions, `clipguard policy backtest` re-decides the stored inputs into the same matrix, and the
console shows it. Only the live decisions are published. A remix of a taken-down clip is reviewed
with its parent's reasons."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from classifiers.character.handler import hash_frame
from clipguard.app.broker import free_port
from clipguard.app.demo import start_gate
from clipguard.core.config import Settings
from clipguard.core.contracts import ClipGenerated
from fixtures.clips import image
from pipelines.kafka_io import read_decisions
from registry.claims import ClaimStore, NewReference
from registry.db import engine_for, migrate
from service.app import create_app
from tests.conftest import clipguard, form_csrf
from tests.gate_helpers import await_committed, clip_event, publish, scrape
from usecases.policy_files import load_policy

CLIPS = {"coffee": "coffee-pan.mp4", "rocket": "rocket-launch.mp4", "montage": "space-montage.mp4",
         "cat": "cat-cutin.mp4", "broken": "corrupt.mp4"}
SHADOW_VERSION = "shadow-review-everything"
DEFAULT_POLICY = Path(__file__).parents[2] / "policies" / "default.yaml"


@pytest.fixture
def shadow_file(tmp_path: Path) -> Path:
    """The packaged policy under its own version, with an explicit review bar of 0: every readable
    clip the live policy allows, the shadow sends to review."""
    live = load_policy()
    text = DEFAULT_POLICY.read_text()
    shadow = text.replace(f'version: "{live.version}"', f'version: "{SHADOW_VERSION}"').replace(
        "    review: 0.2\n", "    review: 0.0\n")
    assert shadow.count(SHADOW_VERSION) == 1 and "    review: 0.0\n" in shadow
    path = tmp_path / "shadow.yaml"
    path.write_text(shadow)
    return path


def test_a_shadow_policys_transitions_on_metrics_match_its_backtest_and_the_console(
        settings: Settings, bootstrap: str, clips_dir: Path, tmp_path: Path, shadow_file: Path):
    s = replace(settings, kafka_bootstrap=bootstrap)
    migrate(s.database_url)
    cat = hash_frame(image("chelsea"))
    claims = ClaimStore(engine_for(s.database_url))
    claims.add("studio", "Chelsea", "takedown", [NewReference("cat", cat.pdq, cat.phash)])
    publish(bootstrap, [clip_event(c, clips_dir / name) for c, name in CLIPS.items()])
    port = free_port()
    gate = start_gate(s, "--shadow-policy", str(shadow_file), log=tmp_path / "gate.log", metrics_port=port)
    try:
        published = read_decisions(bootstrap, set(CLIPS), timeout_s=180)
        # A remix of the taken-down clip, with clean media of its own, comes after its parent.
        publish(bootstrap, [ClipGenerated("cat-remix", "bob", (clips_dir / "coffee-pan.mp4").as_uri(),
                                          "2026-11-21T10:00:00Z", remix_of="cat").to_json()])
        published |= read_decisions(bootstrap, {"cat-remix"}, timeout_s=120)
        await_committed(bootstrap, len(CLIPS) + 1)
        assert gate.poll() is None, (tmp_path / "gate.log").read_text()[-2000:]
        samples = scrape(port)
    finally:
        gate.terminate()
        gate.wait(timeout=30)

    live, shadow = load_policy().label, load_policy(shadow_file).label
    live_verdicts = {c: d["verdict"] for c, d in published.items()}
    assert live_verdicts == {"coffee": "allow", "rocket": "allow", "montage": "allow", "cat": "takedown",
                             "broken": "review", "cat-remix": "review"}
    lineage = published["cat-remix"]["reasons"][0]
    assert lineage["signal"] == "lineage" and lineage["evidence"]["parent_verdict"] == "takedown"
    assert "matches claim 'Chelsea'" in lineage["detail"]      # the parent's reasons travel with it
    assert {d["policy_version"] for d in published.values()} == {live}      # the shadow's are never published
    expected = {("allow", "review"): 3, ("takedown", "takedown"): 1, ("review", "review"): 2}
    on_metrics = {(labels["live_verdict"], labels["shadow_verdict"]): value
                  for (name, pairs), value in samples.items() if name == "clipguard_gate_shadow_decisions_total"
                  for labels in [dict(pairs)] if labels["shadow"] == shadow}
    assert on_metrics == expected

    backtest = clipguard(["policy", "backtest", "--policy", str(shadow_file), "--json"], s)
    assert backtest.returncode == 0, backtest.stderr
    report = json.loads(backtest.stdout)
    assert {(c["live"], c["candidate"]): c["count"] for c in report["matrix"]} == expected
    assert report["queue"]["reviews_added"] == 3 and report["queue"]["reviews_removed"] == 0
    unchanged = json.loads(clipguard(["policy", "backtest", "--policy", str(DEFAULT_POLICY), "--json"], s).stdout)
    assert unchanged["changed"] == 0 and unchanged["clips"] == len(CLIPS) + 1
    shadows = json.loads(clipguard(["policy", "shadows", "--json"], s).stdout)
    assert {(c["live"], c["candidate"]): c["count"] for c in shadows["matrix"]} == expected

    diff = clipguard(["policy", "diff", str(DEFAULT_POLICY), str(shadow_file)], s)
    assert diff.returncode == 1 and "signals.explicit.review: 0.2 -> 0.0" in diff.stdout
    assert "1 setting(s) differ" in diff.stdout

    console_shows_the_matrix_and_samples(s, shadow)


def console_shows_the_matrix_and_samples(s: Settings, shadow: str) -> None:
    from fastapi.testclient import TestClient

    app = create_app(s, publish=lambda _: None)
    app.state.services.accounts.add("ana", "analyst", "correct horse battery staple")
    with TestClient(app) as client:
        form = client.get("/login")
        client.post("/login", data={"name": "ana", "password": "correct horse battery staple",
                                    "csrf_token": form_csrf(form.text)}, follow_redirects=False)
        overview = client.get("/console/policy-changes")
        assert overview.status_code == 200 and shadow in overview.text
        assert 'data-live="allow" data-shadow-verdict="review"><a href=' in overview.text
        cell = client.get("/console/policy-changes", params={"shadow": shadow, "live": "allow", "candidate": "review"})
        assert cell.status_code == 200
        for clip in ("coffee", "rocket", "montage"):
            assert f'href="/console/clips/{clip}"' in cell.text
        assert "required signal" not in cell.text and "explicit top-" in cell.text
        assert client.get("/console/policy-changes", params={"shadow": "nope@1"}).status_code == 404
