"""The CLI's way to run a retroscan: in this process, waiting for it, printing what it took down
(usecases/retroscans.py: the API starts the same command in the background instead)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from clipguard.core.config import Settings

if TYPE_CHECKING:  # Beam loads only once a pipeline runs
    from pipelines.runners import Runner


def retroscan_now(settings: Settings, policy_path: str | None = None, reread_media: bool = True,
                  runner: Runner | None = None) -> Callable[..., None]:
    """The CLI waits for a retroscan (`--claim ID`, `--cameo USER` or `--bank NAME`) and prints what it took down;
    in this process unless a `runner` says otherwise."""

    def run(*args: str) -> None:
        from pipelines.retroscan import run_bank_retroscan, run_cameo_retroscan, run_retroscan
        from pipelines.runners import IN_PROCESS

        kind, subject = args
        on = runner or IN_PROCESS
        if kind == "--claim":
            result = run_retroscan(settings, subject, policy_path, reread_media, on)
        elif kind == "--bank":
            result = run_bank_retroscan(settings, subject, policy_path, on)
        else:
            result = run_cameo_retroscan(settings, subject, policy_path, on)
        print_retroscan(result)

    return run


def print_retroscan(result: Any) -> None:
    for clip_id in result.taken_down:
        click.echo(clip_id)
    unreadable = f", {result.unreadable} whose media could not be read again" if result.unreadable else ""
    click.echo(f"retroscan of {result.subject}: {result.scanned} stored clips scanned, {len(result.taken_down)} "
               f"taken down{unreadable} in {result.elapsed_s:.1f} s", err=True)
    remixes = result.remixes
    for clip_id in remixes.taken_down:
        click.echo(clip_id)
    if remixes.taken_down or remixes.reviewed or remixes.hidden:
        click.echo(f"  their remixes: {len(remixes.taken_down)} taken down, {len(remixes.reviewed)} sent to review, "
                   f"{remixes.hidden} already hidden or decided by an analyst", err=True)
