"""The item page's evidence for every character method the gate reports, read through the same
measures and bars the policy judged with."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from clipguard.core.config import Settings
from clipguard.core.contracts import Decision, Reason
from service.app import create_app
from service.evidence import evidence_view
from tests.builders import AT, decided
from tests.conftest import form_csrf
from usecases.policy_files import load_policy

POLICY = load_policy()
BASE = {"claim_id": "claim", "title": "Chelsea", "action": "block", "frame": 1, "t": 0.0, "reference_id": "ref"}
REASONS = (
    Reason("p/character.pdq", "character", "d", 0.9, {**BASE, "method": "pdq", "distance": 12}),
    Reason("p/character.orb", "character", "d", 0.5, {**BASE, "method": "orb", "inliers": 57}),
    Reason("p/character.clip", "character", "d", 0.95,
           {**BASE, "method": "clip", "similarity": 0.95, "zero_shot": 0.7}),
    Reason("p/character.alias", "character", "d", None,
           {"claim_id": "claim", "title": "Chelsea", "action": "block", "method": "alias", "alias": "Chelsea",
            "lang": "en", "words": "chelsea"}),
)
DECISION = Decision("cat", "block", REASONS, POLICY.label, {"m": "1"}, AT, 5.0)


def test_every_character_method_is_shown_against_its_own_bars():
    view = evidence_view(DECISION.to_dict(), [(1, 0.0), (30, 1.0)], POLICY, {})
    lines = {line.measure: (line.value, line.bars) for line in view.scores}
    assert lines == {
        "pdq distance": (12, "match <= 31, review <= 45"),
        "ORB inliers": (57, "match >= 13, review >= 13"),
        "CLIP similarity": (0.95, "match >= 0.92 with the title likeliest at >= 0.5, review >= 0.85"),
    }
    assert [m.measure for m in view.matches] == ["pdq distance 12", "ORB inliers 57", "CLIP similarity 0.95"]
    assert len(view.frames[0].marks) == 3 and view.frames[1].marks == []   # the alias has no frame


def test_the_item_page_renders_an_orb_and_alias_decision(settings: Settings):
    app = create_app(settings, publish=lambda d: None)
    svc = app.state.services
    svc.accounts.add("ana", "analyst", "correct horse battery staple")
    review = replace(DECISION, verdict="review")
    svc.decisions.record([decided(review, with_frames=True)])
    client = TestClient(app)
    token = form_csrf(client.get("/login").text)
    client.post("/login", data={"name": "ana", "password": "correct horse battery staple", "csrf_token": token})
    claimed = client.post("/console/queue/claim", data={"csrf_token": form_csrf(client.get("/console").text)})
    bar = POLICY.signals["character"]["orb"]["match_inliers"]
    assert claimed.status_code == 200 and "ORB inliers 57" in claimed.text and f"match &gt;= {bar}" in claimed.text


def test_a_face_reason_is_boxed_on_its_frame_and_shown_against_its_model_bars():
    face = Reason("p/consent", "consent", "d", 0.7,
                  {"kind": "cameo", "subject_id": "ana", "name": "ana", "distance": 0.41, "frame": 30, "t": 1.0,
                   "box": [0.25, 0.1, 0.2, 0.4], "model": "dlib-resnet-v1", "creator_permitted": False})
    view = evidence_view(replace(DECISION, reasons=(face,)).to_dict(), [(1, 0.0), (30, 1.0)], POLICY, {})
    assert [(s.signal, s.value, s.bars) for s in view.scores] == [("consent", 0.41, "match <= 0.575, review <= 0.6")]
    assert view.frames[1].boxes == [(0.25, 0.1, 0.2, 0.4, "ana")] and view.frames[0].boxes == []
