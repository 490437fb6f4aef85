"""Who is calling: bearer tokens for the REST APIs, session cookies plus CSRF for the console.

The two doors do not mix. An API route never accepts a cookie, so a page on another site cannot
ride an analyst's session into the API; a console route never accepts a bearer token.
"""

import datetime as dt
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from sqlalchemy import Engine

from classifiers.character.embeddings import ClipEmbedder
from clipguard.core.config import Settings
from clipguard.core.contracts import ID_PATTERN, Decision
from policies.engine import Policy
from registry.accounts import AccountStore, AuthError, Principal
from registry.alerts import AlertStore
from registry.claims import ClaimStore
from registry.faces import FaceStore
from registry.review import AuditLog, ReviewQueue
from registry.store import DecisionStore

SESSION_COOKIE = "clipguard_session"
LOGIN_CSRF_COOKIE = "clipguard_login_csrf"
LOGIN_ATTEMPTS = 5
ADDRESS_LOGIN_ATTEMPTS = 50
LOGIN_WINDOW = dt.timedelta(minutes=15)
# Where a request's authenticated bearer principal is kept (in the ASGI scope's state), so a
# request's token is looked up once.
REQUEST_PRINCIPAL = "clipguard_principal"


@dataclass(frozen=True)
class Services:
    """What the routes work with; built once per app."""

    settings: Settings
    engine: Engine
    accounts: AccountStore
    queue: ReviewQueue
    audit: AuditLog
    decisions: DecisionStore
    claims: ClaimStore
    faces: FaceStore
    alerts: AlertStore
    policy: Policy                          # the gate's policy, for the bars shown beside scores
    embedder: ClipEmbedder | None           # CLIP for claim references, when the operator configured it
    publish: Callable[[Decision], None]   # puts a decision on Kafka, or raises


def services(request: Request) -> Services:
    return request.app.state.services


def bearer_principal(app: FastAPI, authorization: str) -> Principal:
    """The account an `Authorization` header's bearer token belongs to, or HTTPException(401)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "this API needs an 'Authorization: Bearer <token>' header",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        return app.state.services.accounts.authenticate_token(token.strip())
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None


def _bearer(request: Request) -> Principal:
    # A /v1 write was authenticated already, before its body was read (service/bodies.py).
    known = request.scope.get("state", {}).get(REQUEST_PRINCIPAL)
    return known or bearer_principal(request.app, request.headers.get("authorization", ""))


def api_scope(scope: str):
    """A dependency: the caller's bearer token must carry `scope`, and its role must allow it."""

    def check(principal: Annotated[Principal, Depends(_bearer)]) -> Principal:
        if not principal.may(scope):
            raise HTTPException(403, f"a {principal.role} token does not carry scope {scope}")
        return principal

    return Depends(check)


class LoginRequired(Exception):
    """Raised by console routes without a valid session; the app answers with a redirect."""


def _session(request: Request) -> Principal:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise LoginRequired()
    try:
        return services(request).accounts.authenticate_session(cookie)
    except AuthError:
        raise LoginRequired() from None


def console_scope(scope: str):
    """A dependency for console pages: a live session whose role allows `scope`."""

    def check(principal: Annotated[Principal, Depends(_session)]) -> Principal:
        if not principal.may(scope):
            raise HTTPException(403, f"the console is for analysts and admins; a {principal.role} account "
                                     f"cannot use this page")
        return principal

    return Depends(check)


def console_form(scope: str):
    """Like `console_scope`, for form posts: the form's CSRF token must match the session's."""

    def check(principal: Annotated[Principal, console_scope(scope)],
              csrf_token: Annotated[str, Form()] = "") -> Principal:
        if not principal.csrf_token or not hmac.compare_digest(principal.csrf_token, csrf_token):
            raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page and try again")
        return principal

    return Depends(check)


def login_keys(name: str, address: str) -> list[str]:
    """What failed logins are counted against: the name tried, then the client's address. A name
    that cannot be an account is counted as one, so it is never stored as it was sent."""
    return [f"name:{name}" if ID_PATTERN.match(name) else "name:(not an account name)", f"ip:{address}"]


def login_throttled(svc: Services, keys: list[str], counting_this_one: bool = False) -> bool:
    """Too many recent failures for the name, or many more for the address. An attempt already
    counted (recorded before its password check, so concurrent guesses cannot all slip past) may
    be the last one allowed.

    The address allows more: behind one NAT or proxy, everyone shares it, and five wrong names
    there must not lock out every analyst."""
    extra = 1 if counting_this_one else 0
    name_key, address_key = keys
    return (svc.accounts.recent_login_failures(name_key, LOGIN_WINDOW) >= LOGIN_ATTEMPTS + extra
            or svc.accounts.recent_login_failures(address_key, LOGIN_WINDOW) >= ADDRESS_LOGIN_ATTEMPTS + extra)
