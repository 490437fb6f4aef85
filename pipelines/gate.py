"""`clipguard gate`: the streaming pipeline from `clips.generated` to decisions.

    Kafka -> Parse -> Moderate -> WriteOutcomes (decisions, dead letters, registry, offsets)

In process, Kafka is read by a kafka-python splittable DoFn and the sink commits offsets after the
decisions are written. On Flink it is read by Java's KafkaIO, which commits them when a checkpoint
completes (pipelines/runners.py). Either way delivery is at least once, and decisions are
idempotent by clip_id.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import apache_beam as beam
from apache_beam.runners.runner import PipelineResult

from classifiers.base import SignalHandler
from clipguard.core.config import GATE_GROUP, TOPIC_CLIPS, Settings
from clipguard.core.contracts import ContractError, DeadLetter, parse_clip_generated
from media.sampling import MediaError, resolve_media
from pipelines import metrics
from pipelines.beam_fixes import fold_bundle_metrics_eagerly
from pipelines.kafka_io import KafkaRecord, ReadFromKafkaPartitions
from pipelines.moderate import ClipWork, Moderate, default_handlers
from pipelines.runners import IN_PROCESS, Runner, read_kafka_xlang
from pipelines.signed_copies import SignDecisions
from pipelines.sinks import WriteOutcomes
from policies.engine import Policy
from registry.db import migrate
from usecases.policy_files import live_policy, shadow_policies
from usecases.signing import signing_key


class Parse(beam.DoFn):
    """KafkaRecord -> ClipWork; an event that breaks its contract is marked for dead-lettering."""

    def __init__(self, roots: Sequence):
        self._roots = tuple(roots)

    def process(self, record: KafkaRecord) -> Iterator[ClipWork]:
        metrics.EVENTS.inc()
        received = time.time()
        raw = record.value or b""  # a tombstone (null value) is just an empty, invalid event
        try:
            event = parse_clip_generated(raw)
            # A URI that points outside the media roots is a bad event, not a bad clip: refuse it
            # before anything opens the file.
            resolve_media(event.media_uri, self._roots)
        except (ContractError, MediaError) as exc:
            yield ClipWork(None, received, record.provenance(),
                           rejected=DeadLetter.of(exc.code, str(exc), raw, record.provenance()))
            return
        yield ClipWork(event, received, record.provenance())


class Gate(beam.PTransform):
    """KafkaRecords in, Decided and Rejected outcomes out. Kafka-free, so TestStream can drive it."""

    def __init__(self, settings: Settings, policy: Policy, handlers: Sequence[SignalHandler],
                 shadows: Sequence[Policy] = ()):
        super().__init__()
        self._settings = settings
        self._policy = policy
        self._handlers = handlers
        self._shadows = tuple(shadows)

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        s = self._settings
        return (records
                | "Parse" >> beam.ParDo(Parse(s.media_roots))
                | "Moderate" >> Moderate(self._handlers, self._policy, s.media_roots, s.media, s.database_url,
                                          self._shadows))


def run_gate(settings: Settings, policy_path: str | None = None, idle_exit_s: float | None = None,
             runner: Runner = IN_PROCESS, beam_args: Sequence[str] = (), max_batch_size: int = 8,
             shadow_paths: Sequence[str] = (), sign_decisions: bool = False) -> PipelineResult:
    """Run until stopped (or, in process with `idle_exit_s`, until no event arrived for that long).
    Each shadow policy decides every clip beside the live one; only the live decision is published.
    `sign_decisions`: each allowed clip's decision is also signed into a C2PA copy of it."""
    if idle_exit_s is not None and runner.on_flink:
        raise ValueError("--idle-exit is for the in-process gate; a Flink job runs until it is cancelled")
    if sign_decisions:
        signing_key(settings)          # a missing or unreadable key stops the gate here, not in a worker
    migrate(settings.database_url)
    fold_bundle_metrics_eagerly()      # or the runner's memory grows with every bundle, forever
    policy = live_policy(settings.database_url, policy_path)
    shadows = shadow_policies(policy, shadow_paths)
    native = not runner.on_flink
    source = (ReadFromKafkaPartitions(settings.kafka_bootstrap, TOPIC_CLIPS, GATE_GROUP, idle_exit_s)
              if native else read_kafka_xlang(settings.kafka_bootstrap))
    with runner.watched():
        with beam.Pipeline(options=runner.options(beam_args, streaming=True)) as pipeline:
            handlers = default_handlers(settings, max_batch_size, (policy, *shadows))
            written = (pipeline
                       | "Read" >> source
                       | "Gate" >> Gate(settings, policy, handlers, shadows)
                       | "Write" >> beam.ParDo(WriteOutcomes(settings.kafka_bootstrap, settings.database_url,
                                                             GATE_GROUP, commit_offsets=native,
                                                             keep_frames_for=settings.keep_frames_for)))
            if sign_decisions:
                written | "Sign" >> beam.ParDo(SignDecisions(settings))
    return pipeline.result
