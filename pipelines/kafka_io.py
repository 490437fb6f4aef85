"""Reading Kafka: the gate's source, and a reader of whole topics for the demo, bench and tests.

In-process runners read with `ReadPartitions`, a kafka-python Splittable DoFn with one
restriction per partition, manually assigned (no consumer-group rebalance to wait for). It
starts from the offsets committed to the gate's group, so a restarted gate resumes where the
last durable write left off (`pipelines.sinks` commits them): at-least-once delivery, and
decisions are idempotent by clip_id. Production runners (Flink, Dataflow) can use Beam's
cross-language Kafka IO instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import (
    BrokerNotAvailableError,
    CoordinatorNotAvailableError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotCoordinatorError,
)

from clipguard.core.config import TOPIC_DEADLETTER, TOPIC_DECISIONS
from clipguard.core.contracts import parse_decision
from pipelines import metrics

END = 2**62  # an unbounded partition's restriction never reaches this
# Tansu answers group members within ~3 s with these; the defaults take ~23 s (DESIGN.md).
MAX_RECORDS_PER_POLL = 32  # per partition: so no bundle holds more than this many events from one
CONSUMER_TIMEOUTS = {"max_poll_interval_ms": 3000, "session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


class KafkaRecord(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int

    def provenance(self) -> dict[str, object]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


class PartitionSource(NamedTuple):
    """Everything needed to read one partition; it is the element the reader splits on."""

    bootstrap: str
    group: str
    topic: str
    partition: int


def committed_offset(source: PartitionSource) -> int:
    consumer = KafkaConsumer(bootstrap_servers=source.bootstrap, group_id=source.group,
                             enable_auto_commit=False, **CONSUMER_TIMEOUTS)
    try:
        tp = TopicPartition(source.topic, source.partition)
        committed = consumer.committed(tp)
        return committed if committed is not None else consumer.beginning_offsets([tp])[tp]
    finally:
        consumer.close()


class _FromCommitted(RestrictionProvider):
    def initial_restriction(self, element: PartitionSource) -> OffsetRange:
        return OffsetRange(committed_offset(element), END)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: PartitionSource, restriction: OffsetRange) -> int:
        return 1  # unbounded: the size only steers splitting, which we do not want

    def truncate(self, element: PartitionSource, restriction: OffsetRange) -> None:
        return None  # on drain, stop reading


# Beam reads the restriction provider from the process() default, so it is a module singleton.
FROM_COMMITTED = beam.DoFn.RestrictionParam(_FromCommitted())


class ReadPartitions(beam.DoFn):
    """PartitionSource -> KafkaRecord, forever, or until idle for `idle_exit_s` seconds.

    Each partition keeps its own consumer, assigned once: re-assigning one consumer between
    partitions discards its in-flight fetch on every call, which cost up to a second per event.
    """

    def __init__(self, idle_exit_s: float | None = None, poll_ms: int = 50, max_records: int = MAX_RECORDS_PER_POLL,
                 fetch_max_wait_ms: int = 100):
        self._idle_exit_s = idle_exit_s
        self._poll_ms = poll_ms
        self._max_records = max_records
        self._fetch_max_wait_ms = fetch_max_wait_ms

    def setup(self) -> None:
        self._consumers: dict[PartitionSource, KafkaConsumer] = {}
        self._next_offset: dict[PartitionSource, int] = {}
        self._last_record: dict[PartitionSource, float] = {}

    def teardown(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()

    def _consumer_at(self, source: PartitionSource, offset: int) -> KafkaConsumer:
        tp = TopicPartition(source.topic, source.partition)
        consumer = self._consumers.get(source)
        if consumer is None:
            consumer = self._consumers[source] = KafkaConsumer(
                bootstrap_servers=source.bootstrap, enable_auto_commit=False,
                fetch_max_wait_ms=self._fetch_max_wait_ms)
            consumer.assign([tp])
        if self._next_offset.get(source) != offset:  # first call, or the runner moved the restriction
            consumer.seek(tp, offset)
        return consumer

    def process(self, source: PartitionSource,
                tracker=FROM_COMMITTED) -> Iterator[KafkaRecord]:
        start = tracker.current_restriction().start
        consumer = self._consumer_at(source, start)
        tp = TopicPartition(source.topic, source.partition)
        records = consumer.poll(self._poll_ms, max_records=self._max_records).get(tp, [])
        report_lag(consumer, tp, records[-1].offset + 1 if records else start)
        now = time.monotonic()
        last = self._last_record.setdefault(source, now)
        if records:
            self._last_record[source] = now
        elif self._idle_exit_s is not None and now - last > self._idle_exit_s:
            tracker.try_claim(END - 1)  # claims the rest, so the restriction is done
            return
        self._next_offset[source] = start
        for record in records:
            if not tracker.try_claim(record.offset):
                self._next_offset.pop(source)  # the rest belongs to a split: seek next time
                return
            self._next_offset[source] = record.offset + 1
            yield KafkaRecord(record.topic, record.partition, record.offset, record.key, record.value,
                              record.timestamp)
        tracker.defer_remainder(Duration.of(0.01 if records else 0.1))


def broker_unreachable(exc: Exception) -> bool:
    """Whether a Kafka client's error means the broker could not be reached (and a retry may
    work), not that the request itself was refused (a rebalanced group's commit, say)."""
    return isinstance(exc, (KafkaConnectionError, KafkaTimeoutError, BrokerNotAvailableError, NodeNotReadyError,
                            CoordinatorNotAvailableError, NotCoordinatorError))


def report_lag(consumer: KafkaConsumer, tp: TopicPartition, next_offset: int) -> None:
    # highwater() comes from the last fetch response: no extra request. Tansu's watermarks can be
    # off (DESIGN.md), so this is a gauge for dashboards, never a reason to stop reading.
    highwater = consumer.highwater(tp)
    if highwater is not None:
        metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - next_offset))


