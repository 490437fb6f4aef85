"""The gate's transform under Beam's TestStream: events arrive over (watermark) time, as from
Kafka, and every one comes out as a decision or a dead letter."""

import json
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.testing.util import assert_that, equal_to

from classifiers.bank.handler import BankHandler
from classifiers.bank.index import VpdqBars
from classifiers.character.handler import CharacterHandler, hash_frame
from classifiers.explicit.handler import ExplicitHandler
from classifiers.faces.handler import FaceHandler
from classifiers.lineage.handler import LineageHandler
from classifiers.music.handler import MusicHandler
from classifiers.provenance.handler import ProvenanceHandler
from classifiers.voice.handler import VoiceHandler
from clipguard.core.config import Settings
from clipguard.core.contracts import ClipGenerated
from fixtures.clips import image
from pipelines.gate import Gate
from pipelines.kafka_io import KafkaRecord
from pipelines.moderate import (
    BankEntries,
    ClaimCatalog,
    ClipWork,
    Decided,
    FaceGalleries,
    Moderate,
    ParentDecisions,
    default_handlers,
)
from pipelines.runners import FN_API_RUNNER
from policies.consent import permits
from registry.claims import ClaimStore, NewReference
from registry.db import engine_for
from usecases.policy_files import load_policy


def record(offset: int, value: bytes) -> KafkaRecord:
    return KafkaRecord("clips.generated", 0, offset, None, value, 0)


def event(clip_id: str, uri: str) -> bytes:
    return ClipGenerated(clip_id, "alice", uri, "2026-11-21T10:00:00Z").to_json()


def outcome(o) -> tuple:
    if isinstance(o, Decided):
        # Every decision names the gate's models, an unreadable clip's included.
        assert {"pdq+phash+orb+alias", "open_nsfw"} <= set(o.decision.models), o.decision
        return ("decision", o.decision.clip_id, o.decision.verdict, o.source["offset"])
    return ("deadletter", o.deadletter.error_code, o.source["offset"])


def test_every_event_from_a_stream_is_decided_or_dead_lettered(settings: Settings, clips_dir: Path):
    cat = hash_frame(image("chelsea"))
    ClaimStore(engine_for(settings.database_url)).add("studio", "Chelsea", "takedown",
                                                       [NewReference("cat", cat.pdq, cat.phash)])
    uri = lambda name: (clips_dir / name).as_uri()  # noqa: E731
    stream = (BeamTestStream()
              .add_elements([record(0, event("coffee", uri("coffee-pan.mp4"))),
                             record(1, event("cat", uri("cat-cutin.mp4")))])
              .advance_watermark_to(10)
              .add_elements([record(2, b"not json"),
                             record(3, event("passwd", "file:///etc/passwd")),
                             record(4, event("broken", uri("corrupt.mp4"))),
                             record(5, json.dumps({"schema": "clip.generated/1"}).encode()),
                             record(7, None)])
              .advance_watermark_to(20)
              .add_elements([record(6, event("montage", uri("space-montage.mp4")))])
              .advance_watermark_to_infinity())
    # FnApiRunner has no TestStream; the bundle-based DirectRunner does.
    options = PipelineOptions(flags=[], streaming=True, runner="BundleBasedDirectRunner")
    with beam.Pipeline(options=options) as pipeline:
        outcomes = (pipeline | stream
                    | Gate(settings, load_policy(), default_handlers(settings))
                    | beam.Map(outcome))
        assert_that(outcomes, equal_to([
            ("decision", "coffee", "allow", 0),
            ("decision", "cat", "takedown", 1),
            ("deadletter", "not_json", 2),
            ("deadletter", "media_outside_roots", 3),
            ("decision", "broken", "review", 4),
            ("deadletter", "missing_field", 5),
            ("decision", "montage", "allow", 6),
            ("deadletter", "not_json", 7),
        ]))


class ExplodesOnBoom(CharacterHandler):
    """The real handler, except that it breaks on one clip, as a buggy model would."""

    def score(self, model, batch):
        if any(item.event.clip_id == "boom" for item in batch):
            raise RuntimeError("model crashed")
        return super().score(model, batch)


def test_a_classifier_failure_reviews_that_clip_and_spares_its_batch(settings: Settings, clips_dir: Path):
    uri = (clips_dir / "coffee-pan.mp4").as_uri()
    works = [ClipWork(ClipGenerated(c, "alice", uri, "2026-11-21T10:00:00Z"), 0.0, {}) for c in ("ok", "boom")]
    handlers = [ExplodesOnBoom(ClaimCatalog(settings.database_url), max_batch_size=8),
                FaceHandler(FaceGalleries(settings.database_url), permits), ExplicitHandler(),
                LineageHandler(ParentDecisions(settings.database_url)), ProvenanceHandler(()),
                BankHandler(BankEntries(settings.database_url), 31, VpdqBars()),
                MusicHandler(ClaimCatalog(settings.database_url)),
                VoiceHandler(FaceGalleries(settings.database_url), permits)]
    with beam.Pipeline(options=PipelineOptions(flags=[], runner=FN_API_RUNNER)) as pipeline:
        verdicts = (pipeline | beam.Create(works)
                    | Moderate(handlers, load_policy(), settings.media_roots, settings.media)
                    | beam.Map(lambda d: (d.decision.clip_id, d.decision.verdict, d.decision.reasons[0].signal,
                                          d.decision.reasons[0].detail.endswith("RuntimeError: model crashed"))))
        assert_that(verdicts, equal_to([
            ("ok", "allow", "explicit", False),     # its explicit score first, then what its manifest said
            ("boom", "review", "character", True),
        ]))
