"""The analysts' console: server-rendered pages and plain form posts, no build step.

Pages need a session cookie from /login; every form carries the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from kafka.errors import KafkaError

from clipguard.core.contracts import VERDICTS
from clipguard.core.media import Audio
from media.sampling import MediaError, read_recording, resolve_media
from media.soundtrack import excerpt_wav, spectrogram_png
from registry.accounts import SESSION_TTL, AuthError, Principal
from registry.lineage import Lineage
from registry.review import ANALYST_ACTIONS, QueueError
from registry.shadows import ShadowDecisions
from service.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Services,
    console_form,
    console_scope,
    login_keys,
    login_throttled,
    services,
)
from service.charts import bar_chart, stacked_bar_chart
from service.evidence import evidence_view
from service.fields import PathId, QueryIdOrEmpty
from usecases.backtest import shadow_transitions
from usecases.review import act_on_item

router = APIRouter(include_in_schema=False)   # pages, not an API
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
Svc = Annotated[Services, Depends(services)]
Reader = Annotated[Principal, console_scope("reviews:read")]
Writer = Annotated[Principal, console_form("reviews:write")]
VERDICT_COLOURS = {"allow": "#3a7d44", "review": "#d4a017", "block": "#c0392b", "takedown": "#6c2a86"}


def page(request: Request, name: str, who: Principal | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"who": who, **context}, status_code=status_code)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/console") -> HTMLResponse:
    # Double-submit token: a login form posted from another site cannot know it.
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", None, csrf_token=token, next=_local(next), error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                        max_age=3600)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, svc: Svc, name: Annotated[str, Form()], password: Annotated[str, Form()],
          csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/console") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise HTTPException(403, "the login form's CSRF token is missing or wrong; reload the page")
    keys = login_keys(name, request.client.host if request.client else "unknown")
    if login_throttled(svc, keys):
        return _too_many(request, csrf_token, next)
    # The attempt counts as a failure before the ~200 ms password check, so twenty guesses sent at
    # once cannot all be checked; a success forgets it.
    attempt = svc.accounts.record_login_failure(keys)
    if login_throttled(svc, keys, counting_this_one=True):
        return _too_many(request, csrf_token, next)
    try:
        who = svc.accounts.check_password(name, password)
    except AuthError as exc:
        return page(request, "login.html", None, 401, csrf_token=csrf_token, next=_local(next), error=str(exc))
    svc.accounts.forget_login_failures(attempt)
    svc.accounts.clear_login_failures(keys[0])
    if not who.may("reviews:read"):
        return page(request, "login.html", None, 403, csrf_token=csrf_token, next=_local(next),
                    error=f"the console is for analysts and admins; a {who.role} account uses the REST API")
    cookie, _ = svc.accounts.open_session(who)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict", secure=_secure(request),
                        max_age=int(SESSION_TTL.total_seconds()), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _too_many(request: Request, csrf_token: str, next: str) -> HTMLResponse:
    return page(request, "login.html", None, 429, csrf_token=csrf_token, next=_local(next),
                error="Too many failed logins. Wait 15 minutes and try again.")


@router.post("/logout")
def logout(request: Request, svc: Svc, _: Annotated[Principal, console_form("reviews:read")]) -> Response:
    svc.accounts.close_session(request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _local(target: str) -> str:
    """Only same-site paths are followed after login: no open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/console"


@router.get("/console", response_class=HTMLResponse)
def overview(request: Request, svc: Svc, who: Reader) -> HTMLResponse:
    stats = svc.queue.stats()
    verdict_chart = stacked_bar_chart([(h.strftime("%H"), mix) for h, mix in stats.verdict_mix], VERDICT_COLOURS,
                                      "Decisions per hour by verdict (UTC, last 24 h)")
    action_chart = bar_chart([(h.strftime("%H"), n) for h, n in stats.actions_per_hour],
                             "Analyst actions per hour (UTC, last 24 h)")
    latency_chart = bar_chart([(h.strftime("%H"), round(ms or 0)) for h, ms in stats.gate_latency_p50_ms],
                              "Gate decision latency, median ms per hour (UTC, last 24 h)", colour="#7a5c2e")
    docs = svc.settings.home / "datadocs" / "index.html"
    return page(request, "overview.html", who, stats=stats, verdict_chart=verdict_chart, action_chart=action_chart,
                latency_chart=latency_chart, alerts=svc.alerts.recent(10), has_docs=docs.exists(),
                now=dt.datetime.now(dt.UTC))


