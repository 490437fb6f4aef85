"""Hardening headers on every response: no framing, no type sniffing, no referrer, nothing behind
the login kept in a cache that outlives the session, and the audit's Data Docs (which quote
event values producers control) in a CSP sandbox, so no script in them runs as the console."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
}
FRAMES_NONE = b"frame-ancestors 'none'"
SANDBOX = b"sandbox; frame-ancestors 'none'"
DATA_DOCS = "/console/datadocs/"


class SecurityHeaders:
    """ASGI middleware; a header the route set itself is left as it is, except Cache-Control on
    console pages, which is always no-store."""

    def __init__(self, app: ASGIApp):
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        behind_login = path.startswith("/console") or path.startswith("/v1")

        async def harden(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if not (behind_login and k.lower() == b"cache-control")]
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in ALWAYS.items() if k not in present]
                if path.startswith(DATA_DOCS):
                    headers = [(k, v) for k, v in headers if k.lower() != b"content-security-policy"]
                    headers.append((b"content-security-policy", SANDBOX))
                elif b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", FRAMES_NONE))
                if behind_login:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, harden)
