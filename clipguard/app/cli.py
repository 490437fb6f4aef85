"""The `clipguard` command. Each subcommand is a thin door onto a module that does the work."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from clipguard.app.banks_cli import banks
from clipguard.app.errors import exit_now, user_errors
from clipguard.app.policy_cli import policy
from clipguard.app.provenance_cli import sign, verify
from clipguard.app.retroscans import retroscan_now
from clipguard.core import families
from clipguard.core.config import LOCAL_FLINK, Settings
from clipguard.core.vocab import BrokerEngine, ClaimAction, ClipIdFrom, Permission, RunnerName, words

if TYPE_CHECKING:  # Beam loads only once a pipeline runs
    from pipelines.runners import Runner

def quiet_logs() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Beam warns at import about optional cloud clients we do not use.
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("clipguard").setLevel(logging.INFO)


@click.group()
def cli() -> None:
    """clipguard: the moderation gate in front of an AI video feed."""
    quiet_logs()


cli.add_command(banks)
cli.add_command(policy)
cli.add_command(sign)
cli.add_command(verify)


@cli.command()
@click.option("--engine", type=click.Choice(words(BrokerEngine)), default="tansu", show_default=True,
              help="tansu: embedded, memory only. kafka: Apache Kafka (KRaft) from `make jars`, "
                   "its log under $CLIPGUARD_HOME/kafka.")
@user_errors
def broker(engine: str) -> None:
    """Start a Kafka broker on KAFKA_BOOTSTRAP and create the topics."""
    from clipguard.app.broker import ensure_topics, start_broker

    settings = Settings.from_env()
    settings.ensure_home()
    log = settings.home / "broker.log" if engine == "kafka" else None
    proc = start_broker(settings.kafka_bootstrap, str(log) if log else None, engine=engine, home=settings.home)
    ensure_topics(settings.kafka_bootstrap)
    kept = (f"log in {settings.home / 'kafka'}, output in {log}" if engine == "kafka"
            else "memory only: topics vanish when it stops")
    click.echo(f"{engine} broker ready on {settings.kafka_bootstrap} ({kept})")
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        sys.exit(proc.wait())
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()


def runner_options(streaming: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--runner` and the Flink flags, one spelling for every pipeline command; the command gets
    a `runner` (pipelines.runners.Runner). Checkpoints matter only to a streaming pipeline."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(command)
        def run(*args: Any, runner_name: str, flink_master: str, parallelism: int | None, worker_pool: str | None,
                checkpoint_interval_ms: int = 10_000, **kwargs: Any) -> Any:
            from pipelines.runners import Runner

            runner = Runner(runner_name, flink_master, parallelism, checkpoint_interval_ms, worker_pool)
            return command(*args, runner=runner, **kwargs)

        options = [
            click.option("--runner", "runner_name", type=click.Choice(words(RunnerName)),
                         default=RunnerName.INPROCESS.value,
                         show_default=True, help="inprocess: Beam's FnApiRunner here. flink: Beam's portable "
                                                 "Flink runner, jars from `make jars`."),
            click.option("--flink-master", default=LOCAL_FLINK, show_default=True,
                         help=f"{LOCAL_FLINK} for Flink inside the job server, or a cluster's JobManager HOST:PORT."),
            click.option("--parallelism", type=click.IntRange(1, 1024), default=None, help="Flink parallelism."),
            click.option("--worker-pool", default=None, help="HOST:PORT of a Beam Python worker pool, for a Flink "
                                                             "cluster (EXTERNAL environment)."),
        ]
        if streaming:
            options.append(click.option("--checkpoint-interval-ms", type=click.IntRange(100), default=10_000,
                                        show_default=True,
                                        help="Flink checkpoints; Kafka offsets are committed when one completes."))
        for option in reversed(options):
            run = option(run)
        return run

    return decorate


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False),
              help="Policy YAML file; by default the version last promoted, else the packaged one.")
@click.option("--shadow-policy", "shadow_paths", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A candidate policy that decides every clip beside the live one, unpublished (repeatable).")
@click.option("--idle-exit", type=float, default=None, help="Stop after this many seconds without events (in process).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=9464, show_default=True,
              help="Serve Prometheus /metrics on 127.0.0.1 at this port; 0 turns it off.")
@click.option("--sign-decisions", is_flag=True,
              help="Sign each allowed clip's decision into a C2PA copy under CLIPGUARD_SIGNED_ROOT.")
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
@user_errors
@runner_options(streaming=True)
def gate(policy_path: str | None, shadow_paths: tuple[str, ...], idle_exit: float | None, runner: Runner,
         metrics_port: int, sign_decisions: bool, beam_args: tuple[str, ...]) -> None:
    """Run the streaming gate: clips.generated -> moderation.decisions. Extra args go to Beam."""
    from pipelines.gate import run_gate
    from pipelines.metrics import serve_metrics

    settings = Settings.from_env()
    settings.ensure_home()
    if metrics_port:
        try:
            serve_metrics(metrics_port)
        except OSError as exc:
            raise RuntimeError(f"cannot serve metrics on 127.0.0.1:{metrics_port} ({exc}); "
                               "choose another --metrics-port, or 0 for none") from None
    where = f", metrics on http://127.0.0.1:{metrics_port}/metrics" if metrics_port else ""
    on = f" on Flink {runner.flink_master}" if runner.on_flink else ""
    click.echo(f"gate reading {settings.kafka_bootstrap}{on}, registry {redact(settings.database_url)}{where}",
               err=True)
    try:
        run_gate(settings, policy_path, idle_exit, runner, beam_args, shadow_paths=shadow_paths,
                 sign_decisions=sign_decisions)
    except RuntimeError as exc:
        if not runner.on_flink:
            raise
        exit_now(exc)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--creator", required=True, help="creator_id the clips are scanned as.")
@click.option("--prompt", default=None)
@click.option("--cameo", "cameos", multiple=True, help="A declared cameo id; repeatable.")
@click.option("--attr", "attrs", multiple=True, metavar="KEY=VALUE",
              help="An event attr every file is scanned with (audience=teen, generator=NAME); repeatable.")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--recursive", "-r", is_flag=True, help="Take the videos in folders below a folder too.")
@click.option("--clip-id-from", "id_from", type=click.Choice(words(ClipIdFrom)), default=ClipIdFrom.NAME.value,
              show_default=True, help="name: the file name, made valid (a short hash added when it had to "
                                      "change); hash: the SHA-256 of the file's content.")
@click.option("--json", "as_json", is_flag=True, help="One result JSON per line.")
@user_errors
def scan(paths: tuple[str, ...], creator: str, prompt: str | None, cameos: tuple[str, ...], attrs: tuple[str, ...],
         policy_path: str | None, recursive: bool, id_from: str, as_json: bool) -> None:
    """Moderate local files with the gate's transforms, without Kafka.

    PATHS are video files, folders of them, or - for paths read from stdin, one a line. Each file
    gets one result line, in order: its decision, or why it was refused. Exit status: 0 when every
    file was decided, 1 when any was refused, 2 for a usage error."""
    import json

    from clipguard.core.contracts import check_id
    from usecases.scan_files import Refused, ScanFile, scan_files

    check_id(creator, "--creator")
    event_attrs = _attrs(attrs)
    settings = Settings.from_env()
    results = scan_files(_with_stdin(paths), ClipIdFrom(id_from), recursive, settings.media)
    files = [r for r in results if isinstance(r, ScanFile)]
    refused = len(results) - len(files)
    if not results:
        raise ValueError("no paths to scan (stdin named none)")

    def progress(decided: int) -> None:
        click.echo(f"scan: {decided}/{len(files)} decided, {refused} refused", err=True)

    # Beam and the models load only once there is something to decide.
    from pipelines.scan import scan as run_scan

    settings.ensure_home()
    decided = iter(run_scan(settings, files, creator, prompt, cameos, policy_path,
                            progress if as_json or not sys.stdout.isatty() else None, attrs=event_attrs)
                   if files else ())
    for result in results:
        if isinstance(result, Refused):
            click.echo(json.dumps(result.to_dict(), sort_keys=True) if as_json else
                       f"{os.fsdecode(result.path)}\trefused\t{result.message} ({result.code})")
        else:
            decision = next(decided)
            click.echo(json.dumps(decision, sort_keys=True) if as_json else
                       f"{decision['clip_id']}\t{decision['verdict']}\t{decision['source_path']}\t{summary(decision)}")
    sys.exit(1 if refused else 0)


def _attrs(pairs: tuple[str, ...]) -> dict[str, str]:
    attrs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--attr {pair!r} must be KEY=VALUE")
        attrs[key] = value
    return attrs


def _with_stdin(paths: tuple[str, ...]) -> list[str]:
    """`paths` with each `-` replaced by the paths on stdin, one a line (undecoded bytes kept, as
    the file system has them)."""
    out: list[str] = []
    for path in paths:
        if path != "-":
            out.append(path)
            continue
        out += (os.fsdecode(line.rstrip(b"\r\n")) for line in sys.stdin.buffer if line.strip())
    return out


@cli.command()
@click.option("--timeout", type=float, default=300.0, help="Give up if not every clip is decided by then.")
@user_errors
def demo(timeout: float) -> None:
    """The main job end to end on the embedded defaults: broker, seed, publish, gate, report."""
    from clipguard.app.demo import run_demo

    run_demo(Settings.from_env(), timeout_s=timeout)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False),
              help="The gate's policy file, for the bars the console shows beside scores.")
@click.option("--forwarded-allow-ips", default=None, metavar="ADDRESSES",
              help="Comma-separated addresses of the reverse proxies whose X-Forwarded-For and "
                   "X-Forwarded-Proto are believed. Default: none; every client is its socket's address.")
@user_errors
def serve(host: str, port: int, policy_path: str | None, forwarded_allow_ips: str | None) -> None:
    """Serve the REST APIs, the analysts' console, /healthz and /metrics."""
    import uvicorn

    from service.app import create_app

    settings = Settings.from_env()
    settings.ensure_home()
    app = create_app(settings, policy_path=policy_path)
    click.echo(f"serving http://{host}:{port}/console, registry {redact(settings.database_url)}", err=True)
    # uvicorn believes forwarded headers from 127.0.0.1 by default, so any local client could pick
    # the address the login throttle counts against; only a named proxy is believed here.
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=forwarded_allow_ips is not None,
                forwarded_allow_ips=forwarded_allow_ips or "")


