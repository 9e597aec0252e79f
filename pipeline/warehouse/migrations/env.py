"""Alembic environment: the warehouse URL comes from pipeline.warehouse.db, never from alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from pipeline.warehouse.db import sqlalchemy_url

url = context.config.attributes.get("url") or sqlalchemy_url()
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, version_table="alembic_version", transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
