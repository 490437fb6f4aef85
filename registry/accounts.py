"""Accounts, their roles and scopes, API tokens, console sessions and failed-login records.

Secrets are stored only as hashes: passwords with argon2id (slow on purpose, they are guessable),
tokens and session ids with SHA-256 (they are 256 random bits, so a fast hash is enough and
lets every request be checked cheaply).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from clipguard.core.contracts import ID_PATTERN, check_id, utcnow
from clipguard.core.vocab import Role, words
from registry.models import AccountRow, ApiTokenRow, LoginFailureRow, SessionRow

ROLES = words(Role)
# What each role may ever do. A token carries a subset; a route names the one scope it needs.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "platform": frozenset({"decisions:read", "disputes:write", "mutuals:write"}),
    "rights_holder": frozenset({"claims:read", "claims:write"}),
    "cameo_owner": frozenset({"cameos:read", "cameos:write"}),
    "analyst": frozenset({"reviews:read", "reviews:write", "decisions:read", "audit:read"}),
    "admin": frozenset({"reviews:read", "reviews:write", "reviews:escalated", "decisions:read", "audit:read",
                        "figures:read", "figures:write", "metrics:read", "accounts:write",
                        "banks:read", "banks:write"}),
}
TOKEN_PREFIX = "cg"
TOKEN_TTL = dt.timedelta(days=90)
SESSION_TTL = dt.timedelta(hours=8)
MIN_PASSWORD_CHARS = 12

_hasher = PasswordHasher()
# Checked against when the account does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AuthError(Exception):
    """Credentials that do not authenticate. The message never says which part was wrong."""


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what they may do."""

    name: str
    role: str
    scopes: frozenset[str]
    csrf_token: str | None = None      # console sessions only

    def may(self, scope: str) -> bool:
        # The role is checked again, so narrowing a role takes effect on tokens already issued.
        return scope in self.scopes and scope in ROLE_SCOPES[self.role]


def _enabled(account: AccountRow) -> AccountRow:
    if account.disabled_at is not None:
        raise AuthError("this account is disabled")
    return account


class AccountStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def add(self, name: str, role: str, password: str | None = None) -> None:
        check_id(name, "account name")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if password is not None and len(password) < MIN_PASSWORD_CHARS:
            raise ValueError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
        with Session(self._engine) as session, session.begin():
            if session.get(AccountRow, name) is not None:
                raise ValueError(f"account {name!r} already exists")
            session.add(AccountRow(name=name, role=role, created_at=utcnow(),
                                   password_hash=_hasher.hash(password) if password else None))

    def role_of(self, name: str) -> str | None:
        with Session(self._engine) as session:
            row = session.get(AccountRow, name)
            return None if row is None else row.role

    def issue_token(self, name: str, scopes: frozenset[str] | None = None, ttl: dt.timedelta = TOKEN_TTL) -> str:
        """A new bearer token for `name`; the only time its secret is ever visible."""
        role = self.role_of(name)
        if role is None:
            raise ValueError(f"no account {name!r}")
        scopes = ROLE_SCOPES[role] if scopes is None else frozenset(scopes)
        beyond = sorted(scopes - ROLE_SCOPES[role])
        if beyond:
            raise ValueError(f"role {role} cannot hold scope(s) {', '.join(beyond)}")
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            session.add(ApiTokenRow(token_id=token_id, account=name, secret_sha256=_sha256(secret),
                                    scopes=sorted(scopes), created_at=now, expires_at=now + ttl))
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def authenticate_token(self, token: str) -> Principal:
        prefix, _, rest = token.partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or not token_id or not secret:
            raise AuthError("malformed bearer token")
        with Session(self._engine) as session:
            row = session.get(ApiTokenRow, token_id)
            if row is None or not hmac.compare_digest(row.secret_sha256, _sha256(secret)):
                raise AuthError("unknown bearer token")
            if row.revoked_at is not None:
                raise AuthError("this token was revoked")
            if row.expires_at <= utcnow():
                raise AuthError("this token has expired")
            account = _enabled(session.get(AccountRow, row.account))
            return Principal(account.name, account.role, frozenset(row.scopes))

    def revoke_tokens(self, name: str) -> int:
        with Session(self._engine) as session, session.begin():
            rows = session.scalars(select(ApiTokenRow).where(ApiTokenRow.account == name,
                                                             ApiTokenRow.revoked_at.is_(None))).all()
            for row in rows:
                row.revoked_at = utcnow()
            return len(rows)

    def check_password(self, name: str, password: str) -> Principal:
        with Session(self._engine) as session:
            # A name that cannot be an account (a NUL byte, 60,000 characters) is never looked up,
            # but costs the same password check.
            row = session.get(AccountRow, name) if ID_PATTERN.match(name) else None
            stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
            try:
                _hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                raise AuthError("wrong name or password") from None
            if row is None or not row.password_hash:
                raise AuthError("wrong name or password")
            _enabled(row)
            return Principal(row.name, row.role, ROLE_SCOPES[row.role])

    def open_session(self, principal: Principal, ttl: dt.timedelta = SESSION_TTL) -> tuple[str, str]:
        """A new console session: (cookie value, CSRF token)."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            session.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            session.add(SessionRow(session_sha256=_sha256(cookie), account=principal.name, csrf_token=csrf,
                                   created_at=now, expires_at=now + ttl))
        return cookie, csrf

    def authenticate_session(self, cookie: str) -> Principal:
        with Session(self._engine) as session:
            row = session.get(SessionRow, _sha256(cookie))
            if row is None or row.expires_at <= utcnow():
                raise AuthError("not logged in, or the session has expired")
            account = _enabled(session.get(AccountRow, row.account))
            return Principal(account.name, account.role, ROLE_SCOPES[account.role], csrf_token=row.csrf_token)

    def close_session(self, cookie: str) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(delete(SessionRow).where(SessionRow.session_sha256 == _sha256(cookie)))

    def sessions(self, name: str) -> list[tuple[dt.datetime, dt.datetime]]:
        """The account's live console sessions: (opened, expires), oldest first."""
        query = (select(SessionRow.created_at, SessionRow.expires_at)
                 .where(SessionRow.account == name, SessionRow.expires_at > utcnow()).order_by(SessionRow.created_at))
        with Session(self._engine) as session:
            return [(opened, expires) for opened, expires in session.execute(query)]

    def end_sessions(self, name: str) -> int:
        with Session(self._engine) as session, session.begin():
            return session.execute(delete(SessionRow).where(SessionRow.account == name)).rowcount

    def disable(self, name: str) -> None:
        """No token, session or password of the account authenticates from now on; the account
        and its audit trail stay."""
        with Session(self._engine) as session, session.begin():
            row = session.get(AccountRow, name)
            if row is None:
                raise ValueError(f"no account {name!r}")
            row.disabled_at = row.disabled_at or utcnow()
        self.revoke_tokens(name)
        self.end_sessions(name)

    def record_login_failure(self, keys: list[str]) -> list[int]:
        """Count a login attempt against each key; the rows' ids, to forget it if it succeeds."""
        with Session(self._engine) as session, session.begin():
            rows = [LoginFailureRow(key=k[:200], at=utcnow()) for k in keys]
            session.add_all(rows)
            session.flush()
            return [r.failure_id for r in rows]

    def forget_login_failures(self, ids: list[int]) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(delete(LoginFailureRow).where(LoginFailureRow.failure_id.in_(ids)))

    def recent_login_failures(self, key: str, window: dt.timedelta) -> int:
        query = select(func.count()).where(LoginFailureRow.key == key[:200], LoginFailureRow.at >= utcnow() - window)
        with Session(self._engine) as session:
            return session.scalar(query) or 0

    def clear_login_failures(self, key: str) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key[:200]))
