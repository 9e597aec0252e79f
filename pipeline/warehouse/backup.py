"""``adsignal db backup`` / ``db restore``: pg_dump and pg_restore of the warehouse database.

The client programs come from ``ADSIGNAL_PG_BIN`` when set (they must be at least the server's major
version), else from the embedded server's own installation (PostgreSQL 16, the ``pgserver`` wheel). A
dump is PostgreSQL's custom format (compressed, restorable table by table). It is restored without its
owners and grants: role names belong to the server it came from. ``app.apply_access()`` then grants
this warehouse's roles again, and the pipeline's role owns what it restored.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg

from pipeline.warehouse.db import libpq_params


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed (the message holds its error output, never the password)."""


def client_program(name: str) -> str:
    configured = os.environ.get("ADSIGNAL_PG_BIN")
    if configured:
        return str(Path(configured) / name)
    from pgserver._commands import POSTGRES_BIN_PATH  # the embedded server's own binaries

    return str(POSTGRES_BIN_PATH / name)


def _libpq_env(url: str) -> tuple[dict[str, str], str]:
    """Environment for a libpq client (the password in PGPASSWORD, never on the command line) and the
    database name."""
    params = libpq_params(url)
    env = {**os.environ}
    for key, var in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD"),
                     ("sslmode", "PGSSLMODE")):  # fmt: skip
        if params.get(key):
            env[var] = params[key]
    return env, params.get("dbname", "")


def _run(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def backup(url: str, target: Path) -> Path:
    """Dump the warehouse at ``url`` into ``target`` (custom format); returns the file."""
    env, dbname = _libpq_env(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    _run([client_program("pg_dump"), "--format=custom", "--file", str(partial), "--dbname", dbname], env)
    partial.replace(target)  # a killed dump never leaves a file that looks complete
    return target


def restore(url: str, source: Path) -> None:
    """Restore a dump into the database at ``url``, which must be empty (a new database)."""
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "select count(*) from pg_tables where schemaname in ('raw', 'app', 'marts')"
        ).fetchone()[0]
    if tables:
        raise BackupError(
            f"the target database holds {tables} adsignal tables; restore into a new, empty database"
            " (DATABASE_URL or --into) so nothing is overwritten by accident"
        )
    env, dbname = _libpq_env(url)
    _run(
        [client_program("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
         "--dbname", dbname, str(source)],
        env,
    )  # fmt: skip
    with psycopg.connect(url) as conn:
        conn.execute("select app.apply_access()")
