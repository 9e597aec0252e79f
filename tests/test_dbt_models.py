"""dbt models on real data: incremental runs equal a full refresh, every dbt test passes, new marts.

Sandbox Meta and Snapchat (Meta carries the scenario's incidents, including a missing day) are
synced into a private database in two stages the way the daily and intraday runs do it: a first
window, then the clock moves on and an overlapping window is re-synced (the platforms restate its
days). After each stage dbt builds the daily models and then the hourly ones with the window as
vars, like Dagster does (views and seeds unchanged since they were built are left out of the second
stage, pipeline/warehouse/dbt_state.py). Then every incremental mart is copied aside, ``dbt build --full-refresh``
rebuilds everything from raw, and the copies must equal the rebuilt tables row for row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from pipeline.config import DBT_PROJECT_DIR
from pipeline.connections import sandbox_connection
from pipeline.connectors import CONNECTORS
from pipeline.connectors.csv_import import CSV_STREAMS
from pipeline.ingest import sync_connections
from pipeline.sandbox.server import SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.warehouse import dbt_state
from pipeline.warehouse.db import dbt_window_env
from pipeline.warehouse.loader import ensure_raw_table
from tests.dbt_cli import dbt_ok

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 15)
PLATFORMS = ("meta", "snapchat")
# Stage 1 syncs days 12..5 before TODAY (hours of 6..5) with the clock at TODAY-4 12:00 UTC; stage 2,
# three days later, re-syncs days 8..2 (hours of 5..1): days 8..5 are restated and overlap. Hourly
# windows end on a complete day, or on the current one: the sandbox's clock is pinned while the
# sync times are real, so a day read while still running would look complete to the hourly-vs-daily
# reconciliation unless it is the newest hourly day (which that test leaves out).
STAGE_1 = {
    "now": TODAY - timedelta(4),
    "daily": (TODAY - timedelta(12), TODAY - timedelta(5)),
    "hourly": (TODAY - timedelta(6), TODAY - timedelta(5)),
}
STAGE_2 = {
    "now": TODAY - timedelta(1),
    "daily": (TODAY - timedelta(8), TODAY - timedelta(2)),
    "hourly": (TODAY - timedelta(5), TODAY - timedelta(1)),
}
HOURLY_MODELS = "*hourly*"  # as pipeline/defs/transform.py splits the dbt assets
# Signal health is scored as of its run (var max_date): these columns describe the scoring run, not
# the day, and differ by design between the run that last scored a day and a full refresh.
AS_OF_COLUMNS = {
    "fct_signal_health_daily": {"as_of_day", "as_of_at", "last_synced_at", "hours_since_last_sync"}
}


class Dbt:
    """dbt against one database, with its own target and log paths (dbt_project/target is shared)."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir

    def __call__(self, *args: str, window: tuple[date, date] | None = None) -> str:
        """As the pipeline passes the run's window: through the environment (``dbt_window_env``)."""
        return dbt_ok(self.url, self.workdir, *args, env=dbt_window_env(*(window or (None, None))))

    def build_stage(self, stage: dict) -> None:
        """What one daily run and one intraday run of Dagster do: daily models, then hourly ones."""
        self.build_like_dagster(("--exclude", HOURLY_MODELS), stage["daily"])
        self.build_like_dagster(("--select", HOURLY_MODELS), stage["hourly"])

    def build_like_dagster(self, selection: tuple[str, ...], window: tuple[date, date]) -> None:
        """As the dbt assets build: views and seeds unchanged since this database built them are left out."""
        self("parse", window=window)
        manifest = json.loads((self.workdir / "target" / "manifest.json").read_text())
        state = self.workdir / "state"
        unchanged, fingerprints = dbt_state.unchanged_nodes(
            self.url, manifest, DBT_PROJECT_DIR / "dbt_project.yml", state
        )
        self("build", *selection, *dbt_state.exclude_args(manifest, unchanged), window=window)
        run_results = json.loads((self.workdir / "target" / "run_results.json").read_text())
        dbt_state.record_built(self.url, fingerprints, run_results, state)

    def incremental_marts(self) -> list[str]:
        manifest = json.loads((self.workdir / "target" / "manifest.json").read_text())
        return sorted(
            node["name"]
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model"
            # tables too: the dimensions are built from incremental last-seen state
            and node["config"]["materialized"] in ("incremental", "table")
            and node["schema"] == "marts"
        )


