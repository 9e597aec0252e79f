"""The ``app/budget_allocations`` asset, materialized by Dagster over a private database.

The database gets the three marts the asset reads (the columns it and the guardrails use), filled with
campaigns whose true response curves are known: a Meta account in USD, a Google Ads account in EUR
(fx 1.1) and a TikTok account whose signal health was unhealthy on one day of the training window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import dagster as dg
import numpy as np
import psycopg
import pytest

from pipeline.defs.allocation import budget_allocations
from pipeline.defs.resources import WarehouseResource

PARTITION = "2026-03-01"
AS_OF = date(2026, 3, 2)
DAYS = 90

MARTS = """
create schema if not exists marts;
create table marts.dim_campaigns (
    platform text, account_id text, campaign_id text, campaign_name text, status text, daily_budget numeric,
    lifetime_budget numeric, start_date date, end_date date, budget_type text,
    is_inferred boolean not null default false, tenant_id text not null default 'default');
create table marts.fct_campaign_performance_daily (
    date_day date, platform text, account_id text, campaign_id text, campaign_name text, currency text,
    reporting_currency text, fx_rate numeric, spend numeric, spend_reporting numeric, impressions bigint,
    clicks bigint, conversions numeric, conversion_value numeric, conversion_value_reporting numeric, tenant_id text not null default 'default');
create table marts.fct_signal_health_daily (
    date_day date, platform text, account_id text, status text, health_score numeric, freshness_score numeric,
    completeness_score numeric, accuracy_score numeric, issues jsonb, tenant_id text not null default 'default');