@cli.command()
@click.option("--since", type=click.DateTime(), default=None, help="Window start, UTC (default: 24 hours ago).")
@click.option("--until", type=click.DateTime(), default=None, help="Window end, UTC (default: now).")
@click.option("--events", "events_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Audit this snapshot of clips.generated (JSON lines) instead of the registry's copy.")
@click.option("--decisions", "decisions_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Audit this snapshot of moderation.decisions (JSON lines) instead of the registry's history.")
@user_errors
def audit(since: Any, until: Any, events_file: Path | None, decisions_file: Path | None) -> None:
    """Run the data-quality suites over a window, write Data Docs, exit 1 if any expectation fails."""
    import datetime as dt

    from quality.audit import run_audit

    settings = Settings.from_env()
    settings.ensure_home()
    end = until.replace(tzinfo=dt.UTC) if until else dt.datetime.now(dt.UTC)
    start = since.replace(tzinfo=dt.UTC) if since else end - dt.timedelta(hours=24)
    if start >= end:
        raise ValueError(f"--since ({start:%Y-%m-%d %H:%M}) must come before --until ({end:%Y-%m-%d %H:%M})")
    report = run_audit(settings, start, end, events_file, decisions_file, say=lambda m: click.echo(m, err=True))
    for result in report.results:
        if result.skipped:
            click.echo(f"{result.suite:<20} skipped: {result.skipped}")
            continue
        passed = result.checks - len(result.failures)
        click.echo(f"{result.suite:<20} {passed}/{result.checks} expectations met over {result.rows} rows")
        for failure in result.failures:
            click.echo(f"  FAILED {failure.check}: {failure.problem} ({failure.observed})")
    click.echo(f"Data Docs: {report.docs}")
    if not report.ok:
        sys.exit(1)


