"""MicrosoftAdsConnector against the real sandbox server, over real HTTP.

Nothing here mocks Microsoft's protocol: the connector talks to ``pipeline.sandbox`` through httpx,
faults are injected into the server, and expectations come from the simulator's ground truth or from
plain requests to the same fake API. Sleeping goes through a recording fake, so backoff and polling
are asserted on without waiting.
"""

from __future__ import annotations

import csv
import io
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
from pipeline.connectors.http import ApiError, CredentialsError, RetryPolicy
from pipeline.connectors.microsoft_ads import (
    MICROSOFT_ADS_STREAMS,
    OAUTH_SCOPE,
    REPORT_COLUMNS,
    MicrosoftAdsConnector,
    ReportFormatError,
    parse_report_csv,
)
from pipeline.sandbox import SANDBOX_TOKENS, SandboxServer, World
from pipeline.sandbox.microsoft_ads_api import TOKEN_PATH
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
from tests.connectors import support

PLATFORM = "microsoft_ads"
TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 10:30 in New York, 16:30 in Berlin
TOKEN = SANDBOX_TOKENS[PLATFORM]
DEVELOPER_TOKEN = "sandbox-microsoft-ads-developer-token-0042"
DAY = date(2026, 11, 17)
RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0)
POLL = 0.01


def _world() -> World:
    return support.pinned_world(TODAY, NOW)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(world=_world()) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_clock(sandbox: SandboxServer) -> Iterator[None]:
    yield
    sandbox.world.now = NOW  # some tests advance it (token expiry, restatement)


@pytest.fixture(scope="module")
def accounts(sandbox: SandboxServer) -> list[str]:
    return [a.id for a in sandbox.world.accounts(PLATFORM)]


class RecordingTransport(support.RecordingTransport):
    """A real HTTP transport that remembers what went over the wire."""

    def submitted(self) -> list[dict[str, Any]]:
        """ReportRequest bodies of every submission."""
        return [
            json.loads(r.content)["ReportRequest"] for r in self.matching("POST", "/GenerateReport/Submit")
        ]


@dataclass
class Harness:
    connector: MicrosoftAdsConnector
    transport: RecordingTransport
    sleeps: list[float] = field(default_factory=list)
    refreshed: list[TokenGrant] = field(default_factory=list)

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        return self.connector.stats

    def backoffs(self) -> list[float]:
        """Sleeps that were not polling (poll delays are POLL)."""
        return [s for s in self.sleeps if s > 0.5]

    def submissions(self) -> int:
        return len(self.transport.matching("POST", "/GenerateReport/Submit"))


MakeHarness = Callable[..., Harness]


def oauth_credentials(server: SandboxServer, access_token: str = "") -> Credentials:
    return Credentials(
        access_token=access_token,
        refresh_token=sandbox_refresh_token(PLATFORM),
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        token_url=f"{server.base_url(PLATFORM)}{TOKEN_PATH}",
        developer_token=DEVELOPER_TOKEN,
    )


@pytest.fixture
def make(sandbox: SandboxServer) -> Iterator[MakeHarness]:
    created: list[MicrosoftAdsConnector] = []

    def factory(
        server: SandboxServer | None = None, credentials: Credentials | None = None, **overrides: Any
    ) -> Harness:
        sleeps: list[float] = []
        refreshed: list[TokenGrant] = []
        transport = RecordingTransport()
        options: dict[str, Any] = {
            "poll_interval": POLL,
            "first_poll_delay": POLL,
            "poll_timeout": 60.0,
            "retry": RETRY,
            "sleep": sleeps.append,
            "clock": (server or sandbox).world.clock,  # the sandbox's pinned "now", never the real date
            "transport": transport,
            "timeout": 5.0,
            "on_token_refresh": refreshed.append,
            **overrides,
        }
        connector = MicrosoftAdsConnector(
            (server or sandbox).base_url(PLATFORM),
            credentials or Credentials(access_token=TOKEN, developer_token=DEVELOPER_TOKEN),
            **options,
        )
        created.append(connector)
        return Harness(connector, transport, sleeps, refreshed)

    yield factory
    for connector in created:
        connector.close()


# --- references: plain requests to the fake, and the simulator's ground truth ---------------------------


