"""docs/adding-a-signal.md holds true: a family written in one folder (tests/toy_family/), once
registered, runs in the gate's chain, is judged by the policy and drawn by the console, and
meets every conformance check, with nothing else changed."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from clipguard.core import families
from clipguard.core.config import Settings
from fixtures.clips import write_frames
from pipelines.scan import scan
from service.evidence import evidence_view
from tests import toy_family
from usecases.policy_files import load_policy
from usecases.scan_files import ScanFile


@pytest.fixture
def registered() -> Iterator[None]:
    families.register(toy_family.MANIFEST)
    try:
        yield
    finally:
        families.unregister(toy_family.FAMILY)


def test_a_toy_family_decides_clips_end_to_end(registered, tmp_path: Path):
    media = tmp_path / "media"
    dark = write_frames(media / "dark.mp4", [np.full((360, 640, 3), 3, np.uint8)] * 48)
    bright = write_frames(media / "bright.mp4", [np.full((360, 640, 3), 200, np.uint8)] * 48)
    policy = tmp_path / "policy.yaml"
    policy.write_text(resources.files("policies").joinpath("default.yaml").read_text()
                      .replace("required_signals: [character, faces, explicit, lineage, provenance]",
                               "required_signals: [character, faces, explicit, lineage, provenance, darkness]")
                      + "\n  darkness: {review_below: 0.05}\n")
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                        kafka_bootstrap="127.0.0.1:1", media_roots=(media,))

    files = [ScanFile(dark, "dark"), ScanFile(bright, "bright")]
    dark_decision, bright_decision = scan(settings, files, "toy-creator", policy_path=str(policy))

    assert dark_decision["verdict"] == "review"
    assert dark_decision["reasons"][0]["signal"] == "darkness"
    assert dark_decision["reasons"][0]["score"] <= 0.05 and "(review <= 0.05)" in dark_decision["reasons"][0]["detail"]
    assert bright_decision["verdict"] == "allow"
    assert not [r for r in bright_decision["reasons"] if r["signal"] == "darkness"]
    assert dark_decision["models"]["mean-luma"] == "1"

    view = evidence_view(dark_decision, [(0, 0.0)], load_policy(str(policy)), {})
    assert [s.measure for s in view.scores if s.signal == "darkness"] == ["brightness"]


def test_a_toy_family_joins_the_registered_families(registered):
    assert toy_family.MANIFEST in families.registered()
    assert families.reason_severity("darkness") == 1
