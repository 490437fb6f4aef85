"""`clipguard gate`: the streaming pipeline from `clips.generated` to decisions.

    Kafka -> Parse -> Moderate -> WriteOutcomes (decisions, dead letters, registry, offsets)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineResult

from classifiers.base import SignalHandler
from clipguard.core.config import GATE_GROUP, TOPIC_CLIPS, Settings
from clipguard.core.contracts import ContractError, DeadLetter, parse_clip_generated
from media.sampling import MediaError, resolve_media
from pipelines import metrics
from pipelines.beam_fixes import fold_bundle_metrics_eagerly
from pipelines.kafka_io import KafkaRecord, ReadFromKafkaPartitions
from pipelines.moderate import ClipWork, Moderate, default_handlers
from pipelines.sinks import WriteOutcomes
from policies.engine import Policy
from registry.db import migrate
from usecases.policy_files import load_policy


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

    def __init__(self, settings: Settings, policy: Policy, handlers: Sequence[SignalHandler]):
        super().__init__()
        self._settings = settings
        self._policy = policy
        self._handlers = handlers

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        s = self._settings
        return (records
                | "Parse" >> beam.ParDo(Parse(s.media_roots))
                | "Moderate" >> Moderate(self._handlers, self._policy, s.media_roots, s.media, s.database_url))


def read_xlang(bootstrap: str) -> beam.PTransform:
    """Beam's Java Kafka IO, for Flink/Dataflow. Needs the expansion-service jar, which in-process
    runs here cannot fetch; offsets are committed when the runner finalizes a bundle."""
    from apache_beam.io.kafka import ReadFromKafka

    return ReadFromKafka(
        consumer_config={"bootstrap.servers": bootstrap, "group.id": GATE_GROUP,
                         "enable.auto.commit": "false", "auto.offset.reset": "earliest"},
        topics=[TOPIC_CLIPS], with_metadata=True, commit_offset_in_finalize=True,
    ) | "ToRecord" >> beam.Map(lambda r: KafkaRecord(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp))


def pipeline_options(beam_args: Sequence[str], streaming: bool) -> PipelineOptions:
    args = list(beam_args)
    if not any(a.startswith("--runner") for a in args):
        # Beam's default runner tries Prism first, whose binary is downloaded at run time.
        args.append("--runner=FnApiRunner")
    return PipelineOptions(args, streaming=streaming)


def run_gate(settings: Settings, policy_path: str | None = None, idle_exit_s: float | None = None,
             kafka_io: str = "native", beam_args: Sequence[str] = (), max_batch_size: int = 8) -> PipelineResult:
    """Run until stopped (or, with `idle_exit_s`, until no event arrived for that long)."""
    migrate(settings.database_url)
    fold_bundle_metrics_eagerly()      # or the runner's memory grows with every bundle, forever
    policy = load_policy(policy_path)
    options = pipeline_options(beam_args, streaming=True)
    native = kafka_io == "native"
    source = (ReadFromKafkaPartitions(settings.kafka_bootstrap, TOPIC_CLIPS, GATE_GROUP, idle_exit_s)
              if native else read_xlang(settings.kafka_bootstrap))
    with beam.Pipeline(options=options) as pipeline:
        (pipeline
         | "Read" >> source
         | "Gate" >> Gate(settings, policy, default_handlers(settings, max_batch_size))
         | "Write" >> beam.ParDo(WriteOutcomes(settings.kafka_bootstrap, settings.database_url, GATE_GROUP,
                                               commit_offsets=native,
                                               keep_frames_for=settings.keep_frames_for)))
    return pipeline.result
