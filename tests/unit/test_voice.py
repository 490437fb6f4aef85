"""The voice family's parts on the calibration speech: the weights reader, the features, the
speaker grouping, enrolment's refusals, the handler and the rule."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from classifiers.voice import MANIFEST
from classifiers.voice.encoder import HOP, MELS, RATE, WINDOW, VoiceEncoder, _mel_bank, _torch_legacy_load, mel_frames
from classifiers.voice.handler import VoiceHandler, hear_speakers
from classifiers.voice.rule import voice_rule
from classifiers.voice.speech import enough_speech, voiced
from clipguard.core.config import MediaLimits
from clipguard.core.contracts import ClipGenerated
from clipguard.core.media import Audio, SampledClip
from clipguard.core.people import Gallery, Grant, Subject
from clipguard.core.signals import ClipInput
from fixtures.audio import song, speakers_speech, write_audio
from media.uploads import BadUpload, Upload
from policies.consent import permits
from usecases.enrolment import enrol_person, enrolled_voice

pytestmark = pytest.mark.skipif(not speakers_speech(), reason="no calibration speech beside the checkout")
ALICE, BOB, CAROL = "1688", "1998", "2033"       # speakers with ten utterances each
POLICY = {"models": {VoiceEncoder.name: {"match_distance": 0.72, "review_distance": 0.75}}}


@pytest.fixture(scope="module")
def encoder() -> VoiceEncoder:
    return VoiceEncoder()


def utterance(who: str, index: int) -> np.ndarray:
    return speakers_speech()[who][index]


def enrolled(encoder: VoiceEncoder, who: str) -> np.ndarray:
    """A speaker enrolled from their first utterances, as `figures add --voice` would."""
    return enrolled_voice(np.concatenate(speakers_speech()[who][:2]), encoder, who)


def test_the_weights_reader_refuses_anything_but_tensors(tmp_path: Path):
    hostile = tmp_path / "evil.pt"
    with hostile.open("wb") as out:
        for header in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(header, out)
        pickle.dump(os.system, out)      # a legacy file may name any callable; this one must not run
    with pytest.raises(pickle.UnpicklingError, match=r"refusing posix\.system"):
        _torch_legacy_load(hostile)
    not_torch = tmp_path / "other.pt"
    not_torch.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a legacy torch checkpoint"):
        _torch_legacy_load(not_torch)


def test_the_shipped_weights_load_into_the_network_the_encoder_runs(encoder: VoiceEncoder):
    assert encoder.version.startswith("ge2e-resemblyzer/sha256:")
    out = encoder.embed_partials(np.zeros((2, 160, MELS), np.float32))
    assert out.shape == (2, 256) and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)


def test_mel_features_put_a_tone_in_the_band_that_covers_it():
    bank = _mel_bank()
    assert bank.shape == (MELS, WINDOW // 2 + 1) and (bank >= 0).all()
    centres = bank.argmax(axis=1)
    assert (np.diff(centres) >= 0).all()     # bands rise with frequency
    t = np.arange(RATE) / RATE
    frames = mel_frames(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert frames.shape == (1 + RATE // HOP, MELS)
    loudest = int(frames.mean(axis=0).argmax())
    assert abs(centres[loudest] * RATE / WINDOW - 1000) < 120


def test_speech_is_found_in_an_utterance_and_not_in_music_or_silence():
    speech = voiced(utterance(ALICE, 1))
    assert 3.0 < speech.duration_s <= len(utterance(ALICE, 1)) / RATE
    assert (np.diff(speech.times) > 0).all()      # clip times kept, in order
    assert enough_speech(np.zeros(5 * RATE, np.float32)) is None
    assert voiced(np.zeros(5 * RATE, np.float32)).duration_s == 0


def test_one_speaker_is_one_voice_and_two_are_two(encoder: VoiceEncoder):
    one = enough_speech(utterance(ALICE, 2))
    two = enough_speech(np.concatenate([utterance(ALICE, 7)[:7 * RATE], utterance(BOB, 2)[:7 * RATE]]))
    heard_one, heard_two = hear_speakers(encoder, [one, two])
    assert len(heard_one) == 1
    # A partial across the change of speaker may stand alone; the two voices are the largest groups.
    first, second = sorted(sorted(heard_two, key=lambda s: -s.partials)[:2], key=lambda s: s.clip_range[0])
    assert first.partials >= 2 and second.partials >= 2
    assert first.clip_range[0] < 1.0 and second.clip_range[1] > 12.0     # where each spoke, in clip seconds
    gallery = {who: enrolled(encoder, who) for who in (ALICE, BOB)}
    for speaker, who in ((first, ALICE), (second, BOB)):
        assert min(gallery, key=lambda w: np.linalg.norm(gallery[w] - speaker.embedding)) == who
    assert hear_speakers(encoder, [None]) == [None]


def test_a_voice_is_nearer_its_own_enrolment_than_other_peoples(encoder: VoiceEncoder):
    gallery = {who: enrolled(encoder, who) for who in (ALICE, BOB, CAROL)}
    for who in gallery:
        probe, = hear_speakers(encoder, [enough_speech(utterance(who, 5)[:6 * RATE])])
        distances = {other: float(np.linalg.norm(vector - probe[0].embedding)) for other, vector in gallery.items()}
        assert min(distances, key=distances.get) == who
        assert distances[who] < 0.72 < min(d for other, d in distances.items() if other != who)


def test_enrolment_refuses_silence_short_speech_two_voices_and_a_photo(encoder: VoiceEncoder, tmp_path: Path):
    def upload(name: str, samples: np.ndarray) -> Upload:
        return Upload(name, write_audio(tmp_path / name, samples).read_bytes())

    def enrol(*recordings: Upload) -> list:
        return enrol_person([], recordings, MediaLimits(), lambda: pytest.fail("no face model needed"),
                            lambda: encoder)

    refusals = {
        "music.wav": (song(3, 8), "s of speech"),
        "short.wav": (np.concatenate([utterance(ALICE, 1)[:3 * RATE], np.zeros(4 * RATE, np.float32)]),
                      "s of speech"),
        "pair.wav": (np.concatenate([utterance(ALICE, 4)[:8 * RATE], utterance(BOB, 4)[:8 * RATE]]), "2 voices"),
    }
    for name, (samples, reason) in refusals.items():
        with pytest.raises(BadUpload, match=reason) as refused:
            enrol(upload(name, samples))
        assert name in str(refused.value)
    with pytest.raises(BadUpload, match="at least one photo, clip or recording"):
        enrol()
    good, = enrol(upload("alice.flac", utterance(ALICE, 0)))
    assert good.medium == "voice" and good.model == encoder.version and good.vector.shape == (256,)


def clip_input(samples: np.ndarray | None, creator: str = "bob", cameos: tuple[str, ...] = ()) -> ClipInput:
    event = ClipGenerated("c1", creator, "file:///c1.mp4", "2026-12-04T00:00:00Z", cameo_ids=cameos)
    audio = None if samples is None else Audio(samples, RATE)
    return ClipInput(event, SampledClip((), 6.0, 320, 240, 0, audio=audio))


def test_the_handler_names_the_enrolled_voice_and_the_rule_blocks_it_unless_permitted(encoder: VoiceEncoder):
    figure = Subject("figure", "f1", "Alice Reader")
    owner = Subject("cameo", "carol", "carol", Grant("approved", frozenset({"friend"})), "carol")
    gallery = Gallery((figure, owner), (0, 1), np.stack([enrolled(encoder, ALICE), enrolled(encoder, CAROL)]))
    handler = VoiceHandler(lambda version: gallery if version == encoder.version else Gallery(), permits)
    model = handler.load_model()
    clips = [clip_input(utterance(ALICE, 6)[:6 * RATE]), clip_input(utterance(CAROL, 6)[:6 * RATE], "friend"),
             clip_input(utterance(CAROL, 7)[:6 * RATE], "stranger"), clip_input(utterance(BOB, 6)[:6 * RATE]),
             clip_input(None)]
    figure_clip, friend, stranger, nobody, silent = handler.score(model, clips)

    reasons = {name: voice_rule(signal, POLICY, "p", {}) for name, signal in
               {"figure": figure_clip, "friend": friend, "stranger": stranger, "nobody": nobody,
                "silent": silent}.items()}
    (verdict, reason), = reasons["figure"]
    assert verdict == "block" and reason.signal == "likeness" and "Alice Reader" in reason.detail
    assert reason.evidence["family"] == "voice" and reason.evidence["clip_range"][1] <= 6.0
    (verdict, reason), = reasons["stranger"]
    assert verdict == "block" and reason.signal == "consent" and "approved" in reason.detail
    assert reasons["friend"] == [] and reasons["nobody"] == [] and reasons["silent"] == []
    assert friend.findings and friend.findings[0].evidence["creator_permitted"]
    assert silent.features == {"model": encoder.version, "speakers": []}
    assert len(nobody.features["speakers"][0]["embedding"]) == 256     # kept for a later retroscan


def test_the_rule_reviews_a_model_the_policy_has_no_bars_for():
    signal = MANIFEST.example()
    (verdict, reason), = voice_rule(signal, {"models": {}}, "p", {})
    assert verdict == "review" and "no voice bars" in reason.detail


def test_bad_weights_bytes_are_not_read_as_a_model(tmp_path: Path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(256))
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, as long as nothing loads
        VoiceEncoder(garbage)
