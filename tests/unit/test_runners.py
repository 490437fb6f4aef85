"""How the gate is submitted: the runner's options point Beam at local jars, never at a download."""

from __future__ import annotations

import pytest

from clipguard.core.jars import jars_home
from pipelines.runners import FN_API_RUNNER, Runner, expansion_service


def test_in_process_is_the_fn_api_runner_by_its_full_name():
    assert Runner().beam_args() == [f"--runner={FN_API_RUNNER}"]


def test_flink_uses_the_local_job_server_jar_loopback_and_the_legacy_kafka_source():
    args = Runner("flink", parallelism=2, checkpoint_interval_ms=2000).beam_args()
    assert f"--flink_job_server_jar={jars_home() / 'beam' / 'flink-job-server.jar'}" in args
    assert {"--runner=FlinkRunner", "--flink_master=[local]", "--environment_type=LOOPBACK", "--parallelism=2",
            "--checkpointing_interval=2000", "--experiments=use_deprecated_read",
            "--finish_bundle_before_checkpointing"} <= set(args)


def test_a_cluster_runs_python_in_the_named_worker_pool():
    args = Runner("flink", flink_master="jm:8081", worker_pool="tm:50000").beam_args()
    assert {"--flink_master=jm:8081", "--environment_type=EXTERNAL", "--environment_config=tm:50000"} <= set(args)


def test_a_cluster_without_a_worker_pool_is_refused_with_how_to_start_one():
    with pytest.raises(ValueError, match="worker_pool_main"):
        Runner("flink", flink_master="jm:8081")


def test_kafka_io_expands_from_the_local_jar_with_java_embedded():
    service = expansion_service()
    assert service.path_to_jar == str(jars_home() / "beam" / "expansion-service.jar")
    assert "--defaultEnvironmentType=EMBEDDED" in service._append_args


def test_missing_jars_say_to_run_make_jars(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIPGUARD_JARS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make jars"):
        Runner("flink").beam_args()