@router.get("/console/queue", response_class=HTMLResponse)
def queue_page(request: Request, svc: Svc, who: Reader, kind: str | None = None) -> HTMLResponse:
    items = svc.queue.items("pending", kind, escalated_too=who.may("reviews:escalated"))
    return page(request, "queue.html", who, items=items, kind=kind, now=dt.datetime.now(dt.UTC))


@router.get("/console/disputes", response_class=HTMLResponse)
def disputes_page(request: Request, svc: Svc, who: Reader) -> HTMLResponse:
    return queue_page(request, svc, who, kind="dispute")


@router.post("/console/queue/claim")
def claim(request: Request, svc: Svc, who: Writer) -> Response:
    item = svc.queue.claim_next(who.name, escalated=False)
    if item is None and who.may("reviews:escalated"):
        item = svc.queue.claim_next(who.name, escalated=True)
    if item is None:
        return page(request, "queue.html", who, items=[], kind=None, now=dt.datetime.now(dt.UTC),
                    notice="The queue is empty.")
    return RedirectResponse(f"/console/items/{item.item_id}", status_code=303)


@router.get("/console/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, svc: Svc, who: Reader, item_id: PathId, error: str | None = None,
              status_code: int = 200) -> HTMLResponse:
    item = svc.queue.item(item_id, escalated_too=who.may("reviews:escalated"))
    decision = svc.decisions.get(item.clip_id)
    event = svc.decisions.event(item.clip_id) or {}
    evidence = evidence_view(decision, svc.decisions.frames(item.clip_id), svc.policy, event.get("attrs") or {})
    return page(request, "item.html", who, status_code, item=item, decision=decision, event=event,
                evidence=evidence, actions=(*ANALYST_ACTIONS, "escalate"), error=error,
                mine=item.status == "claimed" and item.claimed_by == who.name)


@router.post("/console/items/{item_id}/action")
def act(request: Request, svc: Svc, who: Writer, item_id: PathId, action: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "") -> Response:
    try:
        if action == "escalate":
            svc.queue.escalate(item_id, who.name, note)
        else:
            act_on_item(svc.queue, item_id, who.name, action, note, svc.publish)
    except QueueError as exc:
        return item_page(request, svc, who, item_id, error=str(exc), status_code=exc.status)
    except KafkaError as exc:
        return item_page(request, svc, who, item_id, status_code=503,
                         error=f"nothing was recorded: the decision could not be put on Kafka ({exc})")
    return RedirectResponse(f"/console/clips/{quote(svc.queue.item(item_id).clip_id)}?done={action}",
                            status_code=303)


@router.get("/console/clips/{clip_id}", response_class=HTMLResponse)
def clip_page(request: Request, svc: Svc, who: Reader, clip_id: PathId, done: str | None = None) -> HTMLResponse:
    decision = svc.decisions.get(clip_id)
    if decision is None:
        raise HTTPException(404, f"no decision for clip {clip_id!r}")
    return page(request, "clip.html", who, clip_id=clip_id, decision=decision, done=done,
                event=svc.decisions.event(clip_id) or {}, history=svc.audit.decision_history(clip_id),
                trail=svc.audit.search(clip_id=clip_id), lineage=Lineage(svc.engine).family(clip_id))


