"""`Moderate`: the chain of steps the gate and `clipguard scan` share.

    ClipWork -> load media -> one RunInference per signal family -> policy -> Decided | Rejected

The chain is deliberately linear, with no branch that rejoins through a Flatten: FnApiRunner
runs whatever follows a Flatten as a separate stage, which in streaming only fires at shutdown.
So a rejected event or unreadable clip rides along the same chain, each step passing it through
untouched, and the policy turns a media error into a review: never dropped, never allowed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.transforms.window import FixedWindows

from classifiers.base import SignalHandler
from classifiers.character.aliases import Alias
from classifiers.character.handler import Catalog
from classifiers.character.reference_index import Reference
from classifiers.pdq import with_pdq
from clipguard.core import families
from clipguard.core.banks import BankEntry, BankSet
from clipguard.core.config import MediaLimits, Settings
from clipguard.core.contracts import ClipGenerated, DeadLetter, Decision, utcnow
from clipguard.core.families import HandlerContext
from clipguard.core.people import Gallery
from clipguard.core.signals import ClipInput, Signal
from media.sampling import MediaError, SampledClip, check_declared_size, resolve_media, sample_frames
from pipelines import metrics
from policies.consent import permits
from policies.decisions import gate_decision
from policies.engine import Policy, decide
from registry.attempts import POISON_AFTER, DecodeAttempts
from registry.banks import BankStore
from registry.claims import ClaimStore
from registry.db import engine_for
from registry.faces import FaceStore
from registry.outages import through_outages
from registry.store import DecisionStore

NAMESPACE = "clipguard"
log = logging.getLogger("clipguard.gate")
# References read per query when the catalog catches up with new claims (SQL parameter limits).
READ_BATCH = 500


@dataclass(frozen=True)
class ClipWork:
    """One event on its way through the gate."""

    event: ClipGenerated | None             # None once rejected
    received_at: float                      # epoch seconds when clipguard first saw the event
    source: dict[str, Any]                  # where it came from, e.g. the Kafka partition and offset
    rejected: DeadLetter | None = None
    clip: SampledClip | None = None
    media_error: tuple[str, str] | None = None
    signals: dict[str, Signal] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)   # every model that judged it: name -> version


@dataclass(frozen=True)
class Decided:
    decision: Decision
    event: ClipGenerated
    signals: dict[str, Signal]
    source: dict[str, Any]
    clip: SampledClip | None = None     # the sampled frames, for thumbnails
    severity: int = 1                   # the policy's review-queue severity, for a review
    media_error: tuple[str, str] | None = None
    shadows: tuple[Decision, ...] = ()  # what each shadow policy decided from the same signals


@dataclass(frozen=True)
class Rejected:
    """An event that broke its contract, on its way to the dead-letter topic."""

    deadletter: DeadLetter
    source: dict[str, Any]


class StageTimer:
    """Per-clip cost of one stage, recorded twice from one measurement: as a Beam distribution
    (in microseconds: Beam distributions hold integers, and milliseconds would round the policy
    stage to zero), which the bench reads, and as the Prometheus histogram operators scrape."""

    def __init__(self, stage: str):
        self._stage = stage
        self._distribution = Metrics.distribution(NAMESPACE, f"{stage}_us")

    def record_ms(self, ms: float) -> None:
        self._distribution.update(int(ms * 1000))
        metrics.STAGE_SECONDS.labels(self._stage).observe(ms / 1000)

    def since(self, started: float, clips: int = 1) -> None:
        """Record the time since `started` (a perf_counter reading), shared among `clips`."""
        self.record_ms((time.perf_counter() - started) * 1000 / max(1, clips))


class LoadMedia(beam.DoFn):
    """Decodes each clip's media. With a `database_url`, every decode of a Kafka record is counted
    in the registry while it runs (registry/attempts.py), and a record whose decode the gate has
    died in `POISON_AFTER` times is dead-lettered as `poison` instead of decoded again."""

    def __init__(self, roots: Sequence[Path], limits: MediaLimits, database_url: str | None = None):
        self._roots = tuple(roots)
        self._limits = limits
        self._database_url = database_url
        self._decode_timer = StageTimer("decode")

    def setup(self) -> None:
        self._attempts = DecodeAttempts(engine_for(self._database_url)) if self._database_url else None

    def process(self, work: ClipWork) -> Iterator[ClipWork]:
        if work.event is None:
            yield work
            return
        record = _record_of(work) if self._attempts is not None else None
        if record is not None:
            attempts = through_outages(lambda: self._attempts.begin(*record, work.event.clip_id),
                                       "counting a decode attempt")
            if attempts > POISON_AFTER:
                through_outages(lambda: self._attempts.end(*record), "ending a decode attempt")
                yield _poison(work, record, attempts - 1)
                return
        loaded = self._loaded(work)     # never raises
        if record is not None:
            through_outages(lambda: self._attempts.end(*record), "ending a decode attempt")
        yield loaded

    def _loaded(self, work: ClipWork) -> ClipWork:
        started = time.perf_counter()
        try:
            check_declared_size(work.event.attrs, self._limits)
            path = resolve_media(work.event.media_uri, self._roots)
            # Hashed once here for the two families that match on PDQ (classifiers/pdq.py).
            clip = with_pdq(sample_frames(path, self._limits))
        except MediaError as exc:
            return replace(work, media_error=(exc.code, str(exc)))
        except Exception as exc:  # a bug in resolving or sampling must cost one clip a review, not the gate
            log.exception("loading media for clip %s failed", work.event.clip_id)
            return replace(work, media_error=("media_corrupt", f"{type(exc).__name__}: {exc}"[:500]))
        self._decode_timer.since(started)
        return replace(work, clip=clip)


def _record_of(work: ClipWork) -> tuple[str, int, int] | None:
    source = work.source
    if not {"topic", "partition", "offset"} <= source.keys():
        return None
    return source["topic"], source["partition"], source["offset"]


def _poison(work: ClipWork, record: tuple[str, int, int], deaths: int) -> ClipWork:
    topic, partition, offset = record
    log.error("clip %s (%s/%d@%d): the gate died decoding it %d times; dead-lettered as poison",
              work.event.clip_id, topic, partition, offset, deaths)
    reason = (f"the gate died while decoding this event's media {deaths} times ({topic} partition {partition} "
              f"offset {offset}); set aside so the rest of the partition is decided")
    return ClipWork(None, work.received_at, work.source,
                    rejected=DeadLetter.of("poison", reason, work.event.to_json(), work.source))


class SignalStage(ModelHandler[ClipWork, ClipWork, Any]):
    """A SignalHandler as Beam's `ModelHandler` over ClipWork: readable clips are scored as one
    batch, the rest pass through, and every clip records the model that judged it."""

    def __init__(self, handler: SignalHandler):
        super().__init__()
        self.handler = handler

    def load_model(self) -> Any:
        return self.handler.load_model()

    def run_inference(self, batch: Sequence[ClipWork], model: Any,
                      inference_args: dict[str, Any] | None = None) -> Iterable[PredictionResult]:
        readable = [w for w in batch if w.clip is not None]
        scored = self.handler.score_isolated(model, [ClipInput(w.event, w.clip) for w in readable])
        signals = {id(w): signal for w, signal in zip(readable, scored, strict=True)}
        name = self.handler.name
        model_name, version = self.handler.identify(model)
        for work in batch:
            signal = signals.get(id(work))
            done = replace(work, models={**work.models, model_name: version})
            if signal is not None:
                done = replace(done, signals={**work.signals, name: signal})
            yield PredictionResult(work, done, self.handler.model_name)

    def batch_elements_kwargs(self) -> dict[str, int]:
        return self.handler.batch_elements_kwargs()

    def get_metrics_namespace(self) -> str:
        return self.handler.get_metrics_namespace()


class _Unwrap(beam.DoFn):
    def __init__(self, signal: str):
        self._signal = signal
        self._timer = StageTimer(f"signal_{signal}")

    def process(self, result: PredictionResult) -> Iterator[ClipWork]:
        work = result.inference
        if self._signal in work.signals:
            self._timer.record_ms(work.signals[self._signal].elapsed_ms)
        yield work


def compute_signal(works: beam.PCollection, handler: SignalHandler) -> beam.PCollection:
    return (works
            | f"Infer[{handler.name}]" >> RunInference(SignalStage(handler))
            | f"Unwrap[{handler.name}]" >> beam.ParDo(_Unwrap(handler.name)))


class Decide(beam.DoFn):
    """The live policy's decision, and each shadow policy's from the same signals."""

    def __init__(self, policy: Policy, shadows: Sequence[Policy] = ()):
        self._policy = policy
        self._shadows = tuple(shadows)
        self._policy_timer = StageTimer("policy")

    def process(self, work: ClipWork) -> Iterator[Decided | Rejected]:
        if work.event is None:
            yield Rejected(work.rejected, work.source)
            return
        started = time.perf_counter()
        now = utcnow()
        models = {**work.models, **{s.model: s.model_version for s in work.signals.values()}}
        live, *shadows = (self._decision(work, policy, models, now) for policy in (self._policy, *self._shadows))
        self._policy_timer.since(started)
        decision, severity = live
        yield Decided(decision, work.event, work.signals, work.source, work.clip, severity, work.media_error,
                      tuple(d for d, _ in shadows))

    @staticmethod
    def _decision(work: ClipWork, policy: Policy, models: dict[str, str], now: dt.datetime) -> tuple[Decision, int]:
        ruling = decide(work.signals, policy, work.media_error, work.event.attrs)
        return gate_decision(work.event.clip_id, ruling, policy.label, models, work.received_at, now), ruling.severity


class ClaimCatalog:
    """A picklable loader of the active claims' references and aliases, for the gate's workers.
    It keeps the references it has read and asks the registry only for new ones: a reference's
    ORB features are large, and the gate reloads the catalog every few seconds."""

    def __init__(self, database_url: str):
        self._url = database_url
        self._known: dict[str, Reference] = {}

    def __call__(self) -> Catalog:
        claims = ClaimStore(engine_for(self._url))
        ids = claims.active_reference_ids()
        new = [i for i in ids if i not in self._known]
        known = {i: self._known[i] for i in ids if i in self._known}
        for start in range(0, len(new), READ_BATCH):
            known |= {r.reference_id: r for r in claims.active_references(reference_ids=new[start:start + READ_BATCH])}
        self._known = known
        # A reference withdrawn between the two reads is simply absent until the next load.
        return Catalog([known[i] for i in ids if i in known], [Alias(*row) for row in claims.active_aliases()])


class BankEntries:
    """A picklable loader of the enabled banks' entries, for the gate's workers. Each call reads
    only the banks' versions. A bank whose version moved is read again; when all it gained since
    is imports, only the entries newer than those already held are read (a million-entry bank
    takes seconds to read whole, and new entries must apply within seconds)."""

    def __init__(self, database_url: str):
        self._url = database_url
        self._last = BankSet()
        self._held: dict[str, tuple[int, tuple[BankEntry, ...]]] = {}    # bank -> (version, entries)

    def __call__(self) -> BankSet:
        banks = BankStore(engine_for(self._url))
        versions = through_outages(banks.versions, "reading the banks' versions")
        if versions != self._last.versions:
            self._held = {name: through_outages(lambda n=name, v=version: self._read(banks, n, v),
                                                "reading the banks' entries")
                          for name, version in versions}
            self._last = BankSet(versions, tuple(e for _, entries in self._held.values() for e in entries))
        return self._last

    def _read(self, banks: BankStore, name: str, version: int) -> tuple[int, tuple[BankEntry, ...]]:
        held_version, held = self._held.get(name, (0, ()))
        if held_version == version:
            return held_version, held
        if held and banks.changes_since(name, held_version) == {"imported"}:
            return version, held + banks.active(name, after_id=held[-1].entry_id).entries
        return version, banks.active(name).entries


class FaceGalleries:
    """A picklable loader of the enrolled faces of one embedding model, for the gate's workers."""

    def __init__(self, database_url: str):
        self._url = database_url

    def __call__(self, model: str) -> Gallery:
        return FaceStore(engine_for(self._url)).gallery(model)