@cli.group()
def claims() -> None:
    """Rights holders' claims on characters and works."""


@claims.command("add")
@click.option("--holder", required=True, help="The rights holder's account name.")
@click.option("--title", required=True, help="The work or character.")
@click.option("--alias", "aliases", multiple=True, help="Another name, as TEXT or TEXT@LANG; repeatable.")
@click.option("--reference", "references", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), help="An image or clip; repeatable.")
@click.option("--action", type=click.Choice(words(ClaimAction)), default="block", show_default=True)
@user_errors
def claims_add(holder: str, title: str, aliases: tuple[str, ...], references: tuple[Path, ...], action: str) -> None:
    """File a claim; prints its id. A takedown claim is then retroscanned (`clipguard retroscan`)."""
    from clipguard.core.contracts import check_id
    from media.uploads import Upload
    from usecases.claims import file_claim
    from usecases.references import configured_embedder

    check_id(holder, "--holder")
    settings = Settings.from_env()
    files = [Upload(p.name, p.read_bytes()) for p in references]
    claim_id = file_claim(_claims(settings), holder, title, action, files, aliases, settings.media,
                          configured_embedder(settings), retroscan_now(settings))
    click.echo(claim_id)


@claims.command("list")
@click.option("--holder", default=None, help="Only this holder's claims.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def claims_list(holder: str | None, as_json: bool) -> None:
    """List claims: id, holder, status, action, title, aliases."""
    import json

    for claim in _claims(Settings.from_env()).list(holder):
        if as_json:
            click.echo(json.dumps(claim.to_dict(), sort_keys=True))
        else:
            aliases = ", ".join(f"{a['text']}@{a['lang']}" for a in claim.aliases)
            click.echo(f"{claim.claim_id}\t{claim.holder_id}\t{claim.status}\t{claim.action}\t{claim.title}"
                       f"\t{aliases}")


@claims.command("withdraw")
@click.argument("claim_id")
@click.option("--holder", required=True, help="The holder that filed it.")
@user_errors
def claims_withdraw(claim_id: str, holder: str) -> None:
    """Withdraw a claim: the gate stops applying it within seconds."""
    from registry.claims import ClaimNotFound

    try:
        _claims(Settings.from_env()).withdraw(claim_id, holder)
    except ClaimNotFound as exc:
        raise ValueError(str(exc)) from None
    click.echo(f"claim {claim_id} withdrawn", err=True)


def _claims(settings: Settings):
    from registry.claims import ClaimStore
    from registry.db import migrate

    return ClaimStore(migrate(settings.database_url))


@cli.command()
@click.option("--claim", "claim_id", default=None, help="A takedown claim to apply to published clips.")
@click.option("--cameo", "cameo_user", default=None, help="A cameo owner whose current permission to apply.")
@click.option("--bank", "bank", default=None, help="A hash bank that blocks or takes down, to apply.")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--hashes-only", is_flag=True,
              help="Claims: match the stored frame hashes only, without sampling clips' media again for ORB.")
