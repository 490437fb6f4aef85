"""The item page's evidence for every character method the gate reports, a face's box and a
voice's stretch of the soundtrack, read through the same measures and bars the policy judged
with."""

from __future__ import annotations

import io
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from clipguard.core.config import Settings
from clipguard.core.contracts import Decision, Reason
from fixtures.audio import write_clip_with_audio
from media.soundtrack import STRIP_SIZE
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


VOICE = Reason("p/likeness", "likeness", "d", 0.5,
               {"kind": "figure", "subject_id": "f1", "name": "Ada", "distance": 0.5, "speaker": 0,
                "clip_range": [1.0, 3.5], "seconds": 2.4, "family": "voice", "model": "ge2e-resemblyzer",
                "creator_permitted": False})


def test_a_voice_reason_marks_its_stretch_of_the_soundtrack_not_a_frame():
    view = evidence_view(replace(DECISION, reasons=(VOICE,)).to_dict(), [(1, 0.0)], POLICY, {})
    bars = POLICY.signals["voice"]["models"]["ge2e-resemblyzer"]
    assert [(s.measure, s.value) for s in view.scores] == [("voice distance to Ada", 0.5)]
    assert f"match <= {bars['match_distance']}" in view.scores[0].bars
    assert view.frames[0].boxes == [] and view.frames[0].marks == []
    sound, = view.sounds
    assert (sound.start, sound.end) == (1.0, 3.5) and "Ada's voice" in sound.label
    assert sound.strip_url == "/console/sound/cat.png?start=1.00&end=3.50"


def test_the_item_page_shows_and_plays_the_stretch_a_reason_heard(settings: Settings, tmp_path: Path):
    settings = replace(settings, media_roots=(tmp_path,))
    rng = np.random.default_rng(0)
    clip = write_clip_with_audio(tmp_path / "talk.mp4", np.full((120, 160, 3), 80, np.uint8),
                                 (0.1 * rng.standard_normal(6 * 16_000)).astype(np.float32))
    app = create_app(settings, publish=lambda d: None)
    svc = app.state.services
    svc.accounts.add("ana", "analyst", "correct horse battery staple")
    review = replace(DECISION, clip_id="talk", verdict="review", reasons=(VOICE,))
    stored = decided(review)
    svc.decisions.record([replace(stored, event={**stored.event, "media_uri": clip.as_uri()})])
    svc.decisions.record([decided(replace(DECISION, clip_id="gone", verdict="review", reasons=(VOICE,)))])
    client = TestClient(app)
    token = form_csrf(client.get("/login").text)
    client.post("/login", data={"name": "ana", "password": "correct horse battery staple", "csrf_token": token})
    claimed = client.post("/console/queue/claim", data={"csrf_token": form_csrf(client.get("/console").text)})
    assert claimed.status_code == 200 and "Soundtrack" in claimed.text
    strip = client.get("/console/sound/talk.png?start=1&end=3.5")
    assert strip.status_code == 200 and strip.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(strip.content)).size == STRIP_SIZE
    excerpt = client.get("/console/sound/talk.wav?start=1&end=3.5")
    assert excerpt.status_code == 200 and excerpt.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(excerpt.content)) as wav:
        assert abs(wav.getnframes() / wav.getframerate() - 2.5) < 0.01
    assert client.get("/console/sound/talk.wav?start=3&end=1").status_code == 422
    missing = client.get("/console/sound/gone.png?start=1&end=2")
    assert missing.status_code == 404 and "cannot be read" in missing.text
    assert client.get("/console/sound/nobody.png?start=1&end=2").status_code == 404
    assert TestClient(app).get("/console/sound/talk.wav?start=1&end=2", follow_redirects=False).status_code in (
        303, 401)      # no session, no sound