class ParentDecisions:
    """A picklable reader of remixes' parents' current decisions, for the lineage family."""

    def __init__(self, database_url: str):
        self._url = database_url

    def __call__(self, clip_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not clip_ids:
            return {}
        return through_outages(lambda: DecisionStore(engine_for(self._url)).get_many(clip_ids),
                               "reading remixes' parents")


def default_handlers(settings: Settings, max_batch_size: int = 8,
                     policies: Sequence[Policy] = ()) -> list[SignalHandler]:
    """One handler per registered signal family, in the order the chain applies them; `policies`
    are those that will judge the signals (the live one and its shadows)."""
    sections = {name: tuple(p.signals[name] for p in policies if name in p.signals)
                for name in {name for p in policies for name in p.signals}}
    context = HandlerContext(settings, ClaimCatalog(settings.database_url), FaceGalleries(settings.database_url),
                             permits, ParentDecisions(settings.database_url), max_batch_size, sections,
                             BankEntries(settings.database_url))
    return [manifest.handler(context) for manifest in families.registered()]


class Moderate(beam.PTransform):
    def __init__(self, handlers: Sequence[SignalHandler], policy: Policy, roots: Sequence[Path],
                 limits: MediaLimits, attempts_url: str | None = None, shadows: Sequence[Policy] = ()):
        super().__init__()
        self._handlers = handlers
        self._policy = policy
        self._shadows = tuple(shadows)
        self._roots = roots
        self._limits = limits
        self._attempts_url = attempts_url

    def expand(self, works: beam.PCollection) -> beam.PCollection:
        loaded = works | "LoadMedia" >> beam.ParDo(LoadMedia(self._roots, self._limits, self._attempts_url))
        # RunInference batches within a window; one-second windows keep batches from waiting.
        loaded = loaded | "BatchWindow" >> beam.WindowInto(FixedWindows(1))
        for handler in self._handlers:
            loaded = compute_signal(loaded, handler)
        return loaded | "Decide" >> beam.ParDo(Decide(self._policy, self._shadows))
