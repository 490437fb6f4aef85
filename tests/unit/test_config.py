from pathlib import Path

import pytest

from clipguard.core.config import MediaLimits, Settings


def test_defaults_come_from_the_home_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ("CLIPGUARD_DATABASE_URL", "KAFKA_BOOTSTRAP", "CLIPGUARD_MEDIA_ROOTS", "CLIPGUARD_SAMPLE_FPS",
                 "CLIPGUARD_MAX_FRAMES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLIPGUARD_HOME", str(tmp_path))
    s = Settings.from_env()
    assert s.database_url == f"sqlite:///{tmp_path / 'clipguard.db'}"
    assert s.media_roots == (tmp_path / "media",) and s.kafka_bootstrap == "127.0.0.1:9092"
    assert (s.media.sample_fps, s.media.max_frames) == (1.0, 16)


def test_sampling_is_configurable_and_checked(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLIPGUARD_SAMPLE_FPS", "2.5")
    monkeypatch.setenv("CLIPGUARD_MAX_FRAMES", "32")
    assert (Settings.from_env().media.sample_fps, Settings.from_env().media.max_frames) == (2.5, 32)
    for bad in ("0", "-1", "fast"):
        monkeypatch.setenv("CLIPGUARD_SAMPLE_FPS", bad)
        with pytest.raises(ValueError, match="CLIPGUARD_SAMPLE_FPS must be a positive float"):
            Settings.from_env()


def test_settings_round_trip_through_a_child_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    s = Settings(home=tmp_path, database_url="sqlite:///x.db", kafka_bootstrap="h:1",
                 media_roots=(tmp_path / "a", tmp_path / "b"), media=MediaLimits(sample_fps=2.5, max_frames=9),
                 explicit_model_dir=models, explicit_label="porn", face_model_dir=models,
                 keep_frames_for=("block",), frame_retention_days=3.0)
    env = s.to_env()
    assert env["CLIPGUARD_MEDIA_ROOTS"] == f"{tmp_path / 'a'}:{tmp_path / 'b'}"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env() == s     # what a child `clipguard` reads is what the parent had
    monkeypatch.setenv("CLIPGUARD_KEEP_FRAMES_FOR", "block,maybe")
    with pytest.raises(ValueError, match="unknown verdict"):
        Settings.from_env()
