"""Decode attempts survive only a decode the gate did not live through (registry/attempts.py)."""

from __future__ import annotations

from registry.attempts import DecodeAttempts
from registry.db import migrate


def test_an_attempt_counts_until_its_decode_ends(database_url: str):
    attempts = DecodeAttempts(migrate(database_url))
    assert attempts.begin("clips.generated", 0, 7, "c7") == 1
    attempts.end("clips.generated", 0, 7)                      # decoded (or refused): forgotten
    assert attempts.begin("clips.generated", 0, 7, "c7") == 1
    # No end: the gate died mid-decode. Each restart that reads it again counts once more.
    assert attempts.begin("clips.generated", 0, 7, "c7") == 2
    assert attempts.begin("clips.generated", 0, 7, "c7") == 3
    assert attempts.begin("clips.generated", 1, 7, "other") == 1   # another partition's record is its own
