"""`clipguard retroscan`: a Beam batch pipeline that re-checks published clips when a claim is
filed or a cameo owner withdraws consent.

    stored features of clips now allowed or in review
        -> claim: match the frame hashes against the claim's references (PDQ and pHash); where
                  they find nothing, sample the clip's media again and match ORB (crops, art on
                  a new background); a recording's landmarks against the stored soundtrack peaks
           cameo: match the people seen against the owner's face, under their current permission
        -> takedown decisions (source "retroscan") -> Kafka, registry, the holder's matches or the
           owner's sightings

The hashes and face embeddings the gate stored answer without decoding. ORB features are too
large to keep per clip (about 100 KB per frame), so they are computed again from the media;
prompts are not re-read, since an alias alone only ever sends a clip to review.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

from bus.publish import DecisionPublisher
from classifiers.bank.handler import MIN_PDQ_QUALITY, bank_finding
from classifiers.bank.index import BankIndex, VpdqBars, stored_hashes
from classifiers.character import orb
from classifiers.character.handler import frame_finding
from classifiers.character.reference_index import FrameHash, Match, OrbIndex, PdqIndex, PhashIndex
from classifiers.character.rule import measure_value
from classifiers.faces.handler import SEARCH_DISTANCE, person_findings
from classifiers.galleries import GalleryIndex
from classifiers.music.handler import MusicIndex, stored_peaks
from classifiers.voice.encoder import VoiceEncoder
from classifiers.voice.handler import speaker_findings
from clipguard.core.claims import visual
from clipguard.core.config import MediaLimits, Settings
from clipguard.core.contracts import Decision, utcnow
from clipguard.core.signals import Finding, Signal
from media.sampling import MediaError, resolve_media, sample_frames
from pipelines.runners import IN_PROCESS, Runner
from policies.consent import permits
from policies.decisions import retroscan_takedown
from policies.engine import Policy, judge
from registry.banks import BankMatch, BankStore, bank_matches
from registry.claims import ClaimMatch, ClaimStore
from registry.db import engine_for, migrate
from registry.faces import FACE, VOICE, FaceStore, Sighting
from registry.lineage import Lineage
from registry.store import KEEP_SIGNALS_FOR, ClipRange, DecisionStore
from usecases.lineage import cascade
from usecases.policy_files import live_policy

log = logging.getLogger("clipguard.retroscan")
NAMESPACE = "clipguard.retroscan"
# Stored clips per range a worker reads: small enough to spread 100,000 over a cluster's workers.
RANGE_SIZE = 2_000


@dataclass(frozen=True)
class Takedown:
    decision: Decision
    match: ClaimMatch | None = None      # what the claim's holder sees
    sighting: Sighting | None = None     # what the cameo owner sees
    bank_match: BankMatch | None = None  # the bank's match, and its report where the bank reports


@dataclass(frozen=True)
class Remixes:
    """What a takedown did to the remixes below the clips it took down."""

    taken_down: list[str] = field(default_factory=list)   # the same claim or person found in them
    reviewed: list[str] = field(default_factory=list)     # not found: an analyst decides
    hidden: int = 0          # already blocked or taken down, or an analyst's call: left as they are

    def __add__(self, other: Remixes) -> Remixes:
        return Remixes(self.taken_down + other.taken_down, self.reviewed + other.reviewed, self.hidden + other.hidden)


@dataclass(frozen=True)
class RetroscanResult:
    subject: str          # the claim id, or the cameo owner's user id
    scanned: int
    taken_down: list[str]
    elapsed_s: float
    unreadable: int = 0   # clips whose media could not be read again (claims only)
    remixes: Remixes = field(default_factory=Remixes)


@dataclass(frozen=True)
class MediaAccess:
    """Where retroscan may read published clips' media again, and the gate's limits for it."""

    roots: tuple[Path, ...]
    limits: MediaLimits


class ReadStored(beam.DoFn):
    """One range of clip ids -> the stored features of each candidate in it."""

    def __init__(self, database_url: str, signal: str):
        self._url = database_url
        self._signal = signal

    def setup(self) -> None:
        self._clips = DecisionStore(engine_for(self._url))

    def process(self, clip_range: ClipRange) -> Iterator[tuple[str, str, dict[str, Any]]]:
        yield from self._clips.retroscan_candidates(self._signal, KEEP_SIGNALS_FOR, tuple(clip_range))


class MatchClaim(beam.DoFn):
    """One stored clip against the claim's references; yields a Takedown when the policy says so.

    First the stored frame hashes (near copies, no decoding). When they find nothing and the
    claim has ORB features, the clip's media is sampled again and matched with ORB, which finds
    crops and art on a new background. A clip whose media can no longer be read is counted and
    logged, never taken down without evidence."""

    def __init__(self, database_url: str, claim_id: str, policy: Policy, media: MediaAccess | None):
        self._url = database_url
        self._claim_id = claim_id
        self._policy = policy
        self._media = media
        self._scanned = Metrics.counter(NAMESPACE, "scanned")
        self._decoded = Metrics.counter(NAMESPACE, "media_decoded")
        self._unreadable = Metrics.counter(NAMESPACE, "media_unreadable")

    def setup(self) -> None:
        engine = engine_for(self._url)
        references = visual(ClaimStore(engine).active_references(self._claim_id))
        self._hashes = (PdqIndex.build(references), PhashIndex.build(references))
        self._orb = OrbIndex.build(references)
        self._clips = DecisionStore(engine)

    def process(self, stored: tuple[str, str, dict[str, Any]]) -> Iterator[Takedown]:
        clip_id, _, features = stored
        self._scanned.inc()
        stored_frames = features.get("frames", [])
        frames = [(f["index"], f["t"]) for f in stored_frames]
        hashes = [FrameHash(f["pdq"], f["quality"], f["phash"]) for f in stored_frames]
        found = self._takedown(clip_id, frames, [m for index in self._hashes for m in index.query(hashes)],
                               "stored-hashes")
        if found is None and self._media is not None and len(self._orb):
            found = self._takedown(clip_id, *self._media_matches(clip_id), "media-orb")
        if found is not None:
            yield found

    def _media_matches(self, clip_id: str) -> tuple[list[tuple[int, float]], list[Match]]:
        event = self._clips.event(clip_id) or {}
        try:
            path = resolve_media(event.get("media_uri", ""), self._media.roots)
            clip = sample_frames(path, self._media.limits)
        except MediaError as exc:
            self._unreadable.inc()
            log.warning("retroscan of claim %s could not re-read clip %s (%s): %s", self._claim_id, clip_id,
                        exc.code, exc)
            return [], []
        self._decoded.inc()
        return ([(f.index, f.t) for f in clip.frames],
                self._orb.query([orb.orb_features(f.rgb) for f in clip.frames]))

    def _takedown(self, clip_id: str, frames: list[tuple[int, float]], matches: list[Match],
                  model: str) -> Takedown | None:
        findings = tuple(frame_finding(clip_id, *frames[m.frame], m) for m in matches)
        signal = Signal("character", "retroscan", model, ok=True, findings=findings)
        ruled = judge(signal, self._policy)
        hits = [reason for verdict, reason in ruled if verdict == "takedown"]
        if not hits:
            return None
        reason = max(hits, key=lambda r: r.score or 0.0)
        evidence = reason.evidence
        return Takedown(retroscan_takedown(clip_id, reason, self._policy.label, model, utcnow()),
                        ClaimMatch(self._claim_id, clip_id, evidence["reference_id"], evidence["method"],
                                   measure_value(evidence),
                                   evidence["frame"], "takedown", "retroscan"))


class MatchMusic(beam.DoFn):
    """One stored clip's soundtrack peaks (the music family's features) against the claim's
    recordings; a match the policy takes down is taken down. A clip stored without peaks had no
    soundtrack."""

    def __init__(self, database_url: str, claim_id: str, policy: Policy):
        self._url = database_url
        self._claim_id = claim_id
        self._policy = policy
        self._scanned = Metrics.counter(NAMESPACE, "scanned")

    def setup(self) -> None:
        self._index = MusicIndex.of(ClaimStore(engine_for(self._url)).active_references(self._claim_id))

    def process(self, stored: tuple[str, str, dict[str, Any]]) -> Iterator[Takedown]:
        clip_id, _, features = stored
        self._scanned.inc()
        signal = Signal("music", "retroscan", "stored-peaks", ok=True,
                        findings=self._index.findings(stored_peaks(features)))
        hits = [reason for verdict, reason in judge(signal, self._policy) if verdict == "takedown"]
        if hits:
            reason = max(hits, key=lambda r: r.evidence["landmarks"])
            evidence = reason.evidence
            yield Takedown(retroscan_takedown(clip_id, reason, self._policy.label, "stored-peaks", utcnow()),
                           ClaimMatch(self._claim_id, clip_id, evidence["reference_id"], "landmarks",
                                      float(evidence["landmarks"]), None, "takedown", "retroscan"))


@dataclass(frozen=True)
class StoredPeople:
    """How one family stores the people it found (each with an embedding) and re-finds them."""

    signal: str
    medium: str                                                   # what of a person it matches
    people: str                                                   # the features' list of people
    model: Callable[[dict[str, Any]], str | None]                 # the features' model name, None unknown
    findings: Callable[[GalleryIndex, str, np.ndarray, str, dict[str, Any]], list[Finding]]


STORED_PEOPLE = {
    "faces": StoredPeople(
        "faces", FACE, "people", lambda features: features.get("backend") if features.get("backend") in SEARCH_DISTANCE
        else None,
        lambda index, name, vector, creator, where: person_findings(index, name, vector, creator, (), where, permits)),
    "voice": StoredPeople(
        "voice", VOICE, "speakers", lambda features: VoiceEncoder.name if features.get("model") else None,
        lambda index, name, vector, creator, where: speaker_findings(index, vector, creator, (), where, permits)),
}


class MatchCameo(beam.DoFn):
    """One stored clip's people, by face or by voice (`signal`), against a cameo owner's enrolled
    ones, under the owner's permission now: a clip by a creator the owner no longer permits,
    showing their face or speaking in their voice within the policy's match bar, is taken down.
    Near misses are left to the gate's review of new clips."""

    def __init__(self, database_url: str, user_id: str, policy: Policy, signal: str = "faces"):
        self._url = database_url
        self._user = user_id
        self._policy = policy
        self._stored = STORED_PEOPLE[signal]
        self._scanned = Metrics.counter(NAMESPACE, "scanned")

    def setup(self) -> None:
        self._store = FaceStore(engine_for(self._url))
        self._galleries: dict[str, GalleryIndex] = {}

    def _gallery(self, model: str) -> GalleryIndex:
        if model not in self._galleries:
            self._galleries[model] = GalleryIndex(self._store.gallery(model, owner=self._user))
        return self._galleries[model]

    def process(self, stored: tuple[str, str, dict[str, Any]]) -> Iterator[Takedown]:
        clip_id, creator, features = stored
        self._scanned.inc()
        name, version = self._stored.model(features), features.get("model", "")
        if name is None:
            return
        index = self._gallery(version)
        findings = [f for person in features.get(self._stored.people, [])
                    for f in self._stored.findings(index, name, np.asarray(person["embedding"], np.float32), creator,
                                                   {k: v for k, v in person.items() if k != "embedding"})]
        signal = Signal(self._stored.signal, name, version, ok=True, findings=tuple(findings))
        hits = [r for verdict, r in judge(signal, self._policy) if verdict == "block"]
        if not hits:
            return
        reason = min(hits, key=lambda r: r.evidence["distance"])
        evidence = reason.evidence
        decision = retroscan_takedown(clip_id, reason, self._policy.label, f"stored-{self._stored.signal}", utcnow())
        yield Takedown(decision, sighting=Sighting(clip_id, evidence["kind"], evidence["subject_id"], creator,
                                                   evidence["distance"], evidence.get("frame"), "takedown",
                                                   "retroscan"))


