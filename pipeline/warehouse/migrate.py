"""Apply the Alembic migrations that create ``raw`` bookkeeping and ``app.*`` tables."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from pipeline.warehouse.db import sqlalchemy_url

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["url"] = sqlalchemy_url(url)
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        ensure_registered_raw_tables(url)


def ensure_registered_raw_tables(url: str | None = None) -> None:
    """Create every registered connector's and the file import's raw tables, empty where never loaded.

    dbt's staging models read them whether or not that source was ever synced: a warehouse fed only
    by CSV files, or one whose connections are not all set up yet, still builds every model.
    """
    import psycopg

    from pipeline.connectors import CONNECTORS
    from pipeline.connectors.csv_import import CSV_STREAMS
    from pipeline.warehouse.db import database_url
    from pipeline.warehouse.loader import ensure_raw_table

    streams = [s for connector in CONNECTORS.values() for s in connector.streams.values()]
    with psycopg.connect(url or database_url()) as conn, conn.transaction():
        for stream in [*streams, *CSV_STREAMS.values()]:
            ensure_raw_table(conn, stream)


def current_revision(url: str | None = None) -> str | None:
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext

    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
