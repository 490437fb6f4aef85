"""The voice family: public figures' likeness and cameo owners' consent, by voice."""

from __future__ import annotations

from classifiers.voice.encoder import VoiceEncoder
from classifiers.voice.rule import check_voice_policy, voice_rule
from classifiers.voice.view import voice_view
from clipguard.core.families import Handler, HandlerContext, SignalFamilyManifest
from clipguard.core.signals import Finding, Signal
from clipguard.core.vocab import ReasonKind, SignalFamily

MODEL = VoiceEncoder.name


def _handler(context: HandlerContext) -> Handler:
    from classifiers.voice.handler import VoiceHandler

    return VoiceHandler(context.galleries, context.permits, max_batch_size=context.max_batch_size)


def _example() -> Signal:
    evidence = {"kind": "figure", "subject_id": "figure-1", "name": "Example Person", "distance": 0.52,
                "speaker": 0, "clip_range": [0.4, 6.1], "seconds": 6.4, "partials": 4, "permission": None,
                "cameo_user": None, "declared": False, "creator_permitted": False}
    return Signal(SignalFamily.VOICE, MODEL, "example", ok=True,
                  findings=(Finding("0.4-6.1 s: a voice is 0.520 from public figure 'Example Person'", 0.48,
                                    evidence),))


MANIFEST = SignalFamilyManifest(
    family=SignalFamily.VOICE,
    summary="voices in the soundtrack, matched to enrolled public figures and cameo owners",
    order=21,
    # Harm to a person comes first in the review queue, as for faces.
    reasons={ReasonKind.LIKENESS: 4, ReasonKind.CONSENT: 4},
    handler=_handler,
    rule=voice_rule,
    check_policy=check_voice_policy,
    view=voice_view,
    example=_example,
    example_policy={"models": {MODEL: {"match_distance": 0.72, "review_distance": 0.75}}},
    bench=("voice", "bench.voice:run_voice_bench"),
)
