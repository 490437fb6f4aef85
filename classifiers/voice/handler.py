"""The `voice` signal: whose voices does a clip's soundtrack speak in, and did they agree?

    soundtrack -> voiced speech (WebRTC VAD) -> GE2E partials, every batch's clips in one
        encoder call -> speakers (partials that agree) -> nearest public figures and cameo
        owners among enrolled voices -> findings

The face family's galleries hold the voices too, under the encoder's version, so a person is
enrolled once with photos, recordings or both. Each speaker's embedding goes into `features`,
so a revoked cameo can be re-checked later without decoding the clip again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from classifiers.base import SignalHandler
from classifiers.galleries import SUBJECT_NOUN, GalleryIndex, LiveGallery, Permits, attributed, closeness
from classifiers.voice.encoder import VoiceEncoder
from classifiers.voice.speech import GATE_RATE, Speaker, Speech, cut_partials, enough_speech, speakers
from clipguard.core.people import Gallery
from clipguard.core.signals import ClipInput, Finding, Signal
from clipguard.core.vocab import SignalFamily

REFRESH_S = 5.0
# The widest distance the gallery reports; the policy's bars decide what counts.
SEARCH_DISTANCE = 0.8


class VoiceModel(LiveGallery):
    """The encoder and the enrolled voices of its version, kept current."""

    def __init__(self, load: Callable[[str], Gallery], encoder: VoiceEncoder, refresh_s: float):
        self.encoder = encoder
        super().__init__(load, encoder.version, refresh_s)


class VoiceHandler(SignalHandler[VoiceModel]):
    name = SignalFamily.VOICE
    model_name = VoiceEncoder.name
    model_version = "not loaded"

    def __init__(self, galleries: Callable[[str], Gallery], permits: Permits, refresh_s: float = REFRESH_S,
                 **batching: int):
        super().__init__(**batching)
        self._galleries, self._permits, self._refresh_s = galleries, permits, refresh_s

    def load_model(self) -> VoiceModel:
        encoder = VoiceEncoder()
        self.model_version = encoder.version
        return VoiceModel(self._galleries, encoder, self._refresh_s)

    def identify(self, model: VoiceModel) -> tuple[str, str]:
        return model.encoder.name, model.encoder.version

    def score(self, model: VoiceModel, batch: Sequence[ClipInput]) -> list[Signal]:
        index = model.current()
        heard = hear_speakers(model.encoder, [enough_speech(item.clip.audio.samples) if item.clip.audio else None
                                              for item in batch])
        return [self._signal(model.encoder, index, item, voices) for item, voices in zip(batch, heard, strict=True)]

    def _signal(self, encoder: VoiceEncoder, index: GalleryIndex, item: ClipInput,
                voices: list[Speaker] | None) -> Signal:
        if voices is None:
            return Signal(self.name, encoder.name, encoder.version, ok=True,
                          features={"model": encoder.version, "speakers": []})
        event = item.event
        findings: list[Finding] = []
        described = []
        for number, speaker in enumerate(voices):
            where = speaker_evidence(number, speaker)
            described.append({**where, "embedding": [round(float(x), 5) for x in speaker.embedding]})
            findings += speaker_findings(index, speaker.embedding, event.creator_id, event.cameo_ids, where,
                                         self._permits)
        return Signal(self.name, encoder.name, encoder.version, ok=True, findings=tuple(findings),
                      features={"model": encoder.version, "speakers": described})


def hear_speakers(encoder: VoiceEncoder, speeches: Sequence[Speech | None]) -> list[list[Speaker] | None]:
    """Each soundtrack's speakers (None without enough speech), every partial of the batch through
    the encoder in one call, which spreads its per-step overhead over all of them."""
    cuts = [cut_partials(speech, GATE_RATE) if speech is not None else None for speech in speeches]
    present = [mels for mels, _ in filter(None, cuts)]
    embedded = encoder.embed_partials(np.concatenate(present)) if present else np.zeros((0, 0), np.float32)
    out: list[list[Speaker] | None] = []
    at = 0
    for cut in cuts:
        if cut is None:
            out.append(None)
            continue
        mels, spans = cut
        out.append(speakers(embedded[at:at + len(mels)], spans))
        at += len(mels)
    return out


def speaker_evidence(number: int, speaker: Speaker) -> dict[str, Any]:
    start, end = speaker.clip_range
    return {"speaker": number, "clip_range": [start, end], "seconds": round(speaker.seconds, 1),
            "partials": speaker.partials}


def speaker_findings(index: GalleryIndex, embedding: np.ndarray, creator: str, declared: Sequence[str],
                     where: dict[str, Any], permits: Permits) -> list[Finding]:
    """The enrolled person closest to one voice in a clip, as the gate and retroscan both report it."""
    evidence = attributed(index, embedding, SEARCH_DISTANCE, creator, declared, permits)
    if evidence is None:
        return []
    start, end = where["clip_range"]
    return [Finding(f"{start:.1f}-{end:.1f} s: a voice is {evidence['distance']:.3f} from "
                    f"{SUBJECT_NOUN[evidence['kind']]} {evidence['name']!r}", closeness(evidence["distance"]),
                    evidence | where)]
