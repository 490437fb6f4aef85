"""The music family: does a clip's soundtrack hold an excerpt of a recording a rights holder
claimed? Spectral landmarks of the clip against those of the claims' audio references."""

from __future__ import annotations

from classifiers.music.rule import check_music_policy, music_rule
from classifiers.music.view import music_view
from clipguard.core.families import Handler, HandlerContext, SignalFamilyManifest
from clipguard.core.signals import Finding, Signal
from clipguard.core.vocab import ReasonKind, SignalFamily

DEFAULT_SECTION = {"match_landmarks": 61, "review_landmarks": 50, "min_seconds": 3.0}


def _handler(context: HandlerContext) -> Handler:
    from classifiers.music.handler import MusicHandler

    return MusicHandler(context.claims, max_batch_size=context.max_batch_size)


def _example() -> Signal:
    evidence = {"claim_id": "claim-1", "reference_id": "ref-1", "title": "Example Song", "action": "block",
                "method": "landmarks", "landmarks": 64, "query_landmarks": 900, "clip_range": [0.5, 5.8],
                "reference_range": [61.2, 66.5], "speed": 1.0, "pitch": 1.0}
    return Signal(SignalFamily.MUSIC, "landmarks", "example", ok=True,
                  findings=(Finding("0.5-5.8 s of the soundtrack match 61.2-66.5 s of claim 'Example Song'",
                                    0.0711, evidence),))


MANIFEST = SignalFamilyManifest(
    family=SignalFamily.MUSIC,
    summary="claimed recordings by spectral landmarks in the soundtrack, within ±5% speed or pitch",
    order=11,
    reasons={ReasonKind.MUSIC: 2},
    handler=_handler,
    rule=music_rule,
    check_policy=check_music_policy,
    view=music_view,
    example=_example,
    example_policy=DEFAULT_SECTION,
    bench=("music", "bench.music:run_music_bench"),
)
