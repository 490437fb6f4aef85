"""`/v1/figures` (admins) and `/v1/cameos/{user}` (that user only): the galleries' doors, for
faces and voices.

A cameo owner's token reaches only their own cameo: its permission and history, the clips their
face was seen in, and removal requests for those clips. Narrowing or revoking a permission starts
a retroscan of published clips in its own process, as a takedown claim does.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, HTTPException, Response, UploadFile
from pydantic import BaseModel, Field

from classifiers.faces.handler import FaceBackend, configured_backend
from classifiers.voice.encoder import VoiceEncoder
from clipguard.core.contracts import ID_PATTERN
from clipguard.core.vocab import Permission
from media.uploads import BadUpload
from registry.accounts import Principal
from registry.faces import SubjectNotFound
from registry.lineage import Lineage
from service.auth import Services, api_scope, services
from service.fields import REFUSALS, BodyId, FormId, Note, PathId, Problem, Title
from service.uploads import uploaded
from usecases import review
from usecases.cameos import change_permission, revoke_consent
from usecases.enrolment import enrol_person
from usecases.retroscans import in_background

router = APIRouter(prefix="/v1", responses=REFUSALS)
Svc = Annotated[Services, Depends(services)]
MAX_PHOTOS = 10
MAX_VOICES = 5
T = TypeVar("T")


class PermissionIn(BaseModel):
    permission: Permission
    approved: list[BodyId] = Field(default_factory=list, max_length=1000)


class RemovalIn(BaseModel):
    reason: Note


class MutualsIn(BaseModel):
    mutuals: list[BodyId] = Field(max_length=100_000)


@cache
def _backend(model_dir: Path | None) -> FaceBackend:
    return configured_backend(model_dir)


@cache
def _encoder() -> VoiceEncoder:
    return VoiceEncoder()


def _enrolled(svc: Services, photos: list[UploadFile], voices: list[UploadFile]) -> list:
    try:
        return enrol_person(uploaded(photos, MAX_PHOTOS, "photo"), uploaded(voices, MAX_VOICES, "voice"),
                            svc.settings.media, lambda: _backend(svc.settings.face_model_dir), _encoder)
    except BadUpload as exc:
        raise HTTPException(422, str(exc)) from None


# --- public figures (admins) ----------------------------------------------------------------------

@router.post("/figures", status_code=201)
def add_figure(svc: Svc, who: Annotated[Principal, api_scope("figures:write")],
               name: Title,
               photo: Annotated[list[UploadFile], File(description="Photos of the person alone")] = (),
               voice: Annotated[list[UploadFile], File(description="Recordings of the person speaking alone")] = (),
               cameo_user: Annotated[str | None, Form(pattern=ID_PATTERN.pattern)] = None) -> dict[str, Any]:
    """Add a public figure from photos, recordings of their voice (5 s of speech or more), or both."""
    faces = _enrolled(svc, list(photo), list(voice))
    try:
        figure_id = svc.faces.add_figure(name, faces, who.name, cameo_user)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return next(f for f in svc.faces.figures() if f["figure_id"] == figure_id)


@router.get("/figures")
def list_figures(svc: Svc, _: Annotated[Principal, api_scope("figures:read")]) -> list[dict[str, Any]]:
    return svc.faces.figures()


# --- cameo owners (each their own) ----------------------------------------------------------------

def _self(who: Principal, user: str) -> None:
    if who.name != user:
        raise HTTPException(403, f"{who.name} may only manage their own cameo, not {user!r}")


def _known(read: Callable[[], T]) -> T:
    try:
        return read()
    except SubjectNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.put("/cameos/{user}", status_code=201)
def enroll_cameo(svc: Svc, user: PathId, who: Annotated[Principal, api_scope("cameos:write")],
                 permission: Annotated[Permission, Form()],
                 photo: Annotated[list[UploadFile], File(description="Photos of you alone, or a short clip")] = (),
                 voice: Annotated[list[UploadFile], File(description="Recordings of you speaking alone")] = (),
                 approved: Annotated[list[FormId], Form(description="With approved: creators you allow")] = ()
                 ) -> dict[str, Any]:
    """Enrol (or re-enrol) your face, your voice or both with a permission."""
    _self(who, user)
    faces = _enrolled(svc, list(photo), list(voice))
    try:
        svc.faces.enroll(user, faces, permission, list(approved), who.name)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return svc.faces.cameo(user).to_dict()


@router.get("/cameos/{user}")
def get_cameo(svc: Svc, user: PathId, who: Annotated[Principal, api_scope("cameos:read")]) -> dict[str, Any]:
    _self(who, user)
    return _known(lambda: svc.faces.cameo(user).to_dict())


@router.put("/cameos/{user}/permission")
def set_permission(svc: Svc, user: PathId, body: PermissionIn,
                   who: Annotated[Principal, api_scope("cameos:write")]) -> dict[str, Any]:
    """Change whom you permit. Clips already published by creators you no longer permit are taken down."""
    _self(who, user)
    try:
        _known(lambda: change_permission(svc.faces, user, who.name, in_background(svc.settings), body.permission,
                                         approved=body.approved))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return svc.faces.cameo(user).to_dict()


@router.delete("/cameos/{user}", status_code=204)
def revoke_cameo(svc: Svc, user: PathId, who: Annotated[Principal, api_scope("cameos:write")]) -> Response:
    """Withdraw all consent: clips already published by anyone else are taken down."""
    _self(who, user)
    _known(lambda: revoke_consent(svc.faces, user, who.name, in_background(svc.settings)))
    return Response(status_code=204)


@router.get("/cameos/{user}/clips")
def cameo_clips(svc: Svc, user: PathId, who: Annotated[Principal, api_scope("cameos:read")]) -> list[dict]:
    """The clips your face was seen in, with their creator and current verdict."""
    _self(who, user)
    _known(lambda: svc.faces.cameo(user))
    return [s.to_dict() for s in svc.faces.sightings("cameo", user)]


@router.get("/cameos/{user}/remixes")
def cameo_remixes(svc: Svc, user: PathId, who: Annotated[Principal, api_scope("cameos:read")]) -> list[dict]:
    """The remixes of clips your face was seen in, and their remixes in turn, with their current verdict."""
    _self(who, user)
    _known(lambda: svc.faces.cameo(user))
    return _remixes(svc, user)


@router.post("/cameos/{user}/clips/{clip_id}/removal", status_code=201,
             responses={429: {"model": Problem, "description": "ten requests are waiting for an analyst already"}})
def request_removal(svc: Svc, user: PathId, clip_id: PathId,
                    body: RemovalIn, who: Annotated[Principal, api_scope("cameos:write")]) -> dict[str, Any]:
    """Ask for a clip that shows you, or a remix of one, to be taken down; an analyst confirms the
    face was yours. Its own remixes still shown go to review. At most ten of your requests wait
    for an analyst at a time."""
    _self(who, user)
    seen = next((s for s in svc.faces.sightings("cameo", user) if s.clip_id == clip_id), None)
    remix = None if seen is not None else next((r for r in _remixes(svc, user) if r["clip_id"] == clip_id), None)
    if seen is None and remix is None:
        raise HTTPException(404, f"your face was not seen in a clip {clip_id!r}, nor in one it remixes")
    seen_at = ({"distance": seen.distance, "frame": seen.frame} if seen is not None
               else {"remix_of_clip_showing_you": remix["root_id"], "generation": remix["generation"]})
    decision = review.request_removal(svc.queue, svc.decisions, Lineage(svc.engine), clip_id, user, body.reason,
                                      seen_at, svc.publish)
    svc.faces.note(user, who.name, "removal_request", {"clip_id": clip_id, "reason": body.reason})
    return decision.to_dict()


def _remixes(svc: Services, user: str) -> list[dict[str, Any]]:
    remixes = list(Lineage(svc.engine).descendants({s.clip_id for s in svc.faces.sightings("cameo", user)}))
    verdicts = svc.decisions.get_many([r.clip_id for r in remixes])
    return [{"clip_id": r.clip_id, "parent_id": r.parent_id, "root_id": r.root_id, "generation": r.generation,
             "verdict": verdicts[r.clip_id]["verdict"] if r.clip_id in verdicts else None} for r in remixes]


# --- the platform's follow graph ------------------------------------------------------------------

@router.put("/mutuals/{user}", status_code=204)
def set_mutuals(svc: Svc, user: PathId, body: MutualsIn,
                _: Annotated[Principal, api_scope("mutuals:write")]) -> Response:
    """The platform reports whom `user` follows back; `mutuals` permissions read it."""
    svc.faces.set_mutuals(user, body.mutuals)
    return Response(status_code=204)
