"""Riding out a short registry outage (PostgreSQL restarting, a failover) instead of failing the
gate's bundle, which would stop the gate until something starts it again.

Only errors that mean "could not reach or keep a connection" are retried; a constraint or a
bug fails at once. Retrying is safe where it is used: every write the gate makes is keyed by
clip id (or by the Kafka record), and a transaction that failed was rolled back whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("clipguard.registry")
T = TypeVar("T")
OUTAGE_LIMIT_S = 120.0
FIRST_WAIT_S = 0.5
MAX_WAIT_S = 10.0


def through_outages(write: Callable[[], T], what: str, limit_s: float = OUTAGE_LIMIT_S,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """`write()`, tried again with growing waits while the registry is unreachable, for at most
    `limit_s`; then the last error is raised."""
    waited, wait = 0.0, FIRST_WAIT_S
    while True:
        try:
            return write()
        except DBAPIError as exc:
            if not _unreachable(exc) or waited >= limit_s:
                raise
            log.warning("registry unreachable while %s (%s); trying again in %.1f s",
                        what, type(exc.orig).__name__, wait)
            sleep(wait)
            waited += wait
            wait = min(MAX_WAIT_S, wait * 2)


def _unreachable(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError) or exc.connection_invalidated
