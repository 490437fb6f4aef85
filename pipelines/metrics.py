"""The gate's Prometheus metrics, served on /metrics by `clipguard gate --metrics-port`.

They live in this process's default registry; DoFns look them up at call time rather than
holding them, because Beam pickles DoFns and a pickled copy of a metric is not the served one.
Counters of outcomes are incremented only once the outcome is durably written.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

# Stages take milliseconds to a second; end-to-end includes queueing, so it reaches further.
STAGE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
END_TO_END_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

EVENTS = Counter("clipguard_gate_events", "Events read from clips.generated")
DECISIONS = Counter("clipguard_gate_decisions", "Decisions written, by verdict and deciding signal",
                    ["verdict", "signal"])
SHADOW_DECISIONS = Counter("clipguard_gate_shadow_decisions",
                           "Shadow policies' decisions, by transition from the live verdict",
                           ["shadow", "live_verdict", "shadow_verdict"])
SIGNED = Counter("clipguard_gate_signed", "Decisions signed into a C2PA copy of the clip, by outcome",
                 ["outcome"])
DEAD_LETTERS = Counter("clipguard_gate_dead_letters", "Events dead-lettered, by error code", ["code"])
STAGE_SECONDS = Histogram("clipguard_gate_stage_seconds", "Per-clip time in each stage", ["stage"],
                          buckets=STAGE_BUCKETS)
END_TO_END_SECONDS = Histogram("clipguard_gate_end_to_end_seconds", "From the event's created_at to its decision",
                               buckets=END_TO_END_BUCKETS)
CONSUMER_LAG = Gauge("clipguard_gate_consumer_lag", "Records behind the partition's high watermark",
                     ["topic", "partition"])


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics on host:port in a background thread; OSError if the port is taken."""
    start_http_server(port, addr=host)


def written_so_far() -> dict[str, int]:
    """Outcomes written by this process, by verdict and "dead-lettered", for the progress line."""
    totals: dict[str, int] = {}
    for counter, key in ((DECISIONS, "verdict"), (DEAD_LETTERS, None)):
        for family in counter.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    name = sample.labels[key] if key else "dead-lettered"
                    totals[name] = totals.get(name, 0) + int(sample.value)
    return totals