@user_errors
@runner_options(streaming=False)
def retroscan(claim_id: str | None, cameo_user: str | None, bank: str | None, policy_path: str | None,
              hashes_only: bool, runner: Runner) -> None:
    """Take down already-published clips that match a takedown claim or a hash bank, or that show a
    cameo owner for a creator their permission no longer covers (a Beam batch pipeline, here or on
    Flink)."""
    named = [(k, v) for k, v in (("--claim", claim_id), ("--cameo", cameo_user), ("--bank", bank)) if v is not None]
    if len(named) != 1:
        raise ValueError("name exactly one of --claim ID, --cameo USER or --bank NAME")
    from registry.banks import BankNotFound
    from registry.claims import ClaimNotFound
    from registry.faces import SubjectNotFound

    run = retroscan_now(Settings.from_env(), policy_path, reread_media=not hashes_only, runner=runner)
    try:
        run(*named[0])
    except (ClaimNotFound, SubjectNotFound, BankNotFound) as exc:
        raise ValueError(str(exc)) from None


@cli.group()
def figures() -> None:
    """The public-figure gallery: faces that need the person's consent."""


@figures.command("add")
@click.option("--name", required=True, help="The person's name.")
@click.option("--photo", "photos", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A photo of them alone; repeatable.")
@click.option("--voice", "voices", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A recording of them speaking alone, 5 s of speech or more; repeatable.")
@click.option("--cameo", "cameo_user", default=None,
              help="Their own cameo account, through which they may consent to creators.")
@user_errors
def figures_add(name: str, photos: tuple[Path, ...], voices: tuple[Path, ...], cameo_user: str | None) -> None:
    """Add a public figure from photos, recordings of their voice, or both; prints their id."""
    from clipguard.core.contracts import check_id

    if cameo_user is not None:
        check_id(cameo_user, "--cameo")
    settings = Settings.from_env()
    click.echo(_faces(settings).add_figure(name, _enrolled(settings, photos, voices), "cli", cameo_user))


@figures.command("list")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def figures_list(as_json: bool) -> None:
    """List public figures: id, name, photos, voices, cameo account."""
    import json

    for figure in _faces(Settings.from_env()).figures():
        click.echo(json.dumps(figure, sort_keys=True) if as_json else
                   f"{figure['figure_id']}\t{figure['name']}\t{figure['photos']} photo(s)\t"
                   f"{figure['voices']} voice(s)\t{figure['cameo_user'] or '-'}")


@cli.group()
def cameos() -> None:
    """Cameo owners: their enrolled face and whom they let use it."""


@cameos.command("enroll")
@click.option("--user", "user_id", required=True, help="The owner's user id on the platform.")
@click.option("--photo", "photos", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A photo of them alone, or a short clip; repeatable.")
@click.option("--voice", "voices", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A recording of them speaking alone, 5 s of speech or more; repeatable.")
@click.option("--permission", type=click.Choice(words(Permission)), required=True)
@click.option("--allow", "allowed", multiple=True, help="With approved: a creator they approve; repeatable.")
@user_errors
def cameos_enroll(user_id: str, photos: tuple[Path, ...], voices: tuple[Path, ...], permission: str,
                  allowed: tuple[str, ...]) -> None:
    """Enrol (or re-enrol) a cameo owner's face, voice or both with a permission."""
    from clipguard.core.contracts import check_id

    check_id(user_id, "--user")
    for creator in allowed:
        check_id(creator, "--allow")
    settings = Settings.from_env()
    _faces(settings).enroll(user_id, _enrolled(settings, photos, voices), permission, allowed, "cli")
    click.echo(f"cameo {user_id} enrolled from {len(photos) + len(voices)} file(s), permission {permission}",
               err=True)


@cameos.command("permit")
@click.option("--user", "user_id", required=True)
@click.option("--allow", "allowed", multiple=True, help="A creator to approve; repeatable.")
@click.option("--disallow", "disallowed", multiple=True, help="A creator to stop approving; repeatable.")
@click.option("--permission", type=click.Choice(words(Permission)), default=None,
              help="A new permission level (default: approved when --allow is given, else unchanged).")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False))
@user_errors
def cameos_permit(user_id: str, allowed: tuple[str, ...], disallowed: tuple[str, ...], permission: str | None,
                  policy_path: str | None) -> None:
    """Change whom a cameo owner permits; published clips they no longer permit are taken down."""
    from usecases.cameos import change_permission

    settings = Settings.from_env()
    retroscan = retroscan_now(settings, policy_path)
    level, approved = _known(lambda: change_permission(_faces(settings), user_id, "cli", retroscan, permission,
                                                       allow=allowed, disallow=disallowed))
    click.echo(f"cameo {user_id}: permission {level}" + (f", approved {', '.join(approved)}" if approved else ""),
               err=True)


@cameos.command("revoke")
@click.option("--user", "user_id", required=True)
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False))
@user_errors
def cameos_revoke(user_id: str, policy_path: str | None) -> None:
    """Withdraw all consent: only the owner may use their face; published clips by others are taken down."""
    from usecases.cameos import revoke_consent

    settings = Settings.from_env()
    _known(lambda: revoke_consent(_faces(settings), user_id, "cli", retroscan_now(settings, policy_path)))
    click.echo(f"cameo {user_id}: consent revoked", err=True)


