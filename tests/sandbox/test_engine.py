"""The shared sandbox engine: roll-ups agree with the simulator, answers are cached by clock and
version, pages and parameters behave the same for every router built on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from pipeline.sandbox.engine import (
    AccountView,
    AccountViews,
    ResultCache,
    answer_stamp,
    day_block,
    days,
    numbered_page,
    offset_window,
    params,
    rollup,
)
from pipeline.sandbox.engine.params import ParamError
from pipeline.sandbox.engine.rollups import (
    ACCOUNT,
    AD,
    AD_GROUP,
    CAMPAIGN,
    CLICKS,
    IMPRESSIONS,
    N_BASE,
    SPEND,
)
from pipeline.sandbox.simulator import World, default_scenario

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
PLATFORM = "meta"  # any simulated platform: the engine does not care which


@pytest.fixture
def world() -> World:
    w = World(default_scenario(today=TODAY))
    w.now = NOW
    return w


@pytest.fixture
def view(world: World) -> AccountView:
    return AccountViews(world, PLATFORM).get(world.accounts(PLATFORM)[0].id)


def test_a_day_block_holds_the_simulators_delivery_in_cents(world: World, view: AccountView) -> None:
    day = TODAY - timedelta(days=3)
    block = day_block(world, PLATFORM, view.account, day)
    delivery = world.account_day(PLATFORM, view.id, day)
    assert block is not None and delivery is not None
    assert block.values.shape == (N_BASE, len(delivery), 1)
    assert np.array_equal(block.values[SPEND, :, 0], np.round(delivery.spend * 100))
    assert np.array_equal(block.values[IMPRESSIONS, :, 0], delivery.impressions)


def test_today_from_hours_is_the_sum_of_the_served_hours(world: World, view: AccountView) -> None:
    assert day_block(world, PLATFORM, view.account, TODAY) is None  # no daily figure for today
    hours = day_block(world, PLATFORM, view.account, TODAY, hourly=True)
    today = day_block(world, PLATFORM, view.account, TODAY, today_from_hours=True)
    assert hours is not None and today is not None
    assert not hours.hours.all()  # today is partial
    assert np.array_equal(today.values[:, :, 0], hours.values[:, :, hours.hours].sum(axis=2))


@pytest.mark.parametrize("level", [ACCOUNT, CAMPAIGN, AD_GROUP, AD])
def test_every_level_sums_to_the_same_totals(world: World, view: AccountView, level: int) -> None:
    window = list(days(TODAY - timedelta(days=7), TODAY - timedelta(days=1)))
    blocks = [day_block(world, PLATFORM, view.account, d) for d in window]
    result = rollup(view, level, [blocks])
    expected = sum(
        int(np.round(d.spend * 100).sum())
        for d in (world.account_day(PLATFORM, view.id, day) for day in window)
        if d is not None
    )
    assert int(result.metrics[:, SPEND].sum()) == expected
    assert len(set(result.group.tolist())) == len(result)  # one row per object in one bucket
    assert ((result.metrics[:, IMPRESSIONS] > 0) | (result.metrics[:, SPEND] > 0)).all()


def test_hourly_rollups_serve_only_served_hours_in_either_order(world: World, view: AccountView) -> None:
    block = day_block(world, PLATFORM, view.account, TODAY, hourly=True)
    by_object = rollup(view, CAMPAIGN, [[block]], hourly=True)
    by_hour = rollup(view, CAMPAIGN, [[block]], hourly=True, hour_major=True)
    current_hour = NOW.astimezone(view.account.tz).hour
    assert by_object.hour.max() <= current_hour
    assert sorted(zip(by_object.group.tolist(), by_object.hour.tolist(), strict=True)) == sorted(
        zip(by_hour.group.tolist(), by_hour.hour.tolist(), strict=True)
    )
    assert list(by_hour.hour) == sorted(by_hour.hour)


def test_derive_adds_per_ad_metrics_before_summing(world: World, view: AccountView) -> None:
    blocks = [day_block(world, PLATFORM, view.account, TODAY - timedelta(days=2))]

    def halved_clicks(_view: AccountView, _positions: np.ndarray, base: np.ndarray) -> list[np.ndarray]:
        return [base[CLICKS] // 2]

    result = rollup(view, ACCOUNT, [blocks], derive=halved_clicks, n_metrics=N_BASE + 1)
    block = blocks[0]
    assert block is not None
    assert int(result.metrics[0, N_BASE]) == int((block.values[CLICKS] // 2).sum())


def test_answers_are_cached_until_the_world_changes(world: World) -> None:
    cache: ResultCache[int] = ResultCache(size=2)
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    first = cache.get(("q", *answer_stamp(world)), compute)
    assert cache.get(("q", *answer_stamp(world)), compute) == first
    campaign = world.campaigns(PLATFORM)[0]
    world.set_campaign_status(PLATFORM, campaign.id, "PAUSED")  # a write: a new answer
    assert cache.get(("q", *answer_stamp(world)), compute) == first + 1


def test_page_windows() -> None:
    window = offset_window(8, 5, 10)
    assert (window.start, window.stop, window.more) == (8, 10, False)
    assert offset_window(50, 5, 10).start == 10
    assert offset_window(0, None, 10).stop == 10
    page, pages = numbered_page(2, 4, 10)
    assert (page.start, page.stop, pages) == (4, 8, 3)


def test_param_errors_name_the_param_and_the_problem() -> None:
    assert params.loose_list({"fields": "a, b"}, "fields") == ["a", "b"]
    assert params.loose_list({"fields": '["a","b"]'}, "fields") == ["a", "b"]
    assert params.json_list({"ids": '["1", 2]'}, "ids") == ["1", "2"]
    with pytest.raises(ParamError) as missing:
        params.required({}, "advertiser_id")
    assert (missing.value.name, missing.value.problem) == ("advertiser_id", "missing")
    with pytest.raises(ParamError) as not_json:
        params.json_value({"filtering": "{"}, "filtering")
    assert not_json.value.problem == "not_json"

    class Wire(Exception):
        pass

    with pytest.raises(Wire):
        params.integer({"page": "x"}, "page", 1, lambda e: Wire(f"{e.name} {e.problem}"))
