"""The fact marts that grow with time are partitioned by month on date_day (issue 14).

dbt now creates these marts as partitioned tables (``partition_by_month`` in their configs,
dbt_project/macros/month_partitions.sql). A warehouse built before holds them unpartitioned: each is
converted in place with its rows, columns, indexes and column comments
(``pipeline.warehouse.partitions.partition_like_in_place``), and gets the marts' row-level security
and analyst grant again (``app.protect_mart``); its partitions get row-level security without a
policy and no grant, as dbt creates them. Analyst views on a converted mart are dropped and
rebuilt by the next dbt run. A fresh warehouse has no marts yet and nothing happens.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op
from psycopg import sql

from pipeline.warehouse.partitions import is_partitioned, partition_like_in_place, partitions

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# The marts of that time with partition_by_month='date_day' (a later mart opting in is created
# partitioned by dbt and needs no migration).
PARTITIONED_MARTS = (
    "fct_ad_performance_daily",
    "fct_ad_group_performance_daily",
    "fct_campaign_performance_daily",
    "fct_account_performance_daily",
    "fct_ad_performance_hourly",
    "fct_campaign_performance_hourly",
    "fct_signal_health_daily",
)


def upgrade() -> None:
    conn = op.get_bind().connection.driver_connection
    protect = conn.execute("select to_regprocedure('app.protect_mart(regclass)') is not null").fetchone()[0]
    for mart in PARTITIONED_MARTS:
        exists = conn.execute("select to_regclass(%s) is not null", (f"marts.{mart}",)).fetchone()[0]
        if not exists or is_partitioned(conn, "marts", mart):
            continue
        partition_like_in_place(conn, "marts", mart, "date_day")
        if protect:
            conn.execute("select app.protect_mart(%s::regclass)", (f"marts.{mart}",))
            # As dbt leaves its partitions: row-level security without a policy (never read directly).
            for partition in partitions(conn, "marts", mart):
                conn.execute(
                    sql.SQL("alter table {} enable row level security").format(
                        sql.Identifier(partition.schema, partition.name)
                    )
                )


def downgrade() -> None:
    # Nothing to undo here: the code before this revision rebuilds a mart unpartitioned on a full
    # refresh (its incremental runs cannot create a month's partition).
    pass
