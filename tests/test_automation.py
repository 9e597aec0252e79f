"""Schedules: which runs they ask for, over which days, with which assets."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from pipeline.config import last_complete_day
from pipeline.connectors import CONNECTORS
from pipeline.dbt_manifest import prepare_manifest
from pipeline.defs import automation
from pipeline.defs.automation import (
    RESTATEMENT_DAY_TAG,
    daily_restatement,
    decisions_after_restatement,
    intraday_refresh,
    lookback_days,
)
from pipeline.defs.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG


@pytest.fixture(scope="module")
def repository() -> dg.RepositoryDefinition:
    prepare_manifest()
    from pipeline.definitions import build_definitions

    return build_definitions().get_repository_def()


def test_daily_restatement_runs_each_platform_over_its_own_lookback(
    repository: dg.RepositoryDefinition,
) -> None:
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 21, 12, tzinfo=UTC), repository_def=repository
    )
    requests = list(daily_restatement(context))
    assert {r.tags["platform"] for r in requests} == set(CONNECTORS)
    for request in requests:
        platform = request.tags["platform"]
        assert request.tags[PARTITION_RANGE_END_TAG] == "2026-11-20"
        start = datetime.fromisoformat(request.tags[PARTITION_RANGE_START_TAG]).date()
        assert (datetime(2026, 11, 20).date() - start).days == lookback_days(platform)
        keys = {k.to_user_string() for k in request.asset_selection}
        assert f"raw/{platform}_ads_insights_daily" in keys
        assert "marts/fct_ad_performance_daily" in keys
        assert not any(k.startswith("app/") for k in keys), "decisions run once a day, not per platform"
        assert request.tags[RESTATEMENT_DAY_TAG] == "2026-11-20"
        others = [k for k in keys if k.startswith("raw/") and not k.startswith(f"raw/{platform}_")]
        assert not others, f"{platform}'s run re-syncs other platforms: {others}"
        assert not any("hourly" in k for k in keys)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 21, 12, tzinfo=UTC), "2026-11-20"),  # 04:00 in Los Angeles: the 20th is over
        (datetime(2026, 11, 21, 3, tzinfo=UTC), "2026-11-19"),  # 19:00 on the 20th in Los Angeles
    ],
)
def test_last_complete_day_waits_for_the_westernmost_timezone(now: datetime, expected: str) -> None:
    assert last_complete_day(now).isoformat() == expected


def test_meta_lookback_covers_its_attribution_window(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lookback_days("meta") == 28
    monkeypatch.setenv("ADSIGNAL_LOOKBACK_DAYS_META", "14")
    assert lookback_days("meta") == 14


@pytest.mark.parametrize(("hour", "minute", "days"), [(10, 15, 2), (3, 0, 3)])
def test_intraday_refresh_covers_recent_days(hour: int, minute: int, days: int) -> None:
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 21, hour, minute, tzinfo=UTC)
    )
    request = intraday_refresh(context)
    assert request.tags[PARTITION_RANGE_END_TAG] == "2026-11-21"
    start = datetime.fromisoformat(request.tags[PARTITION_RANGE_START_TAG]).date()
    assert (datetime(2026, 11, 21).date() - start).days == days - 1


def test_decisions_run_once_after_every_platform_finished(
    repository: dg.RepositoryDefinition, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.test_utils import create_run_for_test

    # A pinned clock just after midnight UTC: the day the sensor waits for is two days back there.
    now = datetime(2026, 11, 21, 0, 5, tzinfo=UTC)
    monkeypatch.setattr(automation, "utc_now", lambda: now)
    day = last_complete_day(now).isoformat()
    assert day == "2026-11-19"
    with dg.DagsterInstance.ephemeral() as instance:

        def evaluate() -> list:
            context = dg.build_sensor_context(instance=instance, repository_def=repository)
            return list(decisions_after_restatement(context))

        platforms = sorted(CONNECTORS)
        for platform in platforms[:-1]:
            create_run_for_test(
                instance,
                job_name="daily_pipeline",
                status=dg.DagsterRunStatus.SUCCESS,
                tags={RESTATEMENT_DAY_TAG: day, "platform": platform},
            )
        last = create_run_for_test(
            instance,
            job_name="daily_pipeline",
            status=dg.DagsterRunStatus.STARTED,
            tags={RESTATEMENT_DAY_TAG: day, "platform": platforms[-1]},
        )
        (skip,) = evaluate()
        assert isinstance(skip, dg.SkipReason) and platforms[-1] in (skip.skip_message or "")

        instance.report_run_failed(last)  # a failed platform still gets its decisions (as data alerts)
        (request,) = evaluate()
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == f"decisions-{day}"
        assert request.tags[PARTITION_RANGE_START_TAG] == request.tags[PARTITION_RANGE_END_TAG] == day
        keys = {k.to_user_string() for k in request.asset_selection}
        assert {"app/alerts", "app/rule_runs", "app/budget_allocations", "app/ai_recommendations"} <= keys
        assert not any(k.startswith(("raw/", "marts/")) for k in keys)
