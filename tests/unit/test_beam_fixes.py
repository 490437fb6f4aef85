"""The gate's memory leak (issue 24) was Beam's FnApiRunner keeping every bundle's metrics; these
run a streaming pipeline of a few hundred bundles and count what is left alive."""

from __future__ import annotations

import gc

import apache_beam as beam
import pytest
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.metrics import monitoring_infos
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration

from pipelines.beam_fixes import consolidate_eagerly
from pipelines.runners import FN_API_RUNNER

BUNDLES = 300
END = 2**62


class _Forever(RestrictionProvider):
    def initial_restriction(self, element):
        return OffsetRange(0, END)

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element, restriction):
        return 1


FOREVER = beam.DoFn.RestrictionParam(_Forever())


class IdleReader(beam.DoFn):
    """Like the gate's Kafka reader with nothing to read: a new bundle each time it defers."""

    calls = 0
    alive_at_end = 0

    def process(self, element, tracker=FOREVER):
        IdleReader.calls += 1
        if IdleReader.calls >= BUNDLES:
            IdleReader.alive_at_end = _monitoring_infos_alive()
            tracker.try_claim(END - 1)
            return
        tracker.defer_remainder(Duration.of(0.0))
        yield from ()


def _metrics_alive_after_idle_bundles() -> int:
    """How many more MonitoringInfos are alive at the last bundle than before the pipeline (other
    tests in this process may have left some of their own)."""
    IdleReader.calls = 0
    before = _monitoring_infos_alive()
    with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"], streaming=True)) as pipeline:
        _ = pipeline | beam.Create([0]) | beam.ParDo(IdleReader())
    return IdleReader.alive_at_end - before


def _monitoring_infos_alive() -> int:
    gc.collect()
    return sum(type(o).__name__ == "MonitoringInfo" for o in gc.get_objects())


def test_the_runner_keeps_one_total_of_metrics_not_every_bundles(monkeypatch: pytest.MonkeyPatch):
    # Beam's own consolidation, whatever another test in this process has patched in.
    monkeypatch.setattr(fn_runner, "consolidate_monitoring_infos", monitoring_infos.consolidate)
    leaking = _metrics_alive_after_idle_bundles()
    # The pinned Beam still has the bug (or this fix could go): metrics pile up with the bundles.
    assert leaking > BUNDLES // 2, leaking
    monkeypatch.setattr(fn_runner, "consolidate_monitoring_infos", consolidate_eagerly)
    fixed = _metrics_alive_after_idle_bundles()
    print(f"MonitoringInfos left alive after {BUNDLES} idle bundles: {leaking} with Beam's folding, "
          f"{fixed} folded eagerly")
    assert fixed < 100, f"{fixed} MonitoringInfos alive after {BUNDLES} bundles (unfixed: {leaking})"
