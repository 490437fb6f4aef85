"""`/v1/banks` (admins): hash banks of known harmful content, their entries in threatexchange's
file formats, their matches and the report queue. An import is one `text/plain` request body of
at most the upload bound (128 MiB, about 1.8 million PDQ lines)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from clipguard.core.vocab import ClaimAction
from registry.accounts import Principal
from registry.banks import BankNotFound, BankStore
from service.auth import Services, api_scope, services
from service.fields import REFUSALS, BodyId, PathId
from usecases import banks
from usecases.retroscans import in_background

router = APIRouter(prefix="/v1/banks", responses=REFUSALS)
Svc = Annotated[Services, Depends(services)]
Format = Annotated[Literal["te", "csv"], Query()]
SignalType = Annotated[Literal["pdq", "vpdq", "md5", "video_md5", "sha256", "video_sha256"] | None, Query()]
T = TypeVar("T")


class BankIn(BaseModel):
    name: BodyId
    owner: str = Field(min_length=1, max_length=128)
    action: ClaimAction = ClaimAction.BLOCK
    report: bool = False
    pdq_threshold: int | None = Field(default=None, ge=0, le=64)


@router.get("")
def list_banks(svc: Svc, who: Annotated[Principal, api_scope("banks:read")]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in BankStore(svc.engine).list()]


@router.post("", status_code=201)
def create_bank(svc: Svc, body: BankIn, who: Annotated[Principal, api_scope("banks:write")]) -> dict[str, Any]:
    try:
        info = BankStore(svc.engine).create(body.name, body.owner, body.action, body.report, body.pdq_threshold,
                                            who.name)
    except ValueError as exc:
        raise HTTPException(409 if "already exists" in str(exc) else 422, str(exc)) from None
    return info.to_dict()


@router.get("/reports")
def report_queue(svc: Svc, who: Annotated[Principal, api_scope("banks:read")],
                 everything: Annotated[bool, Query(alias="all")] = False) -> list[dict[str, Any]]:
    return BankStore(svc.engine).reports(pending_only=not everything)


@router.get("/{name}")
def get_bank(svc: Svc, name: PathId, who: Annotated[Principal, api_scope("banks:read")]) -> dict[str, Any]:
    store = BankStore(svc.engine)
    return _known(lambda: {**store.get(name).to_dict(), "history": store.history(name)})


@router.post("/{name}/entries", status_code=201)
def import_entries(svc: Svc, name: PathId, who: Annotated[Principal, api_scope("banks:write")],
                   text: Annotated[str, Body(media_type="text/plain")], format: Format = "te",
                   signal_type: SignalType = None) -> dict[str, Any]:
    """Add a file's entries, all or none; a bank that blocks or takes down is then retroscanned."""
    store = BankStore(svc.engine)
    try:
        added = _known(lambda: banks.import_entries(store, name, text, format, signal_type, who.name,
                                                    in_background(svc.settings)))
    except ValueError as exc:     # BadBankFile names each bad line
        raise HTTPException(422, str(exc)) from None
    return {"imported": added, **store.get(name).to_dict()}


@router.get("/{name}/export", responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def export_entries(svc: Svc, name: PathId, who: Annotated[Principal, api_scope("banks:read")],
                   format: Format = "te") -> PlainTextResponse:
    """The bank's active entries as a file threatexchange reads (errors answer JSON, as elsewhere)."""
    return PlainTextResponse(_known(lambda: "".join(banks.export_lines(BankStore(svc.engine), name, format))))


@router.get("/{name}/matches")
def bank_matches(svc: Svc, name: PathId, who: Annotated[Principal, api_scope("banks:read")]) -> list[dict[str, Any]]:
    return _known(lambda: BankStore(svc.engine).matches(name))


@router.post("/{name}/disable")
def disable_bank(svc: Svc, name: PathId, who: Annotated[Principal, api_scope("banks:write")]) -> dict[str, Any]:
    return _known(lambda: BankStore(svc.engine).set_enabled(name, False, who.name).to_dict())


@router.post("/{name}/enable")
def enable_bank(svc: Svc, name: PathId, who: Annotated[Principal, api_scope("banks:write")]) -> dict[str, Any]:
    return _known(lambda: banks.enable(BankStore(svc.engine), name, who.name, in_background(svc.settings)).to_dict())


def _known(read: Callable[[], T]) -> T:
    try:
        return read()
    except BankNotFound as exc:
        raise HTTPException(404, str(exc)) from None