@cameos.command("list")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def cameos_list(as_json: bool) -> None:
    """List cameo owners: user, permission, approved creators, photos, voices."""
    import json

    for cameo in _faces(Settings.from_env()).cameos():
        click.echo(json.dumps(cameo.to_dict(), sort_keys=True) if as_json else
                   f"{cameo.user_id}\t{cameo.permission}\t{','.join(cameo.approved) or '-'}\t{cameo.photos} photo(s)\t"
                   f"{cameo.voices} voice(s)")


def _faces(settings: Settings):
    from registry.db import migrate
    from registry.faces import FaceStore

    return FaceStore(migrate(settings.database_url))


def _enrolled(settings: Settings, photos: tuple[Path, ...], voices: tuple[Path, ...]) -> list:
    from classifiers.faces.handler import configured_backend
    from classifiers.voice.encoder import VoiceEncoder
    from media.uploads import Upload
    from usecases.enrolment import enrol_person

    def read(paths: tuple[Path, ...]) -> list[Upload]:
        return [Upload(p.name, p.read_bytes()) for p in paths]

    return enrol_person(read(photos), read(voices), settings.media, lambda: configured_backend(settings.face_model_dir),
                        VoiceEncoder)


def _known(read: Callable[[], Any]) -> Any:
    from registry.faces import SubjectNotFound

    try:
        return read()
    except SubjectNotFound as exc:
        raise ValueError(f"{exc}; enrol them first with `clipguard cameos enroll`") from None


