"""A fix for Beam's FnApiRunner in pipelines that run for hours: the gate's memory leak.

`FnApiRunner.run_stages` folds each bundle's metrics into a running total per stage with
`consolidate_monitoring_infos(itertools.chain(this_bundle, total_so_far))`. But `consolidate` is
a generator, so nothing is folded: each bundle wraps the previous total in one more lazy layer,
which keeps every MonitoringInfo of every bundle since the start alive. The gate's Kafka reader
defers its remainder every 10-100 ms, a bundle each time, so an idle gate grew by about 0.4 MiB a
second, most of it in protobuf's native memory, where tracemalloc does not look (issue 24;
`bench/soak.py` measures it). Beam 2.77 has it; the pinned version is the one this is checked
against (tests/unit/test_beam_fixes.py).

The fix folds eagerly: the same consolidation, materialised, so a total stays one entry per metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from apache_beam.metrics import monitoring_infos
from apache_beam.runners.portability.fn_api_runner import fn_runner


def consolidate_eagerly(metrics: Iterable[Any], key: Callable[[Any], Any] = monitoring_infos.to_key) -> list[Any]:
    return list(monitoring_infos.consolidate(metrics, key))


def fold_bundle_metrics_eagerly() -> None:
    """Make FnApiRunner keep one consolidated list of metrics per stage, not every bundle's."""
    if not hasattr(fn_runner, "consolidate_monitoring_infos"):
        raise RuntimeError("apache_beam's fn_runner no longer has consolidate_monitoring_infos; "
                           "check whether pipelines/beam_fixes.py is still needed")
    fn_runner.consolidate_monitoring_infos = consolidate_eagerly