class RawClient:
    """The fake, asked directly (no connector): the reference for "verbatim"."""

    def __init__(self, server: SandboxServer) -> None:
        self.http = httpx.Client(
            base_url=server.base_url(PLATFORM),
            headers={"AuthenticationToken": TOKEN, "DeveloperToken": DEVELOPER_TOKEN},
            timeout=10,
        )
        roles = self.http.post("/CustomerManagement/v13/User/Query", json={"UserId": None}).json()
        self.customer = str(roles["CustomerRoles"][0]["CustomerId"])

    def post(self, path: str, body: dict[str, Any], account: str | None = None) -> Any:
        headers = {"CustomerId": self.customer, "CustomerAccountId": account} if account else {}
        response = self.http.post(path, json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    def report(self, account: str, since: date, until: date, aggregation: str) -> list[dict[str, str]]:
        account_info = self.post("/CustomerManagement/v13/Account/Query", {"AccountId": int(account)})[
            "Account"
        ]
        request = {
            "Type": "AdPerformanceReportRequest",
            "Aggregation": aggregation,
            "Columns": list(REPORT_COLUMNS),
            "Scope": {"AccountIds": [int(account)]},
            "Time": {
                "CustomDateRangeStart": {"Day": since.day, "Month": since.month, "Year": since.year},
                "CustomDateRangeEnd": {"Day": until.day, "Month": until.month, "Year": until.year},
                "ReportTimeZone": account_info["TimeZone"],
            },
            "Format": "Csv",
            "FormatVersion": "2.0",
            "ExcludeReportHeader": True,
            "ExcludeReportFooter": True,
        }
        request_id = self.post("/Reporting/v13/GenerateReport/Submit", {"ReportRequest": request}, account)[
            "ReportRequestId"
        ]
        for _ in range(5):
            status = self.post("/Reporting/v13/GenerateReport/Poll", {"ReportRequestId": request_id}, account)
            if status["ReportRequestStatus"]["Status"] == "Success":
                break
        url = status["ReportRequestStatus"]["ReportDownloadUrl"]
        if url is None:
            return []
        import zipfile

        with zipfile.ZipFile(io.BytesIO(httpx.get(url).content)) as archive:
            text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == list(REPORT_COLUMNS)
        return [dict(zip(REPORT_COLUMNS, row, strict=True)) for row in rows[1:] if row]


@pytest.fixture(scope="module")
def raw(sandbox: SandboxServer) -> Iterator[RawClient]:
    client = RawClient(sandbox)
    yield client
    client.http.close()


def _records(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    assert all(pages), "no empty pages are yielded"
    return [record for page in pages for record in page]


def _number(text: str) -> float:
    return 0.0 if text == "--" else float(text.replace(",", ""))


def _ad_days(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["AdId"], r["TimePeriod"]) for r in records]


def _truth(world: World, account_id: str, since: date, until: date) -> dict[tuple[str, str], Any]:
    """(ad_id, day) -> Metrics for every ad-day the simulator says was reported (as of world.now)."""
    expected = {}
    for ad in world.ads(PLATFORM, account_id):
        day = since
        while day <= until:
            metrics = world.ad_day(ad, day)
            if metrics is not None and (metrics.impressions > 0 or metrics.spend > 0):
                expected[(ad.id, day.isoformat())] = metrics
            day += timedelta(days=1)
    return expected


def _assert_equals_truth(records: list[dict[str, Any]], truth: dict[tuple[str, str], Any]) -> None:
    keys = _ad_days(records)
    assert len(keys) == len(set(keys)), "an ad-day arrived twice"
    assert set(keys) == set(truth)
    for record in records:
        metrics = truth[(record["AdId"], record["TimePeriod"])]
        assert _number(record["Spend"]) == pytest.approx(metrics.spend)
        assert _number(record["Impressions"]) == metrics.impressions
        assert _number(record["Clicks"]) == metrics.clicks
        assert _number(record["ConversionsQualified"]) == metrics.conversions
        assert _number(record["Revenue"]) == pytest.approx(metrics.conversion_value)


def _read(
    harness: Harness, stream: str, account: str, since: date = DAY, until: date = DAY
) -> list[dict[str, Any]]:
    return _records(list(harness.connector.read(stream, account, since, until)))


# --------------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------------


def test_streams_match_the_raw_table_contract() -> None:
    assert CONNECTORS[PLATFORM] is MicrosoftAdsConnector
    assert (
        MicrosoftAdsConnector.platform == PLATFORM and MicrosoftAdsConnector.restatement_lookback_days == 30
    )
    tables = {
        name: (s.table, s.key_names, [k.path for k in s.keys], [k.pg_type for k in s.keys], s.window_column)
        for name, s in MICROSOFT_ADS_STREAMS.items()
    }
    assert tables == {
        "ad_accounts": ("microsoft_ads_ad_accounts", ("account_id",), ["Id"], ["text"], None),
        "campaigns": (
            "microsoft_ads_campaigns",
            ("account_id", "campaign_id"),
            ["_account_id", "Id"],
            ["text", "text"],
            None,
        ),
        "ad_groups": (
            "microsoft_ads_ad_groups",
            ("account_id", "ad_group_id"),
            ["_account_id", "Id"],
            ["text", "text"],
            None,
        ),
        "ads": ("microsoft_ads_ads", ("account_id", "ad_id"), ["_account_id", "Id"], ["text", "text"], None),
        "ads_insights_daily": (
            "microsoft_ads_ads_insights_daily",
            ("account_id", "ad_id", "report_date"),
            ["AccountId", "AdId", "TimePeriod"],
            ["text", "text", "date"],
            "report_date",
        ),
        "ads_insights_hourly": (
            "microsoft_ads_ads_insights_hourly",
            ("account_id", "ad_id", "report_date", "time_period"),
            ["AccountId", "AdId", "TimePeriod", "TimePeriod"],
            ["text", "text", "date", "text"],
            "report_date",
        ),
    }
    assert MICROSOFT_ADS_STREAMS["ads_insights_hourly"].is_hourly


def test_missing_credentials_and_bad_arguments(make: MakeHarness, accounts: list[str]) -> None:
    with pytest.raises(CredentialsError, match="no access or refresh token"):
        MicrosoftAdsConnector("http://127.0.0.1:9/microsoft_ads", Credentials(developer_token="x"))
    with pytest.raises(CredentialsError, match="developer token"):
        MicrosoftAdsConnector("http://127.0.0.1:9/microsoft_ads", Credentials(access_token="x"))
    connector = make().connector
    with pytest.raises(ValueError, match="unknown Microsoft Advertising stream"):
        list(connector.read("keywords", accounts[0]))
    with pytest.raises(ValueError, match="not a Microsoft Advertising account id"):
        list(connector.read("campaigns", "act_12"))
    with pytest.raises(ValueError, match="after until"):
        list(connector.read("ads_insights_daily", accounts[0], DAY, DAY - timedelta(days=1)))


def test_lists_accounts_and_skips_inactive_ones(
    make: MakeHarness, accounts: list[str], raw: RawClient
) -> None:
    harness = make()
    assert harness.connector.list_account_ids() == accounts  # the fake's inactive account is left out
    assert harness.connector.list_account_ids() == accounts  # listed once per connector
    assert len(harness.transport.matching("POST", "/AccountsInfo/Query")) == 1
    assert len(harness.transport.matching("POST", "/User/Query")) == 1
    listing = json.loads(harness.transport.matching("POST", "/AccountsInfo/Query")[0].content)
    assert listing == {"CustomerId": int(raw.customer), "OnlyParentAccounts": False}

    known_customer = make(
        credentials=Credentials(access_token=TOKEN, developer_token="d", customer_id=raw.customer)
    )
    assert known_customer.connector.list_account_ids() == accounts
    assert known_customer.transport.matching("POST", "/User/Query") == []
    configured = make(account_ids=[accounts[1]])
    assert configured.connector.list_account_ids() == [accounts[1]] and configured.transport.requests == []


# --------------------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------------------


def test_account_snapshot_is_the_payload_verbatim(
    make: MakeHarness, accounts: list[str], raw: RawClient
) -> None:
    harness = make()
    (record,) = _read(harness, "ad_accounts", accounts[1])
    assert (
        record
        == raw.post("/CustomerManagement/v13/Account/Query", {"AccountId": int(accounts[1])})["Account"]
    )
    assert MICROSOFT_ADS_STREAMS["ad_accounts"].key_values(record) == (int(accounts[1]),)
    assert record["TimeZone"] == "AmsterdamBerlinBernRomeStockholmVienna" and record["CurrencyCode"] == "EUR"


def test_entities_are_verbatim_plus_their_parent_ids(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], raw: RawClient
) -> None:
    world = sandbox.world
    account = accounts[0]
    harness = make()
    campaigns = _read(harness, "campaigns", account)
    reference = raw.post(
        "/CampaignManagement/v13/Campaigns/QueryByAccountId",
        {
            "AccountId": int(account),
            "CampaignType": "Search Shopping DynamicSearchAds Audience PerformanceMax",
        },
        account,
    )["Campaigns"]
    assert campaigns == [{**c, "_account_id": account} for c in reference]
    assert {c["CampaignType"] for c in campaigns} == {"Search", "Audience"}  # not only the default Search
    assert {str(c["Id"]) for c in campaigns} == {c.id for c in world.campaigns(PLATFORM, account)}

    groups = _read(harness, "ad_groups", account)
    assert {(str(g["Id"]), g["_campaign_id"], g["_account_id"]) for g in groups} == {
        (g.id, g.campaign_id, account) for g in world.ad_groups(PLATFORM, account)
    }
    ads = _read(harness, "ads", account)
    assert {(str(a["Id"]), a["_ad_group_id"], a["_campaign_id"]) for a in ads} == {
        (a.id, a.ad_group_id, a.campaign_id) for a in world.ads(PLATFORM, account)
    }
    first = ads[0]
    reference_ads = raw.post(
        "/CampaignManagement/v13/Ads/QueryByAdGroupId",
        {"AdGroupId": int(first["_ad_group_id"]), "AdTypes": ["ResponsiveSearch", "ResponsiveAd"]},
        account,
    )["Ads"]
    assert {k: v for k, v in first.items() if not k.startswith("_")} == reference_ads[0]
    for stream, records in (("campaigns", campaigns), ("ad_groups", groups), ("ads", ads)):
        keys = {MICROSOFT_ADS_STREAMS[stream].key_values(r) for r in records}
        assert len(keys) == len(records)
    # Every call but the account lookups names the account and its customer in headers.
    for request in harness.transport.requests:
        if "/CampaignManagement/" in request.url.path:
            assert (
                request.headers["CustomerAccountId"] == account
                and request.headers["CustomerId"] == raw.customer
            )