def sync(url: str, server: SandboxServer, stage: dict) -> None:
    server.world.now = datetime.combine(stage["now"], datetime.min.time(), UTC) + timedelta(hours=12)
    for platform in PLATFORMS:
        streams = CONNECTORS[platform].streams.values()
        connections = [sandbox_connection(platform, server.url)]
        sync_connections(url, connections, [s.name for s in streams if s.window_column is None])
        for grain, hourly in (("daily", False), ("hourly", True)):
            names = [s.name for s in streams if s.window_column and s.is_hourly == hourly]
            since, until = stage[grain]
            sync_connections(url, connections, names, since=since, until=until)


@pytest.fixture(scope="module")
def warehouse_url(database_factory: Callable[[str], str]) -> str:
    url = database_factory("dbt_models")
    # Every raw table, empty or not: the unions read every platform's staging models.
    with psycopg.connect(url) as conn, conn.transaction():
        for connector in CONNECTORS.values():
            for stream in connector.streams.values():
                ensure_raw_table(conn, stream)
        for stream in CSV_STREAMS.values():
            ensure_raw_table(conn, stream)
    return url


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    world = World(default_scenario(today=TODAY, history_days=14))
    with SandboxServer(world) as server:
        yield server


@pytest.fixture(scope="module")
def dbt(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Dbt:
    return Dbt(warehouse_url, tmp_path_factory.mktemp("dbt"))


@pytest.fixture(scope="module")
def incremental_then_full_refresh(
    warehouse_url: str, sandbox: SandboxServer, dbt: Dbt
) -> dict[str, tuple[int, int, int]]:
    """Two incremental stages, copies of every incremental mart, a full refresh; per mart the rows
    of the copy, rows only in the copy, rows only in the rebuilt table."""
    for stage in (STAGE_1, STAGE_2):
        sync(warehouse_url, sandbox, stage)
        dbt.build_stage(stage)
    return copy_full_refresh_and_compare(warehouse_url, dbt, "incremental_copy")


def copy_full_refresh_and_compare(
    warehouse_url: str, dbt: Dbt, copy_schema: str
) -> dict[str, tuple[int, int, int]]:
    """Copies of every incremental mart and dimension into ``copy_schema``, a full refresh as of
    stage 2; per mart the rows of the copy, rows only in the copy, rows only in the rebuilt table."""
    marts = dbt.incremental_marts()
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(copy_schema)))
        for mart in marts:
            conn.execute(
                sql.SQL("create table {}.{} as select * from marts.{}").format(
                    sql.Identifier(copy_schema), sql.Identifier(mart), sql.Identifier(mart)
                )
            )
    # A full refresh as of the last run's day (signal health's as-of day comes from max_date); the
    # stages ran every dbt test already, and equal tables pass them alike.
    dbt("run", "--full-refresh", "--exclude", HOURLY_MODELS, window=STAGE_2["daily"])
    dbt("run", "--full-refresh", "--select", HOURLY_MODELS, window=STAGE_2["hourly"])
    differences = {}
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for mart in marts:
            columns = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = 'marts'"
                    " and table_name = %s order by ordinal_position",
                    (mart,),
                )
                if r[0] not in AS_OF_COLUMNS.get(mart, set())
            ]
            listed = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
            copy, rebuilt = (
                sql.SQL("{}.{}").format(sql.Identifier(s), sql.Identifier(mart))
                for s in (copy_schema, "marts")
            )

            def count(query: sql.Composable) -> int:
                return conn.execute(sql.SQL("select count(*) from ({}) as q").format(query)).fetchone()[0]

            differences[mart] = (
                count(sql.SQL("select * from {}").format(copy)),
                count(
                    sql.SQL("select {c} from {a} except all select {c} from {b}").format(
                        c=listed, a=copy, b=rebuilt
                    )
                ),
                count(
                    sql.SQL("select {c} from {b} except all select {c} from {a}").format(
                        c=listed, a=copy, b=rebuilt
                    )
                ),
            )
    return differences


