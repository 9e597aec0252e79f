"""Where the warehouse is, and how to connect to it.

``DATABASE_URL`` wins; without it an embedded PostgreSQL 16 (the ``pgserver`` wheel) is started
with its data directory under ``.data/pg`` and left running, so the demo, the UI, dbt and a SQL
client all see the same database.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from pipeline.config import settings

WAREHOUSE_DB = "adsignal"


def _start_embedded(pg_dir: Path) -> str:
    """Start (or reuse) the embedded server and return the admin URL of its ``postgres`` database."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on headless hosts
        import pgserver

    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: keep the server running after this process exits (demo, then UI, then psql).
    return pgserver.get_server(pg_dir, cleanup_mode=None).get_uri()


def stop_embedded(pg_dir: Path) -> bool:
    """Stop the embedded server of ``pg_dir`` (``pg_ctl stop``, waiting for it), as the system user
    pgserver runs it as (``pgserver`` when we are root); False when it was not running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import pg_ctl
        from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pg_dir)
    if info is None or not info.is_running():
        return False
    pg_ctl(["-w", "stop"], pgdata=pg_dir, user="pgserver" if os.geteuid() == 0 else None)
    return True


def ensure_database(admin_url: str, dbname: str) -> str:
    """Create ``dbname`` on the server behind ``admin_url`` if missing; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(f'create database "{dbname}"')
    return with_database(admin_url, dbname)


def with_database(url: str, dbname: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return to_url(params)


def to_url(params: dict) -> str:
    """A ``postgresql://`` URL from libpq parameters (socket hosts go in the query string)."""
    from urllib.parse import quote, urlencode

    user = quote(str(params.get("user") or ""), safe="")
    password = quote(str(params.get("password") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = str(params.get("host") or "")
    query: dict[str, str] = {
        k: str(v) for k, v in params.items() if k not in {"user", "password", "host", "port", "dbname"}
    }
    netloc_host = host
    if host.startswith("/"):
        query = {"host": host, **query}
        netloc_host = ""
    port = f":{params['port']}" if params.get("port") and netloc_host else ""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{auth}{netloc_host}{port}/{params.get('dbname') or ''}{suffix}"


@cache
def database_url() -> str:
    """The warehouse URL: ``DATABASE_URL`` as given, or the embedded server's ``adsignal`` database."""
    configured = settings().database_url
    if configured:
        return configured
    return ensure_database(_start_embedded(settings().embedded_pg_dir), WAREHOUSE_DB)


def libpq_params(url: str | None = None) -> dict[str, str]:
    return {k: str(v) for k, v in conninfo_to_dict(url or database_url()).items()}


# The run's window and the data tests' severity reach dbt through the environment, not --vars: a changed
# --vars makes dbt re-parse the whole project, several seconds per invocation
# (dbt_project/macros/run_window.sql; vars of the same names still win when given).
DBT_MIN_DATE_ENV = "ADSIGNAL_DBT_MIN_DATE"
DBT_MAX_DATE_ENV = "ADSIGNAL_DBT_MAX_DATE"
DBT_TEST_SEVERITY_ENV = "ADSIGNAL_DBT_TEST_SEVERITY"
# The pipeline's dbt runs warn on failing data tests (one platform's rows must not stop the others'
# marts); its manifest is parsed with the same setting, so a run's partial parse stays valid.
PIPELINE_DBT_RUN_ENV = {DBT_TEST_SEVERITY_ENV: "warn"}


def dbt_window_env(since: date | None, until: date | None) -> dict[str, str]:
    """The environment naming a run's window of days (both None: no window, the models' lookback)."""
    return {
        DBT_MIN_DATE_ENV: since.isoformat() if since else "",
        DBT_MAX_DATE_ENV: until.isoformat() if until else "",
    }


def dbt_env(url: str | None = None) -> dict[str, str]:
    """Environment variables dbt reads: the profile's (``dbt_project/profiles.yml``) and the
    connectors' staging models from the platform registry (``union_platform_models``)."""
    from pipeline.platforms import DBT_STAGING_MODELS_ENV, dbt_staging_models_json

    params = libpq_params(url)
    return {
        DBT_STAGING_MODELS_ENV: dbt_staging_models_json(),
        "ADSIGNAL_PGHOST": params.get("host", "localhost"),
        "ADSIGNAL_PGPORT": params.get("port", "5432"),
        "ADSIGNAL_PGUSER": params.get("user", os.environ.get("USER", "postgres")),
        "ADSIGNAL_PGPASSWORD": params.get("password", ""),
        "ADSIGNAL_PGDATABASE": params.get("dbname", WAREHOUSE_DB),
        "ADSIGNAL_PGSSLMODE": params.get("sslmode", "prefer"),
        # dbt's file log at debug (every SQL statement) takes a tenth of a build's time, mostly in
        # contended logging locks; the pipeline keeps dbt's event stream anyway. DBT_LOG_LEVEL_FILE=debug restores it.
        "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "info"),
    }


def sqlalchemy_url(url: str | None = None) -> str:
    """SQLAlchemy wants the driver named; psycopg 3 it is."""
    return "postgresql+psycopg://" + to_url(libpq_params(url)).split("://", 1)[1]


@contextmanager
def connect(url: str | None = None, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url or database_url(), autocommit=autocommit) as conn:
        yield conn
