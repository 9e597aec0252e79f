"""The simulator: determinism, ground truth, incidents, restatement, hours, write-back."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from pipeline.sandbox.simulator import (
    PLATFORMS,
    Incident,
    Metrics,
    Scenario,
    World,
    default_scenario,
    maturity,
)

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 10:30 in New York, 16:30 in Berlin


@pytest.fixture
def world() -> World:
    w = World(default_scenario(today=TODAY))
    w.now = NOW
    return w


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def campaign_day(world: World, platform: str, campaign_id: str, day: date, *, truth: bool = False) -> Metrics:
    total = Metrics.zero()
    for ad in world.ads(platform, campaign_id=campaign_id):
        metrics = world.truth_ad_day(ad, day) if truth else world.ad_day(ad, day)
        total = total + (metrics or Metrics.zero())
    return total


def incident(world: World, kind: str) -> Incident:
    return next(i for i in world.incidents if i.kind == kind)


# --- determinism -------------------------------------------------------------------------------------


def fingerprint(world: World) -> list[tuple[str, float, int, int]]:
    rows = []
    for platform in world.platforms:
        for account in world.accounts(platform):
            for ad in world.ads(platform, account.id)[:3]:
                for day in (days_ago(40), days_ago(5), days_ago(1)):
                    m = world.truth_ad_day(ad, day)
                    rows.append((ad.id, m.spend, m.impressions, m.conversions))
    return rows


def test_same_seed_same_world_and_different_seed_different_ids(world: World) -> None:
    again = World(default_scenario(today=TODAY))
    assert [c.id for c in again.campaigns("meta")] == [c.id for c in world.campaigns("meta")]
    assert fingerprint(again) == fingerprint(world)
    other = World(default_scenario(today=TODAY, seed=8))
    assert not {c.id for c in other.campaigns("meta")} & {c.id for c in world.campaigns("meta")}


def test_deterministic_across_processes_with_different_hash_seeds(world: World) -> None:
    # A salted hash() would give another world in another interpreter.
    code = (
        "from datetime import date;"
        "from pipeline.sandbox.simulator import World, default_scenario;"
        "w = World(default_scenario(today=date(2026, 11, 20)));"
        "ad = w.ads('tiktok')[5];"
        "m = w.truth_ad_day(ad, date(2026, 11, 1));"
        "print(ad.id, m.spend, m.impressions, m.clicks, m.conversions, m.conversion_value)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]),
    ).stdout.split()
    ad = world.ads("tiktok")[5]
    m = world.truth_ad_day(ad, date(2026, 11, 1))
    assert out == [
        ad.id,
        str(m.spend),
        str(m.impressions),
        str(m.clicks),
        str(m.conversions),
        str(m.conversion_value),
    ]


def test_default_world_shape(world: World) -> None:
    assert world.platforms == PLATFORMS
    accounts = [a for p in PLATFORMS for a in world.accounts(p)]
    assert len(accounts) == 2 * len(PLATFORMS)  # two accounts per simulated platform
    assert {a.currency for a in accounts} == {"USD", "EUR", "GBP"}
    assert {a.timezone for a in accounts} == {
        "America/New_York",
        "Europe/Berlin",
        "Europe/London",
        "America/Los_Angeles",
    }
    meta = world.accounts("meta")
    assert all(a.id.isdigit() for a in meta)
    assert len(world.campaigns("meta", meta[0].id)) == 4
    assert len(world.ad_groups("meta", meta[0].id)) == 8
    assert len(world.ads("meta", meta[0].id)) == 16
    for ad in world.ads("meta"):
        assert ad.id.isdigit() and ad.campaign_id.isdigit() and ad.ad_group_id.isdigit()
        assert world.ad("meta", ad.id) is ad
        assert world.ad_group("meta", ad.ad_group_id).campaign_id == ad.campaign_id
    statuses = {c.status for c in world.campaigns("meta")}
    assert statuses == {"ACTIVE", "PAUSED"}
    assert any(c.lifetime_budget for c in world.campaigns("meta"))


# --- ground truth ------------------------------------------------------------------------------------


def test_response_curve_is_increasing_and_saturating(world: World) -> None:
    for campaign in world.campaigns("meta"):
        spends = np.linspace(1, 5 * campaign.daily_budget, 50)
        revenue = np.array([campaign.revenue(s) for s in spends])
        assert np.all(np.diff(revenue) > 0)
        roas = revenue / spends
        assert np.all(np.diff(roas) < 0)  # diminishing returns
        assert campaign.marginal_roas(2 * campaign.daily_budget) < campaign.marginal_roas(
            campaign.daily_budget
        )
        assert revenue[-1] < campaign.vmax


def test_doubling_the_budget_buys_more_value_at_a_lower_roas(world: World) -> None:
    baseline = World(default_scenario(today=TODAY))
    baseline.now = NOW
    campaign = world.campaigns("meta")[2]  # healthy
    world.set_campaign_daily_budget("meta", campaign.id, campaign.daily_budget * 2)
    future = [TODAY + timedelta(days=d) for d in range(1, 29)]
    more = sum((campaign_day(world, "meta", campaign.id, d, truth=True) for d in future), Metrics.zero())
    base = sum((campaign_day(baseline, "meta", campaign.id, d, truth=True) for d in future), Metrics.zero())
    assert more.spend > 1.8 * base.spend
    assert more.conversion_value > base.conversion_value * 1.1
    assert more.roas < base.roas
    # The past is not rewritten by a budget change.
    assert campaign_day(world, "meta", campaign.id, days_ago(3), truth=True) == campaign_day(
        baseline, "meta", campaign.id, days_ago(3), truth=True
    )


def test_weekly_seasonality_and_noise(world: World) -> None:
    campaign = max(world.campaigns("google_ads"), key=lambda c: abs(c.weekly_seasonality[5] - 1))
    weekend_factor = campaign.weekly_seasonality[5]
    days = [TODAY - timedelta(days=d) for d in range(1, 120)]
    days = [d for d in days if d >= campaign.start_date]
    values = {d: campaign_day(world, "google_ads", campaign.id, d, truth=True) for d in days}
    saturday = np.mean([values[d].conversion_value for d in days if d.weekday() == 5])
    midweek = np.mean([values[d].conversion_value for d in days if d.weekday() in (1, 2, 3)])
    assert (saturday > midweek) == (weekend_factor > 1)
    spends = np.array([values[d].spend for d in days if d.weekday() in (1, 2, 3)])
    variation = spends.std() / spends.mean()
    assert 0.02 < variation < 0.3  # noisy, not wild
    assert all(values[d].spend <= 1.25 * campaign.daily_budget + 0.05 for d in days)


# --- incidents ---------------------------------------------------------------------------------------


def test_tracking_break_has_spend_but_no_conversions(world: World) -> None:
    broken = incident(world, "tracking_break")
    assert (broken.start, broken.end) == (days_ago(3), TODAY)
    for n in (1, 2, 3):
        m = campaign_day(world, "meta", broken.campaign_id, days_ago(n))
        assert m.spend > 0 and m.clicks > 0
        assert m.conversions == 0 and m.conversion_value == 0
    before = sum(
        (campaign_day(world, "meta", broken.campaign_id, days_ago(n)) for n in range(4, 11)), Metrics.zero()
    )
    assert before.conversions > 5


def test_cvr_drop_cpc_spike_and_overspend(world: World) -> None:
    def window(campaign_id: str, days: range) -> Metrics:
        return sum(
            (campaign_day(world, "meta", campaign_id, days_ago(n), truth=True) for n in days), Metrics.zero()
        )

    drop = incident(world, "cvr_drop")
    during, before = window(drop.campaign_id, range(1, 5)), window(drop.campaign_id, range(8, 22))
    assert during.roas < 0.6 * before.roas

    spike = incident(world, "cpc_spike")
    during, before = window(spike.campaign_id, range(1, 3)), window(spike.campaign_id, range(8, 22))
    assert during.spend / during.clicks > 2 * (before.spend / before.clicks)

    over = incident(world, "overspend")
    campaign = world.campaign("meta", over.campaign_id)
    for n in (1, 2):
        assert campaign_day(world, "meta", over.campaign_id, days_ago(n)).spend > 1.4 * campaign.daily_budget
    assert (
        campaign_day(world, "meta", over.campaign_id, days_ago(5)).spend < 1.25 * campaign.daily_budget + 0.05
    )


def test_missing_day_returns_nothing_but_the_truth_has_it(world: World) -> None:
    missing = incident(world, "missing_day")
    assert missing.start == missing.end == days_ago(10)
    assert world.account_day("meta", missing.account_id, days_ago(10)) is None
    assert world.account_hours("meta", missing.account_id, days_ago(10)) is None
    ads = world.ads("meta", missing.account_id)
    assert all(world.ad_day(ad, days_ago(10)) is None for ad in ads)
    assert sum(world.truth_ad_day(ad, days_ago(10)).spend for ad in ads) > 0
    assert world.account_day("meta", missing.account_id, days_ago(9)) is not None
    other = next(a for a in world.accounts("meta") if a.id != missing.account_id)
    assert world.account_day("meta", other.id, days_ago(10)) is not None


def test_other_platforms_are_healthy(world: World) -> None:
    assert {i.platform for i in world.incidents} == {"meta"}


def test_injected_incident_applies_after_construction(world: World) -> None:
    campaign = world.campaigns("snapchat")[0]
    day = days_ago(2)
    before = campaign_day(world, "snapchat", campaign.id, day, truth=True)
    world.add_incident(Incident("overspend", "snapchat", campaign.account_id, campaign.id, day, day, 2.0))
    after = campaign_day(world, "snapchat", campaign.id, day, truth=True)
    assert after.spend == pytest.approx(2 * before.spend, abs=0.05)


# --- clock, restatement, hours -----------------------------------------------------------------------


def test_today_is_not_served_and_dates_are_account_local(world: World) -> None:
    new_york, berlin = world.accounts("meta")
    assert new_york.timezone == "America/New_York" and berlin.timezone == "Europe/Berlin"
    world.now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # still Nov 19 in New York
    assert world.today_local(new_york) == date(2026, 11, 19)
    assert world.today_local(berlin) == date(2026, 11, 20)
    assert world.account_day("meta", new_york.id, date(2026, 11, 19)) is None
    assert world.account_day("meta", berlin.id, date(2026, 11, 19)) is not None


def test_restatement_converges_to_truth_after_the_window(world: World) -> None:
    account = world.accounts("meta")[1]
    day = days_ago(1)
    truth = world.truth_account_day("meta", account.id, day)
    previous = None
    for age in range(1, 31):
        as_of = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(days=age)
        seen = world.account_day("meta", account.id, day, as_of=as_of)
        assert seen is not None
        assert np.array_equal(seen.spend, truth.spend)  # only conversions restate
        assert np.all(seen.conversions <= truth.conversions)
        if previous is not None:
            assert np.all(seen.conversions >= previous.conversions)
            assert np.all(seen.conversion_value >= previous.conversion_value)
        if age >= 28:
            assert np.array_equal(seen.conversions, truth.conversions)
            assert np.array_equal(seen.conversion_value, truth.conversion_value)
        previous = seen
    young = world.account_day("meta", account.id, day, as_of=datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert young.conversions.sum() < truth.conversions.sum()
    # On average a day-old day shows maturity(1) ~ 85 % of its final conversions.
    seen = final = 0
    for platform in ("google_ads", "tiktok"):
        for other in world.accounts(platform):
            seen += world.account_day(platform, other.id, day).conversions.sum()
            final += world.truth_account_day(platform, other.id, day).conversions.sum()
    assert 0.75 < seen / final < 0.95
    assert maturity(1, 28) == pytest.approx(1 - 0.25 * np.exp(-0.5))


def test_advancing_the_clock_restates_over_time(world: World) -> None:
    ad = max(world.ads("meta"), key=lambda a: world.truth_ad_day(a, days_ago(1)).conversions)
    early = world.ad_day(ad, days_ago(1))
    world.advance(days=30)
    late = world.ad_day(ad, days_ago(1))
    assert late == world.truth_ad_day(ad, days_ago(1))
    assert early.conversions < late.conversions and early.spend == late.spend


def test_hours_sum_to_the_day_including_dst(world: World) -> None:
    new_york = world.accounts("meta")[0]
    for day in (date(2026, 11, 1), days_ago(2)):  # Nov 1 2026: clocks fall back in New York
        daily = world.account_day("meta", new_york.id, day)
        hourly = world.account_hours("meta", new_york.id, day)
        assert hourly.hours_available.all()
        assert np.array_equal(hourly.positions, daily.positions)
        assert np.allclose(hourly.spend.sum(axis=1), daily.spend)
        assert np.array_equal(hourly.impressions.sum(axis=1), daily.impressions)
        assert np.array_equal(hourly.conversions.sum(axis=1), daily.conversions)
        assert np.allclose(hourly.conversion_value.sum(axis=1), daily.conversion_value)
    # the repeated 1 am hour carries about twice the usual 1 am delivery
    fall_back = world.account_hours("meta", new_york.id, date(2026, 11, 1)).impressions[:, 1].sum()
    usual = world.account_hours("meta", new_york.id, date(2026, 10, 31)).impressions[:, 1].sum()
    assert fall_back > 1.5 * usual


def test_today_hours_stop_at_the_current_local_hour(world: World) -> None:
    new_york = world.accounts("meta")[0]  # 10:30 local
    hourly = world.account_hours("meta", new_york.id, TODAY)
    assert hourly.hours_available.sum() == 11
    assert hourly.spend[:, 11:].sum() == 0 and hourly.spend[:, 10].sum() > 0
    ad = world.ads("meta", new_york.id)[4]
    assert world.ad_hour(ad, TODAY, 12) is None
    assert world.ad_hour(ad, TODAY, 9) is not None
    assert world.ad_day(ad, TODAY) is None
    assert world.account_hours("meta", new_york.id, TODAY + timedelta(days=1)) is None


# --- write-back --------------------------------------------------------------------------------------


def test_pausing_stops_delivery_from_today_on(world: World) -> None:
    campaign = world.campaigns("meta")[2]
    ad = world.ads("meta", campaign_id=campaign.id)[0]
    before = world.ad_day(ad, days_ago(1))
    world.set_campaign_status("meta", campaign.id, "PAUSED")
    assert world.campaign_status(campaign) == "PAUSED"
    assert world.campaign_status(campaign, days_ago(1)) == "ACTIVE"
    assert world.ad_day(ad, days_ago(1)) == before
    world.advance(days=2)
    assert world.ad_day(ad, TODAY) is None and world.ad_day(ad, TODAY + timedelta(days=1)) is None
    with pytest.raises(ValueError):
        world.set_campaign_status("meta", campaign.id, "ENABLED")


def test_generated_pause_and_new_campaign(world: World) -> None:
    paused = next(c for c in world.campaigns("meta") if c.status == "PAUSED")
    ad = world.ads("meta", campaign_id=paused.id)[0]
    assert world.truth_ad_day(ad, paused.paused_on) == Metrics.zero()
    assert world.truth_ad_day(ad, paused.paused_on - timedelta(days=1)).spend > 0
    new = max(world.campaigns("meta"), key=lambda c: c.start_date)
    ad = world.ads("meta", campaign_id=new.id)[0]
    assert world.ad_day(ad, new.start_date - timedelta(days=1)) is None


def test_benchmark_scale_is_fast() -> None:
    import time

    scenario = Scenario(today=TODAY, campaigns_per_account=100, adgroups_per_campaign=2, ads_per_adgroup=5)
    started = time.perf_counter()
    big = World(scenario)
    big.now = NOW
    account = big.accounts("meta")[0]
    rows = sum(len(big.account_day("meta", account.id, days_ago(n)) or ()) for n in range(1, 61))
    assert rows > 50_000
    assert time.perf_counter() - started < 5


def test_metrics_frame_matches_scalar_reads(world: World) -> None:
    account = world.accounts("meta")[0]
    frame = world.metrics_frame("meta", days_ago(5), days_ago(1), account_ids=[account.id])
    truth = world.metrics_frame("meta", days_ago(5), days_ago(1), account_ids=[account.id], truth=True)
    assert len(frame) == len(truth) > 0
    assert frame["spend"].sum() == pytest.approx(truth["spend"].sum())
    assert frame["conversions"].sum() < truth["conversions"].sum()  # recent days still restating
    row = frame.iloc[7]
    seen = world.ad_day(world.ad("meta", row["ad_id"]), row["date"])
    assert (seen.spend, seen.conversions) == (row["spend"], row["conversions"])


def test_real_clock_by_default() -> None:
    world = World(default_scenario())
    assert world.now is None
    account = world.accounts("meta")[0]
    yesterday = world.today_local(account) - timedelta(days=1)
    assert world.account_day("meta", account.id, yesterday) is not None
