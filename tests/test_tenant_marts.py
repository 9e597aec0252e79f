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
from pipeline.warehouse.partitions import is_partitioned, partition_name, partitions
from pipeline.warehouse.retention_store import RetentionRule, apply_retention
from tests.dbt_cli import dbt_ok

pytestmark = pytest.mark.slow

# The windows cross October into November: the partitioned marts (monthly) get rows in both months.
TODAY = date(2026, 11, 3)
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


# Monthly partitions of the marts that grow with time (macros/month_partitions.sql). The tests below
# run in this order on the module's warehouse: a mart is made unpartitioned and converted by the
# migration, an incremental run across the month boundary is compared with a full refresh, and
# retention (last: it drops a month of hourly rows) removes an hourly mart's old month.
PARTITIONED_MARTS = (*DAILY_FACTS, *HOURLY_FACTS, "fct_signal_health_daily")
OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)
BOUNDARY_WINDOW = (date(2026, 10, 30), date(2026, 11, 2))
# Signal health is scored as of its run: these columns describe the scoring run (tests/test_dbt_models.py).
AS_OF_COLUMNS = {"as_of_day", "as_of_at", "last_synced_at", "hours_since_last_sync"}


def _month_partitions(url: str, mart: str) -> dict[str, tuple[str, int]]:
    """Each partition of marts.<mart>: its bounds as PostgreSQL prints them and its rows."""
    with psycopg.connect(url) as conn:
        return {
            p.name: (
                conn.execute("select pg_get_expr(relpartbound, oid) from pg_class where oid = %s::regclass",
                             (f"marts.{p.name}",)).fetchone()[0],
                conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("marts", p.name))).fetchone()[0],
            )
            for p in partitions(conn, "marts", mart)
        }  # fmt: skip


def _relkind(url: str, relation: str) -> str:
    return _rows(url, "select relkind from pg_class where oid = %s::regclass", (relation,))[0][0]


def _assert_partitioned_by_month(url: str, mart: str) -> None:
    """Partitioned, and every row lies in the partition named for its month (no row elsewhere)."""
    assert _relkind(url, f"marts.{mart}") == "p", mart
    misplaced = _rows(
        url,
        sql.SQL(
            "select count(*) from {} where tableoid::regclass::text <> 'marts.' || %s || '_p' || to_char(date_day, 'YYYY_MM')"
        ).format(sql.Identifier("marts", mart)),
        (mart,),
    )
    assert misplaced == [(0,)], mart
    months = _rows(url, f"select distinct date_trunc('month', date_day)::date from marts.{mart} order by 1")
    assert months == [(OCTOBER,), (NOVEMBER,)], mart
    bounds = {name: bound for name, (bound, _) in _month_partitions(url, mart).items()}
    assert bounds == {
        partition_name(mart, OCTOBER): "FOR VALUES FROM ('2026-10-01') TO ('2026-11-01')",
        partition_name(mart, NOVEMBER): "FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')",
    }, mart


def test_the_marts_that_grow_with_time_are_partitioned_by_month(tenant_marts: str) -> None:
    for mart in PARTITIONED_MARTS:
        _assert_partitioned_by_month(tenant_marts, mart)
    for table in ("fx_rates_daily", "dim_ad_accounts", "ads_last_seen_in_performance"):
        assert _relkind(tenant_marts, f"marts.{table}") == "r", table
    # The indexes are the parents' (PostgreSQL creates them on every partition): the configured unique
    # one (it holds date_day) and the post-hook's, which its pg_indexes probe finds on the parent.
    indexes = dict(
        _rows(
            tenant_marts,
            "select tablename, string_agg(indexdef, '; ') from pg_indexes where schemaname = 'marts'"
            " and tablename in ('fct_ad_performance_daily', 'fct_campaign_performance_daily') group by 1",
        )
    )
    assert "(tenant_id, platform, account_id, ad_id, date_day)" in indexes["fct_ad_performance_daily"]
    assert "CREATE UNIQUE INDEX" in indexes["fct_campaign_performance_daily"]


