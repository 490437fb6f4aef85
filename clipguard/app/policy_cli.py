"""`clipguard policy ...`: what a policy change would do before it goes live, and its promotion.

    backtest  a candidate policy re-decides the stored inputs of past gate decisions
    shadows   what the gate's shadow policies have decided so far, the same matrix
    diff      the bars and rules two policy files differ in
    promote   make a policy file the one the gate runs when given none, audited
    history   the versions promoted, the live one first
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import click

from clipguard.app.errors import user_errors
from clipguard.core.config import Settings

POLICY_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def policy() -> None:
    """Shadow, backtest, diff and promote policies."""


@policy.command("backtest")
@click.option("--policy", "policy_path", type=POLICY_FILE, required=True, help="The candidate policy file.")
@click.option("--since", type=click.DateTime(), default=None, help="Clips decided from then, UTC (default: all kept).")
@click.option("--until", type=click.DateTime(), default=None, help="Clips decided before then, UTC.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for a CI job.")
@click.option("--workers", type=click.IntRange(1, 64), default=min(4, os.cpu_count() or 1), show_default=True,
              help="Processes to re-decide in, each over its own slice of the window.")
@user_errors
def policy_backtest(policy_path: Path, since: Any, until: Any, as_json: bool, workers: int) -> None:
    """Re-decide the stored inputs of past gate decisions under a candidate policy."""
    from usecases.backtest import backtest
    from usecases.policy_files import load_policy

    start, end = (t.replace(tzinfo=dt.UTC) if t else None for t in (since, until))
    if start and end and start >= end:
        raise ValueError(f"--since ({start:%Y-%m-%d %H:%M}) must come before --until ({end:%Y-%m-%d %H:%M})")
    candidate = load_policy(policy_path)
    url = Settings.from_env().database_url
    _registry()
    result = backtest(url, candidate, start, end, workers, progress=lambda line: click.echo(f"  {line}", err=True))
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
        return
    for line in result.table():
        click.echo(line)


@policy.command("shadows")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per shadow policy.")
@user_errors
def policy_shadows(as_json: bool) -> None:
    """The transitions each shadow policy has shown in the gate so far."""
    from registry.shadows import ShadowDecisions
    from usecases.backtest import shadow_transitions

    found = shadow_transitions(ShadowDecisions(_registry()))
    if not found:
        click.echo("no shadow decisions are stored: run the gate with --shadow-policy FILE", err=True)
    for transitions in found:
        click.echo(json.dumps(transitions.to_dict(), sort_keys=True) if as_json else "\n".join(transitions.table()))


@policy.command("diff")
@click.argument("before", type=POLICY_FILE)
@click.argument("after", type=POLICY_FILE)
@user_errors
def policy_diff(before: Path, after: Path) -> None:
    """The bars and rules AFTER changes from BEFORE; exit 1 if any differ, as diff(1) does."""
    import sys

    from policies.diff import policy_diff as changes
    from usecases.policy_files import load_policy

    a, b = load_policy(before), load_policy(after)
    found = changes(a, b)
    click.echo(f"{a.label} -> {b.label}: {len(found)} setting(s) differ")
    for change in found:
        click.echo(f"  {change.line()}")
    if found:
        sys.exit(1)


@policy.command("promote")
@click.argument("policy_path", type=POLICY_FILE)
@click.option("--by", "actor", required=True, help="Who is promoting it, for the audit log.")
@click.option("--reason", required=True, help="Why, for the audit log.")
@user_errors
def policy_promote(policy_path: Path, actor: str, reason: str) -> None:
    """Make a policy the live one: the gate, scan, retroscan and console use it when given no --policy
    (a running gate keeps its policy until restarted)."""
    from clipguard.core.contracts import check_text
    from registry.policy_versions import PolicyVersions
    from usecases.policy_files import load_policy

    text = policy_path.read_text()
    promoted = load_policy(policy_path)          # checked before anything is recorded
    replaced = PolicyVersions(_registry()).promote(promoted.label, text, check_text(actor, "--by", 128),
                                                   check_text(reason, "--reason", 4000))
    click.echo(f"{promoted.label} is live{f', replacing {replaced.label}' if replaced else ''}; "
               "restart the gate to apply it", err=True)


@policy.command("history")
@user_errors
def policy_history() -> None:
    """Every promoted version, the latest first."""
    from registry.policy_versions import PolicyVersions

    for version in PolicyVersions(_registry()).history():
        click.echo(f"{version.label}\t{version.state}\t{version.promoted_at:%Y-%m-%d %H:%M:%S}Z\t{version.promoted_by}")


def _registry():
    from registry.db import migrate

    return migrate(Settings.from_env().database_url)
