"""Voices through the public doors: a public figure and a cameo owner enrolled from recordings
(CLI and API), clips whose only likeness is a voice in the soundtrack blocked or allowed by
whom the owner permits, and a revoked cameo's published clips taken down from their stored
voices."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from classifiers.voice.encoder import VoiceEncoder
from classifiers.voice.handler import VoiceHandler
from clipguard.core.config import MediaLimits, Settings
from clipguard.core.contracts import ClipGenerated
from clipguard.core.media import Audio, SampledClip
from clipguard.core.people import REVOKED, Gallery
from clipguard.core.signals import ClipInput
from fixtures.audio import speakers_speech, write_audio, write_clip_with_audio
from media.uploads import Upload
from pipelines.kafka_io import read_decisions
from pipelines.retroscan import run_cameo_retroscan
from policies.consent import permits
from registry.db import migrate
from registry.faces import FaceStore
from registry.store import DecidedClip, DecisionStore
from service.app import create_app
from tests.builders import AT, decision
from tests.conftest import clipguard
from usecases.enrolment import enrol_person

pytestmark = pytest.mark.skipif(not speakers_speech(), reason="no calibration speech beside the checkout")
RATE = 16_000
FIGURE, OWNER, STRANGER = "1688", "1998", "2033"     # speakers with ten utterances each


def utterance(who: str, index: int, seconds: float | None = None) -> np.ndarray:
    samples = speakers_speech()[who][index]
    return samples if seconds is None else samples[:int(seconds * RATE)]


def recording(tmp_path: Path, name: str, samples: np.ndarray) -> Path:
    return write_audio(tmp_path / "recordings" / name, samples)


def test_voices_enrolled_through_the_cli_block_clips_that_speak_in_them(settings: Settings, tmp_path: Path):
    figure = recording(tmp_path, "figure.flac", np.concatenate([utterance(FIGURE, 0), utterance(FIGURE, 1)]))
    owner = recording(tmp_path, "owner.m4a", np.concatenate([utterance(OWNER, 0), utterance(OWNER, 2)]))
    pair = recording(tmp_path, "pair.wav", np.concatenate([utterance(FIGURE, 7, 7), utterance(OWNER, 5, 7)]))
    added = clipguard(["figures", "add", "--name", "Ada Reader", "--voice", str(figure)], settings, timeout=120)
    assert added.returncode == 0, added.stderr
    enrolled = clipguard(["cameos", "enroll", "--user", "olga", "--voice", str(owner), "--permission", "approved",
                          "--allow", "bob"], settings, timeout=120)
    assert enrolled.returncode == 0, enrolled.stderr
    refused = clipguard(["figures", "add", "--name", "Two People", "--voice", str(pair)], settings, timeout=120)
    assert refused.returncode == 2 and "pair.wav: 2 voices" in refused.stderr
    nothing = clipguard(["figures", "add", "--name", "Nobody"], settings)
    assert nothing.returncode == 2 and "at least one photo, clip or recording" in nothing.stderr
    listed = clipguard(["figures", "list", "--json"], settings)
    assert [(f["name"], f["photos"], f["voices"]) for f in map(json.loads, listed.stdout.splitlines())] == [
        ("Ada Reader", 0, 1)]

    still = np.full((240, 320, 3), 90, np.uint8)
    clips = {name: write_clip_with_audio(tmp_path / "clips" / f"{name}.mp4", still, samples) for name, samples in {
        "figure-speaks": utterance(FIGURE, 6, 6), "owner-speaks": utterance(OWNER, 3, 6),
        "stranger-speaks": utterance(STRANGER, 3, 6)}.items()}

    def scan(creator: str, *paths: Path) -> dict[str, dict]:
        done = clipguard(["scan", *map(str, paths), "--creator", creator, "--cameo", "olga", "--json"], settings,
                         timeout=180)
        assert done.returncode == 0, done.stderr
        return {d["clip_id"]: d for d in map(json.loads, done.stdout.splitlines())}

    by_bob = scan("bob", *clips.values())
    assert {c: d["verdict"] for c, d in by_bob.items()} == {
        "figure-speaks": "block", "owner-speaks": "allow", "stranger-speaks": "allow"}
    likeness, = [r for r in by_bob["figure-speaks"]["reasons"] if r["signal"] == "likeness"]
    assert likeness["evidence"]["family"] == "voice" and likeness["evidence"]["name"] == "Ada Reader"
    assert "a voice matches public figure 'Ada Reader'" in likeness["detail"]
    assert "ge2e-resemblyzer" in by_bob["stranger-speaks"]["models"]
    by_mallory = scan("mallory", clips["owner-speaks"])
    consent, = [r for r in by_mallory["owner-speaks"]["reasons"] if r["signal"] == "consent"]
    assert by_mallory["owner-speaks"]["verdict"] == "block" and consent["evidence"]["subject_id"] == "olga"


def test_a_cameo_owner_enrols_a_voice_through_the_api_and_bad_audio_is_refused(settings: Settings, tmp_path: Path):
    app = create_app(settings)
    svc = app.state.services
    svc.accounts.add("olga", "cameo_owner")
    headers = {"Authorization": f"Bearer {svc.accounts.issue_token('olga')}"}
    silence = recording(tmp_path, "silence.wav", np.zeros(8 * RATE, np.float32))
    voice = recording(tmp_path, "me.flac", utterance(OWNER, 0))
    with TestClient(app) as client:
        refused = client.put("/v1/cameos/olga", headers=headers, data={"permission": "only_me"},
                             files={"voice": ("silence.wav", silence.read_bytes(), "audio/wav")})
        assert refused.status_code == 422 and "silence.wav: 0.0 s of speech" in refused.text
        assert client.get("/v1/cameos/olga", headers=headers).status_code == 404     # nothing stored
        empty = client.put("/v1/cameos/olga", headers=headers, data={"permission": "only_me"})
        assert empty.status_code == 422 and "at least one photo, clip or recording" in empty.text
        enrolled = client.put("/v1/cameos/olga", headers=headers, data={"permission": "only_me"},
                              files={"voice": ("me.flac", voice.read_bytes(), "audio/flac")})
        assert enrolled.status_code == 201, enrolled.text
        assert (enrolled.json()["photos"], enrolled.json()["voices"]) == (0, 1)


def test_revoking_a_voice_cameo_takes_down_published_clips_that_speak_in_it(settings: Settings, tmp_path: Path,
                                                                           bootstrap: str):
    settings = replace(settings, kafka_bootstrap=bootstrap)
    engine = migrate(settings.database_url)
    store, faces = DecisionStore(engine), FaceStore(engine)
    voice = recording(tmp_path, "me.flac", utterance(OWNER, 0))
    encoder = VoiceEncoder()
    voices = enrol_person([], [Upload("me.flac", voice.read_bytes())], MediaLimits(), lambda: None, lambda: encoder)
    faces.enroll("olga", voices, "everyone", [], "olga")
    handler = VoiceHandler(lambda _: Gallery(), permits)
    model = handler.load_model()

    def published(clip_id: str, creator: str, samples: np.ndarray) -> None:
        """A clip the gate allowed, with the voice features it would have stored."""
        event = ClipGenerated(clip_id, creator, f"file:///media/{clip_id}.mp4", AT)
        signal, = handler.score(model, [ClipInput(event, SampledClip((), 6.0, 320, 240, 0,
                                                                     audio=Audio(samples, RATE)))])
        store.record([DecidedClip(replace(decision(clip_id, "allow"), reasons=()), json.loads(event.to_json()),
                                  {"voice": (signal.model_version, signal.features)})])

    published("bob-with-olga", "bob", utterance(OWNER, 4, 6))
    published("olga-herself", "olga", utterance(OWNER, 5, 6))
    published("bob-stranger", "bob", utterance(STRANGER, 4, 6))

    assert run_cameo_retroscan(settings, "olga").taken_down == []        # everyone is still permitted
    faces.set_permission("olga", REVOKED, [], "olga")
    result = run_cameo_retroscan(settings, "olga")
    assert result.taken_down == ["bob-with-olga"] and result.scanned == 3
    on_kafka = read_decisions(bootstrap, {"bob-with-olga"}, timeout_s=30)
    reason = on_kafka["bob-with-olga"]["reasons"][0]
    assert reason["signal"] == "consent" and reason["evidence"]["family"] == "voice"
    assert store.get("olga-herself")["verdict"] == "allow" and store.get("bob-stranger")["verdict"] == "allow"
    assert [s.clip_id for s in faces.sightings("cameo", "olga")] == ["bob-with-olga"]
