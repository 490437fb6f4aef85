"""Riding out a short outage (PostgreSQL restarting, a failover, the broker restarting) instead of
failing the gate's bundle, which would stop the gate until something starts it again.

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
                    sleep: Callable[[float], None] = time.sleep,
                    unreachable: Callable[[Exception], bool] | None = None) -> T:
    """`write()`, tried again with growing waits while what it writes to is unreachable (by
    default the registry; `unreachable` says so of another service's errors), for at most
    `limit_s`; then the last error is raised."""
    unreachable = unreachable or registry_unreachable
    waited, wait = 0.0, FIRST_WAIT_S
    while True:
        try:
            return write()
        except Exception as exc:
            if not unreachable(exc) or waited >= limit_s:
                raise
            log.warning("unreachable while %s (%s); trying again in %.1f s",
                        what, type(getattr(exc, "orig", None) or exc).__name__, wait)
            sleep(wait)
            waited += wait
            wait = min(MAX_WAIT_S, wait * 2)


def registry_unreachable(exc: Exception) -> bool:
    return isinstance(exc, DBAPIError) and (isinstance(exc, OperationalError) or exc.connection_invalidated)
