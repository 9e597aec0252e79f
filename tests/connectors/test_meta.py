"""MetaConnector against the real sandbox server, over real HTTP.

Nothing here mocks Meta's protocol: the connector talks to ``pipeline.sandbox`` through httpx, faults
are injected into the server, and expectations come from the simulator's world or from a plain
request to the same fake API. Sleeping goes through a recording fake, so backoff, throttling and
polling are asserted on without waiting (poll intervals are tiny anyway).
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import Credentials
from pipeline.connectors.http import ApiError, CredentialsError, RateLimitedError, RetryPolicy
from pipeline.connectors.meta import (
    DEFAULT_HOURLY_DAYS,
    HOURLY_BREAKDOWN,
    HOURLY_INSIGHTS_FIELDS,
    INSIGHTS_FIELDS,
    JOB_COMPLETED,
    META_STREAMS,
    InsightsJob,
    MetaConnector,
)
from pipeline.sandbox import SANDBOX_TOKENS, SandboxServer, World
from pipeline.sandbox.meta_api import MetaApiSettings
from pipeline.sandbox.simulator import Metrics
from pipeline.warehouse.loader import validate_record
from tests.connectors import support

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = SANDBOX_TOKENS["meta"]
DAY = date(2026, 11, 17)  # every ad of the first account delivers on this day
RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0)


def _world() -> World:
    return support.pinned_world(TODAY, NOW)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(world=_world()) as server:
        yield server


@pytest.fixture(scope="module")
def accounts(sandbox: SandboxServer) -> list[str]:
    return [a.id for a in sandbox.world.accounts("meta")]


class RecordingTransport(support.RecordingTransport):
    """A real HTTP transport that remembers what went over the wire (to assert on params/URLs)."""

    def posted(self, path_suffix: str = "/insights") -> list[dict[str, str]]:
        """Form parameters of the POSTs to ``path_suffix`` (async report submissions)."""
        return [dict(httpx.QueryParams(r.content.decode())) for r in self.matching("POST", path_suffix)]


@dataclass
class Harness:
    connector: MetaConnector
    transport: RecordingTransport
    sleeps: list[float] = field(default_factory=list)

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        return self.connector.stats

    def backoffs(self) -> list[float]:
        """Sleeps that were not poll intervals."""
        return [s for s in self.sleeps if s != self.connector.poll_interval]


MakeHarness = Callable[..., Harness]


@pytest.fixture
def make(sandbox: SandboxServer) -> Iterator[MakeHarness]:
    created: list[MetaConnector] = []

    def factory(server: SandboxServer | None = None, token: str = TOKEN, **overrides: Any) -> Harness:
        sleeps: list[float] = []
        transport = RecordingTransport()
        options: dict[str, Any] = {
            "poll_interval": 0.01,
            "poll_timeout": 60.0,
            "page_limit": 5,
            "retry": RETRY,
            "sleep": sleeps.append,
            "clock": (server or sandbox).world.clock,  # the sandbox's pinned "now", never the real date
            "transport": transport,
            "timeout": 5.0,
            **overrides,
        }
        connector = MetaConnector(
            (server or sandbox).base_url("meta"), Credentials(access_token=token), **options
        )
        created.append(connector)
        return Harness(connector, transport, sleeps)

    yield factory
    for connector in created:
        connector.close()


def _raw_get(server: SandboxServer, path: str, params: dict[str, Any]) -> Any:
    """A plain request to the fake, outside the connector: the reference for "verbatim"."""
    response = httpx.get(
        f"{server.base_url('meta')}/v21.0/{path}", params={**params, "access_token": TOKEN}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def _sync_insights(
    server: SandboxServer, account_id: str, since: date, until: date, *, hourly: bool = False
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        "level": "ad",
        "fields": ",".join(HOURLY_INSIGHTS_FIELDS if hourly else INSIGHTS_FIELDS),
        "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
        "time_increment": 1,
        "limit": 5000,
    }
    if hourly:
        params["breakdowns"] = HOURLY_BREAKDOWN
    body = _raw_get(server, f"act_{account_id}/insights", params)
    assert "next" not in body.get("paging", {})
    return body["data"]


def _expected_ad_days(world: World, account_id: str, since: date, until: date) -> set[tuple[str, str]]:
    """(ad_id, date) pairs the simulator says delivered and are complete as of ``world.now``."""
    expected = set()
    for ad in world.ads("meta", account_id):
        day = since
        while day <= until:
            metrics = world.ad_day(ad, day)
            if metrics is not None and (metrics.impressions > 0 or metrics.spend > 0):
                expected.add((ad.id, day.isoformat()))
            day += timedelta(days=1)
    return expected


def _records(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    assert all(pages), "no empty pages are yielded"
    return [record for page in pages for record in page]


def _ad_days(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["ad_id"], r["date_start"]) for r in records]


def _read_day(harness: Harness, account_id: str, day: date = DAY) -> list[dict[str, Any]]:
    return _records(list(harness.connector.read("ads_insights_daily", account_id, day, day)))


def _by_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r["ad_id"], r["date_start"]))


# --------------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------------


def test_streams_match_the_raw_table_contract() -> None:
    assert CONNECTORS["meta"] is MetaConnector
    assert MetaConnector.platform == "meta"
    tables = {
        name: (s.table, s.key_names, [k.path for k in s.keys], s.window_column)
        for name, s in META_STREAMS.items()
    }
    assert tables == {
        "ad_accounts": ("meta_ad_accounts", ("account_id",), ["account_id"], None),
        "campaigns": ("meta_campaigns", ("account_id", "campaign_id"), ["account_id", "id"], None),
        "adsets": ("meta_adsets", ("account_id", "adset_id"), ["account_id", "id"], None),
        "ads": ("meta_ads", ("account_id", "ad_id"), ["account_id", "id"], None),
        "ads_insights_daily": (
            "meta_ads_insights_daily",
            ("account_id", "ad_id", "date_start"),
            ["account_id", "ad_id", "date_start"],
            "date_start",
        ),
        "ads_insights_hourly": (
            "meta_ads_insights_hourly",
            ("account_id", "ad_id", "date_start", HOURLY_BREAKDOWN),
            ["account_id", "ad_id", "date_start", HOURLY_BREAKDOWN],
            "date_start",
        ),
    }
    assert [k.pg_type for k in META_STREAMS["ads_insights_daily"].keys] == ["text", "text", "date"]
    assert [k.pg_type for k in META_STREAMS["ads_insights_hourly"].keys] == ["text", "text", "date", "text"]


def test_lists_the_accounts_the_token_sees(make: MakeHarness, accounts: list[str]) -> None:
    harness = make(page_limit=1)  # one account per page: the listing pages too
    assert harness.connector.list_account_ids() == accounts
    assert len(harness.transport.matching("GET", "/me/adaccounts")) == 2
    configured = make(account_ids=[f"act_{accounts[1]}"])
    assert configured.connector.list_account_ids() == [accounts[1]]
    assert configured.transport.requests == []


def test_rejects_unknown_streams_and_bad_ids(make: MakeHarness, accounts: list[str]) -> None:
    connector = make().connector
    with pytest.raises(ValueError, match="unknown Meta stream"):
        list(connector.read("keywords", accounts[0]))
    with pytest.raises(ValueError, match="not a Meta ad account id"):
        list(connector.read("campaigns", "act_12x"))
    with pytest.raises(ValueError, match="after until"):
        list(connector.read("ads_insights_daily", accounts[0], DAY, DAY - timedelta(days=1)))


# --------------------------------------------------------------------------------------------------
# Entities: verbatim, every page
# --------------------------------------------------------------------------------------------------


def test_account_snapshot_is_the_payload_verbatim(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    harness = make()
    pages = list(harness.connector.read("ad_accounts", accounts[1]))
    assert len(pages) == 1 and len(pages[0]) == 1
    record = pages[0][0]
    fields = "id,account_id,name,currency,timezone_name,timezone_offset_hours_utc,account_status"
    assert record == _raw_get(sandbox, f"act_{accounts[1]}", {"fields": fields})
    assert record["account_id"] == accounts[1] and record["id"] == f"act_{accounts[1]}"
    assert META_STREAMS["ad_accounts"].key_values(record) == (accounts[1],)


@pytest.mark.parametrize(
    ("stream", "world_objects"),
    [("campaigns", "campaigns"), ("adsets", "ad_groups"), ("ads", "ads")],
)
def test_entities_arrive_verbatim_across_all_pages(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], stream: str, world_objects: str
) -> None:
    harness = make(page_limit=3)
    account_id = accounts[1]
    pages = list(harness.connector.read(stream, account_id))
    records = _records(pages)
    requests = harness.transport.matching("GET", f"/act_{account_id}/{stream}")
    assert len(pages) == len(requests) > 1  # several pages, one request each

    # The same listing in one page, straight from the fake, is identical record for record.
    first = requests[0].url.params
    reference = _raw_get(
        sandbox,
        f"act_{account_id}/{stream}",
        {"fields": first["fields"], "effective_status": first["effective_status"], "limit": 5000},
    )["data"]
    assert records == reference

    expected_ids = {o.id for o in getattr(sandbox.world, world_objects)("meta", account_id)}
    assert [r["id"] for r in records] == sorted(
        {r["id"] for r in records}, key=[r["id"] for r in records].index
    )
    assert {r["id"] for r in records} == expected_ids  # archived/paused included: all statuses asked for
    assert all(r["account_id"] == account_id for r in records)
    assert len({META_STREAMS[stream].key_values(r) for r in records}) == len(records)


# --------------------------------------------------------------------------------------------------
# Insights: async report runs, every ad-day exactly once
# --------------------------------------------------------------------------------------------------


def test_insights_every_ad_day_exactly_once_and_verbatim(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    since, until = TODAY - timedelta(days=12), TODAY - timedelta(days=1)
    for account_id in accounts:  # the second account has a missing day (no rows at all) in the window
        harness = make()
        records = _records(list(harness.connector.read("ads_insights_daily", account_id, since, until)))
        keys = _ad_days(records)
        assert len(keys) == len(set(keys)), "an ad-day arrived twice"
        assert set(keys) == _expected_ad_days(sandbox.world, account_id, since, until)
        assert _by_key(records) == _by_key(_sync_insights(sandbox, account_id, since, until))

        # One async report run per account-day, none split, each polled until complete.
        submissions = harness.transport.posted(f"/act_{account_id}/insights")
        assert sorted(json.loads(p["time_range"])["since"] for p in submissions) == [
            (since + timedelta(days=i)).isoformat() for i in range(12)
        ]
        assert all(p["level"] == "ad" and p["time_increment"] == "1" for p in submissions)
        assert all("filtering" not in p for p in submissions)

    sample = records[0]
    assert isinstance(sample["spend"], str) and isinstance(sample["impressions"], str)
    assert sample["date_start"] == sample["date_stop"]
    assert META_STREAMS["ads_insights_daily"].key_values(sample) == (
        sample["account_id"],
        sample["ad_id"],
        sample["date_start"],
    )


def test_insights_page_limit_is_used_for_results(make: MakeHarness, accounts: list[str]) -> None:
    harness = make(page_limit=4)
    records = _read_day(harness, accounts[0])
    result_reads = [r for r in harness.transport.matching("GET", "/insights") if "act_" not in r.url.path]
    assert len(result_reads) == -(-len(records) // 4)
    assert all(r.url.params["limit"] == "4" for r in result_reads)


@pytest.mark.parametrize("kind", ["async_failed", "async_skipped"])
def test_failed_or_skipped_run_is_split_by_campaign(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], kind: str
) -> None:
    account_id = accounts[0]
    sandbox.faults.add("meta", kind, times=1)
    harness = make()
    records = _read_day(harness, account_id)
    assert sorted(_ad_days(records)) == sorted(_expected_ad_days(sandbox.world, account_id, DAY, DAY))
    assert _by_key(records) == _by_key(_sync_insights(sandbox, account_id, DAY, DAY))

    submissions = harness.transport.posted()
    assert len(submissions) == 3  # the account-day, then two halves of its campaigns
    halves = [json.loads(p["filtering"])[0] for p in submissions[1:]]
    assert all(f["field"] == "campaign.id" and f["operator"] == "IN" for f in halves)
    campaign_ids = {c.id for c in sandbox.world.campaigns("meta", account_id)}
    assert set(halves[0]["value"]).isdisjoint(halves[1]["value"])
    assert set(halves[0]["value"]) | set(halves[1]["value"]) == campaign_ids


def test_split_descends_to_ad_sets_when_campaigns_keep_failing(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[0]
    # account-day, both campaign halves and all four single campaigns fail; ad-set pieces succeed
    sandbox.faults.add("meta", "async_failed", times=7)
    harness = make()
    records = _read_day(harness, account_id)
    keys = _ad_days(records)
    assert len(keys) == len(set(keys))
    assert set(keys) == _expected_ad_days(sandbox.world, account_id, DAY, DAY)
    filters = [json.loads(p["filtering"])[0]["field"] for p in harness.transport.posted() if "filtering" in p]
    assert filters.count("campaign.id") == 6 and filters.count("adset.id") == 8
    assert sandbox.faults.pending() == []


def test_a_single_ad_that_keeps_failing_gives_up_clearly(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("meta", "async_failed", times=-1, polls=1)
    harness = make()
    with pytest.raises(ApiError, match="cannot be split further") as caught:
        _read_day(harness, accounts[0])
    assert "ad.id IN" in str(caught.value)
    assert not isinstance(caught.value, CredentialsError)
    fields = {json.loads(p["filtering"])[0]["field"] for p in harness.transport.posted() if "filtering" in p}
    assert fields == {"campaign.id", "adset.id", "ad.id"}


def test_stuck_run_times_out_then_is_split(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[0]
    sandbox.faults.add("meta", "async_stuck", times=1, percent=42)
    harness = make(poll_interval=0.05, poll_timeout=0.25)  # give up on a run after 5 polls
    records = _read_day(harness, account_id)
    assert set(_ad_days(records)) == _expected_ad_days(sandbox.world, account_id, DAY, DAY)
    assert len(records) == len(set(_ad_days(records)))
    assert len(harness.transport.posted()) == 3
    run_polls = [r for r in harness.transport.matching("GET", "") if r.url.path.rsplit("/", 1)[-1].isdigit()]
    assert len(run_polls) >= 5


def test_run_parked_at_100_percent_is_awaited(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[0]
    sandbox.faults.add("meta", "async_100_running", times=1, polls=6)
    harness = make()
    records = _read_day(harness, account_id)
    assert set(_ad_days(records)) == _expected_ad_days(sandbox.world, account_id, DAY, DAY)
    assert len(harness.transport.posted()) == 1  # patience, no split
    assert harness.stats["GET /{id}"]["requests"] == 8  # started, 6 polls at 100 % running, completed


def test_run_parked_at_100_percent_too_long_is_split(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[0]
    sandbox.faults.add("meta", "async_100_running", times=1, polls=500)
    harness = make(poll_interval=0.05, poll_timeout=0.5)
    records = _read_day(harness, account_id)
    assert set(_ad_days(records)) == _expected_ad_days(sandbox.world, account_id, DAY, DAY)
    assert len(records) == len(set(_ad_days(records)))
    assert len(harness.transport.posted()) == 3


def test_day_without_any_rows_yields_nothing(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    missing = next(i for i in sandbox.world.incidents if i.kind == "missing_day")
    harness = make()
    assert (
        list(harness.connector.read("ads_insights_daily", missing.account_id, missing.start, missing.start))
        == []
    )
    assert len(harness.transport.posted()) == 1


# --------------------------------------------------------------------------------------------------
# Hourly insights: the same async runs with the hourly breakdown, every ad-hour exactly once
# --------------------------------------------------------------------------------------------------

HOUR_LABEL = re.compile(r"^(\d{2}):00:00 - \1:59:59$")


def _read_hours(harness: Harness, account_id: str, since: date, until: date) -> list[dict[str, Any]]:
    return _records(list(harness.connector.read("ads_insights_hourly", account_id, since, until)))


def _ad_hours(records: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    keys = []
    for r in records:
        match = HOUR_LABEL.match(r[HOURLY_BREAKDOWN])
        assert match, f"unexpected hour label {r[HOURLY_BREAKDOWN]!r}"
        keys.append((r["ad_id"], r["date_start"], int(match.group(1))))
    return keys


def _expected_ad_hours(
    world: World, account_id: str, since: date, until: date
) -> dict[tuple[str, str, int], Metrics]:
    """(ad_id, date, local hour) -> Metrics the simulator says the API serves as of ``world.now``."""
    expected = {}
    for ad in world.ads("meta", account_id):
        day = since
        while day <= until:
            for hour in range(24):
                metrics = world.ad_hour(ad, day, hour)
                if metrics is not None and (metrics.impressions > 0 or metrics.spend > 0):
                    expected[(ad.id, day.isoformat(), hour)] = metrics
            day += timedelta(days=1)
    return expected


def _hour_key(record: dict[str, Any]) -> tuple[str, str, str]:
    return record["ad_id"], record["date_start"], record[HOURLY_BREAKDOWN]


def _cents(amount: str) -> int:
    units, _, cents = amount.partition(".")
    return int(units) * 100 + int(cents.ljust(2, "0"))


def _assert_hours_match_world(
    world: World, account_id: str, records: list[dict[str, Any]], since: date, until: date
) -> None:
    keys = _ad_hours(records)
    assert len(keys) == len(set(keys)), "an ad-hour arrived twice"
    expected = _expected_ad_hours(world, account_id, since, until)
    assert set(keys) == set(expected)
    for key, record in zip(keys, records, strict=True):
        truth = expected[key]
        assert _cents(record["spend"]) == round(truth.spend * 100)
        assert int(record["impressions"]) == truth.impressions
        assert int(record["clicks"]) == truth.clicks


def test_hourly_every_ad_hour_exactly_once_verbatim_and_summing_to_the_day(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    since, until = DAY - timedelta(days=1), DAY
    for account_id in accounts:
        harness = make()
        records = _read_hours(harness, account_id, since, until)
        _assert_hours_match_world(sandbox.world, account_id, records, since, until)
        assert sorted(records, key=_hour_key) == sorted(
            _sync_insights(sandbox, account_id, since, until, hourly=True), key=_hour_key
        )
        stream = META_STREAMS["ads_insights_hourly"]
        for record in records:
            assert stream.key_values(record) == (
                account_id,
                record["ad_id"],
                record["date_start"],
                record[HOURLY_BREAKDOWN],
            )
            validate_record(stream, record, account_id, since, until)  # the loader keeps every row
            assert record["date_start"] == record["date_stop"] and "reach" not in record

        # One async run per account-day, with the breakdown and without reach (none per hour).
        submissions = harness.transport.posted(f"/act_{account_id}/insights")
        assert sorted(json.loads(p["time_range"])["since"] for p in submissions) == [
            since.isoformat(),
            until.isoformat(),
        ]
        assert all(p["breakdowns"] == HOURLY_BREAKDOWN and p["level"] == "ad" for p in submissions)
        assert all("reach" not in p["fields"].split(",") for p in submissions)

        # An ad's hours add up to its day, exactly (cents, impressions, clicks, conversions).
        daily = {
            (r["ad_id"], r["date_start"]): r
            for r in _records(list(make().connector.read("ads_insights_daily", account_id, since, until)))
        }
        sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for record in records:
            total = sums[(record["ad_id"], record["date_start"])]
            total[0] += _cents(record["spend"])
            total[1] += int(record["impressions"])
            total[2] += int(record["clicks"])
        assert sums.keys() == daily.keys()
        for ad_day, (spend, impressions, clicks) in sums.items():
            day_record = daily[ad_day]
            assert (spend, impressions, clicks) == (
                _cents(day_record["spend"]),
                int(day_record["impressions"]),
                int(day_record["clicks"]),
            )


def test_hourly_today_is_served_up_to_the_current_local_hour(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    world = sandbox.world
    for account_id in accounts:
        account = world.account("meta", account_id)
        local_today = world.today_local(account)
        current_hour = world.local_time(account).hour
        harness = make()
        records = _read_hours(harness, account_id, local_today, local_today)
        _assert_hours_match_world(world, account_id, records, local_today, local_today)
        hours = {hour for _, _, hour in _ad_hours(records)}
        assert max(hours) <= current_hour and max(hours) >= current_hour - 1  # nothing from the future
        # The daily stream serves complete days only: today is hourly-only (and partial).
        assert list(make().connector.read("ads_insights_daily", account_id, local_today, local_today)) == []


def test_hourly_default_window_ends_on_the_accounts_own_today(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[1]
    zone = ZoneInfo(sandbox.world.account("meta", account_id).timezone)
    local_today = NOW.astimezone(zone).date()
    harness = make()
    list(harness.connector.read("ads_insights_hourly", account_id))
    lookups = harness.transport.matching("GET", f"/act_{account_id}")
    assert [r.url.params["fields"] for r in lookups] == ["timezone_name"]
    days = sorted(json.loads(p["time_range"])["since"] for p in harness.transport.posted())
    assert len(days) == DEFAULT_HOURLY_DAYS
    assert days[-1] == local_today.isoformat()
    assert date.fromisoformat(days[0]) == date.fromisoformat(days[-1]) - timedelta(
        days=DEFAULT_HOURLY_DAYS - 1
    )


@pytest.mark.parametrize("kind", ["async_failed", "async_stuck"])
def test_hourly_failed_run_for_today_is_split_without_losing_hours(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], kind: str
) -> None:
    # Today has no daily rows at all: the split must ask which campaigns delivered *by hour*.
    account_id = accounts[0]
    today = sandbox.world.today_local(sandbox.world.account("meta", account_id))
    sandbox.faults.add("meta", kind, times=1)
    harness = make(poll_interval=0.05, poll_timeout=0.25)
    records = _read_hours(harness, account_id, today, today)
    _assert_hours_match_world(sandbox.world, account_id, records, today, today)
    submissions = harness.transport.posted()
    assert len(submissions) == 3 and all(p["breakdowns"] == HOURLY_BREAKDOWN for p in submissions)
    assert [json.loads(p["filtering"])[0]["field"] for p in submissions[1:]] == ["campaign.id"] * 2
    probes = harness.transport.matching("GET", f"/act_{account_id}/insights")
    assert probes and all(r.url.params["breakdowns"] == HOURLY_BREAKDOWN for r in probes)


def test_hourly_dst_fall_back_day_has_24_clock_hours_summing_to_25_real_ones(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    world = sandbox.world
    account_id = next(a for a in accounts if world.account("meta", a).timezone == "America/New_York")
    fall_back = date(2026, 11, 1)  # 01:00-01:59 happens twice in New York
    records = _read_hours(make(), account_id, fall_back, fall_back)
    _assert_hours_match_world(world, account_id, records, fall_back, fall_back)
    labels = {r[HOURLY_BREAKDOWN] for r in records}
    assert "01:00:00 - 01:59:59" in labels and len(labels) <= 24
    for ad in world.ads("meta", account_id):
        day = world.ad_day(ad, fall_back)
        if day is None:
            continue
        spend = sum(_cents(r["spend"]) for r in records if r["ad_id"] == ad.id)
        assert spend == round(day.spend * 100)


def test_hourly_restated_hours_converge_on_reread(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(world=_world()) as own:
        account_id = accounts[0]
        day = DAY - timedelta(days=1)

        def read() -> dict[tuple[str, str, int], dict[str, Any]]:
            records = _read_hours(make(server=own), account_id, day, day)
            _assert_hours_match_world(own.world, account_id, records, day, day)
            return dict(zip(_ad_hours(records), records, strict=True))

        def purchases(record: dict[str, Any]) -> int:
            actions = record.get("actions", [])
            return sum(
                int(a["value"]) for a in actions if a["action_type"] == "offsite_conversion.fb_pixel_purchase"
            )

        first = read()
        own.world.advance(days=10)  # attribution matures: conversions of the day arrive later
        second = read()
        assert second.keys() == first.keys()  # same ad-hours, replaced rather than added
        assert [r["spend"] for r in second.values()] == [first[k]["spend"] for k in second]
        assert sum(map(purchases, second.values())) > sum(map(purchases, first.values()))


# --------------------------------------------------------------------------------------------------
# Throttling, transient errors, malformed bodies, smaller pages
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [4, 17, 613, 80004])
def test_throttling_codes_back_off_and_honour_usage(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], code: int
) -> None:
    sandbox.faults.add("meta", "throttle", path="/campaigns", times=2, code=code)
    harness = make()
    records = _records(list(harness.connector.read("campaigns", accounts[0])))
    assert len(records) == len(sandbox.world.campaigns("meta", accounts[0]))
    stats = harness.stats["GET /act_{id}/campaigns"]
    assert stats["throttled"] == 2 and stats["retries"] == 2
    # Usage headers at 100 % on the throttled answers: the full throttle pause beats the 1 s / 2 s backoff.
    pause = harness.connector.throttle.max_pause
    assert harness.sleeps == [pause, pause]
    assert stats["backoff_sleep_s"] == 2 * pause
    assert stats["max_usage_pct"] < 75  # the last (successful) answer's usage


def test_throttle_with_estimated_regain_time_waits_that_long(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("meta", "throttle", path="/ads", times=1, code=80004, regain_minutes=3)
    harness = make()
    assert _records(list(harness.connector.read("ads", accounts[0])))
    assert harness.sleeps[0] == 180.0


def test_throttle_asking_for_hours_fails_with_a_clear_message(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("meta", "throttle", path="/ads", times=1, code=17, regain_minutes=120)
    harness = make()
    with pytest.raises(RateLimitedError, match="asks to wait 120 min") as caught:
        list(harness.connector.read("ads", accounts[0]))
    assert caught.value.code == 17
    assert harness.sleeps == []


def test_throttled_insights_submission_is_retried(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[0]
    sandbox.faults.add("meta", "throttle", path=f"/act_{account_id}/insights", times=1, code=613)
    harness = make()
    records = _read_day(harness, account_id)
    assert set(_ad_days(records)) == _expected_ad_days(sandbox.world, account_id, DAY, DAY)
    assert harness.stats["POST /act_{id}/insights"]["throttled"] == 1
    assert len(harness.transport.posted()) == 2  # the rejected submission and its retry; no split


def test_climbing_usage_slows_down_before_meta_throttles(make: MakeHarness, accounts: list[str]) -> None:
    # A fake whose usage reaches 100 % after 12 calls a minute: usage climbs with every page.
    settings = {"meta": MetaApiSettings(app_calls_per_window=1000, account_calls_per_window=12)}
    with SandboxServer(world=_world(), settings=settings) as busy:
        harness = make(server=busy, page_limit=1)
        records = _records(list(harness.connector.read("ads", accounts[0])))
    assert len(records) == 16
    usage = [s["max_usage_pct"] for s in harness.stats.values()]
    assert max(usage) == 100.0
    pauses = harness.sleeps
    stats = harness.stats["GET /act_{id}/ads"]
    assert stats["throttle_sleeps"] == len(pauses) > 0 and stats["retries"] == 0
    assert pauses == sorted(pauses)  # slower as usage climbs
    assert pauses[-1] == harness.connector.throttle.max_pause
    assert all(0 < p <= harness.connector.throttle.max_pause for p in pauses)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_with_exponential_backoff(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], status: int
) -> None:
    sandbox.faults.add("meta", "server_error", path="/adsets", times=3, status=status)
    harness = make()
    records = _records(list(harness.connector.read("adsets", accounts[0])))
    assert len(records) == 8
    assert harness.sleeps == [1.0, 2.0, 4.0]


def test_server_errors_beyond_the_retry_budget_fail(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("meta", "server_error", path="/adsets", times=4)
    harness = make()
    with pytest.raises(ApiError, match="gave up after 4 attempts"):
        list(harness.connector.read("adsets", accounts[0]))
    assert harness.sleeps == [1.0, 2.0, 4.0]


def test_timeouts_are_retried(make: MakeHarness, sandbox: SandboxServer, accounts: list[str]) -> None:
    sandbox.faults.add("meta", "timeout", path="/campaigns", times=1, seconds=1.0)
    harness = make(timeout=0.25)
    records = _records(list(harness.connector.read("campaigns", accounts[0])))
    assert len(records) == 4
    assert harness.sleeps == [1.0]
    assert harness.stats["GET /act_{id}/campaigns"]["errors"] == 1


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json"])
def test_broken_json_is_retried(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], kind: str
) -> None:
    account_id = accounts[0]
    harness = make()
    sandbox.faults.add("meta", kind, path="/ads", times=1)
    ads = _records(list(harness.connector.read("ads", account_id)))
    assert {a["id"] for a in ads} == {a.id for a in sandbox.world.ads("meta", account_id)}
    assert harness.backoffs() == [1.0]

    # The next three requests, whatever they are: the submission, its retry, and the retry after that.
    sandbox.faults.add("meta", kind, times=3)
    records = _read_day(harness, account_id)
    assert _by_key(records) == _by_key(_sync_insights(sandbox, account_id, DAY, DAY))
    assert harness.stats["POST /act_{id}/insights"]["errors"] == 3
    assert harness.backoffs() == [1.0, 1.0, 2.0, 4.0]
    assert sandbox.faults.pending() == []


def test_reduce_data_error_halves_the_page_limit(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[0]
    sandbox.faults.add("meta", "reduce_data", path="/ads", times=2)
    harness = make(page_limit=8)
    records = _records(list(harness.connector.read("ads", account_id)))
    assert {r["id"] for r in records} == {a.id for a in sandbox.world.ads("meta", account_id)}
    assert len(records) == 16
    limits = [r.url.params["limit"] for r in harness.transport.matching("GET", "/ads")]
    assert limits[:3] == ["8", "4", "2"] and set(limits[3:]) == {"2"}
    assert harness.stats["GET /act_{id}/ads"]["limit_reductions"] == 2
    assert harness.sleeps == []


def test_reduce_data_on_submission_splits_the_run(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account_id = accounts[0]
    sandbox.faults.add("meta", "reduce_data", path="/insights", times=1)  # hits the POST submission
    harness = make()
    records = _read_day(harness, account_id)
    assert set(_ad_days(records)) == _expected_ad_days(sandbox.world, account_id, DAY, DAY)
    assert len(records) == len(set(_ad_days(records)))
    assert len(harness.transport.posted()) == 3  # rejected account-day, then two campaign halves


def test_reduce_data_on_a_results_page_halves_that_limit(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    # The run id is only known once created, so drive the run step by step to aim the fault at its
    # results pages.
    harness = make(page_limit=10)
    connector = harness.connector
    run = connector._submit(InsightsJob(accounts[0], DAY))
    while run.status != JOB_COMPLETED:
        connector._poll(run)
    sandbox.faults.add("meta", "reduce_data", path=f"/{run.report_run_id}/insights", times=1)
    pages = list(connector._paged(f"/v21.0/{run.report_run_id}/insights", {"limit": 10}))
    assert [len(p) for p in pages] == [5, 5, 5, 1]
    reads = harness.transport.matching("GET", f"/{run.report_run_id}/insights")
    assert [r.url.params["limit"] for r in reads] == ["10", "5", "5", "5", "5"]


# --------------------------------------------------------------------------------------------------
# Credentials and secrets
# --------------------------------------------------------------------------------------------------


def test_expired_token_fails_fast_without_leaking_it(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("meta", "bad_token", path="/campaigns", times=1)
    harness = make()
    with pytest.raises(CredentialsError) as caught:
        list(harness.connector.read("campaigns", accounts[0]))
    error = caught.value
    assert harness.sleeps == [] and len(harness.transport.requests) == 1
    assert error.code == 190
    assert "Reconnect the Meta account" in str(error) and "Session has expired" in str(error)
    for text in (str(error), repr(error), repr(error.args), error.message):
        assert TOKEN not in text
    assert error.__cause__ is None and error.__context__ is None


def test_invalid_token_fails_fast_even_mid_insights(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    wrong = "EAAB-not-a-valid-token-42"
    harness = make(token=wrong)
    with pytest.raises(CredentialsError) as caught:
        list(harness.connector.read("ads_insights_daily", accounts[0], DAY, DAY))
    assert wrong not in str(caught.value) and harness.sleeps == []

    harness = make()
    sandbox.faults.add("meta", "bad_token", path="/insights", times=1)  # the submission
    with pytest.raises(CredentialsError):
        _read_day(harness, accounts[0])
    assert harness.backoffs() == []


def test_missing_token_is_a_credentials_error() -> None:
    with pytest.raises(CredentialsError, match="connect the Meta account"):
        MetaConnector("http://127.0.0.1:9/meta", Credentials())


def test_token_never_appears_in_urls_logs_or_errors(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    account_id = accounts[0]
    # Meta's own next links carry the token...
    raw = _raw_get(sandbox, f"act_{account_id}/ads", {"fields": "id", "limit": 2})
    assert f"access_token={TOKEN}" in raw["paging"]["next"]

    caplog.set_level(logging.DEBUG)
    sandbox.faults.add("meta", "server_error", path="/ads", times=1, status=503)
    sandbox.faults.add("meta", "async_failed", times=1)
    harness = make(page_limit=2)
    assert _records(list(harness.connector.read("ads", account_id)))
    assert _read_day(harness, account_id)
    # ...but the connector drops it from them and authenticates with a header instead.
    assert len(harness.transport.requests) > 10
    for request in harness.transport.requests:
        assert TOKEN not in str(request.url) and "access_token" not in request.url.params
        assert TOKEN not in request.content.decode()
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text
    assert TOKEN not in json.dumps(harness.stats)

    redacted = harness.connector.redact(raw["paging"]["next"])
    assert TOKEN not in redacted and "access_token=[REDACTED]" in redacted


# --------------------------------------------------------------------------------------------------
# Write-back
# --------------------------------------------------------------------------------------------------


def test_update_campaign_writes_status_and_budget(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(world=_world()) as own:
        harness = make(server=own)
        connector = harness.connector
        campaign = next(
            c
            for c in own.world.campaigns("meta", accounts[0])
            if own.world.campaign_status(c) == "ACTIVE" and c.lifetime_budget is None
        )
        assert connector.update_campaign(campaign.id, status="PAUSED", daily_budget=12_345) == {
            "success": True
        }
        posted = dict(
            httpx.QueryParams(harness.transport.matching("POST", f"/{campaign.id}")[0].content.decode())
        )
        assert posted == {"status": "PAUSED", "daily_budget": "12345"}
        records = _records(list(connector.read("campaigns", accounts[0])))
        updated = next(r for r in records if r["id"] == campaign.id)
        assert updated["status"] == "PAUSED" and updated["daily_budget"] == "12345"

        with pytest.raises(ValueError, match="minor units"):
            connector.update_campaign(campaign.id, daily_budget=123.45)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ACTIVE or PAUSED"):
            connector.update_campaign(campaign.id, status="DELETED")
        with pytest.raises(ValueError, match="nothing to update"):
            connector.update_campaign(campaign.id)