class MatchBank(beam.DoFn):
    """One stored clip's file MD5 and vPDQ features (the bank family's, which hold every sampled
    frame's PDQ) against one bank's entries; a hit within the policy's bars is taken down."""

    def __init__(self, database_url: str, bank: str, policy: Policy):
        self._url = database_url
        self._bank = bank
        self._policy = policy
        self._scanned = Metrics.counter(NAMESPACE, "scanned")

    def setup(self) -> None:
        section = self._policy.signals["bank"]
        self._index = BankIndex(BankStore(engine_for(self._url)).active(self._bank), section["pdq_distance"],
                                VpdqBars.widest([section]))

    def process(self, stored: tuple[str, str, dict[str, Any]]) -> Iterator[Takedown]:
        clip_id, _, features = stored
        self._scanned.inc()
        hashes = stored_hashes(features)
        frames = list(zip(features.get("frame_index", []), [f.timestamp for f in hashes.frames], strict=True))
        findings = tuple(bank_finding(hit, hashes, frames) for hit in self._index.query(hashes, MIN_PDQ_QUALITY))
        signal = Signal("bank", "retroscan", "stored-bank-hashes", ok=True, findings=findings)
        hits = [reason for verdict, reason in judge(signal, self._policy) if verdict in ("block", "takedown")]
        if not hits:
            return
        reason = min(hits, key=lambda r: r.evidence["distance"])
        decision = retroscan_takedown(clip_id, reason, self._policy.label, "stored-bank-hashes", utcnow())
        yield Takedown(decision, bank_match=bank_matches(decision)[0])


