"""Two tenants with the same ids: every mart keeps their rows apart (issue 14).

The sandbox's Meta accounts are synced twice into one warehouse: once by the default tenant's
connection and once by acme's. Both tenants so hold identical account, campaign and ad ids; acme's
raw spend is then doubled, so a row that mixed the two would show. dbt builds the daily and the
hourly models (with their data tests) as Dagster does, and every mart must hold each tenant's rows
separately: per-tenant spend totals equal that tenant's raw totals, keys are unique per tenant,
dim_ad_accounts lists the shared account once per tenant, signal health reads each tenant's own
syncs, and a PostgreSQL role of acme reads none of the default tenant's rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from alembic import command
from psycopg import sql

from pipeline.connections import sandbox_connection
from pipeline.connectors import CONNECTORS
from pipeline.connectors.csv_import import CSV_STREAMS
from pipeline.ingest import sync_connections
from pipeline.sandbox.server import SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.warehouse import access_store, migrate
from pipeline.warehouse.db import dbt_window_env, libpq_params, to_url
from pipeline.warehouse.loader import ensure_raw_table
from tests.dbt_cli import dbt_ok

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 15)
NOW = datetime.combine(TODAY - timedelta(1), datetime.min.time(), UTC) + timedelta(hours=12)
DAILY_WINDOW = (TODAY - timedelta(8), TODAY - timedelta(2))
HOURLY_WINDOW = (TODAY - timedelta(3), TODAY - timedelta(1))
OTHER_TENANT = "acme"
TENANTS = ("default", OTHER_TENANT)
ACME_ANALYST = "tenant_marts_ana"
RAW_DAILY = "raw.meta_ads_insights_daily"
RAW_HOURLY = "raw.meta_ads_insights_hourly"
DAILY_FACTS = (
    "fct_ad_performance_daily",
    "fct_ad_group_performance_daily",
    "fct_campaign_performance_daily",
    "fct_account_performance_daily",
)
HOURLY_FACTS = ("fct_ad_performance_hourly", "fct_campaign_performance_hourly")
# The grain of every mart (tenant_id leads it); fx_rates_daily is shared reference data, no tenant.
GRAINS = {
    "fct_ad_performance_daily": ("date_day", "platform", "account_id", "ad_id"),
    "fct_ad_group_performance_daily": ("date_day", "platform", "account_id", "campaign_id", "ad_group_id"),
    "fct_campaign_performance_daily": ("date_day", "platform", "account_id", "campaign_id"),
    "fct_account_performance_daily": ("date_day", "platform", "account_id"),
    "fct_ad_performance_hourly": ("hour_start_utc", "platform", "account_id", "ad_id"),
    "fct_campaign_performance_hourly": ("hour_start_utc", "platform", "account_id", "campaign_id"),
    "fct_signal_health_daily": ("date_day", "platform", "account_id"),
    "dim_ad_accounts": ("platform", "account_id"),
    "dim_campaigns": ("platform", "account_id", "campaign_id"),
    "dim_ads": ("platform", "account_id", "ad_id"),
    "ads_last_seen_in_performance": ("platform", "account_id", "ad_id"),
    "campaigns_last_seen_in_performance": ("platform", "account_id", "campaign_id"),
}


def _sync_meta(url: str, server: SandboxServer, tenant_id: str) -> None:
    streams = CONNECTORS["meta"].streams.values()
    connections = [dataclasses.replace(sandbox_connection("meta", server.url), tenant_id=tenant_id)]
    sync_connections(url, connections, [s.name for s in streams if s.window_column is None])
    for window, hourly in ((DAILY_WINDOW, False), (HOURLY_WINDOW, True)):
        names = [s.name for s in streams if s.window_column and s.is_hourly == hourly]
        sync_connections(url, connections, names, since=window[0], until=window[1])


def _double_spend(conn: psycopg.Connection, table: str, tenant_id: str) -> None:
    conn.execute(
        sql.SQL(
            "update {} set payload = jsonb_set(payload, '{{spend}}', to_jsonb(((payload ->> 'spend')::numeric * 2)::text))"
            " where tenant_id = %s and payload ? 'spend'"
        ).format(sql.SQL(table)),
        (tenant_id,),
    )


def _drop_role(conn: psycopg.Connection) -> None:
    if conn.execute("select 1 from pg_roles where rolname = %s", (ACME_ANALYST,)).fetchone():
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(ACME_ANALYST)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(ACME_ANALYST)))


@pytest.fixture(scope="module")
def tenant_marts(
    database_factory: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    url = database_factory("tenant_marts")
    with psycopg.connect(url, autocommit=True) as conn:
        # Every raw table, empty or not: the unions read every platform's staging models.
        for stream in [*(s for c in CONNECTORS.values() for s in c.streams.values()), *CSV_STREAMS.values()]:
            ensure_raw_table(conn, stream)
        _drop_role(conn)  # left over by an interrupted run on a shared server
        access_store.add_tenant(conn, OTHER_TENANT, "Acme", reporting_currency="EUR", actor="test")
        access_store.add_user(
            conn, ACME_ANALYST, tenant_id=OTHER_TENANT, capability="analyst", password="pw", actor="test"
        )
    world = World(default_scenario(today=TODAY, history_days=10))
    with SandboxServer(world) as server:
        server.world.now = NOW
        for tenant in TENANTS:
            _sync_meta(url, server, tenant)
    with psycopg.connect(url, autocommit=True) as conn:
        for table in (RAW_DAILY, RAW_HOURLY):
            _double_spend(conn, table, OTHER_TENANT)
        # acme's latest daily sync of each account failed; the default tenant's did not.
        conn.execute(
            """update raw.sync_runs set status = 'failed'
               where sync_id in (
                   select distinct on (account_id) sync_id from raw.sync_runs
                   where tenant_id = %s and platform = 'meta' and stream = 'ads_insights_daily'
                   order by account_id, started_at desc)""",
            (OTHER_TENANT,),
        )
    workdir = tmp_path_factory.mktemp("dbt")
    dbt_ok(url, workdir, "build", "--exclude", "*hourly*", env=dbt_window_env(*DAILY_WINDOW))
    dbt_ok(url, workdir, "build", "--select", "*hourly*", env=dbt_window_env(*HOURLY_WINDOW))
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        _drop_role(conn)


def _rows(url: str, query: str | sql.Composable, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _spend_by_tenant(url: str, relation: str) -> dict[str, float]:
    query = f"select tenant_id, sum(spend) from {relation} group by tenant_id"
    return {tenant: float(spend) for tenant, spend in _rows(url, query)}


def _raw_spend_by_tenant(url: str, table: str) -> dict[str, float]:
    query = f"select tenant_id, sum((payload ->> 'spend')::numeric) from {table} group by tenant_id"
    return {tenant: float(spend) for tenant, spend in _rows(url, query)}


def test_each_fact_holds_each_tenants_spend_apart(tenant_marts: str) -> None:
    for facts, raw_table in ((DAILY_FACTS, RAW_DAILY), (HOURLY_FACTS, RAW_HOURLY)):
        raw = _raw_spend_by_tenant(tenant_marts, raw_table)
        assert set(raw) == set(TENANTS) and raw[OTHER_TENANT] == pytest.approx(2 * raw["default"])
        for fact in facts:
            assert _spend_by_tenant(tenant_marts, f"marts.{fact}") == pytest.approx(raw), fact


def test_no_row_mixes_two_tenants(tenant_marts: str) -> None:
    """The same key in both tenants: acme's row carries exactly twice the default tenant's spend."""
    for fact in (*DAILY_FACTS, *HOURLY_FACTS):
        key = sql.SQL(", ").join(sql.Identifier(c) for c in GRAINS[fact])
        relation = sql.Identifier("marts", fact)
        pairs = _rows(
            tenant_marts,
            sql.SQL(
                "select count(*), count(*) filter (where acme.spend <> 2 * base.spend)"
                " from {r} as base join {r} as acme using ({k})"
                " where base.tenant_id = 'default' and acme.tenant_id = %s"
            ).format(r=relation, k=key),
            (OTHER_TENANT,),
        )
        matched, different = pairs[0]
        assert matched > 0 and different == 0, fact
        counts = dict(_rows(tenant_marts, f"select tenant_id, count(*) from marts.{fact} group by 1"))
        assert counts["default"] == counts[OTHER_TENANT] == matched, fact


def test_each_tenant_reports_in_its_own_currency(tenant_marts: str) -> None:
    """acme reports in EUR, the default tenant in USD (the project's var): the same key's money in
    reporting currency differs by exactly the day's EUR rate (cross rate through USD)."""
    for fact in (*DAILY_FACTS, *HOURLY_FACTS):
        key = sql.SQL(", ").join(sql.Identifier(c) for c in GRAINS[fact])
        relation = sql.Identifier("marts", fact)
        [(currencies, matched, off)] = _rows(
            tenant_marts,
            sql.SQL(
                "select array_agg(distinct base.reporting_currency || '/' || acme.reporting_currency),"
                " count(*), count(*) filter (where abs(acme.fx_rate * eur.rate_to_reporting - base.fx_rate) > 1e-9"
                "   or abs(acme.spend_reporting - round(acme.spend * acme.fx_rate, 6)) > 1e-6)"
                " from {r} as base join {r} as acme using ({k})"
                " join marts.fx_rates_daily as eur on eur.date_day = acme.date_day and eur.currency = 'EUR'"
                " where base.tenant_id = 'default' and acme.tenant_id = %s"
            ).format(r=relation, k=key),
            (OTHER_TENANT,),
        )
        assert currencies == ["USD/EUR"] and matched > 0 and off == 0, (fact, currencies, off)


def test_every_mart_is_unique_on_its_grain_with_the_tenant(tenant_marts: str) -> None:
    for mart, grain in GRAINS.items():
        key = sql.SQL(", ").join(sql.Identifier(c) for c in ("tenant_id", *grain))
        duplicates = _rows(
            tenant_marts,
            sql.SQL("select count(*) from (select 1 from {} group by {} having count(*) > 1) as d").format(
                sql.Identifier("marts", mart), key
            ),
        )
        tenants = _rows(tenant_marts, f"select distinct tenant_id from marts.{mart} order by 1")
        assert duplicates == [(0,)], mart
        assert tenants == [(OTHER_TENANT,), ("default",)], mart


def test_dim_ad_accounts_lists_a_shared_account_once_per_tenant(tenant_marts: str) -> None:
    rows = _rows(
        tenant_marts,
        "select account_id, array_agg(tenant_id order by tenant_id) from marts.dim_ad_accounts"
        " where platform = 'meta' group by account_id",
    )
    assert rows and all(tenants == [OTHER_TENANT, "default"] for _, tenants in rows), rows


def test_signal_health_reads_each_tenants_own_syncs(tenant_marts: str) -> None:
    """acme's latest daily sync failed, the default tenant's did not: only acme's recent days say so."""
    failed = dict(
        _rows(
            tenant_marts,
            'select tenant_id, count(*) filter (where issues @> \'[{"check": "freshness_last_sync_failed"}]\')'
            " from marts.fct_signal_health_daily group by tenant_id",
        )
    )
    assert failed["default"] == 0 and failed[OTHER_TENANT] > 0, failed
    health_spend = _spend_by_tenant(tenant_marts, "marts.fct_signal_health_daily")
    fact_spend = _spend_by_tenant(tenant_marts, "marts.fct_account_performance_daily")
    assert health_spend == pytest.approx(fact_spend)


def test_a_role_of_one_tenant_reads_none_of_the_others_rows(tenant_marts: str) -> None:
    as_acme = to_url({**libpq_params(tenant_marts), "user": ACME_ANALYST, "password": "pw"})
    for mart in ("fct_ad_performance_daily", "fct_campaign_performance_daily", "dim_ad_accounts"):
        tenants = _rows(as_acme, f"select tenant_id, count(*) from marts.{mart} group by 1")
        assert [t for t, _ in tenants] == [OTHER_TENANT], mart
    week = _rows(as_acme, "select distinct tenant_id from marts.fct_signal_health_daily")
    assert week == [(OTHER_TENANT,)]


def test_the_migration_drops_marts_built_without_a_tenant(database_factory: Callable[[str], str]) -> None:
    """A warehouse built before: its tenant-less marts (and views on them) go, so the next run rebuilds
    them; marts with tenant_id and the shared exchange rates stay."""
    url = database_factory("marts_before_tenants")
    command.downgrade(migrate.alembic_config(url), "0020")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("create schema if not exists analyst")
        conn.execute("create table marts.dim_ad_accounts (platform text, account_id text)")
        conn.execute("create view analyst.accounts as select * from marts.dim_ad_accounts")
        conn.execute("create table marts.dim_ads (tenant_id text, platform text, account_id text)")
        conn.execute("create table marts.fx_rates_daily (date_day date, currency text)")
    migrate.upgrade(url)
    with psycopg.connect(url) as conn:
        left = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema in ('marts', 'analyst') order by 1"
        ).fetchall()
    assert left == [("marts.dim_ads",), ("marts.fx_rates_daily",)]
