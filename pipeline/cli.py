"""The ``adsignal`` command: database, dbt, sandbox, demo and UI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.commands._common import InputError

if TYPE_CHECKING:
    from pipeline.sandbox.server import BackgroundServer
from pipeline.config import DEFAULT_TENANT, PROJECT_ROOT, executable, settings
from pipeline.dbt_manifest import MANIFEST_PATH, prepare_manifest

LOCAL_DAGSTER_HEADER = "# Local Dagster instance (SQLite under this directory), written by `adsignal`."
LOCAL_DAGSTER_YAML = f"""\
{LOCAL_DAGSTER_HEADER}
# One dbt run at a time (incremental models), one sync at a time per platform API.
concurrency:
  pools:
    default_limit: 1
# Dead runs: the daemon (make ui) fails runs that never start or run for over 6 hours and frees
# the slots finished runs still hold; `adsignal` fails its own killed runs before each run.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  max_runtime_seconds: 21600
  poll_interval_seconds: 60
  free_slots_after_run_end_seconds: 30
telemetry:
  enabled: false
# No "Join the Dagster community" dialog on a newcomer's first `make ui`.
nux:
  enabled: false
"""


def dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings().data_dir / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    # A file an older adsignal wrote is brought up to date; one a person wrote is theirs.
    if not config.exists() or (
        config.read_text().startswith(LOCAL_DAGSTER_HEADER) and config.read_text() != LOCAL_DAGSTER_YAML
    ):
        config.write_text(LOCAL_DAGSTER_YAML)
    return home


@click.group()
# The installed distribution's version (pyproject.toml), not a constant kept in step by hand.
@click.version_option(package_name="adsignal", prog_name="adsignal", message="%(prog)s %(version)s")
def main() -> None:
    """adsignal: ad-platform data into trusted marts, alerts and safe decisions."""


def _register_command_groups() -> None:
    from pipeline.commands.access import tenants, users
    from pipeline.commands.actions import actions
    from pipeline.commands.alerts import alerts
    from pipeline.commands.database import db
    from pipeline.commands.events import collect, events, profiles
    from pipeline.commands.recommendations import recommendations
    from pipeline.commands.reports import reports
    from pipeline.commands.rules import rules
    from pipeline.commands.segments import segments

    for group in (
        db,
        alerts,
        rules,
        recommendations,
        actions,
        tenants,
        users,
        events,
        collect,
        profiles,
        segments,
        reports,
    ):
        main.add_command(group)


_register_command_groups()


# --- dbt ------------------------------------------------------------------------------------


@main.group()
def dbt() -> None:
    """The dbt project."""


@dbt.command("prepare")
def dbt_prepare() -> None:
    """Build the dbt manifest the Dagster code location needs."""
    from pipeline.warehouse.db import database_url

    prepare_manifest(database_url())
    click.echo(f"manifest written to {MANIFEST_PATH}")


@dbt.command("docs")
@click.option("--serve", is_flag=True, help="Serve the site on http://127.0.0.1:8080 afterwards.")
def dbt_docs(serve: bool) -> None:
    """Generate dbt docs (models, columns, lineage, exposures) from the warehouse's catalog."""
    from pipeline.config import DBT_PROJECT_DIR
    from pipeline.warehouse import migrate
    from pipeline.warehouse.db import database_url, dbt_env

    url = database_url()
    migrate.upgrade(url)
    env = {**os.environ, **dbt_env(url)}
    dbt_cli = [executable("dbt"), "--quiet"]
    profiles = ["--profiles-dir", str(DBT_PROJECT_DIR)]
    subprocess.run([*dbt_cli, "docs", "generate", *profiles], cwd=DBT_PROJECT_DIR, env=env, check=True)
    click.echo(f"dbt docs written to {DBT_PROJECT_DIR / 'target' / 'index.html'}")
    if serve:
        subprocess.run([*dbt_cli, "docs", "serve", "--port", "8080", *profiles], cwd=DBT_PROJECT_DIR, env=env)


# --- sandbox --------------------------------------------------------------------------------


@main.group()
def sandbox() -> None:
    """The simulated ad platforms (fake APIs with ground truth)."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: the one in ADSIGNAL_SANDBOX_URL).")
def sandbox_serve(host: str, port: int | None) -> None:
    """Serve every platform's fake API until interrupted."""
    from pipeline.sandbox.server import serve

    serve(port or _sandbox_port(), host=host)


