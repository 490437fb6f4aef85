"""Request bodies are bounded, and upload bodies authenticated, before a byte of them is read.

FastAPI parses a multipart body (spooling it to disk) before any route dependency runs, so a cap
or a token check in the route comes too late: a 200 MB body with no token would be read whole
and then answered 401. This middleware answers first:
- a declared Content-Length over the route's cap is 413 at once;
- a body that keeps coming past the cap (chunked, or lying about its length) is 413 as soon as
  it crosses it;
- a write under /v1 without a valid bearer token is 401 before the body is read. The route's
  own dependency still checks the token's scope.
"""

from __future__ import annotations

import re

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from media.uploads import MAX_UPLOAD_BYTES
from service.auth import REQUEST_PRINCIPAL, bearer_principal

# A claim's references, a figure's or a cameo's photos, a bank's file of hashes: the few routes
# that take files (a million PDQ lines are about 69 MB).
UPLOAD_ROUTES = re.compile(r"^/v1/(claims|figures|cameos/[^/]+|banks/[^/]+/entries)/?$")
MAX_UPLOADS_REQUEST_BYTES = 2 * MAX_UPLOAD_BYTES
# JSON and form bodies: the largest is a platform's mutuals list (100,000 ids).
MAX_OTHER_REQUEST_BYTES = 8 << 20
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def body_cap(method: str, path: str) -> int:
    return MAX_UPLOADS_REQUEST_BYTES if method in WRITES and UPLOAD_ROUTES.match(path) else MAX_OTHER_REQUEST_BYTES


class BoundedBodies:
    """ASGI middleware. A write's principal is left in the scope's state for the route's own
    token check (service/auth.py), so the token is looked up once."""

    def __init__(self, app: ASGIApp):
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        cap = body_cap(method, path)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        try:
            if method in WRITES and path.startswith("/v1/"):
                principal = bearer_principal(scope["app"], headers.get(b"authorization", b"").decode("latin-1"))
                scope.setdefault("state", {})[REQUEST_PRINCIPAL] = principal
            declared = headers.get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > cap):
                raise _too_large(cap)
        except HTTPException as exc:
            await _answer(exc, scope, receive, send)
            return
        await self._app(scope, _capped(receive, cap), send)


def _capped(receive: Receive, cap: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                # Raised inside the route's body parsing; FastAPI passes an HTTPException on as it is.
                raise _too_large(cap)
        return message

    return counted


def _too_large(cap: int) -> HTTPException:
    return HTTPException(413, f"the request body is over this route's {cap >> 20} MiB cap")


async def _answer(exc: HTTPException, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    await response(scope, receive, send)
