"""`clipguard banks`: shared lists of known harmful content's hashes (docs/banks.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from clipguard.app.errors import user_errors
from clipguard.app.retroscans import retroscan_now
from clipguard.core.config import Settings
from clipguard.core.vocab import ClaimAction, words

T = TypeVar("T")
ACTOR = "cli"
FORMATS = ("te", "csv")
SIGNAL_TYPES = ("pdq", "vpdq", "md5", "video_md5", "sha256", "video_sha256")


@click.group()
def banks() -> None:
    """Hash banks of known harmful content (PDQ, vPDQ, MD5), matched on every clip."""


@banks.command("add")
@click.argument("name")
@click.option("--owner", required=True, help="Who keeps the list: a clearinghouse, a partner, a team.")
@click.option("--action", type=click.Choice(words(ClaimAction)), default="block", show_default=True)
@click.option("--report/--no-report", default=False, show_default=True,
              help="Queue every match for a clearinghouse (`clipguard banks reports`).")
@click.option("--pdq-threshold", type=click.IntRange(0, 64), default=None,
              help="This bank's PDQ bar in bits; by default the policy's (threatexchange's 31).")
@user_errors
def banks_add(name: str, owner: str, action: str, report: bool, pdq_threshold: int | None) -> None:
    """Create a bank, enabled and empty."""
    info = _store().create(name, owner, action, report, pdq_threshold, ACTOR)
    click.echo(json.dumps(info.to_dict(), sort_keys=True))


@banks.command("list")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def banks_list(as_json: bool) -> None:
    """Every bank: name, state, action, entries, version."""
    for info in _store().list():
        if as_json:
            click.echo(json.dumps(info.to_dict(), sort_keys=True))
        else:
            state = "enabled" if info.enabled else "disabled"
            click.echo(f"{info.name}\t{state}\t{info.action}\t{info.entries} entries\tv{info.version}\t{info.owner}")


@banks.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--bank", "name", required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="te", show_default=True,
              help="te: `<signal type> <signal>` lines, as `threatexchange hash` prints them; csv: "
                   "signal_type,signal,label,source_id.")
@click.option("--signal-type", type=click.Choice(SIGNAL_TYPES), default=None,
              help="te only: every line is a bare signal of this type.")
@click.option("--no-retroscan", is_flag=True, help="Do not retroscan published clips against the bank now.")
@user_errors
def banks_import(file: Any, name: str, fmt: str, signal_type: str | None, no_retroscan: bool) -> None:
    """Add a file's entries to a bank, all or none (FILE may be - for stdin)."""
    from usecases.banks import import_entries

    settings = Settings.from_env()
    retroscan = (lambda *_: None) if no_retroscan else retroscan_now(settings)
    added = _known(lambda: import_entries(_store(settings), name, file.read(), fmt, signal_type, ACTOR, retroscan))
    click.echo(f"imported {added} entries into bank {name}", err=True)


@banks.command("export")
@click.option("--bank", "name", required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="te", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of stdout.")
@user_errors
def banks_export(name: str, fmt: str, output: Path | None) -> None:
    """A bank's active entries, in a format threatexchange reads."""
    from usecases.banks import export_lines

    lines = _known(lambda: export_lines(_store(), name, fmt))
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for line in _known(lambda: list(lines)):
            out.write(line)
    finally:
        if output:
            out.close()


@banks.command("matches")
@click.option("--bank", "name", default=None, help="Only this bank's.")
@user_errors
def banks_matches(name: str | None) -> None:
    """Clips that matched bank entries, one JSON object a line: hashes and distances only."""
    for match in _known(lambda: _store().matches(name)):
        click.echo(json.dumps(match, sort_keys=True))


@banks.command("reports")
@click.option("--all", "everything", is_flag=True, help="Also those already handed over.")
@click.option("--mark-exported", is_flag=True, help="Mark the ones printed as handed over.")
@user_errors
def banks_reports(everything: bool, mark_exported: bool) -> None:
    """The queue of matches of reporting banks, for a clearinghouse's exporter; one JSON a line."""
    store = _store()
    queued = store.reports(pending_only=not everything)
    for report in queued:
        click.echo(json.dumps(report, sort_keys=True))
    if mark_exported:
        store.mark_exported([r["report_id"] for r in queued])


@banks.command("remove")
@click.option("--bank", "name", required=True)
@click.argument("entry_ids", nargs=-1, type=int, required=True)
@user_errors
def banks_remove(name: str, entry_ids: tuple[int, ...]) -> None:
    """Remove entries from a bank (their history stays)."""
    removed = _known(lambda: _store().remove_entries(name, entry_ids, ACTOR))
    click.echo(f"removed {removed} entries from bank {name}", err=True)


@banks.command("disable")
@click.argument("name")
@user_errors
def banks_disable(name: str) -> None:
    """Stop matching a bank (within seconds, without a restart)."""
    info = _known(lambda: _store().set_enabled(name, False, ACTOR))
    click.echo(json.dumps(info.to_dict(), sort_keys=True))


@banks.command("enable")
@click.argument("name")
@click.option("--no-retroscan", is_flag=True)
@user_errors
def banks_enable(name: str, no_retroscan: bool) -> None:
    """Match a bank again; published clips are retroscanned against it."""
    from usecases.banks import enable

    settings = Settings.from_env()
    retroscan = (lambda *_: None) if no_retroscan else retroscan_now(settings)
    info = _known(lambda: enable(_store(settings), name, ACTOR, retroscan))
    click.echo(json.dumps(info.to_dict(), sort_keys=True))


@banks.command("history")
@click.argument("name")
@user_errors
def banks_history(name: str) -> None:
    """A bank's changes, oldest first, one JSON object a line."""
    for event in _known(lambda: _store().history(name)):
        click.echo(json.dumps(event, sort_keys=True))


def _store(settings: Settings | None = None) -> Any:
    from registry.banks import BankStore
    from registry.db import migrate

    return BankStore(migrate((settings or Settings.from_env()).database_url))


def _known(read: Callable[[], T]) -> T:
    from registry.banks import BankNotFound

    try:
        return read()
    except BankNotFound as exc:
        raise ValueError(f"{exc}; create it with `clipguard banks add`") from None