def _sandbox_port() -> int:
    from urllib.parse import urlparse

    return urlparse(settings().sandbox_url).port or 80


def sandbox_for_demo(url: str) -> tuple[BackgroundServer | None, str, str]:
    """The sandbox the demo runs against: (the server it started, if any; its URL; what it did, to say).

    An adsignal sandbox already answering at ``url`` (its /_sandbox/health says so) on the real
    clock and without pending faults is used; otherwise the demo starts its own, on ``url``'s port
    if that is free, else on a free port, so it never silently talks to another program.
    """
    from urllib.parse import urlparse

    from pipeline.sandbox.server import SandboxServer

    health, problem = _sandbox_health(url)
    if health is not None:
        if not health.get("clock_pinned") and not health.get("pending_faults"):
            return None, url, f"Using the adsignal sandbox already running at {url}."
        problem = (
            f"an adsignal sandbox with its clock pinned to {health.get('now')}"
            if health.get("clock_pinned")
            else f"an adsignal sandbox with {health.get('pending_faults')} fault(s) pending"
        )
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    if problem is None:  # nothing answers there: serve on that very address
        try:
            server = SandboxServer(host=host, port=parsed.port or 80).start()
            return server, server.url, f"Started the sandbox at {server.url}."
        except OSError as exc:
            problem = f"its port cannot be used ({exc})"
    server = SandboxServer(host=host, port=0).start()
    return server, server.url, f"{url} is {problem}, not used: started the sandbox at {server.url} instead."


def _sandbox_health(url: str) -> tuple[dict | None, str | None]:
    """(health of the adsignal sandbox at ``url``, None), or (None, what answers instead; None if nothing)."""
    import httpx

    from pipeline.sandbox.server import SANDBOX_SERVICE

    try:
        response = httpx.get(f"{url.rstrip('/')}/_sandbox/health", timeout=2.0)
    except httpx.HTTPError:
        return None, None
    try:
        health = response.json()
    except ValueError:
        health = None
    if response.is_success and isinstance(health, dict) and health.get("service") == SANDBOX_SERVICE:
        return health, None
    return None, f"answered by another program (HTTP {response.status_code}, not an adsignal sandbox)"


def sandbox_is_up() -> bool:
    import httpx

    try:
        return httpx.get(f"{settings().sandbox_url.rstrip('/')}/_sandbox/health", timeout=1.0).is_success
    except httpx.HTTPError:
        return False


# --- connections ----------------------------------------------------------------------------

# What a person must supply per platform when no `credential_fields` is declared by the connector.
SECRET_FIELDS = frozenset({"access_token", "refresh_token", "client_secret", "developer_token"})