# --------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------


def test_daily_every_ad_day_exactly_once_verbatim_and_true(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], raw: RawClient
) -> None:
    since, until = TODAY - timedelta(days=12), TODAY - timedelta(days=1)
    for account in accounts:
        harness = make(days_per_report=5)
        records = _read(harness, "ads_insights_daily", account, since, until)
        _assert_equals_truth(records, _truth(sandbox.world, account, since, until))
        key = lambda r: (r["TimePeriod"], r["AdId"])  # noqa: E731
        assert sorted(records, key=key) == sorted(raw.report(account, since, until, "Daily"), key=key)

        submitted = harness.transport.submitted()
        assert [
            (s["Time"]["CustomDateRangeStart"]["Day"], s["Time"]["CustomDateRangeEnd"]["Day"])
            for s in submitted
        ] == [
            (8, 12),
            (13, 17),
            (18, 19),
        ]
        zone = "EasternTimeUSCanada" if account == accounts[0] else "AmsterdamBerlinBernRomeStockholmVienna"
        for request in submitted:
            assert request["Type"] == "AdPerformanceReportRequest" and request["Aggregation"] == "Daily"
            assert request["Time"]["ReportTimeZone"] == zone and request["Scope"]["AccountIds"] == [
                int(account)
            ]
            assert request["FormatVersion"] == "2.0" and request["ReturnOnlyCompleteData"] is True
            assert request["ExcludeReportHeader"] and request["ExcludeReportFooter"]
            assert request["Columns"] == list(REPORT_COLUMNS)
    sample = records[0]
    assert all(isinstance(v, str) for v in sample.values())  # raw CSV strings
    assert MICROSOFT_ADS_STREAMS["ads_insights_daily"].key_values(sample) == (
        sample["AccountId"],
        sample["AdId"],
        sample["TimePeriod"],
    )
    quirks = [r for r in records if "," in r["Impressions"] or r["Revenue"] == "--" or '"' in r["AdTitle"]]
    assert quirks and all(r["Ctr"].endswith("%") for r in records)


