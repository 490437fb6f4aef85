"""Retroscan as a Flink batch job (Beam's portable FlinkRunner, `[local]`), over stored clip
signatures spread across several clip-id ranges: the same takedowns as in this process, on Kafka
and in the registry, with nothing fetched at run time."""

from __future__ import annotations

from pathlib import Path

from fixtures.clips import png_file
from fixtures.signatures import store_signatures
from pipelines import retroscan
from pipelines.kafka_io import read_decisions
from registry.claims import ClaimStore
from registry.db import engine_for, migrate
from registry.store import DecisionStore
from tests.conftest import clipguard
from tests.gate_helpers import offline_env, running_broker, sqlite_settings
from usecases.references import build_references

STORED, MATCHING_EVERY = 5_000, 100      # three ranges of RANGE_SIZE, 50 planted matches


def test_retroscan_on_flink_takes_down_exactly_the_matching_stored_clips(tmp_path: Path):
    assert STORED > 2 * retroscan.RANGE_SIZE
    with running_broker("tansu", tmp_path / "broker") as address:
        s = sqlite_settings(tmp_path, address, tmp_path)
        engine = migrate(s.database_url)
        [reference] = build_references([png_file("rocket.png", "rocket")], s.media)
        planted = store_signatures(s.database_url, reference.pdq, reference.phash, STORED, MATCHING_EVERY)
        claim_id = ClaimStore(engine).add("studio", "Rocket", "takedown", [reference])
        user_home = tmp_path / "user"

        run = clipguard(["retroscan", "--claim", claim_id, "--hashes-only", "--runner", "flink",
                         "--parallelism", "2"], s, extra_env=offline_env(user_home), timeout=240)
        assert run.returncode == 0, run.stderr[-3000:]
        on_kafka = read_decisions(address, set(planted), timeout_s=60)
        again = clipguard(["retroscan", "--claim", claim_id, "--hashes-only"], s, timeout=120)

    assert sorted(run.stdout.split()) == sorted(planted)
    assert f"{STORED} stored clips scanned, {len(planted)} taken down" in run.stderr
    assert {(d["verdict"], d["source"]) for d in on_kafka.values()} == {("takedown", "retroscan")}
    stored = {d["clip_id"]: d["verdict"] for d in DecisionStore(engine_for(s.database_url)).all()}
    assert sorted(c for c, v in stored.items() if v == "takedown") == sorted(planted)
    assert {c.clip_id for c in ClaimStore(engine).matches(claim_id, "studio")} == set(planted)
    # What was taken down is no longer a candidate: a second pass, in this process, finds nothing.
    assert again.returncode == 0 and again.stdout.split() == []
    assert f"{STORED - len(planted)} stored clips scanned, 0 taken down" in again.stderr
    assert not list(user_home.rglob("*.jar")), "Beam downloaded a jar at run time"
