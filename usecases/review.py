"""Acting on analyst work, one implementation for the console, the REST API and the CLI: the
registry moves the item and records the decision in one transaction, and policies.decisions
builds that decision."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from clipguard.core.contracts import Decision
from policies.decisions import analyst_decision, owner_removal
from registry.lineage import Lineage
from registry.review import ReviewQueue
from registry.store import DecisionStore
from usecases.lineage import cascade


def act_on_item(queue: ReviewQueue, item_id: str, actor: str, action: str, note: str,
                publish: Callable[[Decision], None]) -> Decision:
    """An analyst resolves a claimed item with a verdict, published before it is recorded."""
    return queue.act(item_id, actor, action, note, publish, analyst_decision)


def request_removal(queue: ReviewQueue, decisions: DecisionStore, lineage: Lineage, clip_id: str, owner: str,
                    reason: str, seen: Mapping[str, Any], publish: Callable[[Decision], None]) -> Decision:
    """A person seen in a clip asks for its removal: a takedown now, and an item to check it. Its
    remixes still shown go to review (no face check of them here: the owner can ask for each)."""
    decision = queue.file_removal(clip_id, owner, reason, seen, publish, owner_removal)
    cascade(decisions, lineage, [clip_id], f"{owner}'s removal request", decision.policy_version,
            publish)
    return decision
