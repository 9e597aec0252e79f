"""SnapchatConnector against the real sandbox server, over real HTTP.

Nothing here mocks Snap's protocol: the connector talks to ``pipeline.sandbox`` through httpx, faults
are injected into the server, and expectations come from the simulator's world (ground truth) or
from a clean read. Sleeping goes through a recording fake, and the connector's clock is the world's,
so "today", complete days and the current hour agree with the pinned sandbox.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from pipeline.connectors.base import Credentials, TokenGrant
from pipeline.connectors.http import ApiError, CredentialsError, RetryPolicy
from pipeline.connectors.snapchat import (
    SNAPCHAT_STREAMS,
    SnapchatConnector,
    SubRequestError,
    day_windows,
    hour_windows,
)
from pipeline.sandbox import SANDBOX_TOKENS, SandboxServer, World
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
from pipeline.sandbox.snapchat_api import TOKEN_PATH, SnapchatApiSettings
from pipeline.warehouse.loader import replace_window
from tests.connectors import support
from tests.connectors.support import RecordingTransport

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 12:00 in London, 04:00 in Los Angeles
TOKEN = SANDBOX_TOKENS["snapchat"]
REFRESH_TOKEN = sandbox_refresh_token("snapchat")
LA = ZoneInfo("America/Los_Angeles")
FALL_BACK = date(2026, 11, 1)  # US DST ends: a 25-hour day in Los Angeles
RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0)
SETTINGS = {"snapchat": SnapchatApiSettings(min_limit=1)}  # small pages on a small world


def _world() -> World:
    return support.pinned_world(TODAY, NOW)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(world=_world(), settings=SETTINGS) as server:
        yield server


@pytest.fixture(scope="module")
def la(sandbox: SandboxServer) -> str:
    return next(a.id for a in sandbox.world.accounts("snapchat") if a.timezone == "America/Los_Angeles")


@pytest.fixture(scope="module")
def london(sandbox: SandboxServer) -> str:
    return next(a.id for a in sandbox.world.accounts("snapchat") if a.timezone == "Europe/London")


@dataclass
class Harness:
    connector: SnapchatConnector
    transport: RecordingTransport
    sleeps: list[float] = field(default_factory=list)
    grants: list[TokenGrant] = field(default_factory=list)

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        return self.connector.stats

    def stats_requests(self, prefix: str = "/adaccounts/") -> list[httpx.Request]:
        return [r for r in self.transport.matching("GET", "/stats") if prefix in r.url.path]


MakeHarness = Callable[..., Harness]


def _oauth(access_token: str = "") -> Credentials:
    return Credentials(
        access_token=access_token,
        refresh_token=REFRESH_TOKEN,
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
    )


@pytest.fixture
def make(sandbox: SandboxServer) -> Iterator[MakeHarness]:
    created: list[SnapchatConnector] = []

    def factory(
        server: SandboxServer | None = None, credentials: Credentials | None = None, **overrides: Any
    ) -> Harness:
        server = server or sandbox
        transport = RecordingTransport()
        harness = Harness(None, transport)  # type: ignore[arg-type]
        credentials = credentials or Credentials(access_token=TOKEN)
        if credentials.refresh_token:
            credentials = replace(credentials, token_url=f"{server.base_url('snapchat')}{TOKEN_PATH}")
        options: dict[str, Any] = {
            "page_limit": 5,
            "retry": RETRY,
            "sleep": harness.sleeps.append,
            "transport": transport,
            "timeout": 5.0,
            "clock": server.world.clock,
            "on_token_refresh": harness.grants.append,
            "requests_per_second": None,  # pacing is real time; its own test turns it on
            **overrides,
        }
        harness.connector = SnapchatConnector(server.base_url("snapchat"), credentials, **options)
        created.append(harness.connector)
        return harness

    yield factory
    for connector in created:
        connector.close()


def _raw(server: SandboxServer, path: str, params: dict[str, Any] | None = None) -> Any:
    """A plain request to the fake, outside the connector: the reference for "verbatim"."""
    response = httpx.get(
        f"{server.base_url('snapchat')}/v1/{path}",
        params=params,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def _records(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    assert all(pages), "no empty pages are yielded"
    return [record for page in pages for record in page]


def _read(harness: Harness, stream: str, account: str, since: date, until: date) -> list[dict[str, Any]]:
    return _records(list(harness.connector.read(stream, account, since, until)))


def _keys(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["ad_id"], r["start_time"]) for r in records]


def _by_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r["ad_id"], r["start_time"]))


def _delivering(records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (r["ad_id"], r["start_time"][:10])
        for r in records
        if r["stats"]["impressions"] or r["stats"]["spend"]
    }


def _truth(world: World, account: str, since: date, until: date) -> dict[tuple[str, str], Any]:
    """(ad_id, day) -> what the simulator says the platform reports now, for delivering ad-days."""
    truth = {}
    for ad in world.ads("snapchat", account):
        day = since
        while day <= until:
            metrics = world.ad_day(ad, day)
            if metrics is not None and (metrics.impressions or metrics.spend):
                truth[(ad.id, day.isoformat())] = metrics
            day += timedelta(days=1)
    return truth


def _assert_matches_truth(
    records: list[dict[str, Any]], world: World, account: str, since: date, until: date
) -> None:
    truth = _truth(world, account, since, until)
    assert _delivering(records) == set(truth)
    for record in records:
        metrics = truth.get((record["ad_id"], record["start_time"][:10]))
        stats = record["stats"]
        if metrics is None:
            assert set(stats.values()) == {0}
            continue
        assert stats["spend"] == round(metrics.spend * 1_000_000)
        assert stats["conversion_purchases_value"] == round(metrics.conversion_value * 1_000_000)
        assert (stats["impressions"], stats["swipes"], stats["conversion_purchases"]) == (
            metrics.impressions,
            metrics.clicks,
            metrics.conversions,
        )


# --------------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------------


def test_streams_match_the_raw_table_contract() -> None:
    assert SnapchatConnector.platform == "snapchat"
    tables = {
        name: (s.table, s.key_names, [k.path for k in s.keys], [k.pg_type for k in s.keys], s.window_column)
        for name, s in SNAPCHAT_STREAMS.items()
    }
    assert tables == {
        "ad_accounts": ("snapchat_ad_accounts", ("account_id",), ["id"], ["text"], None),
        "campaigns": (
            "snapchat_campaigns",
            ("account_id", "campaign_id"),
            ["ad_account_id", "id"],
            ["text", "text"],
            None,
        ),
        "ad_squads": (
            "snapchat_ad_squads",
            ("account_id", "ad_squad_id"),
            ["_account_id", "id"],
            ["text", "text"],
            None,
        ),
        "ads": ("snapchat_ads", ("account_id", "ad_id"), ["_account_id", "id"], ["text", "text"], None),
        "ads_insights_daily": (
            "snapchat_ads_insights_daily",
            ("account_id", "ad_id", "start_date"),
            ["ad_account_id", "ad_id", "start_time"],
            ["text", "text", "date"],
            "start_date",
        ),
        "ads_insights_hourly": (
            "snapchat_ads_insights_hourly",
            ("account_id", "ad_id", "start_date", "start_time"),
            ["ad_account_id", "ad_id", "start_time", "start_time"],
            ["text", "text", "date", "text"],
            "start_date",
        ),
    }
    assert SNAPCHAT_STREAMS["ads_insights_hourly"].is_hourly
    assert not SNAPCHAT_STREAMS["ads_insights_daily"].is_hourly


def test_registered_in_the_connector_registry() -> None:
    from pipeline.connectors import CONNECTORS

    assert CONNECTORS["snapchat"] is SnapchatConnector


def test_lists_active_accounts_of_every_organization(make: MakeHarness, sandbox: SandboxServer) -> None:
    harness = make(page_limit=1)
    assert harness.connector.list_account_ids() == [a.id for a in sandbox.world.accounts("snapchat")]
    assert len(harness.transport.matching("GET", "/adaccounts")) == 3  # 3 pages: the disabled one skipped
    configured = make(account_ids=["  abc  "])
    assert configured.connector.list_account_ids() == ["abc"]
    assert configured.transport.requests == []


def test_rejects_unknown_streams_and_bad_windows(make: MakeHarness, la: str) -> None:
    connector = make().connector
    with pytest.raises(ValueError, match="unknown Snapchat stream"):
        list(connector.read("keywords", la))
    with pytest.raises(ValueError, match="after until"):
        list(connector.read("ads_insights_daily", la, date(2026, 11, 10), date(2026, 11, 9)))
    with pytest.raises(ValueError, match="page_limit"):
        make(page_limit=1001)
    with pytest.raises(CredentialsError, match="connect the Snapchat account"):
        SnapchatConnector("http://127.0.0.1:9/snapchat", Credentials())


# --------------------------------------------------------------------------------------------------
# Entities: verbatim, every page
# --------------------------------------------------------------------------------------------------


def test_account_snapshot_is_the_object_verbatim(make: MakeHarness, sandbox: SandboxServer, la: str) -> None:
    pages = list(make().connector.read("ad_accounts", la))
    assert len(pages) == 1 and len(pages[0]) == 1
    assert pages[0][0] == _raw(sandbox, f"adaccounts/{la}")["adaccounts"][0]["adaccount"]
    assert SNAPCHAT_STREAMS["ad_accounts"].key_values(pages[0][0]) == (la,)


@pytest.mark.parametrize(
    ("stream", "edge", "singular", "world_objects"),
    [("campaigns", "campaigns", "campaign", "campaigns"), ("ad_squads", "adsquads", "adsquad", "ad_groups"),
     ("ads", "ads", "ad", "ads")],
)  # fmt: skip
def test_entities_arrive_verbatim_across_pages(
    make: MakeHarness,
    sandbox: SandboxServer,
    la: str,
    stream: str,
    edge: str,
    singular: str,
    world_objects: str,
) -> None:
    harness = make(page_limit=3)
    pages = list(harness.connector.read(stream, la))
    records = _records(pages)
    requests = harness.transport.matching("GET", f"/adaccounts/{la}/{edge}")
    assert len(pages) == len(requests) > 1
    assert requests[0].url.params["read_deleted_entities"] == "true"
    reference = [
        e[singular]
        for e in _raw(sandbox, f"adaccounts/{la}/{edge}", {"read_deleted_entities": "true"})[
            edge.replace("/", "")
        ]
    ]
    if stream == "campaigns":
        assert records == reference
    else:  # verbatim plus the account they were listed under
        assert [{k: v for k, v in r.items() if k != "_account_id"} for r in records] == reference
        assert {r["_account_id"] for r in records} == {la}
    assert {r["id"] for r in records} == {o.id for o in getattr(sandbox.world, world_objects)("snapchat", la)}
    assert len({SNAPCHAT_STREAMS[stream].key_values(r) for r in records}) == len(records)


# --------------------------------------------------------------------------------------------------
# Stats: windows, values, exactly once
# --------------------------------------------------------------------------------------------------


def test_daily_stats_every_ad_day_exactly_once_and_true(
    make: MakeHarness, sandbox: SandboxServer, la: str, london: str
) -> None:
    since, until = date(2026, 10, 1), date(2026, 11, 19)  # 50 days: two requests, across both DST ends
    windows: dict[str, set[tuple[str, str]]] = {}
    for account in (la, london):
        harness = make()
        records = _read(harness, "ads_insights_daily", account, since, until)
        keys = _keys(records)
        assert len(keys) == len(set(keys)), "an ad-day arrived twice"
        _assert_matches_truth(records, sandbox.world, account, since, until)
        requests = harness.stats_requests()
        assert len(requests) > 2  # limit 5: several pages per window
        assert {(r.url.params["breakdown"], r.url.params["granularity"]) for r in requests} == {("ad", "DAY")}
        windows[account] = {(r.url.params["start_time"], r.url.params["end_time"]) for r in requests}
    # Windows run from local midnight to local midnight with each date's own UTC offset, ≤ 31 days.
    assert sorted(windows[la]) == [
        ("2026-10-01T00:00:00.000-07:00", "2026-11-01T00:00:00.000-07:00"),
        ("2026-11-01T00:00:00.000-07:00", "2026-11-20T00:00:00.000-08:00"),
    ]
    assert sorted(windows[london]) == [
        ("2026-10-01T00:00:00.000+01:00", "2026-11-01T00:00:00.000+00:00"),
        ("2026-11-01T00:00:00.000+00:00", "2026-11-20T00:00:00.000+00:00"),
    ]
    record = records[0]
    assert set(record) == {
        "ad_account_id", "ad_id", "granularity", "start_time", "end_time", "stats",
        "finalized_data_end_time", "swipe_up_attribution_window", "view_attribution_window",
    }  # fmt: skip
    assert SNAPCHAT_STREAMS["ads_insights_daily"].key_values(record) == (
        record["ad_account_id"],
        record["ad_id"],
        record["start_time"],
    )


def test_daily_records_keep_the_api_objects_verbatim(
    make: MakeHarness, sandbox: SandboxServer, la: str
) -> None:
    harness = make()
    records = _read(harness, "ads_insights_daily", la, FALL_BACK, FALL_BACK)
    request = harness.stats_requests()[0]
    body = _raw(sandbox, f"adaccounts/{la}/stats", {**dict(request.url.params), "limit": 1000})
    stat = body["timeseries_stats"][0]["timeseries_stat"]
    expected = [(ad["id"], point) for ad in stat["breakdown_stats"]["ad"] for point in ad["timeseries"]]
    assert [(r["ad_id"], {k: r[k] for k in ("start_time", "end_time", "stats")}) for r in records] == expected
    assert {r["finalized_data_end_time"] for r in records} == {stat["finalized_data_end_time"]}
    assert records[0]["end_time"] == "2026-11-02T00:00:00.000-08:00"  # the 25-hour day


def test_daily_covers_complete_local_days_only(make: MakeHarness, la: str, london: str) -> None:
    harness = make()
    records = _read(harness, "ads_insights_daily", la, TODAY - timedelta(days=1), TODAY)
    assert {r["start_time"][:10] for r in records} == {"2026-11-19"}  # today is not over in LA
    default = _records(list(make().connector.read("ads_insights_daily", london)))
    assert sorted({r["start_time"][:10] for r in default}) == ["2026-11-17", "2026-11-18", "2026-11-19"]
    nothing = make()
    assert list(nothing.connector.read("ads_insights_daily", la, TODAY, TODAY)) == []
    assert nothing.stats_requests() == []


def test_hourly_stats_on_a_dst_day_are_real_hours(make: MakeHarness, sandbox: SandboxServer, la: str) -> None:
    harness = make(page_limit=1000)
    hours = _read(harness, "ads_insights_hourly", la, FALL_BACK, FALL_BACK)
    days = _read(make(page_limit=1000), "ads_insights_daily", la, FALL_BACK, FALL_BACK)
    assert len(_keys(hours)) == len(set(_keys(hours)))
    per_ad: dict[str, list[dict[str, Any]]] = {}
    for record in hours:
        per_ad.setdefault(record["ad_id"], []).append(record)
    assert set(per_ad) == {r["ad_id"] for r in days}
    for day in days:
        ad_hours = per_ad[day["ad_id"]]
        assert len(ad_hours) == 25
        assert [h["start_time"] for h in ad_hours][1:3] == [
            "2026-11-01T01:00:00.000-07:00",
            "2026-11-01T01:00:00.000-08:00",
        ]
        for name, value in day["stats"].items():
            assert sum(h["stats"][name] for h in ad_hours) == value
    # Both occurrences of 01:00 stay apart in the raw table's key.
    keys = {SNAPCHAT_STREAMS["ads_insights_hourly"].key_values(r) for r in hours}
    assert len(keys) == len(hours)


def test_hourly_windows_stop_at_the_current_hour_and_respect_seven_days(
    make: MakeHarness, sandbox: SandboxServer, la: str
) -> None:
    harness = make(page_limit=1000)
    records = _read(harness, "ads_insights_hourly", la, date(2026, 10, 28), TODAY)
    windows = [(r.url.params["start_time"], r.url.params["end_time"]) for r in harness.stats_requests()]
    assert windows == [
        # 7 local days across the fall-back would be 169 hours: this window stops a day earlier
        ("2026-10-28T00:00:00.000-07:00", "2026-11-03T00:00:00.000-08:00"),
        ("2026-11-03T00:00:00.000-08:00", "2026-11-10T00:00:00.000-08:00"),
        ("2026-11-10T00:00:00.000-08:00", "2026-11-17T00:00:00.000-08:00"),
        ("2026-11-17T00:00:00.000-08:00", "2026-11-20T05:00:00.000-08:00"),  # through the current hour
    ]
    today = [r for r in records if r["start_time"].startswith("2026-11-20")]
    assert sorted({r["start_time"][11:13] for r in today}) == ["00", "01", "02", "03", "04"]
    default = make(page_limit=1000)
    recent = _records(list(default.connector.read("ads_insights_hourly", la)))
    assert sorted({r["start_time"][:10] for r in recent}) == ["2026-11-19", "2026-11-20"]


def test_window_helpers() -> None:
    windows = day_windows(date(2026, 1, 1), date(2026, 3, 4), LA)  # 63 days: 31 + 31 + 1
    assert [(s.date(), e.date()) for s, e in windows] == [
        (date(2026, 1, 1), date(2026, 2, 1)),
        (date(2026, 2, 1), date(2026, 3, 4)),
        (date(2026, 3, 4), date(2026, 3, 5)),
    ]
    spring = hour_windows(date(2026, 3, 5), date(2026, 3, 12), LA, datetime(2026, 4, 1, tzinfo=UTC))
    # DST starts Mar 8: 7 local days are 167 real hours, which is allowed
    assert [(s.date(), e.date()) for s, e in spring] == [
        (date(2026, 3, 5), date(2026, 3, 12)),
        (date(2026, 3, 12), date(2026, 3, 13)),
    ]
    assert all(e.astimezone(UTC) - s.astimezone(UTC) <= timedelta(days=7) for s, e in spring)


def test_restated_days_converge_on_re_read(make: MakeHarness, la: str) -> None:
    world = _world()
    with SandboxServer(world=world, settings=SETTINGS) as own:
        since, until = TODAY - timedelta(days=4), TODAY - timedelta(days=1)
        before = _read(make(server=own), "ads_insights_daily", la, since, until)
        world.advance(days=3)  # the restatement window (2 days) passes
        after = _read(make(server=own), "ads_insights_daily", la, since, until)
        _assert_matches_truth(after, world, la, since, until)
    old = {(r["ad_id"], r["start_time"]): r for r in before}
    new = {(r["ad_id"], r["start_time"]): r for r in after}
    assert set(old) == set(new)
    finalized = before[0]["finalized_data_end_time"]
    changed = 0
    for key, record in new.items():
        previous = old[key]
        assert record["stats"]["spend"] == previous["stats"]["spend"]
        assert record["stats"]["conversion_purchases"] >= previous["stats"]["conversion_purchases"]
        if previous["end_time"] <= finalized:
            assert record["stats"] == previous["stats"]  # final data never changes
        changed += record["stats"] != previous["stats"]
    assert changed > 0  # the young days did restate
    assert after[0]["finalized_data_end_time"] > finalized


# --------------------------------------------------------------------------------------------------
# Partial failures: sub-requests
# --------------------------------------------------------------------------------------------------


def test_failed_sub_request_is_retried_alone(make: MakeHarness, sandbox: SandboxServer, la: str) -> None:
    since, until = date(2026, 11, 10), date(2026, 11, 16)
    clean = _read(make(), "ads_insights_daily", la, since, until)
    harness = make()
    pages = harness.connector.read("ads_insights_daily", la, since, until)
    first = next(pages)  # page 1 is in; the next two answers for page 2 carry a failed sub-request
    sandbox.faults.add("snapchat", "sub_request_error", path="/stats", times=2)
    records = first + _records(list(pages))
    assert _by_key(records) == _by_key(clean)
    assert len(_keys(records)) == len(set(_keys(records)))
    stats = harness.stats["GET /adaccounts/{id}/stats"]
    assert stats["sub_request_errors"] == 2 and stats["retries"] == 2
    assert harness.sleeps == [1.0, 2.0]
    page_urls = [str(r.url) for r in harness.stats_requests()]
    assert page_urls[1] == page_urls[2] == page_urls[3]  # only the failed page was asked again


def test_persistently_failing_account_aggregation_falls_back_to_campaigns(
    make: MakeHarness, sandbox: SandboxServer, la: str
) -> None:
    since, until = date(2026, 11, 10), date(2026, 11, 16)
    clean = _read(make(), "ads_insights_daily", la, since, until)
    harness = make()
    pages = harness.connector.read("ads_insights_daily", la, since, until)
    first = next(pages)  # the account level serves page 1, then fails for good
    sandbox.faults.add("snapchat", "sub_request_error", path=f"/adaccounts/{la}/stats", times=-1)
    records = first + _records(list(pages))
    assert _by_key(records) == _by_key(clean)  # nothing lost, nothing twice
    assert len(_keys(records)) == len(set(_keys(records)))
    _assert_matches_truth(records, sandbox.world, la, since, until)
    by_campaign = harness.stats_requests("/campaigns/")
    assert {r.url.path.split("/")[-2] for r in by_campaign} == {
        c.id for c in sandbox.world.campaigns("snapchat", la)
    }
    assert harness.stats["GET /adaccounts/{id}/stats"]["sub_request_errors"] == RETRY.max_attempts


def test_a_campaign_that_keeps_failing_gives_up_clearly(
    make: MakeHarness, sandbox: SandboxServer, la: str
) -> None:
    sandbox.faults.add("snapchat", "sub_request_error", path="/stats", times=-1, reason="E1008: overloaded")
    harness = make()
    with pytest.raises(SubRequestError, match=r"E1008: overloaded .*gave up after 4 attempts") as caught:
        _read(harness, "ads_insights_daily", la, date(2026, 11, 10), date(2026, 11, 12))
    assert "/campaigns/{id}/stats" in str(caught.value)
    assert not isinstance(caught.value, CredentialsError)


# --------------------------------------------------------------------------------------------------
# Throttling, transient errors, broken bodies
# --------------------------------------------------------------------------------------------------


def test_bare_429_backs_off_exponentially(make: MakeHarness, sandbox: SandboxServer, la: str) -> None:
    sandbox.faults.add("snapchat", "throttle", path="/stats", times=2)
    harness = make()
    records = _read(harness, "ads_insights_daily", la, date(2026, 11, 15), date(2026, 11, 16))
    _assert_matches_truth(records, sandbox.world, la, date(2026, 11, 15), date(2026, 11, 16))
    stats = harness.stats["GET /adaccounts/{id}/stats"]
    assert stats["throttled"] == 2 and stats["retries"] == 2
    assert harness.sleeps == [1.0, 2.0]  # no Retry-After to honour: our own backoff


def test_rate_limit_enforced_by_the_fake_is_absorbed(make: MakeHarness, la: str) -> None:
    settings = {
        "snapchat": SnapchatApiSettings(min_limit=1, enforce_limits=True, requests_per_second_per_token=2)
    }
    with SandboxServer(world=_world(), settings=settings) as limited:
        # Real (short) sleeps here: the fake's window is one real second.
        harness = make(
            server=limited, page_limit=4, sleep=time.sleep, retry=RetryPolicy(base_delay=0.3, jitter=0.0)
        )
        records = _records(list(harness.connector.read("ads", la)))
    assert len(records) == 16
    assert sum(s["throttled"] for s in harness.stats.values()) > 0


def test_requests_are_paced_below_snaps_rate_limit(make: MakeHarness, la: str) -> None:
    harness = make(page_limit=2, requests_per_second=3)
    assert len(_records(list(harness.connector.read("ads", la)))) == 16  # 8 pages in well under a second
    stats = harness.stats["GET /adaccounts/{id}/ads"]
    assert stats["throttle_sleeps"] == len(harness.sleeps) >= 5
    assert all(0 < pause <= 1.0 for pause in harness.sleeps)
    assert stats["throttled"] == 0


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(make: MakeHarness, sandbox: SandboxServer, la: str, status: int) -> None:
    sandbox.faults.add("snapchat", "server_error", path="/adsquads", times=3, status=status)
    harness = make()
    assert len(_records(list(harness.connector.read("ad_squads", la)))) == 8
    assert harness.sleeps == [1.0, 2.0, 4.0]


def test_server_errors_beyond_the_retry_budget_fail(
    make: MakeHarness, sandbox: SandboxServer, la: str
) -> None:
    sandbox.faults.add("snapchat", "server_error", path="/adsquads", times=4)
    with pytest.raises(ApiError, match="gave up after 4 attempts"):
        list(make().connector.read("ad_squads", la))


def test_timeouts_are_retried(make: MakeHarness, sandbox: SandboxServer, la: str) -> None:
    sandbox.faults.add("snapchat", "timeout", path="/stats", times=1, seconds=1.0)
    harness = make(timeout=0.25)
    records = _read(harness, "ads_insights_daily", la, date(2026, 11, 15), date(2026, 11, 15))
    _assert_matches_truth(records, sandbox.world, la, date(2026, 11, 15), date(2026, 11, 15))
    assert harness.sleeps == [1.0]


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json"])
def test_broken_json_is_retried(make: MakeHarness, sandbox: SandboxServer, la: str, kind: str) -> None:
    since, until = date(2026, 11, 12), date(2026, 11, 14)
    clean = _read(make(), "ads_insights_daily", la, since, until)
    sandbox.faults.add("snapchat", kind, path="/stats", times=2)
    sandbox.faults.add("snapchat", kind, path="/campaigns", times=1)
    harness = make()
    assert _by_key(_read(harness, "ads_insights_daily", la, since, until)) == _by_key(clean)
    assert len(_records(list(harness.connector.read("campaigns", la)))) == 4
    assert harness.sleeps == [1.0, 2.0, 1.0]


# --------------------------------------------------------------------------------------------------
# OAuth and secrets
# --------------------------------------------------------------------------------------------------


def test_expired_token_is_refreshed_once_and_the_request_retried(
    make: MakeHarness, sandbox: SandboxServer, la: str
) -> None:
    harness = make(credentials=_oauth("an-access-token-that-snap-says-expired"))
    sandbox.faults.add("snapchat", "token_expired", path="/campaigns", times=1)
    assert len(_records(list(harness.connector.read("campaigns", la)))) == 4
    assert len(harness.grants) == 1 and harness.sleeps == []
    new_token = harness.grants[0].access_token
    campaigns = harness.transport.matching("GET", "/campaigns")
    assert campaigns[-1].headers["authorization"] == f"Bearer {new_token}"
    assert len(harness.transport.matching("POST", TOKEN_PATH)) == 1


def test_tokens_expire_on_the_world_clock_and_are_refreshed(make: MakeHarness, la: str) -> None:
    world = _world()
    with SandboxServer(world=world, settings=SETTINGS) as own:
        # Refresh token only: refresh before the first call. The connector's clock stays put while the
        # platform's moves on, so the expiry is found out from the platform's answer, not foreseen.
        harness = make(server=own, credentials=_oauth(), clock=lambda: NOW)
        assert len(_records(list(harness.connector.read("ads", la)))) == 16
        world.advance(hours=0.6)  # past Snap's 30 minutes
        records = _read(harness, "ads_insights_daily", la, date(2026, 11, 18), date(2026, 11, 18))
        _assert_matches_truth(records, world, la, date(2026, 11, 18), date(2026, 11, 18))
    assert len(harness.grants) == 2
    assert harness.grants[0].refresh_token == REFRESH_TOKEN
    assert harness.stats["GET /adaccounts/{id}"]["errors"] == 1  # one 401, then the refreshed retry


def test_revoked_grant_is_a_credentials_error_without_secrets(
    make: MakeHarness, sandbox: SandboxServer, la: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness = make(credentials=_oauth("expired-access-token-123"))
    sandbox.faults.add("snapchat", "token_expired", times=1)
    sandbox.faults.add("snapchat", "invalid_grant", times=1)
    with pytest.raises(CredentialsError) as caught:
        list(harness.connector.read("campaigns", la))
    error = caught.value
    assert "invalid_grant" in str(error) and "Reconnect the Snapchat account" in str(error)
    for secret in ("expired-access-token-123", REFRESH_TOKEN, SANDBOX_CLIENT_SECRET):
        for text in (str(error), repr(error), error.message, caplog.text, json.dumps(harness.stats)):
            assert secret not in text
    assert error.__cause__ is None and error.__context__ is None
    assert harness.sleeps == []


def test_rejected_token_without_refresh_fails_fast(
    make: MakeHarness, sandbox: SandboxServer, la: str
) -> None:
    wrong = "not-a-valid-snapchat-token"
    harness = make(credentials=Credentials(access_token=wrong))
    with pytest.raises(CredentialsError, match="Invalid access token") as caught:
        list(harness.connector.read("ads_insights_daily", la, date(2026, 11, 15), date(2026, 11, 15)))
    assert wrong not in str(caught.value) and harness.sleeps == [] and len(harness.transport.requests) == 1


def test_token_still_refused_after_refresh_is_a_credentials_error(
    make: MakeHarness, sandbox: SandboxServer, la: str
) -> None:
    harness = make(credentials=_oauth(TOKEN))
    sandbox.faults.add("snapchat", "bad_token", path="/ads", times=2)
    with pytest.raises(CredentialsError, match="Invalid access token"):
        list(harness.connector.read("ads", la))
    assert len(harness.grants) == 1  # one refresh, never a loop


def test_token_travels_only_in_the_header(make: MakeHarness, la: str) -> None:
    harness = make(page_limit=2)
    _records(list(harness.connector.read("ads", la)))
    _read(harness, "ads_insights_hourly", la, TODAY, TODAY)
    assert len(harness.transport.requests) > 5
    for request in harness.transport.requests:
        assert TOKEN not in str(request.url)
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "GET /adaccounts/{id}/ads" in harness.stats  # UUIDs masked in bookkeeping names


# --------------------------------------------------------------------------------------------------
# Write-back
# --------------------------------------------------------------------------------------------------


def test_update_campaign_puts_the_whole_object(make: MakeHarness, la: str) -> None:
    with SandboxServer(world=_world(), settings=SETTINGS) as own:
        harness = make(server=own)
        connector = harness.connector
        campaign = next(
            c
            for c in own.world.campaigns("snapchat", la)
            if own.world.campaign_status(c) == "ACTIVE" and c.lifetime_budget is None
        )
        updated = connector.update_campaign(campaign.id, status="PAUSED", daily_budget=123.45, account_id=la)
        assert (updated["status"], updated["daily_budget_micro"]) == ("PAUSED", 123_450_000)
        (put,) = harness.transport.matching("PUT", f"/adaccounts/{la}/campaigns")
        sent = json.loads(put.content)["campaigns"][0]
        assert sent["id"] == campaign.id and sent["name"] == campaign.name and sent["start_time"]
        assert "updated_at" not in sent and "delivery_status" not in sent
        assert own.world.campaign_status(campaign) == "PAUSED"
        assert own.world.campaign_daily_budget(campaign) == 123.45
        listed = next(c for c in _records(list(connector.read("campaigns", la))) if c["id"] == campaign.id)
        assert listed["daily_budget_micro"] == 123_450_000

        with pytest.raises(ApiError, match="daily_budget_micro must be at least"):
            connector.update_campaign(campaign.id, daily_budget=5)
        with pytest.raises(ValueError, match="belongs to ad account"):
            connector.update_campaign(campaign.id, status="ACTIVE", account_id="someone-else")
        with pytest.raises(ValueError, match="ACTIVE or PAUSED"):
            connector.update_campaign(campaign.id, status="DELETED")
        with pytest.raises(ValueError, match="major units"):
            connector.update_campaign(campaign.id, daily_budget=-1)
        with pytest.raises(ValueError, match="nothing to update"):
            connector.update_campaign(campaign.id)


# --------------------------------------------------------------------------------------------------
# Into the raw table
# --------------------------------------------------------------------------------------------------


def test_hourly_dst_rows_land_apart_and_windows_replace(
    make: MakeHarness, la: str, warehouse_url: str, warehouse: Any
) -> None:
    stream = SNAPCHAT_STREAMS["ads_insights_hourly"]
    harness = make(page_limit=1000)
    for _ in range(2):  # re-running replaces the window: same rows, no duplicates
        result = replace_window(
            warehouse_url,
            stream,
            la,
            harness.connector.read("ads_insights_hourly", la, FALL_BACK, FALL_BACK),
            since=FALL_BACK,
            until=FALL_BACK,
        )
        assert result.rows_quarantined == 0 and result.rows_deduplicated == 0
    rows = warehouse.execute(
        "select ad_id, count(*), count(distinct start_time) from raw.snapchat_ads_insights_hourly"
        " where account_id = %s and start_date = %s group by ad_id",
        (la, FALL_BACK),
    ).fetchall()
    assert rows and all(count == distinct == 25 for _, count, distinct in rows)
