"""TikTokConnector against the real sandbox server, over real HTTP.

Nothing here mocks TikTok's protocol: the connector talks to ``pipeline.sandbox`` through httpx,
faults are injected into the server, and expectations come from the simulator's ground truth
(``world.ad_day`` / ``world.ad_hour``) or from a plain request to the same fake API. Sleeping goes
through a recording fake, so backoff is asserted on without waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import psycopg
import pytest
from starlette.routing import Mount

from pipeline.connections import open_connector, sandbox_connection
from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import Credentials
from pipeline.connectors.http import ApiError, CredentialsError, RateLimitedError, RetryPolicy, TransientError
from pipeline.connectors.tiktok import (
    ACCOUNT_ID_KEY,
    DAILY_METRICS,
    HOURLY_METRICS,
    TIKTOK_STREAMS,
    TikTokConnector,
)
from pipeline.ingest import sync_stream
from pipeline.sandbox import SANDBOX_TOKENS, SandboxServer, World
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from pipeline.sandbox.simulator import Metrics
from pipeline.sandbox.tiktok_api import TikTokApi
from tests.connectors import support
from tests.connectors.support import RecordingTransport

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 10:30 in New York, 16:30 in Berlin
TOKEN = SANDBOX_TOKENS["tiktok"]
DAY = date(2026, 11, 17)
RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0)
REPORT = "/report/integrated/get/"


def _world() -> World:
    return support.pinned_world(TODAY, NOW)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(world=_world()) as server:
        yield server


@pytest.fixture(scope="module")
def accounts(sandbox: SandboxServer) -> list[str]:
    return [a.id for a in sandbox.world.accounts("tiktok")]


@dataclass
class Harness:
    connector: TikTokConnector
    transport: RecordingTransport
    sleeps: list[float] = field(default_factory=list)

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        return self.connector.stats

    def reports(self) -> list[httpx.QueryParams]:
        return [r.url.params for r in self.transport.matching("GET", REPORT)]


MakeHarness = Callable[..., Harness]


@pytest.fixture
def make(sandbox: SandboxServer) -> Iterator[MakeHarness]:
    created: list[TikTokConnector] = []

    def factory(
        server: SandboxServer | None = None,
        token: str = TOKEN,
        app: bool = True,
        **overrides: Any,
    ) -> Harness:
        sleeps: list[float] = []
        transport = RecordingTransport()
        credentials = Credentials(
            access_token=token,
            client_id=SANDBOX_CLIENT_ID if app else None,
            client_secret=SANDBOX_CLIENT_SECRET if app else None,
        )
        options: dict[str, Any] = {
            "page_size": 50,
            "retry": RETRY,
            "sleep": sleeps.append,
            "clock": (server or sandbox).world.clock,  # the sandbox's pinned "now", never the real date
            "transport": transport,
            "timeout": 5.0,
            **overrides,
        }
        connector = TikTokConnector((server or sandbox).base_url("tiktok"), credentials, **options)
        created.append(connector)
        return Harness(connector, transport, sleeps)

    yield factory
    for connector in created:
        connector.close()


def _fake(server: SandboxServer) -> TikTokApi:
    """The TikTok router's state inside a running sandbox."""
    mount = next(r for r in server.app.routes if isinstance(r, Mount) and r.path == "/tiktok")
    return mount.app.state.api  # type: ignore[attr-defined]


def _raw_get(server: SandboxServer, endpoint: str, params: dict[str, Any]) -> Any:
    """A plain request to the fake, outside the connector: the reference for "verbatim"."""
    response = httpx.get(
        f"{server.base_url('tiktok')}/open_api/v1.3/{endpoint}",
        params=params,
        headers={"Access-Token": TOKEN},
        timeout=10,
    )
    response.raise_for_status()
    body = response.json()
    assert body["code"] == 0, body
    return body["data"]


def _raw_report(
    server: SandboxServer, advertiser: str, time_dimension: str, since: date, until: date
) -> list[dict]:
    metrics = DAILY_METRICS if time_dimension == "stat_time_day" else HOURLY_METRICS
    data = _raw_get(
        server,
        "report/integrated/get/",
        {
            "advertiser_id": advertiser,
            "report_type": "BASIC",
            "data_level": "AUCTION_AD",
            "dimensions": json.dumps(["ad_id", time_dimension]),
            "metrics": json.dumps(list(metrics)),
            "start_date": since.isoformat(),
            "end_date": until.isoformat(),
            "page_size": 1000,
        },
    )
    assert data["page_info"]["total_page"] <= 1
    return data["list"]


