"""Two minutes of the soak (`make soak` runs ten): a steady load with the gate killed once and
its media root gone for 30 s. Nothing is lost, nothing allowed because of a failure, the
backlog drains, and a restarted gate picks up where the last durable write left off."""

from __future__ import annotations

from pathlib import Path

from bench.soak import Fault, run_soak
from clipguard.core.config import Settings


def test_two_minutes_of_load_with_a_killed_gate_and_a_missing_media_root(tmp_path: Path):
    # SQLite only: two minutes is the budget, and the PostgreSQL restart belongs to `make soak`.
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'unused.db'}", kafka_bootstrap="127.0.0.1:1",
                        media_roots=())
    result = run_soak(settings, seconds=120, rate=0.5,
                      faults=(Fault(0.25, "kill"), Fault(0.5, "media_away")), say=print)
    assert result["sent"] >= 55 and result["decided"] == result["sent"], result
    assert result["restarts"] >= 1
    assert result["allowed_on_failure"] == []
    # The fixture clips are benign: every review is a clip whose media was gone when it was decoded.
    assert set(result["verdicts"]) <= {"allow", "review"}
    assert result["verdicts"].get("review", 0) == result["media_reviews"] > 0
    assert result["final_backlog"] == 0
