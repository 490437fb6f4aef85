"""The people a face gallery knows: public figures and cameo owners, and whom each permits.

The registry stores them, the faces signal searches them, and the consent policy
(`policies/consent.py`) reads a `Grant` to say whether a creator may use a face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from clipguard.core.vocab import Permission, words

PERMISSIONS = words(Permission)
REVOKED = "revoked"     # a cameo owner's permission once they withdrew consent


@dataclass(frozen=True)
class Grant:
    """Whom a cameo owner lets use their face."""

    permission: str                       # only_me | approved | mutuals | everyone | revoked
    approved: frozenset[str] = frozenset()
    mutuals: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Subject:
    kind: str                 # figure | cameo
    subject_id: str
    name: str
    grant: Grant | None = None   # whom the person permits: a cameo's own, or a figure's cameo's
    owner: str | None = None     # the user id that grant belongs to


@dataclass(frozen=True)
class Gallery:
    """Enrolled faces of one embedding version: one row of `vectors` per photo."""

    subjects: Sequence[Subject] = ()
    subject_of: Sequence[int] = ()           # row -> index into subjects
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 128), np.float32))