"""

# (platform, account, currency, fx, campaign, daily budget, ROAS at budget, half-saturation / budget)
CAMPAIGNS = [
    ("meta", "act_1", "USD", 1.0, "m_strong", 100.0, 4.0, 3.0),
    ("meta", "act_1", "USD", 1.0, "m_weak", 100.0, 1.5, 0.7),
    ("meta", "act_1", "USD", 1.0, "m_mid", 80.0, 2.5, 1.2),
    ("google_ads", "111", "EUR", 1.1, "g_strong", 120.0, 3.8, 2.5),
    ("google_ads", "111", "EUR", 1.1, "g_weak", 90.0, 1.4, 0.8),
    ("google_ads", "111", "EUR", 1.1, "g_mid", 70.0, 2.6, 1.0),
    ("tiktok", "adv_9", "USD", 1.0, "t_one", 60.0, 3.0, 1.5),
    ("tiktok", "adv_9", "USD", 1.0, "t_two", 50.0, 1.2, 1.0),
]
UNHEALTHY_DAY = AS_OF - timedelta(days=20)


def seed_marts(conn: psycopg.Connection) -> None:
    rng = np.random.default_rng(7)
    conn.execute(MARTS)
    days = [AS_OF - timedelta(days=DAYS - i) for i in range(DAYS)]
    for platform, account, currency, fx, campaign, budget, roas, half in CAMPAIGNS:
        conn.execute(
            "insert into marts.dim_campaigns (platform, account_id, campaign_id, campaign_name, status,"
            " daily_budget, budget_type) values (%s, %s, %s, %s, 'ACTIVE', %s, 'DAILY')",
            (platform, account, campaign, f"Campaign {campaign}", budget),
        )
        h = half * budget
        vmax = roas * (h + budget)
        spend = budget * 0.95 * rng.lognormal(0.0, 0.2, DAYS)  # varied enough for the curve to be measured
        value = vmax * spend / (h + spend) * rng.lognormal(0.0, 0.05, DAYS)
        rows = [
            (day, platform, account, campaign, f"Campaign {campaign}", currency, "USD", fx, round(s, 2),
             round(s * fx, 2), 1000, 50, round(v / 40, 2), round(v, 2), round(v * fx, 2))
            for day, s, v in zip(days, spend, value, strict=True)
        ]  # fmt: skip
        with conn.cursor() as cur:
            cur.executemany(
                "insert into marts.fct_campaign_performance_daily values"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
    for platform, account in {(c[0], c[1]) for c in CAMPAIGNS}:
        for day in days:
            status = "unhealthy" if platform == "tiktok" and day == UNHEALTHY_DAY else "healthy"
            conn.execute(
                "insert into marts.fct_signal_health_daily (date_day, platform, account_id, status, health_score)"
                " values (%s, %s, %s, %s, %s)",
                (day, platform, account, status, 40 if status == "unhealthy" else 98),
            )


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    url = database_factory("allocation")
    with psycopg.connect(url, autocommit=True) as conn:
        seed_marts(conn)
    return url


@pytest.fixture
def conn(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def materialize(url: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [budget_allocations],
        partition_key=PARTITION,
        resources={"warehouse": WarehouseResource(url=url)},
        instance=dg.DagsterInstance.ephemeral(),
    )


def test_allocation_rows_lines_proposals_and_idempotent_rerun(url: str, conn: psycopg.Connection) -> None:
    result = materialize(url)
    assert result.success
    metadata = result.asset_materializations_for_node("app__budget_allocations")[0].metadata
    assert metadata["response_curves"].value.startswith("![response curves](data:image/svg+xml;base64,")
    assert metadata["expected_value"].value > metadata["expected_value_current_split"].value
    assert metadata["uplift_vs_current_pct"].value > 0
    assert "proportional_roas" in metadata["strategies"].value
    # The allocation's 90 % interval of expected value (posterior draws of the curves), also stored.
    interval = metadata["expected_value_interval"].value
    assert interval["low"] < metadata["expected_value"].value < interval["high"]
    assert interval["level"] == 0.9 and 0 <= interval["probability_uplift_positive"] <= 1
    stored = conn.execute(
        "select expected_value_low, expected_value_high, uncertainty from app.budget_allocations"
    )
    low, high, uncertainty = stored.fetchone()
    assert (low, high) == (interval["low"], interval["high"]) and uncertainty == interval
    assert metadata["experiments_assessed"].value >= metadata["experiments_proposed"].value >= 0

    header = conn.execute(
        "select allocation_id, period_start, period_end, total_budget, currency, objective, allocations,"
        " expected_value, current_split_value, proportional_value, signal_health, window_start, window_end"
        " from app.budget_allocations"
    ).fetchall()
    assert len(header) == 1
    (allocation_id, start, end, total, currency, objective, platforms, expected, current, proportional,
     health, window_start, window_end) = header[0]  # fmt: skip
    assert (start, end, currency, objective) == (AS_OF, AS_OF + timedelta(days=6), "USD", "value")
    assert (window_start, window_end) == (date(2026, 3, 1), date(2026, 3, 1))
    assert set(platforms) == {"meta", "google_ads"}  # TikTok left out: unhealthy day in the window
    assert sum(platforms.values()) == pytest.approx(float(total), abs=0.05)
    assert expected > current and expected >= proportional
    assert health["excluded_accounts"] == ["tiktok/adv_9"]

    lines = {
        row[0]: row[1:]
        for row in conn.execute(
            "select campaign_id, treatment, currency, current_daily_spend, recommended_daily_budget,"
            " current_daily_budget, recommended_daily_spend_reporting, fx_rate, change, proposed, action_id"
            " from app.budget_allocation_lines where allocation_id = %s",
            (allocation_id,),
        ).fetchall()
    }
    assert set(lines) == {c[4] for c in CAMPAIGNS}
    assert {k for k, v in lines.items() if v[0] == "excluded_signal_health"} == {"t_one", "t_two"}
    assert lines["t_one"][3] == pytest.approx(60.0)  # excluded: the budget is kept
    # Reallocating, not spending more: the allocated daily spend equals the current one (reporting ccy).
    allocated = sum(v[5] for k, v in lines.items() if not k.startswith("t_"))
    assert allocated * 7 == pytest.approx(float(total), rel=1e-3)
    # Strong campaigns up, weak ones down; the Google line is in euros (spend / fx, budget scaled).
    assert lines["m_strong"][7] > 0.1 and lines["m_weak"][7] < -0.1
    g_strong = lines["g_strong"]
    assert g_strong[1] == "EUR" and float(g_strong[6]) == pytest.approx(1.1)
    assert g_strong[3] == pytest.approx(120.0 * (1 + g_strong[7]), rel=1e-3)

    queued = conn.execute(
        "select action_id, campaign_id, action_type, source, source_ref, status from app.actions_queue"
        " where source = 'allocation' order by action_id"
    ).fetchall()
    proposed = {k for k, v in lines.items() if v[8]}
    assert proposed and {"m_strong", "m_weak"} <= proposed
    assert {row[1] for row in queued} == proposed
    assert all(row[2] == "REALLOCATE" and row[4] == f"allocation:{allocation_id}" for row in queued)
    assert {row[1]: row[0] for row in queued} == {k: v[9] for k, v in lines.items() if v[8]}

    # The same partition again: the row and its lines are replaced, proposals are not stacked.
    assert materialize(url).success
    again = conn.execute("select allocation_id from app.budget_allocations").fetchall()
    assert again == [(allocation_id,)]
    count = conn.execute(
        "select count(*) from app.budget_allocation_lines where allocation_id = %s", (allocation_id,)
    ).fetchone()
    assert count == (len(CAMPAIGNS),)
    assert conn.execute("select count(*) from app.actions_queue where source = 'allocation'").fetchone() == (
        len(queued),
    )


def test_a_window_without_data_records_an_empty_allocation_with_the_reason(
    url: str, conn: psycopg.Connection
) -> None:
    result = dg.materialize(
        [budget_allocations],
        partition_key="2025-06-01",  # long before the seeded marts
        resources={"warehouse": WarehouseResource(url=url)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    row = conn.execute(
        "select total_budget, allocations, unallocated, unallocated_reason from app.budget_allocations"
        " where period_start = %s",
        (date(2025, 6, 2),),
    ).fetchone()
    assert row is not None and float(row[0]) == 0 and row[1] == {} and float(row[2]) == 0