def topic_partitions(bootstrap: str, topic: str) -> list[int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
    finally:
        consumer.close()
    if not partitions:
        raise RuntimeError(f"topic {topic} does not exist on {bootstrap}; run `clipguard broker` first")
    return partitions


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """partition -> the offset the next record on it will get."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in topic_partitions(bootstrap, topic)])
    finally:
        consumer.close()
    return {tp.partition: offset for tp, offset in ends.items()}


def committed_count(bootstrap: str, topic: str, group: str) -> int:
    """How many of `topic`'s records `group` has committed, over all partitions (offsets start at 0)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in topic_partitions(bootstrap, topic))
    finally:
        consumer.close()


class ReadFromKafkaPartitions(beam.PTransform):
    def __init__(self, bootstrap: str, topic: str, group: str, idle_exit_s: float | None = None):
        super().__init__()
        self._sources = [PartitionSource(bootstrap, group, topic, p) for p in topic_partitions(bootstrap, topic)]
        self._idle_exit_s = idle_exit_s

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (pbegin
                | "Partitions" >> beam.Create(self._sources)
                | "Read" >> beam.ParDo(ReadPartitions(self._idle_exit_s)))


def read_topic_until(bootstrap: str, topic: str, done: Callable[[list[bytes]], bool], timeout_s: float) -> list[bytes]:
    """Every value on `topic` from the beginning, until `done(values)` holds; TimeoutError if it never does.

    It never stops at the broker's reported end offset, which Tansu can get wrong.
    """
    def done_records(records: list[Any]) -> bool:
        return done([r.value for r in records])

    return [r.value for r in read_records_until(bootstrap, topic, done_records, timeout_s)]


def read_records_until(bootstrap: str, topic: str, done: Callable[[list[Any]], bool], timeout_s: float,
                       start: dict[int, int] | None = None) -> list[Any]:
    """The records (with offsets and timestamps) on `topic` from `start` (partition -> offset; the
    beginning by default), until `done(records)` holds; TimeoutError if it never does."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in topic_partitions(bootstrap, topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        for tp in partitions:
            if start and tp.partition in start:
                consumer.seek(tp, start[tp.partition])
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while not done(records):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} did not reach the expected state within {timeout_s:.0f}s "
                                   f"({len(records)} messages read)")
            batch = consumer.poll(200)
            records += [r for rs in batch.values() for r in rs]
        return records
    finally:
        consumer.close()


def read_decisions(bootstrap: str, clip_ids: set[str], timeout_s: float,
                   on_poll: Callable[[set[str]], None] | None = None) -> dict[str, dict]:
    """The latest decision per clip on the decisions topic, once each of `clip_ids` has one.
    `on_poll` sees which of them are decided after every poll; it may raise to give up early."""
    def done(values: list[bytes]) -> bool:
        decided = {parse_decision(v).clip_id for v in values}
        if on_poll:
            on_poll(decided & clip_ids)
        return clip_ids <= decided

    raw = read_topic_until(bootstrap, TOPIC_DECISIONS, done, timeout_s)
    return {d.clip_id: d.to_dict() for d in map(parse_decision, raw)}


def read_dead_letters(bootstrap: str, count: int, timeout_s: float) -> list[dict]:
    """The first `count` records on the dead-letter topic, decoded."""
    raw = read_topic_until(bootstrap, TOPIC_DEADLETTER, lambda values: len(values) >= count, timeout_s)
    return [json.loads(v) for v in raw]