def test_every_incremental_mart_equals_its_full_refresh(incremental_then_full_refresh: dict) -> None:
    marts = incremental_then_full_refresh
    assert {
        "fct_ad_performance_daily",
        "fct_ad_group_performance_daily",
        "fct_account_performance_daily",
        "fct_signal_health_daily",
        "fct_ad_performance_hourly",
        "fct_campaign_performance_hourly",
        "ads_last_seen_in_performance",
        "campaigns_last_seen_in_performance",
        "dim_ads",
        "dim_campaigns",
    } <= set(marts)
    for mart, (rows, only_incremental, only_full_refresh) in marts.items():
        assert rows > 0, f"{mart} is empty: the comparison proves nothing"
        assert (only_incremental, only_full_refresh) == (0, 0), mart


def test_restated_days_hold_the_second_stage_values(
    incremental_then_full_refresh: dict, warehouse_url: str, sandbox: SandboxServer
) -> None:
    """The overlap was rebuilt from the re-synced raw rows: conversions of a restated day match the
    world as of stage 2 (and the full refresh agrees, by the test above)."""
    day = STAGE_2["daily"][0]
    world = sandbox.world
    truth = sum(
        m.conversions
        for platform in PLATFORMS
        for account in world.accounts(platform)
        for ad in world.ads(platform, account.id)
        if (m := world.ad_day(ad, day)) is not None
    )
    with psycopg.connect(warehouse_url) as conn:
        stored = conn.execute(
            "select sum(conversions) from marts.fct_account_performance_daily where date_day = %s", (day,)
        ).fetchone()[0]
    assert float(stored) == truth


def test_dimensions_know_every_ad_and_the_attribution_setting(
    incremental_then_full_refresh: dict, warehouse_url: str, sandbox: SandboxServer
) -> None:
    world = sandbox.world
    with psycopg.connect(warehouse_url) as conn:
        for platform in PLATFORMS:
            for account in world.accounts(platform):
                ads = {ad.id for ad in world.ads(platform, account.id)}
                stored = conn.execute(
                    "select ad_id, status, campaign_id, is_inferred from marts.dim_ads"
                    " where platform = %s and account_id = %s",
                    (platform, account.id),
                ).fetchall()
                assert {r[0] for r in stored} == ads
                assert all(r[1] is not None and r[2] is not None and not r[3] for r in stored)
        attribution = dict(
            conn.execute(
                "select platform, string_agg(distinct attribution_setting || ' ' || attribution_setting_source, ',')"
                " from marts.dim_ad_accounts group by platform"
            ).fetchall()
        )
        hourly_usd = conn.execute(
            "select count(*), count(*) filter (where spend > 0 and spend_reporting > 0)"
            " from marts.fct_campaign_performance_hourly"
        ).fetchone()
    assert attribution["meta"] == "7d_click_1d_view reported"
    assert attribution["snapchat"] == "28d_swipe_up_1d_view requested"
    assert hourly_usd[0] > 0 and hourly_usd[1] > 0


def test_money_is_rounded_to_its_currencys_minor_units(dbt: Dbt) -> None:
    """The analyst views' rounding (macros/analyst_rounding.sql) on currencies the sandbox lacks."""
    query = (
        "select {{ round_money('1234.5678', \"'JPY'\") }} as jpy, {{ round_money('1234.5678', \"'kwd'\") }}"
        " as kwd, {{ round_money('1234.5678', \"'EUR'\") }} as eur, {{ round_ratio('2.0 / 3') }} as ratio"
    )
    output = dbt("show", "--inline", query, "--output", "json")
    shown = json.loads(output[output.index("{") : output.rindex("}") + 1])["show"][0]
    assert shown == {"jpy": 1235, "kwd": 1234.568, "eur": 1234.57, "ratio": 0.6667}


