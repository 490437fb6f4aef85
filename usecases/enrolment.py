"""Photos, clips and recordings of one person turned into the face and voice embeddings a
gallery stores: one door for public figures and cameo owners, from the CLI and the REST API
alike. A photo must show exactly one face, large enough to identify; a recording must hold
enough speech of exactly one voice. Otherwise the whole enrolment is refused, nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

import numpy as np

from classifiers.faces.handler import FaceBackend, see_people
from classifiers.voice.encoder import VoiceEncoder
from classifiers.voice.speech import ENROL_RATE, embed_speech, speakers, voiced
from clipguard.core.config import MediaLimits
from media.sampling import thumbnail_jpeg
from media.uploads import BadUpload, Upload, read_media
from registry.faces import VOICE, NewEmbedding

# Smaller faces enrol blurry embeddings that match strangers; ask for a closer photo instead.
MIN_ENROL_FACE_PX = 64
FACE_MARGIN = 0.25
# The gate's detector also reports faint face-like patches (a badge on the astronaut's suit
# scores 0.12); a second face on an enrolment photo only counts when it is a confident one.
SECOND_FACE_SCORE = 0.3
# A voice enrolled from less speech than this matches its owner less reliably (bench --suite voice).
MIN_ENROL_SPEECH_S = 5.0
# A second voice counts when it holds this share of the partials: one speaker's partials
# sometimes stray from their mean, a second person's make a group of their own.
SECOND_VOICE_SHARE = 0.25


def enrol_person(photos: Iterable[Upload], recordings: Iterable[Upload], limits: MediaLimits,
                 backend: Callable[[], FaceBackend], encoder: Callable[[], VoiceEncoder]) -> list[NewEmbedding]:
    """Every photo's face and every recording's voice, the files read one at a time, in order;
    each model is loaded at its first file."""
    backend, encoder = cache(backend), cache(encoder)
    enrolled = [face_of(file, limits, backend()) for file in photos]
    enrolled += [voice_of(file, limits, encoder()) for file in recordings]
    if not enrolled:
        raise BadUpload("enrolment needs at least one photo, clip or recording")
    return enrolled


def enrol_faces(files: Iterable[Upload], limits: MediaLimits, backend: FaceBackend) -> list[NewEmbedding]:
    return [face_of(file, limits, backend) for file in files]


def face_of(file: Upload, limits: MediaLimits, backend: FaceBackend) -> NewEmbedding:
    """The one face a photo (or a short clip) shows."""
    media = read_media(file, limits)
    seen = see_people(backend, media.frames)
    seen = sorted(seen, key=lambda p: -p.detection.score)
    seen = seen[:1] + [p for p in seen[1:] if p.detection.score >= SECOND_FACE_SCORE]
    if not seen:
        raise BadUpload(f"{file.name}: no face found; send a photo that shows the face clearly")
    if len(seen) > 1:
        raise BadUpload(f"{file.name}: {len(seen)} faces; send a photo of the one person being enrolled")
    person = seen[0]
    if person.detection.side < MIN_ENROL_FACE_PX:
        raise BadUpload(f"{file.name}: the face is {person.detection.side} px across; send a photo where it "
                        f"is at least {MIN_ENROL_FACE_PX} px")
    x0, y0, x1, y1 = person.detection.box
    pad = int(FACE_MARGIN * (x1 - x0))
    rgb = media.frames[person.position]
    crop = rgb[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]
    return NewEmbedding(person.embedding, backend.version, media.sha256, thumbnail_jpeg(crop, 160))


def voice_of(file: Upload, limits: MediaLimits, encoder: VoiceEncoder) -> NewEmbedding:
    """The one voice a recording (or a clip's soundtrack) speaks in."""
    media = read_media(file, limits)
    if media.audio is None:
        raise BadUpload(f"{file.name}: no sound; send a recording of the person speaking")
    return NewEmbedding(enrolled_voice(media.audio.samples, encoder, file.name), encoder.version, media.sha256,
                        medium=VOICE)


def enrolled_voice(samples: np.ndarray, encoder: VoiceEncoder, name: str) -> np.ndarray:
    """The mean of the partials of one person's speech in `samples` (mono at the encoder's rate)."""
    speech = voiced(samples)
    if speech.duration_s < MIN_ENROL_SPEECH_S:
        raise BadUpload(f"{name}: {speech.duration_s:.1f} s of speech; send a recording with at least "
                        f"{MIN_ENROL_SPEECH_S:.0f} s of the person speaking")
    heard = sorted(speakers(*embed_speech(encoder, speech, ENROL_RATE)), key=lambda s: -s.partials)
    enough = [s for s in heard if s.partials >= SECOND_VOICE_SHARE * sum(h.partials for h in heard)]
    if len(enough) > 1:
        raise BadUpload(f"{name}: {len(enough)} voices; send a recording of the one person being enrolled, "
                        "speaking alone")
    return heard[0].embedding
