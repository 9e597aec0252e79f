"""LinkedInConnector against the real sandbox server, over real HTTP.

The connector talks to ``pipeline.sandbox.linkedin_api`` through httpx; faults are injected into the
server; expectations come from the simulator's world (ground truth) or a plain request to the fake.
Sleeping goes through a recording fake and the connector's clock is the world's (pinned).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import CampaignWriter, Credentials, TokenGrant
from pipeline.connectors.http import ApiError, CredentialsError, RateLimitedError, RetryPolicy
from pipeline.connectors.linkedin import API_VERSION, LINKEDIN_STREAMS, LinkedInConnector, urn_id
from pipeline.sandbox import SANDBOX_TOKENS, SandboxServer, World
from pipeline.sandbox.linkedin_api import TOKEN_PATH, LinkedInApiSettings
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
from tests.connectors import support
from tests.connectors.support import RecordingTransport

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = SANDBOX_TOKENS["linkedin"]
REFRESH_TOKEN = sandbox_refresh_token("linkedin")
RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0)
SINCE, UNTIL = date(2026, 11, 1), date(2026, 11, 19)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    settings = {"linkedin": LinkedInApiSettings(max_analytics_elements=200)}  # splits on a small world
    with SandboxServer(world=support.pinned_world(TODAY, NOW), settings=settings) as server:
        yield server


@pytest.fixture(scope="module")
def account(sandbox: SandboxServer) -> str:
    return sandbox.world.accounts("linkedin")[0].id


@dataclass
class Harness:
    connector: LinkedInConnector
    transport: RecordingTransport
    sleeps: list[float] = field(default_factory=list)
    grants: list[TokenGrant] = field(default_factory=list)

    def analytics_requests(self) -> list[httpx.Request]:
        return self.transport.matching("GET", "/rest/adAnalytics")


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
    created: list[LinkedInConnector] = []

    def factory(credentials: Credentials | None = None, **overrides: Any) -> Harness:
        transport = RecordingTransport()
        harness = Harness(None, transport)  # type: ignore[arg-type]
        credentials = credentials or Credentials(access_token=TOKEN)
        if credentials.refresh_token:
            credentials = replace(credentials, token_url=f"{sandbox.base_url('linkedin')}{TOKEN_PATH}")
        options: dict[str, Any] = {
            "page_size": 3,
            "retry": RETRY,
            "sleep": harness.sleeps.append,
            "transport": transport,
            "timeout": 5.0,
            "clock": sandbox.world.clock,
            "on_token_refresh": harness.grants.append,
            **overrides,
        }
        harness.connector = LinkedInConnector(sandbox.base_url("linkedin"), credentials, **options)
        created.append(harness.connector)
        return harness

    yield factory
    for connector in created:
        connector.close()
    sandbox.faults.clear()


def _raw(
    sandbox: SandboxServer, path: str, query: str = "", headers: dict[str, str] | None = None
) -> httpx.Response:
    """A plain request to the fake, outside the connector."""
    default = {"Authorization": f"Bearer {TOKEN}", "LinkedIn-Version": API_VERSION,
               "X-Restli-Protocol-Version": "2.0.0"}  # fmt: skip
    url = f"{sandbox.base_url('linkedin')}/rest/{path}" + (f"?{query}" if query else "")
    return httpx.get(url, headers={**default, **(headers or {})}, timeout=10)


def _read(harness: Harness, stream: str, account: str, since: date | None = None, until: date | None = None):
    pages = list(harness.connector.read(stream, account, since, until))
    assert all(pages), "no empty pages are yielded"
    return [record for page in pages for record in page]


def _truth(world: World, account: str, since: date, until: date) -> dict[tuple[str, str], Any]:
    truth = {}
    for ad in world.ads("linkedin", account):
        day = since
        while day <= until:
            metrics = world.ad_day(ad, day)
            if metrics is not None and (metrics.impressions or metrics.spend):
                truth[(ad.id, day.isoformat())] = metrics
            day += timedelta(days=1)
    return truth


# --------------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------------


def test_streams_match_the_raw_table_contract() -> None:
    assert LinkedInConnector.platform == "linkedin"
    assert set(LINKEDIN_STREAMS) == {
        "ad_accounts",
        "campaign_groups",
        "campaigns",
        "creatives",
        "ads_insights_daily",
    }
    assert all(s.table.startswith("linkedin_") for s in LINKEDIN_STREAMS.values())
    assert not any(s.is_hourly for s in LINKEDIN_STREAMS.values()), "LinkedIn has no hourly reports"
    assert LINKEDIN_STREAMS["ads_insights_daily"].window_column == "report_date"
    assert CONNECTORS["linkedin"] is LinkedInConnector
    assert issubclass(LinkedInConnector, CampaignWriter)


def test_every_request_names_the_version_and_the_restli_protocol(make: MakeHarness, account: str) -> None:
    harness = make()
    _read(harness, "campaigns", account)
    for request in harness.transport.requests:
        assert request.url.path.startswith("/linkedin/rest/")
        assert request.headers["LinkedIn-Version"] == API_VERSION
        assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"


def test_the_fake_refuses_a_missing_or_sunset_version(sandbox: SandboxServer) -> None:
    missing = _raw(sandbox, "adAccounts", "q=search", {"LinkedIn-Version": ""})
    assert missing.status_code == 400 and missing.json()["code"] == "VERSION_MISSING"
    sunset = _raw(sandbox, "adAccounts", "q=search", {"LinkedIn-Version": "202206"})
    assert sunset.status_code == 426 and sunset.json()["code"] == "NONEXISTENT_VERSION"
    protocol = _raw(sandbox, "adAccounts", "q=search", {"X-Restli-Protocol-Version": "1.0.0"})
    assert protocol.status_code == 400


def test_lists_active_accounts_and_skips_the_canceled_one(make: MakeHarness, sandbox: SandboxServer) -> None:
    listed = make().connector.list_account_ids()
    assert listed == [a.id for a in sandbox.world.accounts("linkedin")]
    every = [str(a["id"]) for a in _raw(sandbox, "adAccounts", "q=search&pageSize=100").json()["elements"]]
    assert set(every) - set(listed), "the fake serves a canceled account the connector must skip"


def test_rejects_unknown_streams_and_bad_ids(make: MakeHarness, account: str) -> None:
    harness = make()
    with pytest.raises(ValueError, match="unknown LinkedIn stream"):
        list(harness.connector.read("ads_insights_hourly", account))
    with pytest.raises(ValueError, match="numeric"):
        list(harness.connector.read("campaigns", "act_12"))
    assert urn_id("urn:li:sponsoredCreative:42") == "42"


# --------------------------------------------------------------------------------------------------
# Entities and analytics
# --------------------------------------------------------------------------------------------------


def test_entities_arrive_verbatim_across_cursor_pages(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    harness = make()
    creatives = _read(harness, "creatives", account)
    assert len(harness.transport.matching("GET", "/creatives")) > 1, "small pages: the cursor was followed"
    reference = _raw(sandbox, f"adAccounts/{account}/creatives", "q=criteria&pageSize=1000").json()[
        "elements"
    ]
    assert [{k: v for k, v in c.items() if not k.startswith("_")} for c in creatives] == reference
    assert {c["_id"] for c in creatives} == {a.id for a in sandbox.world.ads("linkedin", account)}
    campaigns = _read(harness, "campaigns", account)
    assert {c["_id"] for c in campaigns} == {c.id for c in sandbox.world.campaigns("linkedin", account)}
    assert all(c["_account_id"] == account for c in campaigns)
    groups = _read(harness, "campaign_groups", account)
    assert {c["campaignGroup"].rsplit(":", 1)[1] for c in campaigns} == {g["_id"] for g in groups}


def test_daily_analytics_every_creative_day_exactly_once_and_true(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    records = _read(make(), "ads_insights_daily", account, SINCE, UNTIL)
    keys = [(r["_creative_id"], r["_date"]) for r in records]
    assert len(keys) == len(set(keys))
    truth = _truth(sandbox.world, account, SINCE, UNTIL)
    assert set(keys) == set(truth)
    for record in records:
        metrics = truth[(record["_creative_id"], record["_date"])]
        assert record["costInLocalCurrency"] == f"{metrics.spend:.2f}"
        assert record["conversionValueInLocalCurrency"] == f"{metrics.conversion_value:.2f}"
        assert (record["impressions"], record["clicks"], record["externalWebsiteConversions"]) == (
            metrics.impressions, metrics.clicks, metrics.conversions,
        )  # fmt: skip
        assert record["pivotValues"] == [f"urn:li:sponsoredCreative:{record['_creative_id']}"]


def test_analytics_query_speaks_restli(make: MakeHarness, account: str) -> None:
    harness = make()
    _read(harness, "ads_insights_daily", account, date(2026, 11, 18), date(2026, 11, 19))
    query = harness.analytics_requests()[0].url.query.decode()
    assert "q=analytics" in query and "pivot=CREATIVE" in query and "timeGranularity=DAILY" in query
    assert "dateRange=(start:(year:2026,month:11,day:18),end:(year:2026,month:11,day:19))" in query
    assert f"accounts=List(urn%3Ali%3AsponsoredAccount%3A{account})" in query


def test_too_large_an_answer_halves_the_window(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    """adAnalytics has no paging: over the element cap (200 here) the window is read in halves."""
    harness = make()
    records = _read(harness, "ads_insights_daily", account, SINCE, UNTIL)
    assert len(records) > 200
    assert len(harness.analytics_requests()) > 2
    assert {(r["_creative_id"], r["_date"]) for r in records} == set(
        _truth(sandbox.world, account, SINCE, UNTIL)
    )


def test_default_window_is_complete_utc_days_of_the_lookback(make: MakeHarness, account: str) -> None:
    records = _read(make(), "ads_insights_daily", account)
    days = {r["_date"] for r in records}
    assert max(days) <= (TODAY - timedelta(days=1)).isoformat()
    assert min(days) >= (TODAY - timedelta(days=31)).isoformat()


def test_restated_days_converge_on_re_read(make: MakeHarness, sandbox: SandboxServer, account: str) -> None:
    window = (TODAY - timedelta(days=3), TODAY - timedelta(days=2))
    before = _read(make(), "ads_insights_daily", account, *window)
    sandbox.world.now = NOW + timedelta(days=5)
    try:
        after = _read(make(), "ads_insights_daily", account, *window)
    finally:
        sandbox.world.now = NOW
    conversions = lambda rows: sum(r["externalWebsiteConversions"] for r in rows)  # noqa: E731
    assert conversions(after) >= conversions(before)
    assert [r["costInLocalCurrency"] for r in after] == [r["costInLocalCurrency"] for r in before]


# --------------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------------


def test_429_backs_off_and_recovers(make: MakeHarness, sandbox: SandboxServer, account: str) -> None:
    harness = make()
    sandbox.faults.add("linkedin", "throttle", times=2, path="/adAnalytics")
    assert _read(harness, "ads_insights_daily", account, UNTIL, UNTIL)
    assert harness.sleeps == [1.0, 2.0]
    assert harness.connector.stats["GET /rest/adAnalytics"]["throttled"] == 2


def test_a_429_storm_gives_up_clearly(make: MakeHarness, sandbox: SandboxServer, account: str) -> None:
    sandbox.faults.add("linkedin", "throttle", times=10, path="/adAnalytics")
    with pytest.raises(RateLimitedError, match=r"TOO_MANY_REQUESTS.*gave up after 4 attempts"):
        _read(make(), "ads_insights_daily", account, UNTIL, UNTIL)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(
    make: MakeHarness, sandbox: SandboxServer, account: str, status: int
) -> None:
    clean = _read(make(), "campaigns", account)
    sandbox.faults.add("linkedin", "server_error", times=2, path="/adCampaigns", status=status)
    assert _read(make(), "campaigns", account) == clean


def test_timeouts_and_broken_json_are_retried(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    clean = _read(make(), "ads_insights_daily", account, UNTIL, UNTIL)
    sandbox.faults.add("linkedin", "timeout", path="/adAnalytics", seconds=1.0)
    sandbox.faults.add("linkedin", "truncated_json", path="/adAnalytics")
    sandbox.faults.add("linkedin", "malformed_json", path="/adAnalytics")
    harness = make(timeout=0.5)
    assert _read(harness, "ads_insights_daily", account, UNTIL, UNTIL) == clean
    assert len(harness.sleeps) == 3


def test_duplicate_page_is_caught_by_the_keys(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    clean = _read(make(), "ads_insights_daily", account, UNTIL, UNTIL)
    sandbox.faults.add("linkedin", "duplicate_page", path="/adAnalytics")
    doubled = _read(make(), "ads_insights_daily", account, UNTIL, UNTIL)
    assert len(doubled) == 2 * len(clean)
    assert {(r["_creative_id"], r["_date"]) for r in doubled} == {
        (r["_creative_id"], r["_date"]) for r in clean
    }


# --------------------------------------------------------------------------------------------------
# OAuth
# --------------------------------------------------------------------------------------------------


def test_expired_token_is_refreshed_once_and_the_request_retried(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    harness = make(credentials=_oauth("stale-token"))
    sandbox.faults.add("linkedin", "token_expired", path="/adCampaigns")
    assert _read(harness, "campaigns", account)
    assert len(harness.grants) == 1
    assert harness.grants[0].expires_at == NOW + timedelta(days=60)


def test_tokens_expire_on_the_world_clock_and_are_refreshed(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    harness = make(credentials=_oauth())
    _read(harness, "ad_accounts", account)  # no access token yet: refreshed first
    assert len(harness.grants) == 1
    sandbox.world.now = NOW + timedelta(days=61)
    try:
        harness.connector.credentials = replace(harness.connector.credentials, expires_at=None)
        _read(harness, "ad_accounts", account)
    finally:
        sandbox.world.now = NOW
    assert len(harness.grants) == 2, "the 60-day token expired on the world clock and was refreshed"


def test_revoked_grant_is_a_credentials_error_without_secrets(
    make: MakeHarness, sandbox: SandboxServer, account: str, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.add("linkedin", "invalid_grant")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CredentialsError, match="Reconnect the LinkedIn account") as raised:
        _read(make(credentials=_oauth()), "ad_accounts", account)
    for secret in (REFRESH_TOKEN, SANDBOX_CLIENT_SECRET):
        assert secret not in str(raised.value) and secret not in caplog.text


def test_rejected_token_without_refresh_fails_fast(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    sandbox.faults.add("linkedin", "bad_token")
    harness = make()
    with pytest.raises(CredentialsError, match="INVALID_ACCESS_TOKEN"):
        _read(harness, "campaigns", account)
    assert harness.sleeps == []


def test_token_travels_only_in_the_header(make: MakeHarness, account: str) -> None:
    harness = make()
    _read(harness, "ads_insights_daily", account, UNTIL, UNTIL)
    for request in harness.transport.requests:
        assert TOKEN not in str(request.url)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"


# --------------------------------------------------------------------------------------------------
# Campaign writes
# --------------------------------------------------------------------------------------------------


def test_partial_update_writes_status_and_budget_and_reads_back(
    make: MakeHarness, sandbox: SandboxServer, account: str
) -> None:
    harness = make()
    campaign = next(c for c in sandbox.world.campaigns("linkedin", account) if c.lifetime_budget is None)
    before = harness.connector.campaign_state(campaign.id, account_id=account)
    assert (
        before["budget_type"] == "DAILY"
        and before["currency"] == sandbox.world.account("linkedin", account).currency
    )
    arguments = harness.connector.update_arguments(
        account_id=account, status=None, daily_budget=before["daily_budget"] + 25, currency=before["currency"]
    )
    after = harness.connector.update_campaign(campaign.id, **arguments)
    assert after["daily_budget"] == round(before["daily_budget"] + 25, 2)
    assert sandbox.world.campaign_daily_budget(campaign) == pytest.approx(before["daily_budget"] + 25)
    (write,) = harness.transport.matching("POST", f"/adCampaigns/{campaign.id}")
    assert write.headers["X-RestLi-Method"] == "PARTIAL_UPDATE"
    assert b'"$set"' in write.content and b'"currencyCode"' in write.content
    paused = harness.connector.update_campaign(
        campaign.id,
        **harness.connector.update_arguments(
            account_id=account, status="PAUSED", daily_budget=None, currency=""
        ),
    )
    assert (paused["status"], paused["platform_status"]) == ("PAUSED", "PAUSED")
    harness.connector.update_campaign(campaign.id, account_id=account, status="ACTIVE")


def test_a_refused_write_is_an_api_error(make: MakeHarness, sandbox: SandboxServer, account: str) -> None:
    harness = make()
    campaign = sandbox.world.campaigns("linkedin", account)[0]
    currency = sandbox.world.account("linkedin", account).currency
    with pytest.raises(ApiError, match="INVALID_BUDGET"):
        harness.connector.update_campaign(
            campaign.id, account_id=account, daily_budget=1.0, currency=currency
        )
    with pytest.raises(ValueError, match="account_id is required"):
        harness.connector.campaign_state(campaign.id)
