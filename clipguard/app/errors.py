"""How a `clipguard` command fails: a user-fixable failure is one line on stderr and exit status 2;
anything else is a bug and keeps its traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

# Failures a user can fix. Anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, RuntimeError, TimeoutError)


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a user-fixable failure into one line on stderr and exit status 2."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from kafka.errors import KafkaError

        try:
            return command(*args, **kwargs)
        except (*USER_ERRORS, KafkaError) as exc:
            click.echo(f"clipguard: error: {exc}", err=True)
            sys.exit(2)

    return run


def exit_now(exc: BaseException) -> None:
    """The same one line and status as `user_errors`, without the interpreter's teardown: after a
    Flink job is lost, Beam's worker threads are still inside gRPC's native code, and tearing the
    interpreter down under them aborts the process (SIGABRT) instead of exiting 2."""
    click.echo(f"clipguard: error: {exc}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(2)
