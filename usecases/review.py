"""Acting on analyst work, one implementation for the console, the REST API and the CLI: the
registry moves the item and records the decision in one transaction, and policies.decisions
builds that decision."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from clipguard.core.contracts import Decision
from policies.decisions import analyst_decision, owner_removal
from registry.review import ReviewQueue


def act_on_item(queue: ReviewQueue, item_id: str, actor: str, action: str, note: str,
                publish: Callable[[Decision], None]) -> Decision:
    """An analyst resolves a claimed item with a verdict, published before it is recorded."""
    return queue.act(item_id, actor, action, note, publish, analyst_decision)


def request_removal(queue: ReviewQueue, clip_id: str, owner: str, reason: str, seen: Mapping[str, Any],
                    publish: Callable[[Decision], None]) -> Decision:
    """A person seen in a clip asks for its removal: a takedown now, and an item to check it."""
    return queue.file_removal(clip_id, owner, reason, seen, publish, owner_removal)
