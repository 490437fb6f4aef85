"""Looks up the current decision of each remix's parent, a batch in one read. The registry is
reached through the context's `decisions` loader, so this family knows nothing of databases."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from classifiers.base import SignalHandler
from clipguard.core.signals import ClipInput, Finding, Signal
from clipguard.core.vocab import SignalFamily

Decisions = Callable[[list[str]], Mapping[str, Mapping[str, Any]]]
REASONS_KEPT = 5      # of the parent's, in the remix's evidence


class LineageHandler(SignalHandler[Decisions]):
    name = SignalFamily.LINEAGE
    model_name = "registry"
    model_version = "1"

    def __init__(self, decisions: Decisions, max_batch_size: int = 8):
        super().__init__(max_batch_size=max_batch_size)
        self._decisions = decisions

    def load_model(self) -> Decisions:
        return self._decisions

    def score(self, model: Decisions, batch: Sequence[ClipInput]) -> list[Signal]:
        parents = model(sorted({item.event.remix_of for item in batch if item.event.remix_of}))
        return [self._signal(item.event.remix_of, parents) for item in batch]

    def _signal(self, parent_id: str | None, parents: Mapping[str, Mapping[str, Any]]) -> Signal:
        parent = parents.get(parent_id) if parent_id else None
        if parent is None:      # not a remix, or a parent not decided (yet): no history to judge
            return Signal(self.name, self.model_name, self.model_version, ok=True)
        evidence = {"parent_id": parent_id, "parent_verdict": parent["verdict"], "parent_source": parent["source"],
                    "parent_policy": parent["policy_version"],
                    "parent_reasons": [{"signal": r["signal"], "detail": r["detail"]}
                                       for r in parent["reasons"][:REASONS_KEPT]]}
        detail = f"a remix of clip {parent_id!r}, whose decision is {parent['verdict']}"
        return Signal(self.name, self.model_name, self.model_version, ok=True,
                      findings=(Finding(detail, None, evidence),))