class TakedownWriter:
    """Takedowns recorded for the clip, its holder and the people seen in it, each decision
    confirmed on Kafka inside the registry transaction that records it."""

    def __init__(self, settings: Settings):
        self.publish = DecisionPublisher(settings.kafka_bootstrap)
        engine = engine_for(settings.database_url)
        self.decisions, self._claims, self._faces = DecisionStore(engine), ClaimStore(engine), FaceStore(engine)
        self._banks = BankStore(engine)

    def write(self, batch: list[Takedown]) -> set[str]:
        """The clips whose decision this changed (an analyst's call is never overwritten)."""
        changed = set(self.decisions.record_retroscan([t.decision for t in batch], self.publish))
        self._claims.record_matches([t.match for t in batch if t.match and t.match.clip_id in changed])
        self._faces.record_sightings([t.sighting for t in batch if t.sighting and t.sighting.clip_id in changed])
        self._banks.record_matches([t.bank_match for t in batch if t.bank_match and t.bank_match.clip_id in changed])
        return changed

    def close(self) -> None:
        self.publish.close()


class WriteTakedowns(beam.DoFn):
    """Per bundle, through a TakedownWriter."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._written = Metrics.counter(NAMESPACE, "taken_down")

    def setup(self) -> None:
        self._writer = TakedownWriter(self._settings)

    def teardown(self) -> None:
        self._writer.close()

    def start_bundle(self) -> None:
        self._batch: list[Takedown] = []

    def process(self, takedown: Takedown) -> None:
        self._batch.append(takedown)

    def finish_bundle(self) -> None:
        if not self._batch:
            return
        changed = self._writer.write(self._batch)
        self._written.inc(len(changed))
        log.info("retroscan took down %d clip(s) in this bundle", len(changed))


def run_retroscan(settings: Settings, claim_id: str, policy_path: str | None = None,
                  reread_media: bool = True, runner: Runner = IN_PROCESS) -> RetroscanResult:
    """Take down published clips that match a new takedown claim; with `reread_media`, clips whose
    stored hashes do not match are sampled again from the media roots and matched with ORB."""
    started = time.monotonic()
    engine = migrate(settings.database_url)
    claims = ClaimStore(engine)
    info = claims.get(claim_id, holder_id=None)
    if info.status != "active":
        raise ValueError(f"claim {claim_id} is {info.status}; only an active claim is retroscanned")
    if info.action != "takedown":
        raise ValueError(f"claim {claim_id} asks for {info.action!r}; retroscan applies only takedown claims")
    policy = live_policy(settings.database_url, policy_path)
    media = MediaAccess(settings.media_roots, settings.media) if reread_media else None
    kinds = {r["media_kind"] for r in info.references}
    # Pictures are matched on the character family's stored hashes, recordings on the music family's peaks.
    scans = ([("character", MatchClaim(settings.database_url, claim_id, policy, media))] if kinds - {"audio"} else [])
    scans += [("music", MatchMusic(settings.database_url, claim_id, policy))] if "audio" in kinds else []
    counters: dict[str, int] = {}
    taken: list[str] = []
    remixes = Remixes()
    for signal, match in scans:
        counted, found = _scan(settings, signal, match, claim_id, runner,
                               lambda: {m.clip_id for m in claims.matches(claim_id, None) if m.source == "retroscan"})
        counters = {k: counters.get(k, 0) + counted.get(k, 0) for k in {*counters, *counted}}
        taken += found
        remixes += cascade_to_remixes(settings, found, match, signal, f"claim {claim_id} ({info.title!r})", policy)
    elapsed = time.monotonic() - started
    claims.note(claim_id, "retroscan", "retroscanned", {
        "scanned": counters.get("scanned", 0), "taken_down": counters.get("taken_down", 0),
        "media_decoded": counters.get("media_decoded", 0), "media_unreadable": counters.get("media_unreadable", 0),
        "seconds": round(elapsed, 2)})
    return RetroscanResult(claim_id, counters.get("scanned", 0), taken, elapsed, counters.get("media_unreadable", 0),
                           remixes)


def run_cameo_retroscan(settings: Settings, user_id: str, policy_path: str | None = None,
                        runner: Runner = IN_PROCESS) -> RetroscanResult:
    """Take down published clips showing a cameo owner by creators their permission no longer covers."""
    started = time.monotonic()
    engine = migrate(settings.database_url)
    faces = FaceStore(engine)
    grant = faces.grant(user_id)
    policy = live_policy(settings.database_url, policy_path)
    counters: Counter[str] = Counter()
    taken: list[str] = []
    remixes = Remixes()
    # The face scan, then the voice scan; each reads only the clips still shown when it starts,
    # and runs only when the owner has that medium enrolled.
    enrolled = faces.enrolled_media(user_id)
    for signal in [s for s, stored in STORED_PEOPLE.items() if stored.medium in enrolled]:
        match = MatchCameo(settings.database_url, user_id, policy, signal)
        scanned, found = _scan(settings, signal, match, f"cameo {user_id} by {signal}", runner,
                               lambda: {s.clip_id for s in faces.sightings("cameo", user_id)
                                        if s.source == "retroscan" and s.verdict == "takedown"})
        below = cascade_to_remixes(settings, found, match, signal, f"cameo owner {user_id!r}'s consent", policy)
        counters.update(scanned)
        taken += found
        remixes = remixes + below
    elapsed = time.monotonic() - started
    faces.note(user_id, "retroscan", "retroscanned", {"permission": grant.permission,
                                                      "scanned": counters.get("scanned", 0),
                                                      "taken_down": counters.get("taken_down", 0),
                                                      "seconds": round(elapsed, 2)})
    return RetroscanResult(user_id, counters.get("scanned", 0), taken, elapsed, remixes=remixes)


def run_bank_retroscan(settings: Settings, bank: str, policy_path: str | None = None,
                       runner: Runner = IN_PROCESS) -> RetroscanResult:
    """Take down published clips whose stored hashes match a bank that blocks or takes down: run
    when entries are imported into it and when it is enabled. A `review` bank leaves published
    clips to the gate's judgement of new ones."""
    started = time.monotonic()
    engine = migrate(settings.database_url)
    banks = BankStore(engine)
    info = banks.get(bank)
    if not info.enabled:
        raise ValueError(f"bank {bank} is disabled; only an enabled bank is retroscanned")
    if info.action == "review":
        raise ValueError(f"bank {bank} asks for review; retroscan applies only block and takedown banks")
    policy = live_policy(settings.database_url, policy_path)
    match = MatchBank(settings.database_url, bank, policy)
    counters, taken = _scan(settings, "bank", match, f"bank {bank}", runner,
                            lambda: {m["clip_id"] for m in banks.matches(bank) if m["source"] == "retroscan"})
    remixes = cascade_to_remixes(settings, taken, match, "bank", f"bank {bank!r}", policy)
    return RetroscanResult(bank, counters.get("scanned", 0), taken, time.monotonic() - started, remixes=remixes)


