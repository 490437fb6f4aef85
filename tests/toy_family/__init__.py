"""A toy signal family, whole in this one folder, as docs/adding-a-signal.md builds it: how dark a
clip is. Its rule sends a mostly black clip to review. tests/unit/test_toy_family.py registers
it and watches it decide a clip through `clipguard scan`'s chain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from classifiers.base import SignalHandler
from clipguard.core.contracts import Reason
from clipguard.core.families import Handler, HandlerContext, ReasonView, ScoreLine, SignalFamilyManifest
from clipguard.core.signals import ClipInput, Finding, Signal

FAMILY = "darkness"


class DarknessHandler(SignalHandler[None]):
    name = FAMILY
    model_name = "mean-luma"
    model_version = "1"

    def load_model(self) -> None:
        return None

    def score(self, model: None, batch: Sequence[ClipInput]) -> list[Signal]:
        return [self._score(item) for item in batch]

    def _score(self, item: ClipInput) -> Signal:
        luma = [float(np.asarray(f.rgb, np.float32).mean()) / 255 for f in item.clip.frames]
        darkest = int(np.argmin(luma))
        evidence = {"brightness": round(luma[darkest], 4), "frame": item.clip.frames[darkest].index}
        return Signal(FAMILY, self.model_name, self.model_version, ok=True,
                      findings=(Finding(f"brightness {luma[darkest]:.3f}", luma[darkest], evidence),))


def darkness_rule(signal: Signal, config: Mapping[str, Any], policy: str,
                  attrs: Mapping[str, Any]) -> list[tuple[str, Reason]]:
    evidence = signal.findings[0].evidence
    if evidence["brightness"] > config["review_below"]:
        return []
    detail = (f"frame {evidence['frame']} has brightness {evidence['brightness']:.3f} "
              f"(review <= {config['review_below']})")
    return [("review", Reason(f"{policy}/darkness", FAMILY, detail, evidence["brightness"], dict(evidence)))]


def check_darkness_policy(section: Mapping[str, Any]) -> None:
    if not 0 <= section["review_below"] <= 1:
        raise ValueError("darkness.review_below must be within 0..1")


def darkness_view(reason: Mapping[str, Any], section: Mapping[str, Any] | None,
                  attrs: Mapping[str, Any]) -> list[ReasonView]:
    evidence = reason["evidence"]
    bar = f"review <= {section['review_below']}" if section else "no bar in the loaded policy"
    return [ReasonView(frame=evidence["frame"], marks=(f"dark {evidence['brightness']:.3f}",),
                       scores=(ScoreLine(FAMILY, "brightness", evidence["brightness"], bar),))]


def _handler(context: HandlerContext) -> Handler:
    return DarknessHandler(max_batch_size=context.max_batch_size)


def _example() -> Signal:
    return Signal(FAMILY, "mean-luma", "1", ok=True,
                  findings=(Finding("brightness 0.010", 0.01, {"brightness": 0.01, "frame": 0}),))


MANIFEST = SignalFamilyManifest(
    family=FAMILY,
    summary="how dark the clip's darkest sampled frame is",
    order=99,
    reasons={FAMILY: 1},
    handler=_handler,
    rule=darkness_rule,
    check_policy=check_darkness_policy,
    view=darkness_view,
    example=_example,
    example_policy={"review_below": 0.05},
)