class _ConnectionsGroup(click.Group):
    """A missing, malformed or wrong ``ADSIGNAL_SECRET_KEY`` is one line of error, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from pipeline.secret_box import SecretKeyError

        try:
            return super().invoke(ctx)
        except SecretKeyError as exc:
            raise InputError(str(exc)) from None


@main.group(cls=_ConnectionsGroup)
def connections() -> None:
    """Platform connections: credentials stored encrypted in app.platform_connections."""


@connections.command("add")
@click.argument("platform")
@click.option("--name", default="default", show_default=True, help="Name of this connection.")
@click.option("--account-ids", default="", help="Comma-separated account ids (default: all the token sees).")
@click.option("--base-url", default=None, help="API base URL (default: the platform's production API).")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the credentials as a JSON object from stdin.")
def connections_add(
    platform: str, name: str, account_ids: str, base_url: str | None, from_stdin: bool
) -> None:
    """Store a connection; secrets are prompted for (hidden) or read from stdin, never from arguments."""
    from pipeline.connections import add_connection, credentials_from_dict
    from pipeline.connectors import CONNECTORS
    from pipeline.warehouse.db import database_url

    if platform not in CONNECTORS:
        raise click.BadParameter(f"unknown platform; known: {', '.join(CONNECTORS)}", param_hint="PLATFORM")
    if from_stdin:
        values = _credentials_from_stdin(sys.stdin.read())
    else:
        fields = getattr(CONNECTORS[platform], "credential_fields", ("access_token",))
        values = {
            f: click.prompt(
                f.replace("_", " "), hide_input=f in SECRET_FIELDS, default="", show_default=False
            )
            for f in fields
        }
    try:
        credentials = credentials_from_dict(values)
    except ValueError as exc:  # e.g. expires_at is no ISO date-time; the message holds no secret
        raise InputError(f"credentials: {exc}") from None
    accounts = [a.strip() for a in account_ids.split(",") if a.strip()] or None
    connection_id = add_connection(
        database_url(), platform, name, credentials, account_ids=accounts, base_url=base_url
    )
    click.echo(f"connection {connection_id} ({platform}/{name}) stored, credentials encrypted")


def _credentials_from_stdin(text: str) -> dict[str, object]:
    """The JSON object of ``connections add --stdin``; InputError (never echoing the text) otherwise."""
    import json
    from dataclasses import fields

    from pipeline.connectors.base import Credentials

    try:
        values = json.loads(text or "{}")
    except json.JSONDecodeError as exc:  # msg and position only: the text may hold secrets
        raise InputError(
            f"stdin is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(values, dict):
        raise InputError(f"stdin must be a JSON object of credentials, not a JSON {type(values).__name__}")
    known = [f.name for f in fields(Credentials)]
    unknown = sorted(str(k) for k in values if k not in known)
    if unknown:
        raise InputError(f"unknown credential field(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return values


@connections.command("list")
def connections_list() -> None:
    """Stored connections (never their secrets)."""
    from rich.console import Console
    from rich.table import Table

    from pipeline.connections import stored_connections
    from pipeline.warehouse.db import database_url

    stored = stored_connections(database_url(), tenant_id=None)
    if not stored:
        # An empty table reads as "broken"; say what the syncs use instead and how to change it.
        click.echo(_no_stored_connections())
        return
    table = Table("id", "tenant", "platform", "name", "accounts", "status", "reason")
    for c in stored:
        accounts = ", ".join(c.account_ids) if c.account_ids else "all"
        table.add_row(
            str(c.connection_id), c.tenant_id, c.platform, c.name, accounts, c.status, c.status_reason or ""
        )
    Console().print(table)


def _no_stored_connections() -> str:
    """What ``connections list`` says with nothing stored: where each platform's syncs go instead."""
    from pipeline.connections import environment_connection
    from pipeline.connectors import CONNECTORS

    from_env = [p for p in CONNECTORS if environment_connection(p) is not None]
    sandboxed = [p for p in CONNECTORS if p not in from_env]
    lines = ["No stored connections."]
    if sandboxed:
        who = "Every platform syncs" if not from_env else f"{', '.join(sandboxed)} sync"
        lines.append(
            f"{who} from the built-in sandbox (fake APIs at {settings().sandbox_url}; demo data, no credentials)."
        )
    if from_env:
        lines.append(
            f"{', '.join(from_env)} sync with credentials from environment variables (<PLATFORM>_ACCESS_TOKEN)."
        )
    lines.append(
        f"Add a real connection: adsignal connections add <platform> (one of {', '.join(CONNECTORS)})."
    )
    return "\n".join(lines)


@connections.command("test")
@click.argument("connection_id", type=int)
def connections_test(connection_id: int) -> None:
    """Call the platform with a stored connection; a refused credential marks it broken."""
    from pipeline.connections import mark_connection, open_connector, stored_connections
    from pipeline.connectors.http import ApiError, CredentialsError
    from pipeline.warehouse.db import database_url

    url = database_url()
    connection = next(
        (c for c in stored_connections(url, tenant_id=None) if c.connection_id == connection_id), None
    )
    if connection is None:
        raise click.ClickException(f"no connection {connection_id}")
    connector = open_connector(connection, url=url)
    try:
        accounts = connector.list_account_ids()
    except CredentialsError as exc:
        mark_connection(url, connection_id, "broken", str(exc))
        raise click.ClickException(f"connection {connection_id} is broken: {exc}") from None
    except ApiError as exc:
        raise click.ClickException(f"connection {connection_id}: {exc}") from None
    finally:
        connector.close()
    mark_connection(url, connection_id, "active", None)
    click.echo(f"connection {connection_id} ok: {len(accounts)} account(s): {', '.join(accounts)}")


