from pathlib import Path

import pytest

from clipguard.core.config import Settings


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


def test_settings_round_trip_through_a_child_environment(tmp_path: Path):
    s = Settings(home=tmp_path, database_url="sqlite:///x.db", kafka_bootstrap="h:1",
                 media_roots=(tmp_path / "a", tmp_path / "b"))
    env = s.to_env()
    assert env["CLIPGUARD_MEDIA_ROOTS"] == f"{tmp_path / 'a'}:{tmp_path / 'b'}"
    assert (env["KAFKA_BOOTSTRAP"], env["CLIPGUARD_DATABASE_URL"]) == ("h:1", "sqlite:///x.db")
    assert (env["CLIPGUARD_SAMPLE_FPS"], env["CLIPGUARD_MAX_FRAMES"]) == ("1.0", "16")
