"""The character signal family: does a clip show, or its prompt name, a work a rights holder claimed?"""

from __future__ import annotations

from classifiers.character.rule import character_rule, check_character_policy
from classifiers.character.view import character_view
from clipguard.core.families import Handler, HandlerContext, SignalFamilyManifest
from clipguard.core.signals import Finding, Signal
from clipguard.core.vocab import ReasonKind, SignalFamily


def _handler(context: HandlerContext) -> Handler:
    from classifiers.character.handler import CharacterHandler

    return CharacterHandler(context.claims, clip_model_dir=context.settings.clip_model_dir,
                            max_batch_size=context.max_batch_size)


def _example() -> Signal:
    evidence = {"claim_id": "claim-1", "reference_id": "ref-1", "title": "Example Cat", "action": "block",
                "method": "pdq", "distance": 12, "frame": 0, "t": 0.0, "thumbnail": "frames/example/0.jpg"}
    return Signal(SignalFamily.CHARACTER, "pdq+phash+orb+alias", "example", ok=True,
                  findings=(Finding("frame 0 resembles claim 'Example Cat' (pdq)", 0.95, evidence),))


MANIFEST = SignalFamilyManifest(
    family=SignalFamily.CHARACTER,
    summary="claimed works by PDQ, pHash and ORB on the frames (CLIP with operator weights), aliases in the prompt",
    order=10,
    reasons={ReasonKind.CHARACTER: 2},
    handler=_handler,
    rule=character_rule,
    check_policy=check_character_policy,
    view=character_view,
    example=_example,
    example_policy={"pdq": {"match_distance": 31, "review_distance": 45}},
    bench=("characters", "bench.characters:run_character_bench"),
)
