"""Planning an allocation from mart-shaped frames: eligibility, currencies, budgets, proposals, settings."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pipeline.analytics.budget import Goal
from pipeline.analytics.budget.plan import (
    EXCLUDED_TREATMENT,
    AllocationSettings,
    assess_account_health,
    plan_allocation,
)
from pipeline.sandbox.simulator import stable_int

AS_OF = date(2026, 3, 2)
DAYS = 90


def mart_rows(
    campaign: str,
    *,
    platform: str,
    account: str,
    currency: str,
    fx: float,
    level: float,
    roas: float,
    half: float,
) -> pd.DataFrame:
    rng = np.random.default_rng(stable_int("budget-plan", campaign, bits=32))  # same data in every process
    days = [AS_OF - timedelta(days=DAYS - i) for i in range(DAYS)]
    spend = level * rng.lognormal(0.0, 0.2, DAYS)
    h = half * level
    value = roas * (h + level) * spend / (h + spend) * rng.lognormal(0.0, 0.05, DAYS)
    return pd.DataFrame(
        {
            "date_day": days,
            "platform": platform,
            "account_id": account,
            "campaign_id": campaign,
            "campaign_name": f"Campaign {campaign}",
            "currency": currency,
            "fx_rate": fx,
            "spend": spend,
            "spend_reporting": spend * fx,
            "conversions": value / 40,
            "conversion_value_reporting": value * fx,
        }
    )


def frame() -> pd.DataFrame:
    return pd.concat(
        [
            mart_rows(
                "a", platform="meta", account="1", currency="USD", fx=1.0, level=100, roas=4.0, half=3.0
            ),
            mart_rows(
                "b", platform="meta", account="1", currency="USD", fx=1.0, level=100, roas=1.5, half=0.7
            ),
            mart_rows(
                "c", platform="google_ads", account="2", currency="EUR", fx=1.1, level=80, roas=4.2, half=3.0
            ),
            mart_rows(
                "d", platform="tiktok", account="3", currency="USD", fx=1.0, level=50, roas=3.0, half=1.0
            ),
        ],
        ignore_index=True,
    )


def health(status_for: dict[str, str]) -> pd.DataFrame:
    rows = []
    for day in (AS_OF - timedelta(days=DAYS - i) for i in range(DAYS)):
        for platform, account in (("meta", "1"), ("google_ads", "2"), ("tiktok", "3")):
            rows.append(
                {"date_day": day, "platform": platform, "account_id": account,
                 "status": status_for.get(f"{platform}@{day.isoformat()}", "healthy"), "health_score": 95.0}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_health_rule_excludes_unhealthy_latest_degraded_and_often_degraded() -> None:
    since, until = AS_OF - timedelta(days=DAYS), AS_OF - timedelta(days=1)
    frame_ = health({f"tiktok@{(until - timedelta(days=40)).isoformat()}": "unhealthy",
                     f"google_ads@{until.isoformat()}": "degraded",
                     f"meta@{(until - timedelta(days=30)).isoformat()}": "degraded"})  # fmt: skip
    result = assess_account_health(frame_, [("meta", "1"), ("google_ads", "2"), ("tiktok", "3"), ("snapchat", "4")],
                                   since, until, 0.10)  # fmt: skip
    assert result[("tiktok", "3")].excluded and "unhealthy on 1 day" in (result[("tiktok", "3")].reason or "")
    assert result[("google_ads", "2")].excluded and "latest day" in (result[("google_ads", "2")].reason or "")
    # One degraded day of 90 is tolerated (its status is still reported).
    assert not result[("meta", "1")].excluded and result[("meta", "1")].status == "degraded"
    assert result[("snapchat", "4")].status == "unknown" and not result[("snapchat", "4")].excluded


def test_plan_reallocates_the_same_money_in_account_currency_and_leaves_unhealthy_accounts_out() -> None:
    bad_day = (AS_OF - timedelta(days=10)).isoformat()
    campaigns = pd.DataFrame(
        [
            {"platform": "meta", "account_id": "1", "campaign_id": "a", "daily_budget": 110.0, "budget_type": "DAILY"},
            {"platform": "meta", "account_id": "1", "campaign_id": "b", "daily_budget": 110.0, "budget_type": "DAILY"},
            {"platform": "google_ads", "account_id": "2", "campaign_id": "c", "daily_budget": None,
             "budget_type": "LIFETIME"},
        ]
    )  # fmt: skip
    plan = plan_allocation(
        frame(), as_of=AS_OF, campaigns=campaigns, health=health({f"tiktok@{bad_day}": "unhealthy"}),
        settings=AllocationSettings(period_days=7),
    )  # fmt: skip
    lines = {line.campaign_id: line for line in plan.lines}
    assert lines["d"].treatment == EXCLUDED_TREATMENT and not lines["d"].propose
    assert plan.signal_health()["excluded_accounts"] == ["tiktok/3"]
    eligible = [line for line in plan.lines if line.treatment != EXCLUDED_TREATMENT]
    current = sum(line.current_daily_spend_reporting for line in eligible)
    assert plan.total_budget == pytest.approx(current * 7)
    assert sum(line.recommended_daily_spend_reporting for line in eligible) * 7 == pytest.approx(
        plan.total_budget
    )
    # The daily budget is scaled like the spend; in account currency (EUR line: reporting / 1.1).
    a, c = lines["a"], lines["c"]
    assert a.recommended_daily_budget == pytest.approx(110.0 * (1 + (a.change or 0.0)), rel=1e-3)
    assert c.current_daily_spend == pytest.approx(c.current_daily_spend_reporting / 1.1)
    assert c.recommended_daily_budget == pytest.approx(c.recommended_daily_spend_reporting / 1.1)
    # Proposals: material changes on campaigns with a daily budget only.
    assert a.propose and lines["b"].propose and lines["b"].change is not None and lines["b"].change < -0.1
    assert not c.propose and "no daily budget" in (c.not_proposed_reason or "")
    proposals = plan.proposals(42)
    assert {p.campaign_id for p in proposals} == {"a", "b"}
    assert all(p.source_ref == "allocation:42" and p.action_type == "REALLOCATE" for p in proposals)
    assert {p.campaign_id: p.new_daily_budget for p in proposals}["a"] == pytest.approx(
        a.recommended_daily_budget, abs=0.005
    )
    assert plan.comparison is not None
    assert plan.comparison["optimized"].expected_outcome > plan.comparison["current"].expected_outcome


def test_configured_total_too_small_for_the_minimums_names_the_setting() -> None:
    with pytest.raises(ValueError, match="ADSIGNAL_ALLOCATION_TOTAL_BUDGET"):
        plan_allocation(frame(), as_of=AS_OF, settings=AllocationSettings(total_budget=10.0))


def test_settings_from_environment() -> None:
    settings = AllocationSettings.from_env(
        {"ADSIGNAL_ALLOCATION_TOTAL_BUDGET": "7000", "ADSIGNAL_ALLOCATION_PERIOD_DAYS": "14",
         "ADSIGNAL_ALLOCATION_OBJECTIVE": "conversions"}
    )  # fmt: skip
    assert (settings.total_budget, settings.period_days, settings.objective) == (7000.0, 14, Goal.CONVERSIONS)
    assert AllocationSettings.from_env({}) == AllocationSettings()
    with pytest.raises(ValueError, match="ADSIGNAL_ALLOCATION_OBJECTIVE"):
        AllocationSettings.from_env({"ADSIGNAL_ALLOCATION_OBJECTIVE": "clicks"})
    with pytest.raises(ValueError, match="ADSIGNAL_ALLOCATION_TOTAL_BUDGET must be a number"):
        AllocationSettings.from_env({"ADSIGNAL_ALLOCATION_TOTAL_BUDGET": "lots"})
