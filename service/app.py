"""The FastAPI application: REST APIs under /v1, the console, /healthz and /metrics."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from kafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST

from bus.publish import DecisionPublisher
from clipguard.core.config import Settings
from clipguard.core.contracts import Decision
from registry.accounts import AccountStore, Principal
from registry.alerts import AlertStore
from registry.claims import ClaimStore
from registry.db import migrate
from registry.faces import FaceStore
from registry.inputs import DecisionInputs
from registry.review import AuditLog, QueueError, ReviewQueue
from registry.shadows import ShadowDecisions
from registry.store import DecisionStore
from service import api, banks_api, claims_api, console, faces_api
from service.auth import LoginRequired, Services, api_scope
from service.bodies import BoundedBodies
from service.fields import REFUSALS
from service.headers import SecurityHeaders
from service.metrics import HttpMetrics, exposition
from usecases.policy_files import live_policy
from usecases.references import configured_embedder

log = logging.getLogger("clipguard.service")
PRUNE_EVERY_S = 3600.0


def create_app(settings: Settings, publish: Callable[[Decision], None] | None = None,
               policy_path: str | None = None) -> FastAPI:
    settings.ensure_home()
    engine = migrate(settings.database_url)
    svc = Services(settings=settings, engine=engine, accounts=AccountStore(engine), queue=ReviewQueue(engine),
                   audit=AuditLog(engine), decisions=DecisionStore(engine), claims=ClaimStore(engine),
                   faces=FaceStore(engine), alerts=AlertStore(engine),
                   policy=live_policy(settings.database_url, policy_path), embedder=configured_embedder(settings),
                   publish=publish or DecisionPublisher(settings.kafka_bootstrap))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threading.Thread(target=_apply_retention_until, args=(svc, stop), daemon=True, name="retention").start()
        yield
        stop.set()

    app = FastAPI(title="clipguard", version="0.1.0", lifespan=lifespan,
                  description="REST APIs and the analysts' console of the clipguard moderation gate.")
    app.state.services = svc
    app.add_middleware(HttpMetrics)
    app.add_middleware(BoundedBodies)
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    app.include_router(claims_api.router)
    app.include_router(faces_api.router)
    app.include_router(banks_api.router)
    app.include_router(console.router)
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(QueueError, _queue_error)
    app.add_exception_handler(KafkaError, _kafka_down)
    app.add_exception_handler(RequestValidationError, _invalid_request)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", responses={200: {"description": "Prometheus text exposition",
                                          "content": {"text/plain": {"schema": {"type": "string"}}}},
                                     **{k: REFUSALS[k] for k in (401, 403)}})
    def metrics(_: Annotated[Principal, api_scope("metrics:read")]) -> Response:
        return PlainTextResponse(exposition(svc.queue.stats()), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/console", status_code=303)

    return app


def _to_login(request: Request, _: Exception) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def _queue_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, QueueError)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


def _invalid_request(_: Request, exc: Exception) -> Response:
    """FastAPI's own answer echoes every bad input back: a 60,000-character id, or a lone
    surrogate it then cannot encode (a 500). This one says where and what, in bounded text."""
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": [_printable(str(part), 64) for part in error["loc"]], "msg": _printable(error["msg"], 300),
               "type": error["type"]} for error in exc.errors()[:20]]
    return JSONResponse({"detail": detail}, status_code=422)


def _printable(text: str, at_most: int) -> str:
    return text[:at_most].encode("utf-8", "backslashreplace").decode("utf-8")


def _kafka_down(_: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": f"nothing was recorded: Kafka did not take the decision ({exc})"},
                        status_code=503)


def _apply_retention_until(svc: Services, stop: threading.Event) -> None:
    """Frame thumbnails, decision inputs and shadow decisions are deleted once past their
    retention periods, checked hourly."""
    inputs, shadows = DecisionInputs(svc.engine), ShadowDecisions(svc.engine)
    kept = [("frame thumbnails", svc.settings.frame_retention_days, svc.decisions.prune_frames),
            ("decision inputs", svc.settings.input_retention_days, inputs.prune),
            ("shadow decisions", svc.settings.input_retention_days, shadows.prune)]
    while True:
        for what, days, prune in kept:
            cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
            try:
                pruned = prune(cutoff)
                if pruned:
                    log.info("deleted %d %s from before %s", pruned, what, cutoff.isoformat())
            except Exception:   # the next round tries again; a retention hiccup must not stop the service
                log.exception("retention of %s failed", what)
        if stop.wait(PRUNE_EVERY_S):
            return
