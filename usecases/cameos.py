"""Changing whom a cameo owner permits, one implementation for `clipguard cameos permit|revoke`
and `PUT|DELETE /v1/cameos/{user}`: the grant changes, and a retroscan takes down published clips
by creators it no longer covers."""

from __future__ import annotations

from collections.abc import Sequence

from clipguard.core.people import REVOKED
from clipguard.core.vocab import Permission
from registry.faces import FaceStore
from usecases.retroscans import Retroscan


def change_permission(faces: FaceStore, user: str, actor: str, retroscan: Retroscan, permission: str | None = None,
                      approved: Sequence[str] | None = None, allow: Sequence[str] = (),
                      disallow: Sequence[str] = ()) -> tuple[str, list[str]]:
    """Set the owner's permission; returns (permission, approved creators). Either `approved`
    replaces the approved list (the store refuses one beside another level), or `allow` and
    `disallow` change the current one, which only the `approved` level keeps. Without a
    `permission`, approving someone means `approved`, and otherwise the level stays."""
    current = faces.grant(user)
    level = permission or (Permission.APPROVED if allow else current.permission)
    if approved is None:
        approved = sorted((set(current.approved) | set(allow)) - set(disallow)) if level == Permission.APPROVED else []
    faces.set_permission(user, level, approved, actor)
    _retroscan(faces, user, actor, retroscan)
    return level, sorted(set(approved))


def revoke_consent(faces: FaceStore, user: str, actor: str, retroscan: Retroscan) -> None:
    """Withdraw all consent: only the owner may use their face from now on."""
    faces.set_permission(user, REVOKED, [], actor)
    _retroscan(faces, user, actor, retroscan)


def _retroscan(faces: FaceStore, user: str, actor: str, retroscan: Retroscan) -> None:
    faces.note(user, actor, "retroscan", {"started": True})
    retroscan("--cameo", user)