@cli.group()
def users() -> None:
    """Accounts for the console and the REST APIs."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["platform", "rights_holder", "cameo_owner", "analyst",
                                                          "admin"]))
@click.option("--password-stdin", is_flag=True, help="Read the console password from the first line of stdin.")
@click.option("--token", "with_token", is_flag=True, help="Also issue an API token and print it (shown once).")
@user_errors
def users_add(name: str, role: str, password_stdin: bool, with_token: bool) -> None:
    """Create an account. Console users need a password; API clients need --token."""
    accounts = _accounts()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    accounts.add(name, role, password)
    click.echo(f"account {name} ({role}) created{'' if password else ', without a console password'}", err=True)
    if with_token:
        click.echo(accounts.issue_token(name))


@users.command("token")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, help="Narrow the token to these scopes; default: the role's.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=90.0, show_default=True)
@user_errors
def users_token(name: str, scopes: tuple[str, ...], days: float) -> None:
    """Issue an API token for an account and print it (the only time it is shown)."""
    import datetime as dt

    click.echo(_accounts().issue_token(name, frozenset(scopes) or None, dt.timedelta(days=days)))


@users.command("revoke")
@click.argument("name")
@user_errors
def users_revoke(name: str) -> None:
    """Revoke every API token of an account, and end its console sessions."""
    accounts = _accounts()
    tokens, sessions = accounts.revoke_tokens(name), accounts.end_sessions(name)
    click.echo(f"revoked {tokens} token(s) and ended {sessions} console session(s) of {name}", err=True)


@users.command("disable")
@click.argument("name")
@user_errors
def users_disable(name: str) -> None:
    """Disable an account: its tokens are revoked, its sessions ended, its password refused."""
    _accounts().disable(name)
    click.echo(f"disabled {name}: no token, session or password of it authenticates now", err=True)


@users.command("sessions")
@click.argument("name")
@click.option("--end", is_flag=True, help="End every console session of the account.")
@user_errors
def users_sessions(name: str, end: bool) -> None:
    """List an account's live console sessions, or end them all."""
    accounts = _accounts()
    if end:
        click.echo(f"ended {accounts.end_sessions(name)} console session(s) of {name}", err=True)
        return
    for opened, expires in accounts.sessions(name):
        click.echo(f"opened {opened.isoformat(timespec='seconds')}  expires {expires.isoformat(timespec='seconds')}")


def _accounts():
    from registry.accounts import AccountStore
    from registry.db import migrate

    return AccountStore(migrate(Settings.from_env().database_url))


# Each family's harness (its manifest's `bench`), then the ones across families.
FAMILY_SUITES = {m.bench[0]: m.bench[1] for m in families.registered() if m.bench}
OTHER_SUITES = ("index", "gate", "memory", "soak", "retroscan", "scale", "backtest")
ALL_SUITES = ("index", "gate")       # with the families', what `--suite all` runs


@cli.command()
@click.option("--suite", type=click.Choice([*FAMILY_SUITES, *OTHER_SUITES, "all"]), default="all",
              help="gate: decode, throughput, latency. explicit: calibration and speed of the explicit model. "
                   "characters: recall per edit and matching method at <= 1% false matches. "
                   "faces: false-match and non-match rates per distance bar, a 100k gallery, per-clip cost. "
                   "index: PDQ query cost at 10k and 1M references, against threatexchange; ORB matching "
                   "cost as references grow, against matching each reference in turn. memory: the gate's "
                   "RSS under a steady load. soak: the same, with the gate killed, the media root gone and "
                   "PostgreSQL restarted on the way. retroscan: a takedown claim over stored signatures, claim to "
                   "last takedown on Kafka, in process against a 2-TaskManager Flink cluster. scale: gate clips/s "
                   "on that cluster at parallelism 1 and 2 against in process. backtest: a candidate policy over "
                   "a week of stored decision inputs, against reading them alone. provenance: reading C2PA "
                   "manifests and signing decisions, per clip, against decoding it (memory, soak, retroscan, scale "
                   "and backtest are not part of all; retroscan and scale need `make jars`).")