@connections.command("remove")
@click.argument("connection_id", type=int)
def connections_remove(connection_id: int) -> None:
    """Delete a stored connection."""
    from pipeline.connections import remove_connection
    from pipeline.warehouse.db import database_url

    if not remove_connection(database_url(), connection_id):
        raise click.ClickException(f"no connection {connection_id}")
    click.echo(f"connection {connection_id} removed")


@connections.command("new-key")
def connections_new_key() -> None:
    """Print a new ADSIGNAL_SECRET_KEY (store it like any other secret)."""
    from pipeline.secret_box import new_key

    click.echo(new_key())


# --- pipeline -------------------------------------------------------------------------------


def prepare_everything() -> str:
    """Database up and migrated, dbt manifest built; returns the warehouse URL."""
    from pipeline.warehouse import migrate
    from pipeline.warehouse.db import database_url

    url = database_url()
    migrate.upgrade(url)
    prepare_manifest(url)
    dagster_home()
    return url


@dataclass(frozen=True)
class RunOutcome:
    success: bool
    run_id: str
    error: str | None  # what failed (steps and their errors, failed checks, skipped steps)


def run_pipeline(
    first: date, last: date, asset_selection: list | None = None, job_name: str = "daily_pipeline"
) -> RunOutcome:
    """Materialize a job (or ``asset_selection`` of it) for the days first..last as one recorded run."""
    import dagster as dg

    from pipeline.defs.partitions import range_tags

    dagster_home()
    from pipeline.dagster_runs import fail_dead_runs, owner_tags
    from pipeline.definitions import defs
    from pipeline.defs.imports import describe_run_failure

    job = defs.resolve_job_def(job_name)
    with dg.DagsterInstance.get() as instance:
        for run_id in fail_dead_runs(instance):
            click.echo(f"Run {run_id} died with its process (killed?): marked failed, its slots freed.")
        result = job.execute_in_process(
            instance=instance,
            tags={**range_tags(first, last), **owner_tags()},
            asset_selection=asset_selection,
            # Step events stay in the instance (and the UI); the terminal gets the assets' own logs.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            raise_on_error=False,
        )
    error = None if result.success else describe_run_failure(result.all_events)
    return RunOutcome(result.success, result.run_id, error)


def run_daily_pipeline(
    first: date, last: date, asset_selection: list | None = None, job_name: str = "daily_pipeline"
) -> bool:
    """``run_pipeline``, true if the run succeeded."""
    return run_pipeline(first, last, asset_selection, job_name).success


@main.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--rebuild/--no-rebuild", default=True, show_default=True, help="Rebuild the marts for the days replaced."
)
@click.option(
    "--tenant",
    "tenant_id",
    default=DEFAULT_TENANT,
    show_default=True,
    help="Whose rows these are (two tenants may hold the same account ids).",
)
def import_files(files: tuple[Path, ...], rebuild: bool, tenant_id: str) -> None:
    """Import CSV files of the generic format; bad rows are quarantined with file, line and reason.

    Each file's raw.file_imports row says ``loaded``, then ``rebuilt`` or ``rebuild_failed`` once the
    marts were rebuilt for the days the files replaced; any failure exits with status 1.
    """
    from pipeline.connectors.csv_import import CsvFormatError
    from pipeline.imports import ImportFailed, UnknownTenant, check_tenant, import_file, record_rebuild

    url = prepare_everything()
    try:
        check_tenant(url, tenant_id)
    except UnknownTenant as exc:
        raise click.ClickException(str(exc)) from None
    windows: list[date] = []
    import_ids: list[int] = []
    failed = False
    for path in files:
        try:
            report = import_file(url, path, tenant_id=tenant_id)
        except CsvFormatError as exc:
            click.echo(f"{path}: refused, nothing changed: {exc}", err=True)
            failed = True
            continue
        except ImportFailed as exc:
            report, failed = exc.report, True
            click.echo(f"{path}: {exc}", err=True)
        click.echo(
            f"{path}: {report.rows_loaded} rows loaded, {report.rows_quarantined} quarantined"
            f" ({report.rows_duplicate} duplicates) for {len(report.accounts)} account(s)"
        )
        for reason, count in sorted(report.quarantine_reasons.items()):
            click.echo(f"  quarantined {count:>5}  {reason}")
        for account in report.accounts:
            for note in (account.note, account.connector_note):
                if note:
                    click.echo(f"  {account.label}: {note}")
        windows += [d for d in (report.window_start, report.window_end) if d]
        import_ids += [report.import_id] if report.import_id is not None else []
    days = _rebuild_days(min(windows), max(windows)) if rebuild and windows else None
    if days:
        from pipeline.definitions import defs
        from pipeline.defs.imports import rebuild_keys

        keys = rebuild_keys(defs.resolve_asset_graph())
        first, last = days
        click.echo(f"Rebuilding the daily marts for {first}..{last}")
        outcome = run_pipeline(first, last, asset_selection=keys)
        record_rebuild(url, import_ids=import_ids, error=outcome.error, rebuild_run_id=outcome.run_id)
        if outcome.success:
            click.echo(f"Marts rebuilt for {first}..{last} (run {outcome.run_id})")
        else:
            failed = True
            click.echo(
                f"Rebuild of the marts for {first}..{last} FAILED (run {outcome.run_id}): {outcome.error}\n"
                "The rows are loaded (raw.file_imports: rebuild_failed); once the cause is fixed, run"
                f" `adsignal import` again or `adsignal materialize --from {first} --to {last}`.",
                err=True,
            )
    elif import_ids and not rebuild:
        click.echo("Marts not rebuilt (--no-rebuild): the imports stay 'loaded' in raw.file_imports.")
    if failed:
        raise SystemExit(1)