def test_a_mart_built_unpartitioned_is_partitioned_in_place_with_its_rows(tenant_marts: str) -> None:
    """A warehouse built before: its unpartitioned mart (with an analyst view on it) is converted by
    migration 0023 with the same rows, indexes, row-level security and analyst grant."""
    mart = "fct_campaign_performance_daily"
    with psycopg.connect(tenant_marts, autocommit=True) as conn:
        conn.execute(f"create table marts.{mart}_flat (like marts.{mart} including all)")
        conn.execute(f"insert into marts.{mart}_flat select * from marts.{mart}")
        conn.execute(f"create table marts.{mart}_before as select * from marts.{mart}")
        conn.execute(f"drop table marts.{mart} cascade")
        conn.execute(f"alter table marts.{mart}_flat rename to {mart}")
        conn.execute(f"create view analyst.{mart}_probe as select * from marts.{mart}")
        conn.execute("select app.protect_mart(%s::regclass)", (f"marts.{mart}",))
        assert not is_partitioned(conn, "marts", mart)
    command.downgrade(migrate.alembic_config(tenant_marts), "0022")
    migrate.upgrade(tenant_marts)
    _assert_partitioned_by_month(tenant_marts, mart)
    differing = _rows(
        tenant_marts,
        f"select count(*) from ((select * from marts.{mart} except all select * from marts.{mart}_before)"
        f" union all (select * from marts.{mart}_before except all select * from marts.{mart})) as d",
    )
    assert differing == [(0,)]
    assert _rows(tenant_marts, f"select count(*) from marts.{mart}") == _rows(
        tenant_marts, f"select count(*) from marts.{mart}_before"
    )
    assert _rows(tenant_marts, "select to_regclass(%s)", (f"analyst.{mart}_probe",)) == [(None,)]
    indexes = _rows(
        tenant_marts, "select indexdef from pg_indexes where schemaname = 'marts' and tablename = %s", (mart,)
    )
    assert any(
        "CREATE UNIQUE INDEX" in d and "(tenant_id, platform, account_id, campaign_id, date_day)" in d
        for (d,) in indexes
    )
    assert _rows(
        tenant_marts, "select relrowsecurity from pg_class where oid = %s::regclass", (f"marts.{mart}",)
    ) == [(True,)]
    as_acme = to_url({**libpq_params(tenant_marts), "user": ACME_ANALYST, "password": "pw"})
    assert _rows(as_acme, f"select distinct tenant_id from marts.{mart}") == [(OTHER_TENANT,)]
    with psycopg.connect(tenant_marts, autocommit=True) as conn:
        conn.execute(f"drop table marts.{mart}_before")


