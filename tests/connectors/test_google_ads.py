"""GoogleAdsConnector against the real sandbox server, over real HTTP.

Nothing here mocks Google's protocol: the connector talks to ``pipeline.sandbox`` through httpx,
faults are injected into the server, and expectations come from the simulator's world (ground truth)
or from a plain request to the same fake API. Sleeping goes through a recording fake, so backoff
and quota waits are asserted on without waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import Credentials, TokenGrant
from pipeline.connectors.google_ads import (
    GOOGLE_ADS_STREAMS,
    INSIGHTS_FIELDS,
    AccountNotEnabledError,
    GoogleAdsConnector,
    gaql,
    normalize_customer_id,
)
from pipeline.connectors.http import ApiError, CredentialsError, RateLimitedError, RetryPolicy, TransientError
from pipeline.sandbox import SANDBOX_TOKENS, SandboxServer, World
from pipeline.sandbox.google_ads_api import (
    SANDBOX_DEVELOPER_TOKEN,
    TOKEN_PATH,
    GoogleAdsApi,
    GoogleAdsApiSettings,
)
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
from tests.connectors import support

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # London 12:00, Los Angeles 04:00
TOKEN = SANDBOX_TOKENS["google_ads"]
REFRESH_TOKEN = sandbox_refresh_token("google_ads")
DAY = date(2026, 11, 17)
RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0)
SECRETS = (TOKEN, REFRESH_TOKEN, SANDBOX_CLIENT_SECRET, SANDBOX_DEVELOPER_TOKEN)


def _world() -> World:
    return support.pinned_world(TODAY, NOW)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(world=_world()) as server:
        yield server


@pytest.fixture(scope="module")
def accounts(sandbox: SandboxServer) -> list[str]:
    return [a.id for a in sandbox.world.accounts("google_ads")]


def _api(server: SandboxServer) -> GoogleAdsApi:
    mount = next(r for r in server.app.routes if getattr(r, "path", "") == "/google_ads")
    return mount.app.state.api  # type: ignore[attr-defined]


class RecordingTransport(support.RecordingTransport):
    """A real HTTP transport that remembers what went over the wire."""

    def queries(self, suffix: str = "googleAds:searchStream") -> list[str]:
        return [json.loads(r.content)["query"] for r in self.matching("POST", suffix)]


@dataclass
class Harness:
    connector: GoogleAdsConnector
    transport: RecordingTransport
    sleeps: list[float] = field(default_factory=list)
    grants: list[TokenGrant] = field(default_factory=list)

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        return self.connector.stats


MakeHarness = Callable[..., Harness]


def _credentials(server: SandboxServer, *, oauth: bool = False, **overrides: Any) -> Credentials:
    """Sandbox credentials; the manager is the login customer unless ``login_customer_id=None``."""
    values: dict[str, Any] = {
        "access_token": TOKEN,
        "developer_token": SANDBOX_DEVELOPER_TOKEN,
        "login_customer_id": _api(server).manager.id,
    }
    if oauth:
        values.update(
            refresh_token=REFRESH_TOKEN,
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
            token_url=f"{server.base_url('google_ads')}{TOKEN_PATH}",
        )
    values.update(overrides)
    return Credentials(**values)


@pytest.fixture
def make(sandbox: SandboxServer) -> Iterator[MakeHarness]:
    created: list[GoogleAdsConnector] = []

    def factory(
        server: SandboxServer | None = None,
        credentials: Credentials | None = None,
        **overrides: Any,
    ) -> Harness:
        target = server or sandbox
        sleeps: list[float] = []
        grants: list[TokenGrant] = []
        transport = RecordingTransport()
        options: dict[str, Any] = {
            "retry": RETRY,
            "sleep": sleeps.append,
            "clock": target.world.clock,  # the sandbox's pinned "now", never the real date
            "transport": transport,
            "timeout": 5.0,
            "on_token_refresh": grants.append,
            **overrides,
        }
        connector = GoogleAdsConnector(
            target.base_url("google_ads"), credentials or _credentials(target), **options
        )
        created.append(connector)
        return Harness(connector, transport, sleeps, grants)

    yield factory
    for connector in created:
        connector.close()


def _raw_stream(server: SandboxServer, customer_id: str, query: str) -> list[dict[str, Any]]:
    """A plain searchStream request to the fake, outside the connector: the reference for "verbatim"."""
    response = httpx.post(
        f"{server.base_url('google_ads')}/v23/customers/{customer_id}/googleAds:searchStream",
        json={"query": query},
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "developer-token": SANDBOX_DEVELOPER_TOKEN,
            "login-customer-id": _api(server).manager.id,
        },
        timeout=10,
    )
    response.raise_for_status()
    return [row for batch in response.json() for row in batch.get("results", [])]


def _records(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    assert all(pages), "no empty pages are yielded"
    return [record for page in pages for record in page]


def _ad_days(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["adGroupAd"]["ad"]["id"], r["segments"]["date"]) for r in records]


def _expected_ad_days(world: World, account_id: str, since: date, until: date) -> dict[tuple[str, str], Any]:
    """Ground truth: (ad id, day) -> metrics as the platform reports them now (complete days)."""
    expected = {}
    for ad in world.ads("google_ads", account_id):
        day = since
        while day <= until:
            metrics = world.ad_day(ad, day)
            if metrics is not None and (metrics.impressions > 0 or metrics.spend > 0):
                expected[(ad.id, day.isoformat())] = metrics
            day += timedelta(days=1)
    return expected


def _assert_matches_truth(records: list[dict[str, Any]], expected: dict[tuple[str, str], Any]) -> None:
    keys = _ad_days(records)
    assert len(keys) == len(set(keys)), "an ad-day arrived twice"
    assert set(keys) == set(expected)
    for record in records:
        truth = expected[(record["adGroupAd"]["ad"]["id"], record["segments"]["date"])]
        metrics = record["metrics"]
        assert int(metrics["costMicros"]) / 1_000_000 == pytest.approx(truth.spend)
        assert int(metrics["impressions"]) == truth.impressions and int(metrics["clicks"]) == truth.clicks
        assert metrics["conversions"] == truth.conversions
        assert metrics["conversionsValue"] == pytest.approx(truth.conversion_value)


def _insights_query(since: date, until: date) -> str:
    where = [f"segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'"]
    return gaql("ad_group_ad", INSIGHTS_FIELDS, where)


def _by_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r["adGroupAd"]["ad"]["id"], r["segments"]["date"]))


# --------------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------------


def test_streams_match_the_raw_table_contract() -> None:
    assert CONNECTORS["google_ads"] is GoogleAdsConnector
    assert GoogleAdsConnector.platform == "google_ads"
    tables = {
        name: (s.table, s.key_names, [k.path for k in s.keys], s.window_column)
        for name, s in GOOGLE_ADS_STREAMS.items()
    }
    assert tables == {
        "ad_accounts": ("google_ads_ad_accounts", ("account_id",), ["customer.id"], None),
        "campaigns": (
            "google_ads_campaigns",
            ("account_id", "campaign_id"),
            ["customer.id", "campaign.id"],
            None,
        ),
        "ad_groups": (
            "google_ads_ad_groups",
            ("account_id", "ad_group_id"),
            ["customer.id", "adGroup.id"],
            None,
        ),
        "ads": ("google_ads_ads", ("account_id", "ad_id"), ["customer.id", "adGroupAd.ad.id"], None),
        "ads_insights_daily": (
            "google_ads_ads_insights_daily",
            ("account_id", "ad_id", "segments_date"),
            ["customer.id", "adGroupAd.ad.id", "segments.date"],
            "segments_date",
        ),
        "ads_insights_hourly": (
            "google_ads_ads_insights_hourly",
            ("account_id", "ad_id", "segments_date", "segments_hour"),
            ["customer.id", "adGroupAd.ad.id", "segments.date", "segments.hour"],
            "segments_date",
        ),
    }
    assert [k.pg_type for k in GOOGLE_ADS_STREAMS["ads_insights_hourly"].keys] == [
        "text",
        "text",
        "date",
        "integer",
    ]
    assert GoogleAdsConnector.restatement_lookback_days == 30


def test_ids_and_construction_are_validated(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    assert normalize_customer_id("123-456-7890") == "1234567890"
    with pytest.raises(ValueError, match="10 digits"):
        normalize_customer_id("12345")
    connector = make().connector
    with pytest.raises(ValueError, match="unknown Google Ads stream"):
        list(connector.read("keywords", accounts[0]))
    with pytest.raises(ValueError, match="after until"):
        list(connector.read("ads_insights_daily", accounts[0], DAY, DAY - timedelta(days=1)))
    with pytest.raises(CredentialsError, match="developer token"):
        GoogleAdsConnector(sandbox.base_url("google_ads"), Credentials(access_token=TOKEN))
    with pytest.raises(CredentialsError, match="no OAuth token"):
        GoogleAdsConnector(
            sandbox.base_url("google_ads"), Credentials(developer_token=SANDBOX_DEVELOPER_TOKEN)
        )


# --------------------------------------------------------------------------------------------------
# Accounts: manager hierarchy, disabled clients skipped
# --------------------------------------------------------------------------------------------------


def test_discovers_clients_under_the_manager_skipping_managers_and_cancelled(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    api = _api(sandbox)
    harness = make(credentials=_credentials(sandbox, login_customer_id=None))
    assert harness.connector.list_account_ids() == accounts
    assert api.cancelled.id not in accounts and api.manager.id not in accounts
    assert len(harness.transport.matching("GET", "customers:listAccessibleCustomers")) == 1
    # The manager's hierarchy, then the cancelled customer's (which answers CUSTOMER_NOT_ENABLED).
    hierarchy_reads = harness.transport.matching("POST", "googleAds:searchStream")
    assert [r.url.path.split("/")[4] for r in hierarchy_reads] == [api.manager.id, api.cancelled.id]
    assert [r.headers["login-customer-id"] for r in hierarchy_reads] == [api.manager.id, api.cancelled.id]

    # Reads of a client go through the manager it was found under.
    assert _records(list(harness.connector.read("ad_accounts", accounts[0])))
    read = harness.transport.matching("POST", "googleAds:searchStream")[-1]
    assert read.headers["login-customer-id"] == api.manager.id
    assert read.headers["developer-token"] == SANDBOX_DEVELOPER_TOKEN
    assert harness.transport.queries()[-1].startswith("SELECT customer.id, customer.descriptive_name")


def test_configured_accounts_and_login_customer_need_no_discovery(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    api = _api(sandbox)
    dashed = f"{accounts[1][:3]}-{accounts[1][3:6]}-{accounts[1][6:]}"
    harness = make(account_ids=[dashed])
    assert harness.connector.list_account_ids() == [accounts[1]]
    assert harness.transport.requests == []
    assert len(_records(list(harness.connector.read("campaigns", accounts[1])))) == 4
    assert all(r.headers["login-customer-id"] == api.manager.id for r in harness.transport.requests)
    assert harness.transport.matching("GET", "customers:listAccessibleCustomers") == []

    # With a login customer id, discovery lists that manager's hierarchy only.
    listing = make()
    assert listing.connector.list_account_ids() == accounts
    assert listing.transport.matching("GET", "customers:listAccessibleCustomers") == []


def test_a_cancelled_account_fails_alone_not_as_a_credentials_error(
    make: MakeHarness, sandbox: SandboxServer
) -> None:
    cancelled = _api(sandbox).cancelled.id
    harness = make(account_ids=[cancelled])
    with pytest.raises(AccountNotEnabledError, match="not enabled") as caught:
        list(harness.connector.read("campaigns", cancelled))
    assert not isinstance(caught.value, CredentialsError)
    assert caught.value.code == "authorizationError.CUSTOMER_NOT_ENABLED"
    assert harness.sleeps == []


# --------------------------------------------------------------------------------------------------
# Entities and insights: verbatim, every ad-day exactly once, equal to the ground truth
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "world_objects", "id_path"),
    [
        ("campaigns", "campaigns", ("campaign", "id")),
        ("ad_groups", "ad_groups", ("adGroup", "id")),
        ("ads", "ads", ("adGroupAd", "ad", "id")),
    ],
)
def test_entities_arrive_verbatim_with_their_account(
    make: MakeHarness,
    sandbox: SandboxServer,
    accounts: list[str],
    stream: str,
    world_objects: str,
    id_path: tuple[str, ...],
) -> None:
    harness = make()
    account_id = accounts[1]
    records = _records(list(harness.connector.read(stream, account_id)))
    assert records == _raw_stream(sandbox, account_id, harness.transport.queries()[-1])

    def object_id(record: dict[str, Any]) -> str:
        value: Any = record
        for part in id_path:
            value = value[part]
        return value

    expected = {o.id for o in getattr(sandbox.world, world_objects)("google_ads", account_id)}
    assert {object_id(r) for r in records} == expected and len(records) == len(expected)
    assert all(r["customer"]["id"] == account_id for r in records)
    assert all(GOOGLE_ADS_STREAMS[stream].key_values(r) == (account_id, object_id(r)) for r in records)


def test_account_snapshot_has_currency_and_timezone(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    record = _records(list(make().connector.read("ad_accounts", accounts[1])))
    account = sandbox.world.account("google_ads", accounts[1])
    assert record == [
        {
            "customer": {
                "resourceName": f"customers/{account.id}",
                "id": account.id,
                "descriptiveName": account.name,
                "currencyCode": account.currency,
                "timeZone": account.timezone,
                "status": "ENABLED",
                "manager": False,
                "testAccount": False,
                "autoTaggingEnabled": True,
            }
        }
    ]


def test_daily_insights_every_ad_day_once_equal_to_ground_truth(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    since, until = TODAY - timedelta(days=30), TODAY - timedelta(days=1)  # spans both accounts' DST change
    for account_id in accounts:
        harness = make(days_per_query=7)
        records = _records(list(harness.connector.read("ads_insights_daily", account_id, since, until)))
        _assert_matches_truth(records, _expected_ad_days(sandbox.world, account_id, since, until))
        assert _by_key(records) == _by_key(_raw_stream(sandbox, account_id, _insights_query(since, until)))
        queries = harness.transport.queries()
        assert len(queries) == 5  # 30 days in 7-day queries
        assert "BETWEEN '2026-10-21' AND '2026-10-27'" in queries[0]
        assert all(q.startswith("SELECT customer.id,") and "FROM ad_group_ad" in q for q in queries)

    sample = records[0]
    assert isinstance(sample["metrics"]["costMicros"], str) and isinstance(
        sample["metrics"]["impressions"], str
    )
    assert GOOGLE_ADS_STREAMS["ads_insights_daily"].key_values(sample) == (
        sample["customer"]["id"],
        sample["adGroupAd"]["ad"]["id"],
        sample["segments"]["date"],
    )


def test_search_paging_gives_the_same_records(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(_world(), settings={"google_ads": GoogleAdsApiSettings(page_size=5)}) as small:
        since, until = DAY - timedelta(days=3), DAY
        streamed = make(server=small)
        paged = make(server=small, use_search_stream=False)
        expected = _records(list(streamed.connector.read("ads_insights_daily", accounts[0], since, until)))
        records = _records(list(paged.connector.read("ads_insights_daily", accounts[0], since, until)))
        assert records == expected
        pages = paged.transport.matching("POST", "googleAds:search")
        assert len(pages) == -(-len(records) // 5)
        assert "pageToken" not in json.loads(pages[0].content)
        assert all("pageToken" in json.loads(p.content) for p in pages[1:])
        assert all("pageSize" not in json.loads(p.content) for p in pages)


def test_expired_page_token_restarts_and_keeps_every_ad_day_once(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    with SandboxServer(_world(), settings={"google_ads": GoogleAdsApiSettings(page_size=5)}) as small:
        account_id = accounts[0]
        since, until = DAY - timedelta(days=3), DAY
        small.faults.add("google_ads", "expired_page_token", times=1)
        harness = make(server=small, use_search_stream=False)
        records = _records(list(harness.connector.read("ads_insights_daily", account_id, since, until)))
        _assert_matches_truth(records, _expected_ad_days(small.world, account_id, since, until))
        stats = harness.stats["POST /customers/{id}/googleAds:search"]
        assert stats["page_token_restarts"] == 1 and harness.sleeps == []
        firsts = [
            r for r in harness.transport.matching("POST", "googleAds:search") if b"pageToken" not in r.content
        ]
        assert len(firsts) == 2  # the query ran twice; rows already yielded were skipped the second time

        small.faults.add("google_ads", "expired_page_token", times=-1)
        stubborn = make(server=small, use_search_stream=False)
        with pytest.raises(ApiError, match="page tokens kept expiring"):
            list(stubborn.connector.read("ads_insights_daily", account_id, since, until))


def test_hourly_rows_are_local_and_add_up_to_the_day(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    world = sandbox.world
    london = next(a.id for a in world.accounts("google_ads") if a.timezone == "Europe/London")
    fall_back = date(2026, 10, 25)
    harness = make()
    hourly = _records(list(harness.connector.read("ads_insights_hourly", london, fall_back, fall_back)))
    keys = [GOOGLE_ADS_STREAMS["ads_insights_hourly"].key_values(r) for r in hourly]
    assert len(keys) == len(set(keys))
    assert all(isinstance(k[3], int) for k in keys)
    totals: dict[str, int] = {}
    for record in hourly:
        ad_id = record["adGroupAd"]["ad"]["id"]
        totals[ad_id] = totals.get(ad_id, 0) + int(record["metrics"]["impressions"])
    truth = _expected_ad_days(world, london, fall_back, fall_back)
    assert totals == {ad_id: m.impressions for (ad_id, _), m in truth.items()}

    # Defaults: today and the two days before, one query per day; today's hours so far only.
    recent = make()
    records = _records(list(recent.connector.read("ads_insights_hourly", london)))
    expected_days = [TODAY - timedelta(days=n) for n in (2, 1, 0)]  # on the connector's (pinned) clock
    queries = recent.transport.queries()
    assert all(f"BETWEEN '{d}' AND '{d}'" in q for q, d in zip(queries, expected_days, strict=True))
    assert all(r["segments"]["date"] <= TODAY.isoformat() for r in records)  # nothing from the future
    assert max(r["segments"]["hour"] for r in records if r["segments"]["date"] == TODAY.isoformat()) <= 12


def test_a_restated_day_converges_to_the_new_values(make: MakeHarness, accounts: list[str]) -> None:
    world = _world()
    with SandboxServer(world) as own:
        account_id = accounts[0]
        day = TODAY - timedelta(days=2)
        first = _records(list(make(server=own).connector.read("ads_insights_daily", account_id, day, day)))
        world.advance(days=10)
        second = _records(list(make(server=own).connector.read("ads_insights_daily", account_id, day, day)))
        _assert_matches_truth(second, _expected_ad_days(world, account_id, day, day))
        assert sum(r["metrics"]["conversions"] for r in second) > sum(
            r["metrics"]["conversions"] for r in first
        )
        world.advance(days=30)
        final = _records(list(make(server=own).connector.read("ads_insights_daily", account_id, day, day)))
        for record in final:
            ad = world.ad("google_ads", record["adGroupAd"]["ad"]["id"])
            assert record["metrics"]["conversions"] == world.truth_ad_day(ad, day).conversions


# --------------------------------------------------------------------------------------------------
# Quota, transient errors, broken bodies
# --------------------------------------------------------------------------------------------------


def test_short_quota_delay_is_waited_then_retried(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("google_ads", "throttle", path="googleAds:searchStream", times=1, retry_seconds=30)
    harness = make()
    assert len(_records(list(harness.connector.read("campaigns", accounts[0])))) == 4
    assert harness.sleeps == [30.0]
    stats = harness.stats["POST /customers/{id}/googleAds:searchStream"]
    assert stats["throttled"] == 1 and stats["retries"] == 1


def test_quota_asking_for_hours_fails_clearly_without_sleeping(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("google_ads", "throttle", times=1, retry_seconds=40591)
    harness = make()
    with pytest.raises(RateLimitedError, match="asks to wait 677 min") as caught:
        list(harness.connector.read("ads_insights_daily", accounts[0], DAY, DAY))
    error = caught.value
    assert error.code == "quotaError.RESOURCE_EXHAUSTED" and error.retry_after == 40591.0
    assert "DEVELOPER: Number of operations for basic access" in str(error)
    assert harness.sleeps == []


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("server_error", {}),
        ("server_error", {"status": 503}),
        ("transient_error", {}),
        ("deadline_exceeded", {}),
        ("malformed_json", {}),
        ("truncated_json", {}),
        ("stream_error", {}),
    ],
)
def test_transient_failures_are_retried_and_the_result_is_complete(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], kind: str, params: dict[str, Any]
) -> None:
    account_id = accounts[0]
    sandbox.faults.add("google_ads", kind, path="googleAds:searchStream", times=3, **params)
    harness = make()
    records = _records(list(harness.connector.read("ads_insights_daily", account_id, DAY, DAY)))
    _assert_matches_truth(records, _expected_ad_days(sandbox.world, account_id, DAY, DAY))
    assert harness.sleeps == [1.0, 2.0, 4.0]
    assert harness.stats["POST /customers/{id}/googleAds:searchStream"]["errors"] == 3


def test_retries_run_out_with_a_clear_message(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("google_ads", "transient_error", times=4)
    harness = make()
    with pytest.raises(TransientError, match="gave up after 4 attempts") as caught:
        list(harness.connector.read("campaigns", accounts[0]))
    assert "internalError.TRANSIENT_ERROR" in str(caught.value)


def test_timeouts_are_retried(make: MakeHarness, sandbox: SandboxServer, accounts: list[str]) -> None:
    sandbox.faults.add("google_ads", "timeout", path="googleAds:searchStream", times=1, seconds=1.0)
    harness = make(timeout=0.25)
    assert len(_records(list(harness.connector.read("campaigns", accounts[0])))) == 4
    assert harness.sleeps == [1.0]


def test_query_errors_are_not_retried(make: MakeHarness, sandbox: SandboxServer, accounts: list[str]) -> None:
    harness = make()
    with pytest.raises(ApiError, match="UNRECOGNIZED_FIELD") as caught:
        harness.connector._rows(accounts[0], "SELECT campaign.start_date FROM campaign")
    assert not caught.value.retryable and harness.sleeps == []
    assert "request id" in str(caught.value)


# --------------------------------------------------------------------------------------------------
# OAuth and secrets
# --------------------------------------------------------------------------------------------------


def test_expired_access_token_is_refreshed_once_and_the_call_retried(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("google_ads", "token_expired", path="googleAds:searchStream", times=1)
    harness = make(credentials=_credentials(sandbox, oauth=True))
    assert len(_records(list(harness.connector.read("campaigns", accounts[0])))) == 4
    assert len(harness.grants) == 1 and harness.sleeps == []
    refreshed = harness.grants[0].access_token
    token_calls = harness.transport.matching("POST", TOKEN_PATH)
    assert len(token_calls) == 1
    form = dict(httpx.QueryParams(token_calls[0].content.decode()))
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == REFRESH_TOKEN
    last = harness.transport.matching("POST", "googleAds:searchStream")[-1]
    assert last.headers["authorization"] == f"Bearer {refreshed}"
    assert last.headers["developer-token"] == SANDBOX_DEVELOPER_TOKEN


def test_tokens_expire_with_the_clock_and_are_refreshed(make: MakeHarness, accounts: list[str]) -> None:
    world = _world()
    with SandboxServer(world) as own:
        # Only a refresh token stored: the first call fetches an access token.
        harness = make(server=own, credentials=_credentials(own, oauth=True, access_token=""))
        assert _records(list(harness.connector.read("ad_accounts", accounts[0])))
        assert len(harness.grants) == 1
        world.advance(hours=2)  # the issued token is now an hour past its expiry
        assert _records(list(harness.connector.read("ad_accounts", accounts[0])))
        assert len(harness.grants) == 2 and harness.grants[0].access_token != harness.grants[1].access_token


def test_invalid_grant_is_a_credentials_error_without_secrets(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("google_ads", "token_expired", times=1)
    sandbox.faults.add("google_ads", "invalid_grant", times=1)
    harness = make(credentials=_credentials(sandbox, oauth=True))
    with pytest.raises(CredentialsError, match="invalid_grant") as caught:
        list(harness.connector.read("campaigns", accounts[0]))
    text = f"{caught.value} {caught.value!r} {caught.value.args}"
    assert "Reconnect the Google Ads account" in text
    assert not any(secret in text for secret in SECRETS)
    assert harness.sleeps == [] and harness.grants == []


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("bad_token", "authenticationError.OAUTH_TOKEN_INVALID"),
        ("bad_developer_token", "authenticationError.DEVELOPER_TOKEN_INVALID"),
        ("permission_denied", "authorizationError.USER_PERMISSION_DENIED"),
    ],
)
def test_credential_problems_fail_fast(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], kind: str, code: str
) -> None:
    sandbox.faults.add("google_ads", kind, path="googleAds:searchStream", times=1)
    harness = make()  # a static token: nothing to refresh with
    with pytest.raises(CredentialsError) as caught:
        list(harness.connector.read("campaigns", accounts[0]))
    assert code in str(caught.value) and "Reconnect the Google Ads account" in str(caught.value)
    assert harness.sleeps == [] and len(harness.transport.matching("POST", "googleAds:searchStream")) == 1
    assert not any(secret in str(caught.value) for secret in SECRETS)


def test_bad_developer_token_is_not_refreshed_away(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add("google_ads", "bad_developer_token", path="googleAds:searchStream", times=1)
    harness = make(credentials=_credentials(sandbox, oauth=True))
    with pytest.raises(CredentialsError, match="DEVELOPER_TOKEN_INVALID"):
        list(harness.connector.read("campaigns", accounts[0]))
    assert harness.transport.matching("POST", TOKEN_PATH) == [] and harness.grants == []


def test_secrets_never_appear_in_urls_logs_stats_or_errors(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.faults.add("google_ads", "token_expired", times=1)
    sandbox.faults.add("google_ads", "server_error", path="googleAds:searchStream", times=1)
    harness = make(credentials=_credentials(sandbox, oauth=True))
    assert _records(list(harness.connector.read("ads_insights_daily", accounts[0], DAY, DAY)))
    secrets = [*SECRETS, harness.grants[0].access_token]
    for request in harness.transport.requests:
        assert not any(secret in str(request.url) for secret in secrets)
    for request in harness.transport.matching("POST", "googleAds:searchStream"):
        assert not any(secret in request.content.decode() for secret in secrets)
    assert not any(secret in caplog.text for secret in secrets)
    assert not any(secret in json.dumps(harness.stats) for secret in secrets)
    assert harness.connector.redact(f"developer-token: {SANDBOX_DEVELOPER_TOKEN}").count("[REDACTED]") == 1


# --------------------------------------------------------------------------------------------------
# Write-back
# --------------------------------------------------------------------------------------------------


def test_update_campaign_writes_status_and_budget_in_micros(make: MakeHarness, accounts: list[str]) -> None:
    world = _world()
    with SandboxServer(world) as own:
        harness = make(server=own)
        connector = harness.connector
        campaign = next(
            c
            for c in world.campaigns("google_ads", accounts[0])
            if world.campaign_status(c) == "ACTIVE" and c.lifetime_budget is None
        )
        result = connector.update_campaign(
            campaign.id, status="PAUSED", daily_budget=123.456
        )  # account found
        assert result["account_id"] == accounts[0] and result["amount_micros"] == "123460000"
        assert result["status"] == "PAUSED" and len(result["results"]) == 2
        budget_post = json.loads(harness.transport.matching("POST", "campaignBudgets:mutate")[0].content)
        assert budget_post["operations"][0]["update"]["amountMicros"] == "123460000"
        assert budget_post["operations"][0]["updateMask"] == "amountMicros"
        status_post = json.loads(harness.transport.matching("POST", "campaigns:mutate")[0].content)
        assert status_post["operations"][0] == {
            "update": {
                "resourceName": f"customers/{accounts[0]}/campaigns/{campaign.id}",
                "status": "PAUSED",
            },
            "updateMask": "status",
        }
        assert world.campaign_status(campaign) == "PAUSED" and world.campaign_daily_budget(campaign) == 123.46
        records = _records(list(connector.read("campaigns", accounts[0])))
        updated = next(r for r in records if r["campaign"]["id"] == campaign.id)
        assert updated["campaign"]["status"] == "PAUSED"
        assert updated["campaignBudget"]["amountMicros"] == "123460000"

        connector.update_campaign(campaign.id, status="ACTIVE", account_id=accounts[0])
        assert world.campaign_status(campaign) == "ACTIVE"

        lifetime = next(c for c in world.campaigns("google_ads") if c.lifetime_budget is not None)
        with pytest.raises(ApiError, match="CUSTOM_PERIOD"):
            connector.update_campaign(lifetime.id, daily_budget=50.0, account_id=lifetime.account_id)
        with pytest.raises(ValueError, match="ACTIVE or PAUSED"):
            connector.update_campaign(campaign.id, status="REMOVED")
        with pytest.raises(ValueError, match="nothing to update"):
            connector.update_campaign(campaign.id)
        with pytest.raises(ValueError, match="positive"):
            connector.update_campaign(campaign.id, daily_budget=0)
        with pytest.raises(ApiError, match="none of this connection's accounts"):
            connector.update_campaign("12345", status="PAUSED")
