"""`clipguard sign` and `clipguard verify`: a decision signed into a C2PA copy of its clip, and
the check anyone can make of such a copy without asking clipguard (docs/provenance.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from clipguard.app.errors import user_errors
from clipguard.core.config import Settings

PEM_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.argument("clip_id")
@click.option("--decision", "entry_id", type=click.IntRange(1), default=None,
              help="An entry of the clip's decision history (#N on its console page, entry_id in "
                   "GET /v1/decisions/CLIP); by default its current decision.")
@user_errors
def sign(clip_id: str, entry_id: int | None) -> None:
    """Sign a clip's decision into a C2PA copy of the clip; prints the copy's path."""
    from usecases.signing import sign_stored

    click.echo(sign_stored(Settings.from_env(), clip_id, entry_id))


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trust", "trust_files", multiple=True, type=PEM_FILE,
              help="CA certificates (PEM) whose signers to trust; repeatable. By default the root of "
                   "CLIPGUARD_SIGNING_CERTS, this deployment's own.")
@click.option("--json", "as_json", is_flag=True, help="The manifest's report as one JSON object.")
@user_errors
def verify(file: Path, trust_files: tuple[Path, ...], as_json: bool) -> None:
    """Print a clip's clipguard decision and whether it validates: exit 0 when a trusted, valid
    manifest carries one, 1 when not."""
    from classifiers.provenance.manifests import read_manifest
    from classifiers.provenance.report import VALID
    from classifiers.provenance.rule import describe
    from classifiers.provenance.trust import certificates

    anchors = [pem for path in trust_files for pem in certificates(path.read_text())] or _own_root()
    report = read_manifest(file, anchors)
    validates = report.state == VALID and bool(report.trusted_by) and report.moderation is not None
    if as_json:
        click.echo(json.dumps({**report.as_evidence(), "validates": validates}, sort_keys=True))
    else:
        anchors_named = [f"anchor {fp[:16]}" for fp in report.trusted_by]
        click.echo(f"file: {file}")
        click.echo(f"manifest: {describe(report.as_evidence(), anchors_named)}")
        decision = report.moderation
        if decision is None:
            click.echo("decision: none (no org.clipguard.moderation assertion in the active manifest)")
        else:
            models = ", ".join(f"{k} {v}" for k, v in sorted(decision.get("models", {}).items()))
            click.echo(f"decision: {decision.get('verdict')} for clip {decision.get('clip_id')} under "
                       f"{decision.get('policy_version')}, decided {decision.get('decided_at')}; models: {models}")
        if not anchors:
            click.echo("trust: no CA given (--trust CA.pem), so no signer is trusted")
        click.echo(f"validates: {'yes' if validates else 'no'}")
    sys.exit(0 if validates else 1)


def _own_root() -> list[str]:
    """The last certificate of this deployment's signing chain: the CA its decisions chain to."""
    certs = Settings.from_env().signing_certs
    if certs is None:
        return []
    from classifiers.provenance.trust import certificates

    return certificates(certs.read_text())[-1:]
