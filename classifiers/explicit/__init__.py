"""The explicit signal family: how likely a clip is to show sexually explicit content."""

from __future__ import annotations

from classifiers.explicit.rule import check_explicit_policy, explicit_rule
from classifiers.explicit.view import explicit_view
from clipguard.core.families import Handler, HandlerContext, SignalFamilyManifest
from clipguard.core.signals import Finding, Signal
from clipguard.core.vocab import ReasonKind, SignalFamily


def _handler(context: HandlerContext) -> Handler:
    from classifiers.explicit.handler import ExplicitBackend, ExplicitHandler

    settings = context.settings
    return ExplicitHandler(ExplicitBackend(settings.explicit_model_dir, settings.explicit_label),
                           max_batch_size=context.max_batch_size)


def _example() -> Signal:
    evidence = {"score_max": 0.91, "score_topk_mean": 0.85, "k": 3, "frame": 30, "t": 1.0,
                "thumbnail": "frames/example/30.jpg"}
    return Signal(SignalFamily.EXPLICIT, "open_nsfw", "example", ok=True,
                  findings=(Finding("explicit score 0.910 at frame 30", 0.91, evidence),))


MANIFEST = SignalFamilyManifest(
    family=SignalFamily.EXPLICIT,
    summary="P(explicit) per sampled frame from open_nsfw (or an operator's image classifier)",
    order=30,
    reasons={ReasonKind.EXPLICIT: 3},
    handler=_handler,
    rule=explicit_rule,
    check_policy=check_explicit_policy,
    view=explicit_view,
    example=_example,
    example_policy={"block": 0.8, "review": 0.2},
    bench=("explicit", "bench.explicit:run_explicit_bench"),
)
