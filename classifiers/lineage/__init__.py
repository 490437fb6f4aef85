"""The lineage signal family: whether a remix's parent (its event's `remix_of`) is blocked or was
taken down. A remix of such a clip may carry what got the parent removed, so it is never judged
as if it had no history."""

from __future__ import annotations

from classifiers.lineage.rule import check_lineage_policy, lineage_rule
from classifiers.lineage.view import lineage_view
from clipguard.core.families import Handler, HandlerContext, SignalFamilyManifest
from clipguard.core.signals import Finding, Signal
from clipguard.core.vocab import ReasonKind, SignalFamily


def _handler(context: HandlerContext) -> Handler:
    from classifiers.lineage.handler import LineageHandler

    return LineageHandler(context.decisions, max_batch_size=context.max_batch_size)


def _example() -> Signal:
    evidence = {"parent_id": "parent-1", "parent_verdict": "takedown", "parent_source": "retroscan",
                "parent_policy": "default@example",
                "parent_reasons": [{"signal": "character", "detail": "frame 0 resembles claim 'Example Cat' (pdq)"}]}
    return Signal(SignalFamily.LINEAGE, "registry", "1", ok=True,
                  findings=(Finding("a remix of clip 'parent-1', whose decision is takedown", None, evidence),))


MANIFEST = SignalFamilyManifest(
    family=SignalFamily.LINEAGE,
    summary="the current decision of the clip a remix was made from",
    order=5,
    reasons={ReasonKind.LINEAGE: 3},
    handler=_handler,
    rule=lineage_rule,
    check_policy=check_lineage_policy,
    view=lineage_view,
    example=_example,
    example_policy={"parent_verdicts": ["block", "takedown"], "verdict": "review"},
)