def _records(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    assert all(pages), "no empty pages are yielded"
    return [record for page in pages for record in page]


def _read(harness: Harness, stream: str, account_id: str, since: date = DAY, until: date = DAY) -> list[dict]:
    return _records(list(harness.connector.read(stream, account_id, since, until)))


def _key(record: dict[str, Any]) -> tuple[str, str]:
    dimensions = record["dimensions"]
    return dimensions["ad_id"], dimensions.get("stat_time_day") or dimensions["stat_time_hour"]


def _by_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=_key)


def _unique_keys(records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    keys = [_key(r) for r in records]
    assert len(keys) == len(set(keys)), "a row arrived twice"
    return set(keys)


def _days(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def _expected_ad_days(world: World, account_id: str, since: date, until: date) -> dict[tuple[str, str], Any]:
    """(ad_id, "YYYY-MM-DD 00:00:00") -> reported metrics, for the complete days the world serves."""
    expected = {}
    for ad in world.ads("tiktok", account_id):
        for day in _days(since, until):
            metrics = world.ad_day(ad, day)
            if metrics is not None and (metrics.impressions > 0 or metrics.spend > 0):
                expected[(ad.id, f"{day.isoformat()} 00:00:00")] = metrics
    return expected


def _expected_ad_hours(
    world: World, account_id: str, since: date, until: date
) -> dict[tuple[str, str], Metrics]:
    """(ad_id, "YYYY-MM-DD HH:00:00") -> reported metrics, for every delivering ad-hour served now."""
    ads = world.ads("tiktok", account_id)
    expected = {}
    for day in _days(since, until):
        hours = world.account_hours("tiktok", account_id, day)
        if hours is None:
            continue
        for row, position in enumerate(hours.positions):
            for hour in np.flatnonzero(hours.hours_available):
                metrics = Metrics(
                    float(hours.spend[row, hour]),
                    int(hours.impressions[row, hour]),
                    int(hours.clicks[row, hour]),
                    int(hours.conversions[row, hour]),
                    float(hours.conversion_value[row, hour]),
                )
                if metrics.impressions > 0 or metrics.spend > 0:
                    expected[(ads[position].id, f"{day.isoformat()} {hour:02d}:00:00")] = metrics
    return expected


def _assert_matches_truth(record: dict[str, Any], truth: Any) -> None:
    """A report row's metrics equal the simulator's numbers, in TikTok's string formats."""
    m = record["metrics"]
    assert Decimal(m["spend"]) == Decimal(f"{truth.spend:.2f}")
    assert int(m["impressions"]) == truth.impressions and int(m["clicks"]) == truth.clicks
    if truth.conversions:
        assert int(m["complete_payment"]) == truth.conversions
        assert Decimal(m["total_complete_payment_rate"]) == Decimal(f"{truth.conversion_value:.2f}")
    else:  # "-" means empty: no payment events on the row
        assert m["complete_payment"] == "-" and m["total_complete_payment_rate"] == "-"


# --------------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------------


def test_streams_match_the_raw_table_contract() -> None:
    assert CONNECTORS["tiktok"] is TikTokConnector
    assert TikTokConnector.platform == "tiktok" and TikTokConnector.restatement_lookback_days == 7
    tables = {
        name: (s.table, s.key_names, [k.path for k in s.keys], [k.pg_type for k in s.keys], s.window_column)
        for name, s in TIKTOK_STREAMS.items()
    }
    assert tables == {
        "ad_accounts": ("tiktok_ad_accounts", ("account_id",), ["advertiser_id"], ["text"], None),
        "campaigns": (
            "tiktok_campaigns",
            ("account_id", "campaign_id"),
            ["advertiser_id", "campaign_id"],
            ["text", "text"],
            None,
        ),
        "adgroups": (
            "tiktok_adgroups",
            ("account_id", "adgroup_id"),
            ["advertiser_id", "adgroup_id"],
            ["text", "text"],
            None,
        ),
        "ads": ("tiktok_ads", ("account_id", "ad_id"), ["advertiser_id", "ad_id"], ["text", "text"], None),
        "ads_insights_daily": (
            "tiktok_ads_insights_daily",
            ("account_id", "ad_id", "stat_time_day"),
            ["_advertiser_id", "dimensions.ad_id", "dimensions.stat_time_day"],
            ["text", "text", "date"],
            "stat_time_day",
        ),
        "ads_insights_hourly": (
            "tiktok_ads_insights_hourly",
            ("account_id", "ad_id", "stat_time_day", "stat_time_hour"),
            ["_advertiser_id", "dimensions.ad_id", "dimensions.stat_time_hour", "dimensions.stat_time_hour"],
            ["text", "text", "date", "text"],
            "stat_time_day",
        ),
    }
    assert TIKTOK_STREAMS["ads_insights_hourly"].is_hourly
    assert not TIKTOK_STREAMS["ads_insights_daily"].is_hourly


def test_report_windows_are_at_most_30_days() -> None:
    report_windows = TIKTOK_STREAMS["ads_insights_daily"].window.steps
    windows = list(report_windows(date(2026, 1, 1), date(2026, 3, 5)))
    assert windows == [
        (date(2026, 1, 1), date(2026, 1, 30)),
        (date(2026, 1, 31), date(2026, 3, 1)),
        (date(2026, 3, 2), date(2026, 3, 5)),
    ]
    assert list(report_windows(DAY, DAY)) == [(DAY, DAY)]


def test_lists_active_advertisers_and_skips_the_disabled_one(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    harness = make()
    disabled = _fake(sandbox).disabled_advertiser.id
    listed = _raw_get(
        sandbox, "oauth2/advertiser/get/", {"app_id": SANDBOX_CLIENT_ID, "secret": SANDBOX_CLIENT_SECRET}
    )["list"]
    assert disabled in {a["advertiser_id"] for a in listed}  # the token sees it...
    assert harness.connector.list_account_ids() == accounts  # ...the connector skips it
    assert harness.connector.list_account_ids() == accounts  # asked once per connector
    assert len(harness.transport.matching("GET", "/oauth2/advertiser/get/")) == 1
    info = harness.transport.matching("GET", "/advertiser/info/")
    assert len(info) == 1 and set(json.loads(info[0].url.params["advertiser_ids"])) == {*accounts, disabled}

    configured = make(account_ids=[accounts[1]])
    assert configured.connector.list_account_ids() == [accounts[1]]
    assert configured.transport.requests == []

    with pytest.raises(CredentialsError, match="needs the app's id and secret"):
        make(app=False).connector.list_account_ids()


def test_the_sandbox_connection_lists_advertisers(sandbox: SandboxServer, accounts: list[str]) -> None:
    # The pipeline opens TikTok in the sandbox with the sandbox app's id and secret.
    connection = sandbox_connection("tiktok", sandbox.url)
    assert (connection.credentials.client_id, connection.credentials.client_secret) == (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
    )
    connector = open_connector(sandbox_connection("tiktok", sandbox.url))
    try:
        assert isinstance(connector, TikTokConnector)
        assert connector.list_account_ids() == accounts
    finally:
        connector.close()


def test_rejects_unknown_streams_bad_ids_and_bad_options(make: MakeHarness, accounts: list[str]) -> None:
    connector = make().connector
    with pytest.raises(ValueError, match="unknown TikTok stream"):
        list(connector.read("keywords", accounts[0]))
    with pytest.raises(ValueError, match="not a TikTok advertiser id"):
        list(connector.read("campaigns", "act_12"))
    with pytest.raises(ValueError, match="after until"):
        list(connector.read("ads_insights_daily", accounts[0], DAY, DAY - timedelta(days=1)))
    with pytest.raises(ValueError, match="page_size"):
        make(page_size=1001)
    with pytest.raises(CredentialsError, match="connect the TikTok account"):
        TikTokConnector("http://127.0.0.1:9/tiktok", Credentials())


# --------------------------------------------------------------------------------------------------
# Advertiser and entities: verbatim, every page
# --------------------------------------------------------------------------------------------------


def test_account_snapshot_is_the_payload_verbatim(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    harness = make()
    pages = list(harness.connector.read("ad_accounts", accounts[1]))
    assert len(pages) == 1 and len(pages[0]) == 1
    record = pages[0][0]
    fields = json.loads(harness.transport.requests[0].url.params["fields"])
    reference = _raw_get(
        sandbox,
        "advertiser/info/",
        {"advertiser_ids": json.dumps([accounts[1]]), "fields": json.dumps(fields)},
    )["list"][0]
    assert record == reference
    assert record["currency"] == "EUR" and record["display_timezone"] == "Europe/Berlin"
    assert record["timezone"] == "Etc/GMT-1"  # fixed offset: only display_timezone knows DST
    assert TIKTOK_STREAMS["ad_accounts"].key_values(record) == (accounts[1],)


@pytest.mark.parametrize(
    ("stream", "endpoint", "id_field", "world_objects"),
    [
        ("campaigns", "campaign/get/", "campaign_id", "campaigns"),
        ("adgroups", "adgroup/get/", "adgroup_id", "ad_groups"),
        ("ads", "ad/get/", "ad_id", "ads"),
    ],
)
def test_entities_arrive_verbatim_across_all_pages(
    make: MakeHarness,
    sandbox: SandboxServer,
    accounts: list[str],
    stream: str,
    endpoint: str,
    id_field: str,
    world_objects: str,
) -> None:
    harness = make(page_size=3)
    account_id = accounts[1]
    records = _records(list(harness.connector.read(stream, account_id)))
    requests = harness.transport.matching("GET", f"/{endpoint}")
    assert len(requests) > 1 and [r.url.params["page"] for r in requests] == [
        str(i) for i in range(1, len(requests) + 1)
    ]
    assert {r.url.params["page_size"] for r in requests} == {"3"}
    reference = _raw_get(
        sandbox,
        endpoint,
        {"advertiser_id": account_id, "filtering": requests[0].url.params["filtering"], "page_size": 1000},
    )["list"]
    assert records == reference
    expected_ids = {o.id for o in getattr(sandbox.world, world_objects)("tiktok", account_id)}
    assert [r[id_field] for r in records] == [
        o.id for o in getattr(sandbox.world, world_objects)("tiktok", account_id)
    ]
    assert {r[id_field] for r in records} == expected_ids
    assert all(r["advertiser_id"] == account_id for r in records)


def test_deleted_campaigns_are_still_listed(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(world=_world()) as own:
        doomed = own.world.campaigns("tiktok", accounts[0])[1]
        own.world.set_campaign_status("tiktok", doomed.id, "DELETED")
        records = _records(list(make(server=own).connector.read("campaigns", accounts[0])))
        by_id = {r["campaign_id"]: r for r in records}
        assert by_id[doomed.id]["secondary_status"] == "CAMPAIGN_STATUS_DELETE"
        plain = _raw_get(own, "campaign/get/", {"advertiser_id": accounts[0]})["list"]
        assert doomed.id not in {r["campaign_id"] for r in plain}  # hidden without the ALL filter
        ads = _records(list(make(server=own).connector.read("ads", accounts[0])))
        assert len(ads) == len(own.world.ads("tiktok", accounts[0]))


# --------------------------------------------------------------------------------------------------
# Reports: every ad-day / ad-hour exactly once, equal to the ground truth
# --------------------------------------------------------------------------------------------------


def test_daily_report_every_ad_day_once_equal_to_the_truth(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    since, until = TODAY - timedelta(days=40), TODAY - timedelta(days=1)  # 40 days: two requests
    for account_id in accounts:
        harness = make(page_size=100)
        records = _read(harness, "ads_insights_daily", account_id, since, until)
        expected = _expected_ad_days(sandbox.world, account_id, since, until)
        assert _unique_keys(records) == set(expected)
        for record in records:
            _assert_matches_truth(record, expected[_key(record)])
            assert record[ACCOUNT_ID_KEY] == account_id  # the one key the connector adds
        verbatim = [{k: v for k, v in r.items() if k != ACCOUNT_ID_KEY} for r in records]
        reference = _raw_report(sandbox, account_id, "stat_time_day", since, since + timedelta(days=29))
        reference += _raw_report(sandbox, account_id, "stat_time_day", since + timedelta(days=30), until)
        assert _by_key(verbatim) == _by_key(reference)

        windows = sorted({(p["start_date"], p["end_date"]) for p in harness.reports()})
        assert windows == [
            (since.isoformat(), (since + timedelta(days=29)).isoformat()),
            ((since + timedelta(days=30)).isoformat(), until.isoformat()),
        ]
        first = harness.reports()[0]
        assert first["data_level"] == "AUCTION_AD" and first["report_type"] == "BASIC"
        assert first["service_type"] == "AUCTION" and first["page_size"] == "100"
        assert json.loads(first["dimensions"]) == ["ad_id", "stat_time_day"]
        assert json.loads(first["metrics"]) == list(DAILY_METRICS)

    sample = records[0]
    assert all(isinstance(v, str) for v in sample["metrics"].values())
    assert sample["dimensions"]["stat_time_day"].endswith(" 00:00:00")
    assert TIKTOK_STREAMS["ads_insights_daily"].key_values(sample) == (
        sample[ACCOUNT_ID_KEY],
        sample["dimensions"]["ad_id"],
        sample["dimensions"]["stat_time_day"],
    )


def test_the_current_day_is_served_partial(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    world = sandbox.world
    account = world.account("tiktok", accounts[1])  # Berlin: 16:30 local
    records = _read(make(), "ads_insights_daily", account.id, TODAY, TODAY)
    assert records
    hours = _expected_ad_hours(world, account.id, TODAY, TODAY)
    assert max(label for _, label in hours) == f"{TODAY.isoformat()} 16:00:00"  # the current hour, partial
    for record in records:
        served = [m for (ad_id, _), m in hours.items() if ad_id == record["dimensions"]["ad_id"]]
        assert int(record["metrics"]["impressions"]) == sum(m.impressions for m in served)
        assert Decimal(record["metrics"]["spend"]) == sum(Decimal(f"{m.spend:.2f}") for m in served)


def test_hourly_report_one_day_per_request_equal_to_the_truth(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    world = sandbox.world
    account_id = accounts[0]  # New York: 10:30 local
    since = TODAY - timedelta(days=2)
    harness = make()
    records = _read(harness, "ads_insights_hourly", account_id, since, TODAY)
    keys = _unique_keys(records)
    expected = _expected_ad_hours(world, account_id, since, TODAY)
    assert keys == set(expected)
    for record in records:
        _assert_matches_truth(record, expected[_key(record)])
        assert "reach" not in record["metrics"]
    assert max(k[1] for k in keys) == f"{TODAY.isoformat()} 10:00:00"  # the current, partial hour
    assert list(dict.fromkeys((p["start_date"], p["end_date"]) for p in harness.reports())) == [
        (d.isoformat(), d.isoformat()) for d in _days(since, TODAY)
    ]
    assert json.loads(harness.reports()[0]["dimensions"]) == ["ad_id", "stat_time_hour"]
    assert json.loads(harness.reports()[0]["metrics"]) == list(HOURLY_METRICS)
    assert TIKTOK_STREAMS["ads_insights_hourly"].key_values(records[0])[2] == _key(records[0])[1]


def test_hourly_report_on_a_dst_day(make: MakeHarness, sandbox: SandboxServer, accounts: list[str]) -> None:
    # 2026-11-01: New York falls back, 01:00-02:00 happens twice; TikTok labels clock hours, so the
    # repeated hour is one row holding both, and every ad-hour still arrives once.
    world = sandbox.world
    fall_back = date(2026, 11, 1)
    hourly = _read(make(), "ads_insights_hourly", accounts[0], fall_back, fall_back)
    daily = {_key(r)[0]: r for r in _read(make(), "ads_insights_daily", accounts[0], fall_back, fall_back)}
    _unique_keys(hourly)
    for ad_id, day_row in daily.items():
        rows = [r for r in hourly if r["dimensions"]["ad_id"] == ad_id]
        assert sum(int(r["metrics"]["impressions"]) for r in rows) == int(day_row["metrics"]["impressions"])
    truth = _expected_ad_hours(world, accounts[0], fall_back, fall_back)
    assert {_key(r) for r in hourly} == set(truth)
    one_am = [r for r in hourly if r["dimensions"]["stat_time_hour"].endswith(" 01:00:00")]
    assert one_am and all(int(r["metrics"]["impressions"]) == truth[_key(r)].impressions for r in one_am)


def test_default_windows(make: MakeHarness, accounts: list[str]) -> None:
    harness = make()
    list(harness.connector.read("ads_insights_daily", accounts[0]))
    (params,) = {(p["start_date"], p["end_date"]) for p in harness.reports()}
    today_utc = NOW.date()
    assert params == ((today_utc - timedelta(days=6)).isoformat(), today_utc.isoformat())

    harness = make()
    list(harness.connector.read("ads_insights_hourly", accounts[1]))
    berlin_today = NOW.astimezone(ZoneInfo("Europe/Berlin")).date()
    assert [p["end_date"] for p in harness.reports()][-1] == berlin_today.isoformat()
    assert len({p["start_date"] for p in harness.reports()}) == 7


# --------------------------------------------------------------------------------------------------
# Data that changes between pages, and restatement
# --------------------------------------------------------------------------------------------------


def test_row_inserted_between_pages_is_read_again_and_kept_once(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[0]
    since, until = DAY - timedelta(days=4), DAY
    clean = _read(make(page_size=10), "ads_insights_daily", account_id, since, until)

    sandbox.faults.add("tiktok", "insert_row", path=REPORT, times=1)
    harness = make(page_size=10)
    records = _read(harness, "ads_insights_daily", account_id, since, until)
    assert (
        _unique_keys(records)
        == _unique_keys(clean)
        == set(_expected_ad_days(sandbox.world, account_id, since, until))
    )
    assert _by_key(records) == _by_key(clean)
    pages = [p["page"] for p in harness.reports()]
    walk = -(-len(clean) // 10)
    assert pages == [str(i) for i in range(1, walk + 1)] * 2  # torn walk, then one clean walk
    assert harness.stats["GET /open_api/report/integrated/get"]["rereads"] == 1
    assert sandbox.faults.pending() == []


def test_entity_inserted_between_pages_is_not_lost(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("tiktok", "insert_row", path="/ad/get/", times=1, position=2)
    harness = make(page_size=5)
    records = _records(list(harness.connector.read("ads", accounts[1])))
    assert len(records) == len({r["ad_id"] for r in records})
    assert harness.stats["GET /open_api/ad/get"]["rereads"] == 1
    assert {r["ad_id"] for r in records} == {a.id for a in sandbox.world.ads("tiktok", accounts[1])}


def test_a_listing_that_never_settles_fails_clearly(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("tiktok", "insert_row", path=REPORT, times=-1)
    harness = make(page_size=10, max_rereads=2)
    with pytest.raises(TransientError, match="kept changing while it was paged"):
        _read(harness, "ads_insights_daily", accounts[0])
    assert [p["page"] for p in harness.reports()].count("1") == 3


def test_restated_day_converges_to_the_truth(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(world=_world()) as own:
        world = own.world
        account_id = accounts[0]
        day = TODAY - timedelta(days=2)  # young: conversions still arriving
        before = {_key(r): r for r in _read(make(server=own), "ads_insights_daily", account_id, day, day)}
        world.advance(days=8)  # past TikTok's 7-day window: final
        after = {_key(r): r for r in _read(make(server=own), "ads_insights_daily", account_id, day, day)}
        assert set(before) == set(after)

        def payments(row: dict[str, Any]) -> int:
            value = row["metrics"]["complete_payment"]
            return 0 if value == "-" else int(value)

        assert sum(payments(r) for r in after.values()) > sum(payments(r) for r in before.values())
        assert all(payments(after[k]) >= payments(before[k]) for k in before)
        assert all(after[k]["metrics"]["spend"] == before[k]["metrics"]["spend"] for k in before)
        for key, record in after.items():
            truth = world.truth_ad_day(world.ad("tiktok", key[0]), day)
            _assert_matches_truth(record, truth)


# --------------------------------------------------------------------------------------------------
# Throttling, transient errors, broken bodies, validation
# --------------------------------------------------------------------------------------------------


def test_rate_limit_in_a_200_is_retried_with_backoff(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("tiktok", "throttle", path="/campaign/get/", times=2)
    harness = make()
    records = _records(list(harness.connector.read("campaigns", accounts[0])))
    assert len(records) == len(sandbox.world.campaigns("tiktok", accounts[0]))
    stats = harness.stats["GET /open_api/campaign/get"]
    assert stats["throttled"] == 2 and stats["retries"] == 2 and stats["last_status"] == 200
    assert harness.sleeps == [1.0, 2.0]


def test_rate_limit_mid_report_keeps_every_row_once(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[1]
    clean = _read(make(page_size=10), "ads_insights_daily", account_id)
    sandbox.faults.add("tiktok", "throttle", path=REPORT, times=3)
    harness = make(page_size=10)
    records = _read(harness, "ads_insights_daily", account_id)
    assert _by_key(records) == _by_key(clean)
    assert harness.sleeps == [1.0, 2.0, 4.0]


def test_rate_limit_beyond_the_retry_budget_fails(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("tiktok", "throttle", path=REPORT, times=4)
    harness = make()
    with pytest.raises(RateLimitedError, match="gave up after 4 attempts") as caught:
        _read(harness, "ads_insights_daily", accounts[0])
    assert caught.value.code == 40100 and harness.sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("status", [200, 503])
def test_server_errors_are_retried(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], status: int
) -> None:
    # 200: TikTok's own 50002 in the envelope; 503: the gateway's HTML page.
    sandbox.faults.add("tiktok", "server_error", path="/adgroup/get/", times=3, status=status)
    harness = make()
    records = _records(list(harness.connector.read("adgroups", accounts[0])))
    assert len(records) == 8
    assert harness.sleeps == [1.0, 2.0, 4.0]
    assert harness.stats["GET /open_api/adgroup/get"]["errors"] == 3


def test_timeouts_are_retried(make: MakeHarness, sandbox: SandboxServer, accounts: list[str]) -> None:
    sandbox.faults.add("tiktok", "timeout", path="/ad/get/", times=1, seconds=1.0)
    harness = make(timeout=0.25)
    records = _records(list(harness.connector.read("ads", accounts[0])))
    assert len(records) == 16 and harness.sleeps == [1.0]


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json"])
def test_broken_json_mid_report_is_retried(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], kind: str
) -> None:
    account_id = accounts[0]
    clean = _read(make(page_size=10), "ads_insights_daily", account_id, DAY - timedelta(days=2), DAY)
    harness = make(page_size=10)
    pages = harness.connector.read("ads_insights_daily", account_id, DAY - timedelta(days=2), DAY)
    first = next(pages)
    sandbox.faults.add("tiktok", kind, path=REPORT, times=2)  # page 2 and its first retry
    records = first + _records(list(pages))
    assert _by_key(records) == _by_key(clean)
    assert harness.sleeps == [1.0, 2.0]
    assert harness.stats["GET /open_api/report/integrated/get"]["errors"] == 2


def test_invalid_parameters_fail_without_retries(make: MakeHarness, accounts: list[str]) -> None:
    harness = make()
    with pytest.raises(ApiError, match="cannot exceed 30 days") as caught:
        list(
            harness.connector._report(
                accounts[0], "stat_time_day", DAILY_METRICS, DAY - timedelta(days=30), DAY
            )
        )
    assert caught.value.code == 40002 and not isinstance(caught.value, CredentialsError)
    assert "request_id" in str(caught.value) and harness.sleeps == []


# --------------------------------------------------------------------------------------------------
# Credentials and secrets
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bad_token", "token_expired"])
def test_token_errors_fail_fast_without_leaking_it(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], kind: str
) -> None:
    sandbox.faults.add("tiktok", kind, path=REPORT, times=1)
    harness = make()
    with pytest.raises(CredentialsError) as caught:
        _read(harness, "ads_insights_daily", accounts[0])
    error = caught.value
    assert harness.sleeps == [] and len(harness.transport.requests) == 1  # no retry, no refresh
    assert error.code == 40105 and "Reconnect the TikTok account" in str(error)
    for text in (str(error), repr(error), repr(error.args), error.message):
        assert TOKEN not in text and SANDBOX_CLIENT_SECRET not in text
    assert error.__cause__ is None and error.__context__ is None


def test_wrong_token_or_missing_permission_is_a_credentials_error(
    make: MakeHarness, accounts: list[str]
) -> None:
    wrong = "tt-not-a-valid-token-42"
    harness = make(token=wrong)
    with pytest.raises(CredentialsError) as caught:
        list(harness.connector.read("campaigns", accounts[0]))
    assert caught.value.code == 40105 and wrong not in str(caught.value) and harness.sleeps == []

    harness = make(account_ids=["7000000000000000001"])  # an advertiser the token was not granted
    with pytest.raises(CredentialsError, match="missing permission") as caught:
        list(harness.connector.read("campaigns", "7000000000000000001"))
    assert caught.value.code == 40001


def test_secrets_never_appear_in_urls_logs_stats_or_errors(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.faults.add("tiktok", "server_error", path="/oauth2/advertiser/get/", times=1)
    sandbox.faults.add("tiktok", "insert_row", path=REPORT, times=1)
    harness = make(page_size=5)
    assert harness.connector.list_account_ids() == accounts
    assert _read(harness, "ads_insights_daily", accounts[0])
    for request in harness.transport.requests:
        assert TOKEN not in str(request.url) and "access_token" not in request.url.params
        assert request.headers["access-token"] == TOKEN and "authorization" not in request.headers
    # The advertiser listing has to carry the app secret as a query parameter...
    (listing, *_) = harness.transport.matching("GET", "/oauth2/advertiser/get/")
    assert listing.url.params["secret"] == SANDBOX_CLIENT_SECRET
    # ...but neither it nor the token reaches a log line (httpx logs full URLs) or the bookkeeping.
    assert "HTTP Request" in caplog.text and "secret=[REDACTED]" in caplog.text
    for secret in (TOKEN, SANDBOX_CLIENT_SECRET):
        assert secret not in caplog.text
        assert secret not in json.dumps(harness.stats)


# --------------------------------------------------------------------------------------------------
# Through the real loader
# --------------------------------------------------------------------------------------------------


def test_sync_with_faults_lands_every_ad_day_once(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], warehouse_url: str
) -> None:
    since, until = DAY - timedelta(days=9), DAY
    sandbox.faults.add("tiktok", "insert_row", path=REPORT, times=2)
    sandbox.faults.add("tiktok", "throttle", path=REPORT, times=1)
    sandbox.faults.add("tiktok", "truncated_json", path=REPORT, times=1)
    harness = make(page_size=25)
    report = sync_stream(warehouse_url, harness.connector, "ads_insights_daily", since=since, until=until)
    assert report.rows_quarantined == 0 and report.rows_deduplicated == 0
    with psycopg.connect(warehouse_url) as conn:
        for account_id in accounts:
            rows = conn.execute(
                "select ad_id, stat_time_day, payload from raw.tiktok_ads_insights_daily where account_id = %s",
                (account_id,),
            ).fetchall()
            expected = _expected_ad_days(sandbox.world, account_id, since, until)
            assert {(ad, f"{day.isoformat()} 00:00:00") for ad, day, _ in rows} == set(expected)
            for ad, day, payload in rows:
                _assert_matches_truth(payload, expected[(ad, f"{day.isoformat()} 00:00:00")])
    assert sandbox.faults.pending() == []


# --------------------------------------------------------------------------------------------------
# Write-back
# --------------------------------------------------------------------------------------------------


def test_update_campaign_writes_status_and_budget(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(world=_world()) as own:
        world = own.world
        harness = make(server=own)
        connector = harness.connector
        campaign = next(
            c
            for c in world.campaigns("tiktok", accounts[0])
            if world.campaign_status(c) == "ACTIVE" and c.lifetime_budget is None
        )
        result = connector.update_campaign(campaign.id, status="PAUSED", daily_budget=123.456)
        assert result["account_id"] == accounts[0] and result["daily_budget"] == 123.46
        assert len(result["request_ids"]) == 2 and all(result["request_ids"])
        budget_post = harness.transport.matching("POST", "/campaign/update/")[0]
        assert json.loads(budget_post.content) == {
            "advertiser_id": accounts[0],
            "campaign_id": campaign.id,
            "budget": 123.46,
        }
        status_post = harness.transport.matching("POST", "/campaign/status/update/")[0]
        assert json.loads(status_post.content) == {
            "advertiser_id": accounts[0],
            "campaign_ids": [campaign.id],
            "operation_status": "DISABLE",
        }
        assert world.campaign_status(campaign) == "PAUSED"
        assert world.campaign_daily_budget(campaign) == 123.46
        records = _records(list(connector.read("campaigns", accounts[0])))
        updated = next(r for r in records if r["campaign_id"] == campaign.id)
        assert updated["operation_status"] == "DISABLE" and updated["budget"] == 123.46

        # With the advertiser known, a status change is a single request.
        harness = make(server=own)
        harness.connector.update_campaign(campaign.id, status="ACTIVE", account_id=accounts[0])
        assert [r.url.path.rsplit("/open_api/v1.3", 1)[1] for r in harness.transport.requests] == [
            "/campaign/status/update/"
        ]
        assert world.campaign_status(campaign) == "ACTIVE"


def test_update_campaign_refuses_unsafe_writes(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(world=_world()) as own:
        world = own.world
        harness = make(server=own)
        connector = harness.connector
        lifetime = next(c for c in world.campaigns("tiktok", accounts[1]) if c.lifetime_budget is not None)
        with pytest.raises(ApiError, match="BUDGET_MODE_TOTAL"):
            connector.update_campaign(lifetime.id, daily_budget=100.0)
        assert harness.transport.matching("POST", "") == []  # refused before writing anything
        some = world.campaigns("tiktok", accounts[0])[0]
        with pytest.raises(ValueError, match="ACTIVE or PAUSED"):
            connector.update_campaign(some.id, status="DELETED")
        with pytest.raises(ValueError, match="nothing to update"):
            connector.update_campaign(some.id)
        with pytest.raises(ValueError, match="positive amount"):
            connector.update_campaign(some.id, daily_budget=-5.0)
        with pytest.raises(ValueError, match="not a TikTok campaign id"):
            connector.update_campaign("cmp-1", status="PAUSED")
        with pytest.raises(ApiError, match="not found under any advertiser"):
            connector.update_campaign("1234567890", status="PAUSED")
        with pytest.raises(ApiError, match="cannot be lower than 50") as caught:
            connector.update_campaign(some.id, daily_budget=20.0, account_id=accounts[0])
        assert caught.value.code == 40002
        assert world.campaign_daily_budget(some) == some.daily_budget


def test_the_scenario_delivers_on_the_test_day(sandbox: SandboxServer, accounts: list[str]) -> None:
    """What the tests above rely on: both advertisers have most ads delivering on DAY."""
    for account_id in accounts:
        ads = sandbox.world.ads("tiktok", account_id)
        assert sum(sandbox.world.ad_day(ad, DAY) is not None for ad in ads) >= 12
