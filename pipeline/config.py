"""Settings read from the environment, in one place.

Everything has a default that works on a fresh clone: the embedded PostgreSQL under ``.data/``, the
sandbox's fake platform APIs on loopback, a SQLite Dagster instance under ``.data/dagster``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_SANDBOX_PORT = 8765
DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None  # None: the embedded server under data_dir
    sandbox_url: str
    reporting_currency: str
    history_days: int

    @property
    def embedded_pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def import_dir(self) -> Path:
        """Where CSV exports are dropped for import (``ADSIGNAL_IMPORT_DIR``)."""
        return Path(os.environ.get("ADSIGNAL_IMPORT_DIR", self.data_dir / "imports")).resolve()

    @property
    def events_dir(self) -> Path:
        """Where JSON Lines event exports are dropped for import (``ADSIGNAL_EVENTS_DIR``)."""
        return Path(os.environ.get("ADSIGNAL_EVENTS_DIR", self.data_dir / "events")).resolve()


@cache
def settings() -> Settings:
    data_dir = Path(os.environ.get("ADSIGNAL_DATA_DIR", PROJECT_ROOT / ".data")).resolve()
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or None,
        sandbox_url=os.environ.get("ADSIGNAL_SANDBOX_URL", f"http://127.0.0.1:{DEFAULT_SANDBOX_PORT}"),
        reporting_currency=os.environ.get("ADSIGNAL_REPORTING_CURRENCY", "USD"),
        history_days=int(os.environ.get("ADSIGNAL_HISTORY_DAYS", "30")),
    )


# Ad accounts report in their own timezone, as far west as UTC-12: a date is complete everywhere
# only once it has ended there, 12 hours after it ended in UTC.
WESTERNMOST_UTC_OFFSET = timedelta(hours=12)


def utc_now() -> datetime:
    """The wall clock, as one seam: code that decides by "now" calls this, so tests can pin it."""
    return datetime.now(UTC)


def last_complete_day(now: datetime) -> date:
    """The latest date that has ended in every account timezone (UTC-12 and east) at ``now``."""
    return (now.astimezone(UTC) - WESTERNMOST_UTC_OFFSET).date() - timedelta(days=1)


def executable(name: str) -> str:
    """A console script installed beside this interpreter (works without an activated venv)."""
    import shutil
    import sys

    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else (shutil.which(name) or name)