def test_analyst_views_answer_the_sample_questions(
    incremental_then_full_refresh: dict, warehouse_url: str
) -> None:
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        # One pending recommendation per entity (a unique index), so three campaigns.
        for campaign, confidence, status in (
            ("c1", 0.9, "pending"),
            ("c2", 0.4, "pending"),
            ("c3", 0.95, "rejected"),
        ):
            conn.execute(
                "insert into app.ai_recommendations (as_of, produced_by, platform, entity_level, entity_id,"
                " campaign_id, action, title, rationale, confidence, status)"
                " values (%s, 'fallback', 'meta', 'campaign', %s, %s, 'PAUSE', 't', 'r', %s, %s)",
                (STAGE_2["daily"][1], campaign, campaign, confidence, status),
            )
        action_id = conn.execute(
            "insert into app.actions_queue (source, source_ref, platform, account_id, campaign_id, action_type,"
            " reason, idempotency_key, status) values ('recommendation', 'recommendation:1', 'meta', 'a', 'c1',"
            " 'PAUSE', 'why', 'k1', 'executed') returning action_id"
        ).fetchone()[0]
        for hours_ago in (1, 30):
            conn.execute(
                "insert into app.ai_actions_log (action_id, platform, account_id, campaign_id, action_type, dry_run,"
                " status, new_state, executed_at) values (%s, 'meta', 'a', 'c1', 'PAUSE', true, 'succeeded', %s,"
                " now() - make_interval(hours => %s))",
                (action_id, Jsonb({"status": "PAUSED"}), hours_ago),
            )
        pending = conn.execute(
            "select confidence, confidence_band, confidence_rank from analyst.pending_ai_recommendations_by_confidence"
            " order by confidence_rank"
        ).fetchall()
        actions = conn.execute(
            "select action_id, dry_run, execution_status, source, recommendation_id"
            " from analyst.ai_actions_last_24_hours"
        ).fetchall()
    assert pending == [(0.9, "high", 1), (0.4, "low", 2)]
    assert actions == [(action_id, True, "succeeded", "recommendation", 1)]


def test_every_column_of_every_mart_and_analyst_view_is_documented(
    incremental_then_full_refresh: dict, warehouse_url: str, dbt: Dbt
) -> None:
    manifest = json.loads((dbt.workdir / "target" / "manifest.json").read_text())
    documented = {
        (node["schema"], node["name"]): {
            name for name, col in node["columns"].items() if col.get("description")
        }
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in ("marts", "analyst")
    }
    with psycopg.connect(warehouse_url) as conn:
        # A mart's month partitions (macros/month_partitions.sql) are documented by the mart itself.
        rows = conn.execute(
            "select c.table_schema, c.table_name, c.column_name from information_schema.columns c"
            " join pg_class k on k.oid = format('%I.%I', c.table_schema, c.table_name)::regclass"
            " where c.table_schema in ('marts', 'analyst') and not k.relispartition"
        ).fetchall()
    built: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in rows:
        built.setdefault((schema, table), set()).add(column)
    assert set(built) == set(documented)
    undocumented = {
        f"{schema}.{table}": sorted(cols - documented[(schema, table)])
        for (schema, table), cols in built.items()
    }
    assert {k: v for k, v in undocumented.items() if v} == {}


