"""REST routes under /v1, for platform integrations and analysts' tools. Bearer tokens only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from clipguard.core.vocab import ItemAction, ItemKind
from registry.accounts import Principal
from service.auth import Services, api_scope, services
from service.fields import QUEUE_REFUSALS, BodyId, Note, PathId, QueryId
from usecases.review import act_on_item

router = APIRouter(prefix="/v1", responses=QUEUE_REFUSALS)
Svc = Annotated[Services, Depends(services)]


class ActionIn(BaseModel):
    action: ItemAction
    note: Note


class DisputeIn(BaseModel):
    clip_id: BodyId
    creator_id: BodyId
    statement: Note


@router.get("/reviews")
def list_reviews(svc: Svc, who: Annotated[Principal, api_scope("reviews:read")],
                 status: Literal["pending", "open", "claimed", "done"] = "pending",
                 kind: ItemKind | None = None) -> list[dict[str, Any]]:
    """Escalated items are listed to admins only."""
    return [i.to_dict() for i in svc.queue.items(status, kind, escalated_too=who.may("reviews:escalated"))]


@router.post("/reviews/claim")
def claim_review(svc: Svc, who: Annotated[Principal, api_scope("reviews:write")],
                 escalated: bool = False) -> dict[str, Any]:
    """The most urgent unclaimed item, now held by the caller. Escalated items go to admins."""
    if escalated and not who.may("reviews:escalated"):
        raise HTTPException(403, "only admins work escalated items")
    item = svc.queue.claim_next(who.name, escalated=escalated)
    if item is None:
        raise HTTPException(404, "the queue is empty")
    return item.to_dict()


@router.get("/reviews/{item_id}")
def get_review(svc: Svc, item_id: PathId, who: Annotated[Principal, api_scope("reviews:read")]) -> dict[str, Any]:
    item = svc.queue.item(item_id, escalated_too=who.may("reviews:escalated"))
    return {"item": item.to_dict(), "decision": svc.decisions.get(item.clip_id),
            "event": svc.decisions.event(item.clip_id),
            "frames": [{"index": i, "t": t} for i, t in svc.decisions.frames(item.clip_id)]}


@router.post("/reviews/{item_id}/actions")
def act_on_review(svc: Svc, item_id: PathId, body: ActionIn,
                  who: Annotated[Principal, api_scope("reviews:write")]) -> dict[str, Any]:
    if body.action == "escalate":
        return {"item": svc.queue.escalate(item_id, who.name, body.note).to_dict()}
    decision = act_on_item(svc.queue, item_id, who.name, body.action, body.note, svc.publish)
    return {"item": svc.queue.item(item_id).to_dict(), "decision": decision.to_dict()}


@router.get("/decisions/{clip_id}")
def get_decision(svc: Svc, clip_id: PathId, _: Annotated[Principal, api_scope("decisions:read")]) -> dict[str, Any]:
    current = svc.decisions.get(clip_id)
    if current is None:
        raise HTTPException(404, f"no decision for clip {clip_id!r}")
    return {"decision": current, "history": svc.audit.decision_history(clip_id)}


@router.post("/disputes", status_code=201)
def file_dispute(svc: Svc, body: DisputeIn, who: Annotated[Principal, api_scope("disputes:write")]) -> dict[str, Any]:
    """The platform files a creator's dispute of a block or takedown; it joins the review queue."""
    return svc.queue.file_dispute(body.clip_id, body.creator_id, body.statement, who.name).to_dict()


@router.get("/audit")
def search_audit(svc: Svc, _: Annotated[Principal, api_scope("audit:read")],
                 clip_id: QueryId = None, actor: QueryId = None,
                 since: dt.datetime | None = None, until: dt.datetime | None = None,
                 limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict[str, Any]]:
    return [{**e.__dict__, "at": e.at.isoformat()} for e in svc.audit.search(clip_id, actor, since, until, limit)]


@router.get("/queue/stats")
def queue_stats(svc: Svc, _: Annotated[Principal, api_scope("reviews:read")]) -> dict[str, Any]:
    stats = svc.queue.stats()
    return {"depth": stats.depth, "overdue": stats.overdue,
            "oldest_open": stats.oldest_open.isoformat() if stats.oldest_open else None,
            "actions_per_hour": [[h.isoformat(), n] for h, n in stats.actions_per_hour],
            "verdict_mix": [[h.isoformat(), mix] for h, mix in stats.verdict_mix]}