def _rebuild_days(first: date, last: date) -> tuple[date, date] | None:
    """The days of first..last that have daily partitions, saying which are left out; None if none."""
    from pipeline.defs.partitions import partition_days

    earliest, latest = partition_days()
    if first < earliest:
        click.echo(
            f"Days before {earliest} (ADSIGNAL_PARTITIONS_START) are loaded, but outside the partitions."
        )
    if last > latest:
        click.echo(f"Days after {latest} are loaded; the daily run builds them once they are over.")
    first, last = max(first, earliest), min(last, latest)
    return (first, last) if first <= last else None


@main.command()
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Days of history (default ADSIGNAL_HISTORY_DAYS or 30).",
)
def demo(days: int | None) -> None:
    """Run the whole pipeline on the sandbox and print what it produced."""
    from pipeline.sandbox.sample_import import write_sample_csv
    from pipeline.summary import print_summary

    days = days or settings().history_days
    # One "planned" event per asset for the demo's range run instead of one per asset and day
    # (30 days x ~100 assets in SQLite): about 15 s of a 60 s run. Dagster's trade-off: while such a
    # run is in flight, or after it failed, the UI does not mark its partitions in progress or failed
    # (the run itself shows it). Scheduled and `adsignal materialize` runs keep per-partition events.
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
    url = prepare_everything()
    sample = write_sample_csv(settings().import_dir / "sample_export.csv", date.today(), days=days)
    click.echo(f"Sample CSV export (with a few bad rows) written to {sample}")
    from datetime import UTC, datetime

    from pipeline.config import last_complete_day

    # The latest day every account (whatever its timezone) has finished: no partial days in the marts.
    last = last_complete_day(datetime.now(UTC))
    first = last - timedelta(days=days - 1)
    _import_example_rules(url)
    server, sandbox_url, note = sandbox_for_demo(settings().sandbox_url)
    click.echo(note)
    os.environ["ADSIGNAL_SANDBOX_URL"] = sandbox_url  # the runs below (and their connectors) use it
    settings.cache_clear()
    try:
        click.echo(f"Materializing every asset for {first}..{last} (one Dagster run)...")
        started = time.monotonic()
        ok = run_daily_pipeline(first, last)
        click.echo(f"Daily run {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f}s")
        today = date.today()
        click.echo(f"Materializing hourly data for {today - timedelta(days=2)}..{today} (one Dagster run)...")
        started = time.monotonic()
        ok &= run_daily_pipeline(today - timedelta(days=2), today, job_name="intraday_pipeline")
        click.echo(f"Intraday run {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f}s")
        if ok:
            _approve_one_action(url)
    finally:
        if server:
            server.stop()
    if ok:
        _render_example_report(url, last)
    print_summary(url)
    if not ok:
        raise SystemExit(1)