def _scan(settings: Settings, signal: str, match: beam.DoFn, what: str, runner: Runner,
          taken_down: Callable[[], set[str]]) -> tuple[dict[str, int], list[str]]:
    """Run `match` over the stored `signal` features of every clip that may be shown; its counters,
    and the clips this pass took down (`taken_down` reads all that retroscans of `what` have).
    The driver cuts the candidates into clip-id ranges, and each worker reads its ranges from the
    registry itself: 100,000 clips' features would not fit in a pipeline's definition."""
    ranges = DecisionStore(engine_for(settings.database_url)).retroscan_ranges(signal, KEEP_SIGNALS_FOR, RANGE_SIZE)
    log.info("retroscan of %s over %d range(s) of stored clips on %s", what, len(ranges), runner.name)
    before = taken_down()
    with runner.watched(), beam.Pipeline(options=runner.options(streaming=False)) as pipeline:
        (pipeline
         | "Ranges" >> beam.Create(ranges)
         | "StoredClips" >> beam.ParDo(ReadStored(settings.database_url, signal))
         | "Match" >> beam.ParDo(match)
         | "Write" >> beam.ParDo(WriteTakedowns(settings)))
    counters = {c.key.metric.name: c.committed for c in pipeline.result.metrics().query(
        MetricsFilter().with_namespace(NAMESPACE))["counters"]}
    return counters, sorted(taken_down() - before)


def cascade_to_remixes(settings: Settings, roots: list[str], match: MatchClaim | MatchMusic | MatchCameo | MatchBank,
                       signal: str,
                       cause: str, policy: Policy) -> Remixes:
    """Every remix below the clips just taken down, re-checked from its stored features with the
    same `match` (usecases/lineage.py): taken down where it matches, sent to review where it does
    not. Run in this process after the scan: the remixes of a scan's takedowns are few."""
    if not roots:
        return Remixes()
    engine = engine_for(settings.database_url)
    store = DecisionStore(engine)
    match.setup()

    def check(clip_id: str) -> Takedown | None:
        creator = (store.event(clip_id) or {}).get("creator_id", "")
        return next(iter(match.process((clip_id, creator, store.signals(clip_id).get(signal, {})))), None)

    writer = TakedownWriter(settings)
    try:
        below = cascade(store, Lineage(engine), roots, cause, policy.label, writer.publish, check)
        taken = writer.write(below.found) if below.found else set()
    finally:
        writer.close()
    if taken or below.reviewed:
        log.info("below the takedowns of %s: %d remix(es) taken down, %d sent to review", cause, len(taken),
                 len(below.reviewed))
    return Remixes(sorted(taken), below.reviewed, below.hidden)