def test_hourly_every_ad_hour_once_adding_up_to_the_day(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account = accounts[1]  # Berlin: 16:30 now
    harness = make()
    yesterday = TODAY - timedelta(days=1)
    records = _read(harness, "ads_insights_hourly", account, yesterday, TODAY)
    keys = [MICROSOFT_ADS_STREAMS["ads_insights_hourly"].key_values(r) for r in records]
    assert len(keys) == len(set(keys))
    periods = {r["TimePeriod"] for r in records}
    assert {p.split("|")[0] for p in periods} == {yesterday.isoformat(), TODAY.isoformat()}
    assert max(int(p.split("|")[1]) for p in periods if p.startswith(TODAY.isoformat())) == 16
    (request,) = harness.transport.submitted()
    assert request["Aggregation"] == "Hourly" and request["ReturnOnlyCompleteData"] is False
    # Yesterday's hours add up to yesterday's ad-days (the truth).
    truth = _truth(sandbox.world, account, yesterday, yesterday)
    by_ad: dict[str, list[float]] = {}
    for r in records:
        if r["TimePeriod"].startswith(yesterday.isoformat()):
            sums = by_ad.setdefault(r["AdId"], [0.0, 0.0])
            sums[0] += _number(r["Spend"])
            sums[1] += _number(r["Impressions"])
    assert {ad for ad, _ in truth} == set(by_ad)
    for (ad, _), metrics in truth.items():
        assert by_ad[ad][0] == pytest.approx(metrics.spend, abs=0.01) and by_ad[ad][1] == metrics.impressions


def test_days_not_yet_complete_for_the_account_are_left_out(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    harness = make()
    # UTC days: tomorrow is after today in New York (2010), today is not complete yet (2004).
    records = _read(
        harness, "ads_insights_daily", accounts[0], TODAY - timedelta(days=2), TODAY + timedelta(days=1)
    )
    assert {r["TimePeriod"] for r in records} == {(TODAY - timedelta(days=d)).isoformat() for d in (1, 2)}
    ends = [s["Time"]["CustomDateRangeEnd"]["Day"] for s in harness.transport.submitted()]
    assert ends == [21, 20, 19]
    assert harness.stats["POST /Reporting/GenerateReport/Submit"]["errors"] == 2 and harness.backoffs() == []
    future = make()
    assert (
        list(
            future.connector.read(
                "ads_insights_hourly", accounts[0], TODAY + timedelta(days=1), TODAY + timedelta(days=1)
            )
        )
        == []
    )


def test_report_csv_parsing_is_strict_about_structure() -> None:
    columns = ["TimePeriod", "AdId", "AdTitle", "Impressions", "Ctr", "Revenue"]
    header = '\ufeff"Report Name: x"\r\n"Report Aggregation: Daily"\r\n"Rows: 2"\r\n\r\n'
    table = (
        '"TimePeriod","AdId","AdTitle","Impressions","Ctr","Revenue"\r\n'
        '"2026-11-17","1","Shoes, ""Official Site""","1,234","12.25%","--"\r\n'
        '"2026-11-17","2","Plain","7","0.00%","1,001.50"\r\n'
    )
    footer = '\r\n"©2026 Microsoft Corporation. All rights reserved. "\r\n'
    rows = parse_report_csv(header + table + footer, columns, "Daily")
    assert rows == parse_report_csv(table, columns, "Daily")
    assert rows[0] == {
        "TimePeriod": "2026-11-17",
        "AdId": "1",
        "AdTitle": 'Shoes, "Official Site"',
        "Impressions": "1,234",
        "Ctr": "12.25%",
        "Revenue": "--",
    }
    with pytest.raises(ReportFormatError, match="declares 3 rows"):
        parse_report_csv(header.replace("Rows: 2", "Rows: 3") + table, columns, "Daily")
    with pytest.raises(ReportFormatError, match="fields"):
        parse_report_csv(table + '"2026-11-17","3","cut'[:-4] + "\r\n", columns, "Daily")
    with pytest.raises(ReportFormatError, match="TimePeriod"):
        parse_report_csv(table, columns, "Hourly")
    with pytest.raises(ReportFormatError, match="no header row"):
        parse_report_csv(table.split("\r\n", 1)[1], columns, "Daily")
    assert parse_report_csv('"Rows: 0"\r\n', columns, "Daily") == []
    assert parse_report_csv("", columns, "Daily") == []


def test_header_and_footer_sent_despite_exclusion_are_handled(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add(PLATFORM, "report_ignores_exclude")
    harness = make()
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    assert harness.submissions() == 1


# --------------------------------------------------------------------------------------------------
# Async report faults
# --------------------------------------------------------------------------------------------------


def test_failed_multi_day_report_is_split(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    since, until = DAY - timedelta(days=3), DAY
    sandbox.faults.add(PLATFORM, "report_error")
    harness = make()
    records = _read(harness, "ads_insights_daily", accounts[0], since, until)
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], since, until))
    ranges = [
        (s["Time"]["CustomDateRangeStart"]["Day"], s["Time"]["CustomDateRangeEnd"]["Day"])
        for s in harness.transport.submitted()
    ]
    assert ranges == [(14, 17), (14, 15), (16, 17)]


def test_failed_single_day_is_resubmitted_then_given_up(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add(PLATFORM, "report_error", times=2)
    harness = make()
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    assert harness.submissions() == 3

    sandbox.faults.add(PLATFORM, "report_error", times=-1)
    failing = make()
    with pytest.raises(ApiError, match="ended with status Error, on 3 attempts") as caught:
        _read(failing, "ads_insights_daily", accounts[0])
    assert not isinstance(caught.value, CredentialsError) and failing.submissions() == 3


def test_stuck_report_times_out_then_is_split(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    since = DAY - timedelta(days=1)
    sandbox.faults.add(PLATFORM, "report_stuck")
    harness = make(poll_interval=0.05, first_poll_delay=0.05, poll_timeout=0.5)
    records = _read(harness, "ads_insights_daily", accounts[0], since, DAY)
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], since, DAY))
    assert harness.submissions() == 3
    assert len(harness.transport.matching("POST", "/GenerateReport/Poll")) >= 10