def _import_example_rules(url: str) -> None:
    """The example rules (docs/rules.md), so the demo's rule runs have something to evaluate (idempotent)."""
    from pipeline.examples import EXAMPLE_RULES
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.rules_store import import_rules_file

    with connect(url) as conn:
        import_rules_file(conn, EXAMPLE_RULES, tenant_id=DEFAULT_TENANT, actor="demo")
    click.echo(f"Rules imported from {EXAMPLE_RULES.relative_to(PROJECT_ROOT)}")


def _render_example_report(url: str, last: date) -> None:
    """The example weekly report (docs/reports.md) on the demo's data: say where its PDF is."""
    from pipeline.examples import EXAMPLE_REPORTS
    from pipeline.reports.definition import load_reports_file
    from pipeline.reports.run import ReportRunError, run_report

    definition = load_reports_file(EXAMPLE_REPORTS)[0]
    try:
        run = run_report(url, definition, as_of=last)
    except ReportRunError as exc:
        click.echo(f"Example report {definition.name} failed: {exc}")
        return
    pdf = next((f["path"] for f in run.instance.files if str(f["path"]).endswith(".pdf")), run.directory)
    period = f"{run.instance.period_start}..{run.instance.period_end}"
    click.echo(f"Report {definition.name} ({period}) written to {pdf}")


def _approve_one_action(url: str) -> None:
    """Show the approval gate at work: approve the oldest proposal and apply it to the sandbox platform."""
    from pipeline.execution import approve_and_execute_first
    from pipeline.summary import describe_state

    result = approve_and_execute_first(url, actor="demo", apply=True, sandbox_url=settings().sandbox_url)
    if result is None:
        click.echo("No action awaits approval.")
        return
    click.echo(
        f"Approved and applied action #{result.action_id} in the sandbox: {result.outcome}"
        f" ({describe_state(result.previous_state)} -> {describe_state(result.new_state)})"
        + (f"; {result.error}" if result.error else "")
    )


@main.command()
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option(
    "--select",
    "selection",
    default=None,
    help="Only these assets of the daily job, in Dagster's selection syntax: 'key:raw/*' (the syncs),"
    " 'group:raw_meta', 'key:marts/fct_ad_performance_daily+'. Default: the whole job.",
)
def materialize(first, last, selection: str | None) -> None:
    """Run the daily pipeline over a range of days (needs the sandbox or real credentials)."""
    from pipeline.defs.partitions import check_day_range

    try:
        check_day_range(first.date(), last.date())
    except ValueError as exc:
        raise InputError(f"--from {first.date()} --to {last.date()}: {exc}") from None
    prepare_everything()
    asset_keys = _selected_asset_keys(selection) if selection else None
    if not run_daily_pipeline(first.date(), last.date(), asset_keys):
        raise SystemExit(1)


def _selected_asset_keys(selection: str) -> list:
    """The daily job's asset keys matching a Dagster selection string (a clear error when none or invalid)."""
    import dagster as dg

    from pipeline.definitions import defs

    graph = defs.resolve_job_def("daily_pipeline").asset_layer.asset_graph
    try:
        keys = dg.AssetSelection.from_string(selection).resolve(graph)
    except Exception as exc:  # the selection grammar's own errors: say what was wrong, no traceback
        raise InputError(f"--select {selection!r}: {exc}") from None
    keys &= graph.executable_asset_keys
    if not keys:
        raise InputError(f"--select {selection!r} matches no asset of the daily job")
    return sorted(keys)


@main.command()
@click.option("--port", type=int, default=3000)
def ui(port: int) -> None:
    """Start the sandbox and the Dagster UI (webserver + daemon) until interrupted."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and SIGTERM both stop everything, even when started in the background (SIGINT ignored).
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    prepare_everything()
    children: list[subprocess.Popen] = []
    # Own process groups: `dagster dev` started in the background ignores SIGTERM otherwise.
    if not sandbox_is_up():
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "pipeline.cli", "sandbox", "serve"], start_new_session=True
            )
        )
    children.append(
        subprocess.Popen(
            [executable("dagster"), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(port)],
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
    )
    click.echo(f"Dagster UI on http://127.0.0.1:{port} — Ctrl-C stops it")
    try:
        while all(child.poll() is None for child in children):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