@router.get("/console/policy-changes", response_class=HTMLResponse)
def policy_changes_page(request: Request, svc: Svc, who: Reader, shadow: str = "", live: str = "",
                        candidate: str = "") -> HTMLResponse:
    """Each shadow policy's transition matrix, and one cell's sample clips with both decisions' reasons."""
    shadows = ShadowDecisions(svc.engine)
    matrices = shadow_transitions(shadows)
    chosen = next((t for t in matrices if t.candidate == shadow), None)
    if shadow and chosen is None:
        raise HTTPException(404, f"no shadow decisions from policy {shadow[:160]!r}")
    samples = [] if chosen is None else [
        {"clip_id": clip_id, "live": svc.decisions.get(clip_id), "shadow": shadows.get(clip_id, shadow)}
        for clip_id in chosen.samples.get((live, candidate), [])]
    return page(request, "policy_changes.html", who, matrices=matrices, verdicts=VERDICTS, shadow=shadow, live=live,
                candidate=candidate, samples=samples)


@router.get("/console/audit", response_class=HTMLResponse)
def audit_page(request: Request, svc: Svc, who: Annotated[Principal, console_scope("audit:read")],
               clip_id: QueryIdOrEmpty = "", actor: QueryIdOrEmpty = "", since: str = "",
               until: str = "") -> HTMLResponse:
    try:
        bounds = [dt.date.fromisoformat(d) if d else None for d in (since, until)]
    except ValueError:
        raise HTTPException(422, "since and until are dates, YYYY-MM-DD") from None
    start, end = (dt.datetime.combine(d, dt.time(), dt.UTC) if d else None for d in bounds)
    entries = svc.audit.search(clip_id or None, actor or None, start,
                               end + dt.timedelta(days=1) if end else None)
    return page(request, "audit.html", who, entries=entries, clip_id=clip_id, actor=actor, since=since, until=until)


@router.get("/console/frames/{clip_id}/{frame_index}.jpg")
def frame(svc: Svc, _: Reader, clip_id: PathId, frame_index: int) -> Response:
    jpeg = svc.decisions.frame_jpeg(clip_id, frame_index)
    if jpeg is None:
        raise HTTPException(404, f"no stored frame {frame_index} of clip {clip_id!r} (never kept, or past retention)")
    return Response(jpeg, media_type="image/jpeg")


@router.get("/console/sound/{clip_id}.png")
def sound_strip(svc: Svc, _: Reader, clip_id: PathId, start: float, end: float) -> Response:
    """The clip's soundtrack as a spectrogram, `start`-`end` (seconds) marked."""
    return Response(spectrogram_png(_soundtrack(svc, clip_id), (start, end)), media_type="image/png")


@router.get("/console/sound/{clip_id}.wav")
def sound_excerpt(svc: Svc, _: Reader, clip_id: PathId, start: float, end: float) -> Response:
    """`start`-`end` of the clip's soundtrack, to play (at most 30 s)."""
    try:
        return Response(excerpt_wav(_soundtrack(svc, clip_id), start, end), media_type="audio/wav")
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _soundtrack(svc: Services, clip_id: str) -> Audio:
    """Read again from the clip's own file, inside the media roots, under the gate's limits."""
    event = svc.decisions.event(clip_id)
    if event is None:
        raise HTTPException(404, f"no clip {clip_id!r}")
    try:
        audio = read_recording(resolve_media(event["media_uri"], svc.settings.media_roots), svc.settings.media)
    except MediaError as exc:
        raise HTTPException(404, f"the soundtrack of clip {clip_id!r} cannot be read: {exc}") from None
    if audio is None:
        raise HTTPException(404, f"clip {clip_id!r} has no soundtrack")
    return audio


@router.get("/console/references/{reference_id}.jpg")
def reference(svc: Svc, _: Reader, reference_id: PathId) -> Response:
    jpeg = svc.claims.reference_thumbnail(reference_id)
    if jpeg is None:
        raise HTTPException(404, f"no thumbnail for reference {reference_id!r}")
    return Response(jpeg, media_type="image/jpeg")


@router.get("/console/datadocs/{path:path}")
def data_docs(svc: Svc, _: Reader, path: str) -> Response:
    """The Data Docs that `clipguard audit` wrote, behind the console's login."""
    root = (svc.settings.home / "datadocs").resolve()
    target = (root / (path or "index.html")).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404, f"no Data Docs page {path!r}; run `clipguard audit` to write them")
    return FileResponse(target)