def _copy_marts(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        for mart in PARTITIONED_MARTS:
            conn.execute(
                sql.SQL("create table {} as select * from {}").format(
                    sql.Identifier(schema, mart), sql.Identifier("marts", mart)
                )
            )


def _differences(url: str, schema: str, mart: str) -> tuple[int, int]:
    """Rows only in the copy, rows only in the mart (signal health's as-of columns left out)."""
    columns = [
        name
        for (name,) in _rows(
            url,
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = %s"
            " order by ordinal_position",
            (mart,),
        )
        if mart != "fct_signal_health_daily" or name not in AS_OF_COLUMNS
    ]
    listed = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    copy, rebuilt = (sql.Identifier(s, mart) for s in (schema, "marts"))
    query = sql.SQL("select count(*) from (select {l} from {a} except all select {l} from {b}) as d")
    return (
        _rows(url, query.format(l=listed, a=copy, b=rebuilt))[0][0],
        _rows(url, query.format(l=listed, a=rebuilt, b=copy))[0][0],
    )


def test_an_incremental_run_across_a_month_boundary_equals_a_full_refresh(
    tenant_marts: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """November's partitions dropped: a run over Oct 30 - Nov 2 creates them again and lands its rows in
    both months; a full refresh then rebuilds every mart partitioned, with the same rows."""
    with psycopg.connect(tenant_marts, autocommit=True) as conn:
        for mart in PARTITIONED_MARTS:
            conn.execute(
                sql.SQL("drop table {}").format(sql.Identifier("marts", partition_name(mart, NOVEMBER)))
            )
    workdir = tmp_path_factory.mktemp("dbt_boundary")
    selection = ("--select", *PARTITIONED_MARTS, "path:models/analyst")
    dbt_ok(tenant_marts, workdir, "run", *selection, env=dbt_window_env(*BOUNDARY_WINDOW))
    for mart in PARTITIONED_MARTS:
        _assert_partitioned_by_month(tenant_marts, mart)
    _copy_marts(tenant_marts, "incremental_copy")
    dbt_ok(tenant_marts, workdir, "run", "--full-refresh", *selection, env=dbt_window_env(*BOUNDARY_WINDOW))
    for mart in PARTITIONED_MARTS:
        _assert_partitioned_by_month(tenant_marts, mart)
        assert _differences(tenant_marts, "incremental_copy", mart) == (0, 0), mart
    # The replaced tables went with their partitions (renamed out of the way, then dropped by dbt).
    leftovers = _rows(
        tenant_marts,
        "select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'marts'"
        " and (relname like '%%\\_replaced' or relname like '%%dbt\\_backup%%' or relname like '%%dbt\\_tmp%%')",
    )
    assert leftovers == []
    with psycopg.connect(tenant_marts, autocommit=True) as conn:
        conn.execute("drop schema incremental_copy cascade")


def test_a_partition_read_directly_never_bypasses_row_level_security(tenant_marts: str) -> None:
    """The analyst role reads the parents through their row policies; a partition is not granted
    (permission denied); granted by mistake, its row-level security without a policy shows no rows;
    granted by a restore's apply_access, its own tenant policy applies."""
    as_acme = to_url({**libpq_params(tenant_marts), "user": ACME_ANALYST, "password": "pw"})
    for mart in PARTITIONED_MARTS:
        assert _rows(as_acme, f"select distinct tenant_id from marts.{mart}") == [(OTHER_TENANT,)], mart
        part = sql.Identifier("marts", partition_name(mart, OCTOBER))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _rows(as_acme, sql.SQL("select count(*) from {}").format(part))
        with psycopg.connect(tenant_marts, autocommit=True) as conn:
            conn.execute(sql.SQL("grant select on {} to {}").format(part, sql.Identifier(ACME_ANALYST)))
        assert _rows(as_acme, sql.SQL("select count(*) from {}").format(part)) == [(0,)], mart
    with psycopg.connect(tenant_marts, autocommit=True) as conn:
        conn.execute("select app.apply_access()")
    for mart in PARTITIONED_MARTS:
        part = sql.Identifier("marts", partition_name(mart, OCTOBER))
        assert _rows(as_acme, sql.SQL("select distinct tenant_id from {}").format(part)) == [
            (OTHER_TENANT,)
        ], mart


def test_retention_drops_an_hourly_marts_old_month_and_dbt_trims_the_rest(
    tenant_marts: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Kept from Nov 1: the retention job drops October's partition of an hourly mart whole; dbt's
    hourly_retention_days deletes the older days of a partitioned hourly mart on its next run."""
    mart = "fct_ad_performance_hourly"
    rule = RetentionRule(f"marts.{mart}", "date_day", 2, "hourly mart")
    october_rows = _month_partitions(tenant_marts, mart)[partition_name(mart, OCTOBER)][1]
    assert october_rows > 0
    with psycopg.connect(tenant_marts, autocommit=True) as conn:
        (result,) = apply_retention(conn, NOVEMBER + timedelta(1), dry_run=False, rules=[rule])
    assert (result.partitions_dropped, result.rows) == (1, october_rows)
    assert list(_month_partitions(tenant_marts, mart)) == [partition_name(mart, NOVEMBER)]
    dbt_ok(
        tenant_marts, tmp_path_factory.mktemp("dbt_retention"), "run", "--select", *HOURLY_FACTS,
        "--vars", "{hourly_retention_days: 2}", env=dbt_window_env(*HOURLY_WINDOW),
    )  # fmt: skip
    for hourly in HOURLY_FACTS:
        assert _rows(tenant_marts, f"select min(date_day) from marts.{hourly}") == [(NOVEMBER,)], hourly
