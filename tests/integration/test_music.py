"""Claimed recordings through the public doors: a label files a song through the CLI or the API,
and clips whose only claimed content is its sound (a still image over an excerpt) are blocked,
while other music and speech are not."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from classifiers.music.handler import peak_features
from classifiers.music.landmarks import peaks
from clipguard.core.config import Settings
from fixtures.audio import excerpt, song, speech, with_voice_over, write_audio, write_clip_with_audio
from fixtures.clips import as_rgb, image
from media.uploads import Upload
from pipelines.kafka_io import read_decisions
from pipelines.retroscan import run_retroscan
from registry.claims import ClaimStore
from registry.db import engine_for
from registry.store import DecisionStore
from service.app import create_app
from tests.builders import decided, decision
from tests.conftest import clipguard
from usecases.references import build_references

SONG_SEED, SONG_S = 7, 60


@pytest.fixture(scope="module")
def claimed_song() -> np.ndarray:
    return song(SONG_SEED, SONG_S)


@pytest.fixture
def soundtracks(tmp_path: Path, claimed_song: np.ndarray) -> dict[str, Path]:
    still = as_rgb(image("coffee"))[:240, :320].copy()
    clips = {"excerpt": excerpt(claimed_song, 21.3, 6),
             "voiced": with_voice_over(excerpt(claimed_song, 40.1, 6), speech(3)),
             "other-song": excerpt(song(99, 30), 5, 6),
             "speech": speech(5)[:6 * 16_000]}
    return {name: write_clip_with_audio(tmp_path / "clips" / f"{name}.mp4", still, samples)
            for name, samples in clips.items()}


def test_a_claimed_song_blocks_its_excerpts_alone_and_under_a_voice_over(settings: Settings, tmp_path: Path,
                                                                         soundtracks: dict[str, Path],
                                                                         claimed_song: np.ndarray):
    reference = write_audio(tmp_path / "song.ogg", claimed_song)
    filed = clipguard(["claims", "add", "--holder", "label", "--title", "Song Seven", "--reference", str(reference),
                       "--action", "block"], settings, timeout=120)
    assert filed.returncode == 0, filed.stderr
    stored = ClaimStore(engine_for(settings.database_url)).get(filed.stdout.strip(), "label")
    assert [r["media_kind"] for r in stored.references] == ["audio"] and stored.references[0]["audio"]

    result = clipguard(["scan", *map(str, soundtracks.values()), "--creator", "bob", "--json"], settings, timeout=180)
    assert result.returncode == 0, result.stderr
    decisions = {d["clip_id"]: d for d in map(json.loads, result.stdout.splitlines())}
    assert {c: d["verdict"] for c, d in decisions.items()} == {
        "excerpt": "block", "voiced": "block", "other-song": "allow", "speech": "allow"}
    music, = [r for r in decisions["excerpt"]["reasons"] if r["signal"] == "music"]
    assert music["evidence"]["title"] == "Song Seven"
    start, end = music["evidence"]["reference_range"]
    assert abs(start - 21.3) < 0.6 and end - start > 3     # where in the song, as well as which
    assert "landmarks" in decisions["speech"]["models"]


def test_the_api_takes_recordings_and_refuses_silence_with_nothing_stored(settings: Settings, tmp_path: Path,
                                                                           claimed_song: np.ndarray):
    app = create_app(settings)
    accounts = app.state.services.accounts
    accounts.add("label", "rights_holder")
    headers = {"Authorization": f"Bearer {accounts.issue_token('label')}"}
    mp3 = write_audio(tmp_path / "song.mp3", claimed_song[:20 * 16_000], bitrate=64_000)
    silent = write_audio(tmp_path / "silence.wav", np.zeros(8 * 16_000, np.float32))
    with TestClient(app) as client:
        refused = client.post("/v1/claims", headers=headers, data={"title": "Quiet", "action": "block"},
                              files=[("reference", ("silence.wav", silent.read_bytes(), "audio/wav"))])
        assert refused.status_code == 422, refused.text
        assert "silence.wav" in refused.text and "too little distinct sound" in refused.text
        assert client.get("/v1/claims", headers=headers).json() == []
        filed = client.post("/v1/claims", headers=headers, data={"title": "Song Seven", "action": "takedown"},
                            files=[("reference", ("song.mp3", mp3.read_bytes(), "audio/mpeg"))])
        assert filed.status_code == 201, filed.text
        assert [r["media_kind"] for r in filed.json()["references"]] == ["audio"]



def test_a_takedown_claim_on_a_song_takes_down_published_clips_from_their_stored_peaks(
        settings: Settings, bootstrap: str, tmp_path: Path, claimed_song: np.ndarray):
    settings = replace(settings, kafka_bootstrap=bootstrap)
    store = DecisionStore(engine_for(settings.database_url))

    def published(clip_id: str, soundtrack: np.ndarray) -> None:
        clip = decided(decision(clip_id, "allow"))
        store.record([replace(clip, features={"music": ("v", peak_features(peaks(soundtrack, 16_000)))})])

    published("copy", excerpt(claimed_song, 33.0, 6))
    published("voiced-copy", with_voice_over(excerpt(claimed_song, 12.5, 6), speech(4)))
    published("other", excerpt(song(98, 30), 2, 6))
    reference = write_audio(tmp_path / "song.flac", claimed_song)
    refs = build_references([Upload(reference.name, reference.read_bytes())], settings.media)
    claim_id = ClaimStore(engine_for(settings.database_url)).add("label", "Song Seven", "takedown", refs)

    result = run_retroscan(settings, claim_id)
    assert sorted(result.taken_down) == ["copy", "voiced-copy"] and result.scanned == 3
    on_kafka = read_decisions(bootstrap, {"copy", "voiced-copy"}, timeout_s=30)
    assert {d["verdict"] for d in on_kafka.values()} == {"takedown"}
    assert store.get("other")["verdict"] == "allow"
    matches = ClaimStore(engine_for(settings.database_url)).matches(claim_id, "label")
    assert {(m.clip_id, m.method) for m in matches} == {("copy", "landmarks"), ("voiced-copy", "landmarks")}