def test_success_without_url_is_confirmed_before_it_means_no_data(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add(PLATFORM, "report_no_url")  # the service lost the file once
    harness = make()
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    assert harness.submissions() == 2

    empty_day = date(2026, 6, 1)  # before any campaign started
    quiet = make()
    assert list(quiet.connector.read("ads_insights_daily", accounts[0], empty_day, empty_day)) == []
    assert quiet.submissions() == 2
    trusting = make(confirm_empty_reports=False)
    assert list(trusting.connector.read("ads_insights_daily", accounts[0], empty_day, empty_day)) == []
    assert trusting.submissions() == 1


@pytest.mark.parametrize("status", [403, 404])
def test_expired_download_url_resubmits(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], status: int
) -> None:
    sandbox.faults.add(PLATFORM, "download_expired", status=status)
    harness = make()
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    assert harness.submissions() == 2 and harness.stats["GET report download"]["requests"] == 2


@pytest.mark.parametrize("mode", ["truncated", "bad_crc", "garbage"])
def test_corrupt_zip_resubmits(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], mode: str
) -> None:
    sandbox.faults.add(PLATFORM, "corrupt_zip", mode=mode)
    harness = make()
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    assert harness.submissions() == 2


def test_download_errors_are_retried_and_never_see_api_credentials(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.faults.add(PLATFORM, "server_error", path="/reports/download/", times=2)
    harness = make()
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    assert harness.backoffs() == [1.0, 2.0] and harness.submissions() == 1
    downloads = harness.transport.matching("GET", ".zip")
    assert len(downloads) == 3
    for request in downloads:
        assert "authenticationtoken" not in request.headers and "developertoken" not in request.headers
    signature = downloads[0].url.params["sig"]
    assert signature not in caplog.text and signature not in json.dumps(harness.stats)


# --------------------------------------------------------------------------------------------------
# Throttling, transient errors, broken bodies
# --------------------------------------------------------------------------------------------------


def test_call_rate_exceeded_waits_a_minute(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add(PLATFORM, "throttle", path="/GenerateReport/Submit", times=2)
    harness = make()
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    stats = harness.stats["POST /Reporting/GenerateReport/Submit"]
    assert stats["throttled"] == 2 and harness.backoffs() == [60.0, 60.0]


@pytest.mark.parametrize(
    ("kind", "params"),
    [("server_error", {}), ("server_error", {"status": 503}), ("transient_code", {"code": 207}),
     ("transient_code", {"code": 0}), ("transient_code", {"code": 4204})],
)  # fmt: skip
def test_server_errors_and_transient_codes_back_off(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], kind: str, params: dict[str, Any]
) -> None:
    sandbox.faults.add(PLATFORM, kind, path="/Campaigns/QueryByAccountId", times=3, **params)
    harness = make()
    assert len(_read(harness, "campaigns", accounts[0])) == 4
    assert harness.backoffs() == [1.0, 2.0, 4.0]


def test_transient_errors_beyond_the_budget_fail(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    sandbox.faults.add(PLATFORM, "server_error", path="/GenerateReport/Poll", times=-1)
    harness = make()
    with pytest.raises(ApiError, match="gave up after 4 attempts"):
        _read(harness, "ads_insights_daily", accounts[0])


def test_timeouts_and_broken_json_are_retried(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    harness = make(timeout=0.3)
    sandbox.faults.add(PLATFORM, "timeout", path="/GenerateReport/Submit", seconds=1.0)
    sandbox.faults.add(PLATFORM, "malformed_json", path="/GenerateReport/Poll")
    sandbox.faults.add(PLATFORM, "truncated_json", path="/Account/Query")
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    assert (
        harness.backoffs() == [1.0, 1.0, 1.0] and harness.submissions() == 2
    )  # the timed-out one, its retry
    assert sandbox.faults.pending() == []


# --------------------------------------------------------------------------------------------------
# Credentials and secrets
# --------------------------------------------------------------------------------------------------


def test_expired_token_is_refreshed_once_and_the_call_retried(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    harness = make(credentials=oauth_credentials(sandbox, access_token=TOKEN))
    sandbox.faults.add(PLATFORM, "token_expired", path="/GenerateReport/Submit")
    records = _read(harness, "ads_insights_daily", accounts[0])
    _assert_equals_truth(records, _truth(sandbox.world, accounts[0], DAY, DAY))
    (token_request,) = harness.transport.matching("POST", TOKEN_PATH)
    form = dict(httpx.QueryParams(token_request.content.decode()))
    assert form["grant_type"] == "refresh_token" and form["scope"] == OAUTH_SCOPE
    assert len(harness.refreshed) == 1
    assert harness.transport.submitted() and harness.submissions() == 2
    last = harness.transport.matching("POST", "/GenerateReport/Submit")[-1]
    assert last.headers["AuthenticationToken"] == harness.refreshed[0].access_token


def test_tokens_expiring_on_the_world_clock_are_refreshed(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(world=_world()) as own:
        # No access token yet: refresh first. The connector's clock stays put while the platform's moves
        # on, so the expiry is found out from the platform's answer, not foreseen.
        harness = make(server=own, credentials=oauth_credentials(own), clock=lambda: NOW)
        assert len(_read(harness, "campaigns", accounts[0])) == 4
        own.world.advance(hours=2)  # the issued token expired for the platform
        assert len(_read(harness, "campaigns", accounts[0])) == 4
        assert len(harness.refreshed) == 2
        assert harness.stats["POST /CampaignManagement/Campaigns/QueryByAccountId"]["errors"] == 1


def test_invalid_grant_is_a_credentials_error_without_secrets(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    credentials = oauth_credentials(sandbox)
    sandbox.faults.add(PLATFORM, "invalid_grant")
    harness = make(credentials=credentials)
    with pytest.raises(CredentialsError, match="Reconnect the Microsoft Advertising account") as caught:
        _read(harness, "campaigns", accounts[0])
    assert "invalid_grant" in str(caught.value)
    for secret in (credentials.refresh_token, credentials.client_secret, DEVELOPER_TOKEN):
        assert secret and secret not in str(caught.value) and secret not in repr(caught.value.args)


def test_bad_token_fails_fast_without_leaking_it(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "EwBwA8l6BAAU-not-a-valid-microsoft-token"
    harness = make(credentials=Credentials(access_token=wrong, developer_token=DEVELOPER_TOKEN))
    with pytest.raises(CredentialsError) as caught:
        _read(harness, "ads_insights_daily", accounts[0])
    error = caught.value
    assert error.code == 105 and harness.backoffs() == [] and len(harness.transport.requests) == 1
    for text in (str(error), repr(error.args), caplog.text, json.dumps(harness.stats)):
        assert wrong not in text and DEVELOPER_TOKEN not in text
    assert error.__cause__ is None and error.__context__ is None

    sandbox.faults.add(PLATFORM, "bad_token", path="/GenerateReport/Poll")
    mid_report = make()
    with pytest.raises(CredentialsError, match="InvalidCredentials"):
        _read(mid_report, "ads_insights_daily", accounts[0])
    assert mid_report.backoffs() == []


# --------------------------------------------------------------------------------------------------
# Restatement and write-back
# --------------------------------------------------------------------------------------------------


def test_restated_day_converges_to_the_new_truth(
    make: MakeHarness, sandbox: SandboxServer, accounts: list[str]
) -> None:
    account = accounts[0]
    day = TODAY - timedelta(days=1)
    first = _read(make(), "ads_insights_daily", account, day, day)
    _assert_equals_truth(first, _truth(sandbox.world, account, day, day))
    sandbox.world.advance(days=10)
    again = _read(make(), "ads_insights_daily", account, day, day)
    _assert_equals_truth(again, _truth(sandbox.world, account, day, day))
    assert set(_ad_days(again)) == set(_ad_days(first))
    conversions = lambda rows: sum(_number(r["ConversionsQualified"]) for r in rows)  # noqa: E731
    spend = lambda rows: sum(_number(r["Spend"]) for r in rows)  # noqa: E731
    assert conversions(again) > conversions(first) and spend(again) == pytest.approx(spend(first))


def test_update_campaign_writes_status_and_budget(make: MakeHarness, accounts: list[str]) -> None:
    with SandboxServer(world=_world()) as own:
        world = own.world
        harness = make(server=own)
        connector = harness.connector
        campaign = world.campaigns(PLATFORM, accounts[1])[0]
        assert connector.update_campaign(campaign.id, status="PAUSED", daily_budget=123.456) == {
            "PartialErrors": []
        }
        (put,) = harness.transport.matching("PUT", "/Campaigns")
        assert json.loads(put.content) == {
            "AccountId": int(accounts[1]),
            "Campaigns": [{"Id": int(campaign.id), "Status": "Paused", "DailyBudget": 123.46}],
        }
        assert put.headers["CustomerAccountId"] == accounts[1]
        assert world.campaign_status(campaign) == "PAUSED" and world.campaign_daily_budget(campaign) == 123.46
        listed = {str(c["Id"]): c for c in _read(harness, "campaigns", accounts[1])}
        assert listed[campaign.id]["Status"] == "Paused" and listed[campaign.id]["DailyBudget"] == 123.46

        connector.update_campaign(campaign.id, status="ACTIVE", account_id=accounts[1])
        assert world.campaign_status(campaign) == "ACTIVE"
        with pytest.raises(ApiError, match="1136"):
            connector.update_campaign(campaign.id, daily_budget=0.5, account_id=accounts[1])
        with pytest.raises(ApiError, match="not in any account"):
            connector.update_campaign("123456789", status="PAUSED")
        with pytest.raises(ValueError, match="ACTIVE or PAUSED"):
            connector.update_campaign(campaign.id, status="DELETED")
        with pytest.raises(ValueError, match="positive"):
            connector.update_campaign(campaign.id, daily_budget=-5.0)
        with pytest.raises(ValueError, match="nothing to update"):
            connector.update_campaign(campaign.id)
        with pytest.raises(ValueError, match="not a Microsoft Advertising campaign id"):
            connector.update_campaign("cmp-1", status="PAUSED")