def test_signal_health_checks_show_the_missing_day_as_a_warning(
    incremental_then_full_refresh: dict, warehouse_url: str, sandbox: SandboxServer
) -> None:
    """The Dagster checks over the real model: Meta's injected missing day is degraded, so the Meta
    check fails as a warning naming the account and day; Snapchat passes."""
    import dagster as dg

    from pipeline.defs import health_checks
    from pipeline.defs.partitions import daily_partitions, range_tags
    from pipeline.defs.resources import WarehouseResource

    world = sandbox.world
    first, last = STAGE_1["daily"][0], STAGE_2["daily"][1]
    missing = {
        (account.id, day.isoformat())
        for account in world.accounts("meta")
        for day in (first + timedelta(n) for n in range((last - first).days + 1))
        if world.is_missing_day(account, day)
    }
    assert missing
    job = dg.define_asset_job(
        "signal_health_only",
        selection=dg.AssetSelection.checks(health_checks.signal_health_checks),
        partitions_def=daily_partitions,
    )
    defs = dg.Definitions(
        assets=[dg.AssetSpec(health_checks.SIGNAL_HEALTH_ASSET, partitions_def=daily_partitions)],
        asset_checks=[health_checks.signal_health_checks],
        jobs=[job],
        resources={"warehouse": WarehouseResource(url=warehouse_url)},
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("signal_health_only").execute_in_process(
            instance=instance, tags=range_tags(first, last)
        )
    found = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    meta = found["signal_health_meta"]
    assert not meta.passed and meta.severity == dg.AssetCheckSeverity.WARN
    problems = {(p["account_id"], p["date_day"]) for p in meta.metadata["problems"].value}
    assert problems == missing
    assert all(p["status"] == "degraded" for p in meta.metadata["problems"].value)
    assert found["signal_health_snapchat"].passed


# Runs last: it changes the warehouse the tests above read.
def test_an_ad_restated_out_of_the_window_and_a_renamed_campaign_keep_incremental_equal_to_full_refresh(
    incremental_then_full_refresh: dict, warehouse_url: str, dbt: Dbt
) -> None:
    """The last-seen state's rare paths: an ad whose rows in the window disappear (a restatement)
    falls back to its latest day before the window; a campaign renamed in the listing is renamed on
    the campaign fact's days outside the window. Both by a windowed daily run, equal to a full refresh."""
    since, until = STAGE_2["daily"]
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        account_id, ad_id = conn.execute(
            "select account_id, ad_id from marts.ads_last_seen_in_performance"
            " where platform = 'meta' and last_seen_day between %s and %s order by ad_id limit 1",
            (since, until),
        ).fetchone()
        earlier = conn.execute(
            "select max(date_day) from marts.fct_ad_performance_daily"
            " where platform = 'meta' and account_id = %s and ad_id = %s and date_day < %s",
            (account_id, ad_id, since),
        ).fetchone()[0]
        assert earlier is not None, "the ad needs days before the window"
        conn.execute(
            "delete from raw.meta_ads_insights_daily where account_id = %s and ad_id = %s"
            " and date_start between %s and %s",
            (account_id, ad_id, since, until),
        )
        campaign_account, campaign_id = conn.execute(
            "select account_id, campaign_id from marts.fct_campaign_performance_daily"
            " where platform = 'meta' and date_day < %s order by campaign_id limit 1",
            (since,),
        ).fetchone()
        conn.execute(
            "update raw.meta_campaigns set payload = jsonb_set(payload, '{name}', to_jsonb('Renamed campaign'::text))"
            " where account_id = %s and campaign_id = %s",
            (campaign_account, campaign_id),
        )
    dbt.build_like_dagster(("--exclude", HOURLY_MODELS), STAGE_2["daily"])
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute(
            "select last_seen_day from marts.ads_last_seen_in_performance"
            " where platform = 'meta' and account_id = %s and ad_id = %s",
            (account_id, ad_id),
        ).fetchone() == (earlier,)
        assert conn.execute(
            "select distinct campaign_name from marts.fct_campaign_performance_daily"
            " where platform = 'meta' and account_id = %s and campaign_id = %s",
            (campaign_account, campaign_id),
        ).fetchall() == [("Renamed campaign",)]
    differences = copy_full_refresh_and_compare(warehouse_url, dbt, "restated_copy")
    assert {mart: d[1:] for mart, d in differences.items() if d[1:] != (0, 0)} == {}
