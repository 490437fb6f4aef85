"""`/v1/claims`: rights holders file, list, withdraw and follow their own claims. A holder's token
sees only that holder's claims; anyone else's claim answers 404, as a missing one does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, HTTPException, Response, UploadFile

from clipguard.core.vocab import ClaimAction
from registry.accounts import Principal
from registry.claims import ClaimNotFound
from service.auth import Services, api_scope, services
from service.fields import REFUSALS, Alias, PathId, Title
from service.uploads import uploaded
from usecases import claims
from usecases.retroscans import in_background

router = APIRouter(prefix="/v1/claims", responses=REFUSALS)
Svc = Annotated[Services, Depends(services)]
MAX_REFERENCES = 20
T = TypeVar("T")


@router.post("", status_code=201)
def file_claim(svc: Svc, who: Annotated[Principal, api_scope("claims:write")],
               title: Title,
               reference: Annotated[list[UploadFile], File(description="Images or clips of the work", min_length=1)],
               action: Annotated[ClaimAction, Form()] = ClaimAction.BLOCK,
               alias: Annotated[list[Alias], Form(description="TEXT or TEXT@LANG")] = ()) -> dict[str, Any]:
    """File a claim. A `takedown` claim also starts a retroscan of published clips."""
    files = uploaded(reference, MAX_REFERENCES, "reference")
    try:
        claim_id = claims.file_claim(svc.claims, who.name, title, action, files, alias, svc.settings.media,
                                     svc.embedder, in_background(svc.settings))
    except ValueError as exc:   # BadUpload is one
        raise HTTPException(422, str(exc)) from None
    return svc.claims.get(claim_id, who.name).to_dict()


@router.get("")
def list_claims(svc: Svc, who: Annotated[Principal, api_scope("claims:read")]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in svc.claims.list(who.name)]


@router.get("/{claim_id}")
def get_claim(svc: Svc, claim_id: PathId, who: Annotated[Principal, api_scope("claims:read")]) -> dict[str, Any]:
    return _owned(lambda: svc.claims.get(claim_id, who.name).to_dict())


@router.delete("/{claim_id}", status_code=204)
def withdraw_claim(svc: Svc, claim_id: PathId, who: Annotated[Principal, api_scope("claims:write")]) -> Response:
    _owned(lambda: svc.claims.withdraw(claim_id, who.name))
    return Response(status_code=204)


@router.get("/{claim_id}/matches")
def claim_matches(svc: Svc, claim_id: PathId, who: Annotated[Principal, api_scope("claims:read")]) -> list[dict]:
    return _owned(lambda: [m.__dict__ for m in svc.claims.matches(claim_id, who.name)])


def _owned(read: Callable[[], T]) -> T:
    try:
        return read()
    except ClaimNotFound as exc:
        raise HTTPException(404, str(exc)) from None