@click.option("--clips", type=int, default=6, help="gate, scale: how many 10 s 720p clips to generate.")
@click.option("--load-events", type=int, default=24, help="gate: events sent in the steady-load latency run.")
@click.option("--soak-seconds", type=float, default=480.0, show_default=True,
              help="memory, soak: how long to feed the gate.")
@click.option("--soak-rate", type=float, default=None,
              help="memory, soak: clips per second (default: 80% of the throughput measured first).")
@click.option("--soak-database-url", default=None,
              help="memory, soak: the gate's registry (default: a private SQLite file).")
@click.option("--signatures", type=click.IntRange(100), default=100_000, show_default=True,
              help="retroscan: published clips' stored signatures.")
@click.option("--decisions", type=click.IntRange(1000), default=1_000_000, show_default=True,
              help="backtest: stored gate decisions to re-decide.")
@click.option("--profile", is_flag=True,
              help="gate: also profile each stage per function (pyinstrument) on the bench clips; the top lines are "
                   "printed and each whole profile written under $CLIPGUARD_HOME/bench/gate-profile/.")
@click.option("--rounds", type=click.IntRange(5), default=5, show_default=True,
              help="Rounds of each timed comparison: its two sides measured in turn, A B A B ..., after a "
                   "warm-up; the ratio is reported with its min-max, inconclusive when that range spans 1.0.")
@user_errors
def bench(suite: str, clips: int, load_events: int, soak_seconds: float, soak_rate: float | None,
          soak_database_url: str | None, signatures: int, decisions: int, profile: bool, rounds: int) -> None:
    """Benchmarks; every figure is printed against a baseline measured in the same run."""
    from functools import partial

    from bench.results import run_suite

    settings = Settings.from_env()
    options = {"clips": clips, "load_events": load_events, "soak_seconds": soak_seconds, "soak_rate": soak_rate,
               "soak_database_url": soak_database_url, "signatures": signatures, "decisions": decisions,
               "rounds": rounds, "profile": profile}
    for name in [*FAMILY_SUITES, *ALL_SUITES] if suite == "all" else [suite]:
        run_suite(settings, name, partial(_bench_suite, name, settings, **options))


def _bench_suite(name: str, settings: Settings, *, clips: int, load_events: int, soak_seconds: float,
                 soak_rate: float | None, soak_database_url: str | None, signatures: int, decisions: int,
                 rounds: int, profile: bool) -> dict:
    if name in FAMILY_SUITES:
        return families.resolve(FAMILY_SUITES[name])(settings, rounds)
    if name == "index":
        from bench.index import run_index_bench, run_orb_bench

        return {"pdq": run_index_bench(rounds), "orb": run_orb_bench(rounds)}
    if name == "gate":
        from bench.pipeline import run_bench

        return run_bench(settings, clips=clips, load_events=load_events, rounds=rounds, profile=profile)
    if name in ("memory", "soak"):
        from bench.soak import SOAK_FAULTS, run_soak

        faults = SOAK_FAULTS if name == "soak" else ()
        return run_soak(settings, soak_seconds, soak_rate, faults, database_url=soak_database_url)
    if name == "retroscan":
        from bench.retroscan import run_retroscan_bench

        return run_retroscan_bench(settings, signatures, rounds)
    if name == "backtest":
        from bench.backtest import run_backtest_bench

        return run_backtest_bench(settings, decisions, rounds)
    from bench.scale import run_scale_bench

    return run_scale_bench(settings, clips, rounds)


def summary(decision: dict[str, Any]) -> str:
    reasons = decision["reasons"]
    return "; ".join(r["detail"] for r in reasons[:2]) + (f" (+{len(reasons) - 2} more)" if len(reasons) > 2 else "")


def redact(url: str) -> str:
    """A database URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    cli()
