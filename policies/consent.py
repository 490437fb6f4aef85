"""Consent: whether a person's cameo grant lets a creator use their face. A pure rule, so the
faces signal (through its handler), retroscan and the tests all ask the same question here."""

from __future__ import annotations

from clipguard.core.people import Grant
from clipguard.core.vocab import Permission


def permits(grant: Grant, owner: str, creator: str) -> bool:
    """True when `creator` may show `owner`'s face: the owner themself, or a creator the owner's
    permission covers. A revoked grant covers nobody but the owner."""
    if creator == owner:
        return True
    return (grant.permission == Permission.EVERYONE
            or (grant.permission == Permission.APPROVED and creator in grant.approved)
            or (grant.permission == Permission.MUTUALS and creator in grant.mutuals))
