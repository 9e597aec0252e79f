"""The Microsoft Advertising fake over real HTTP: payloads, report CSVs, validation, faults, auth."""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from pipeline.sandbox.microsoft_ads_api import OAUTH_SCOPE, TOKEN_PATH, MicrosoftAdsApiSettings, ad_title
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario

PLATFORM = "microsoft_ads"
TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 10:30 in New York, 16:30 in Berlin
TOKEN = SANDBOX_TOKENS[PLATFORM]
COLUMNS = [
    "TimePeriod", "AccountId", "AccountName", "CurrencyCode", "CampaignId", "CampaignName", "AdGroupId",
    "AdId", "AdTitle", "Impressions", "Clicks", "Ctr", "AverageCpc", "Spend", "Conversions",
    "ConversionsQualified", "Revenue", "ConversionRate",
]  # fmt: skip


def make_world() -> World:
    world = World(default_scenario(today=TODAY))
    world.now = NOW
    return world


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(make_world()) as running:
        yield running


@pytest.fixture(autouse=True)
def no_leftover_faults(server: SandboxServer) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()
    server.world.now = NOW


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.base_url(PLATFORM),
        headers={"AuthenticationToken": TOKEN, "DeveloperToken": "sandbox-dev-token"},
        timeout=10,
    ) as c:
        yield c


@pytest.fixture(scope="module")
def customer_id(server: SandboxServer) -> str:
    return _customer(server)


def _customer(server: SandboxServer) -> str:
    body = httpx.post(
        f"{server.base_url(PLATFORM)}/CustomerManagement/v13/User/Query",
        json={"UserId": None},
        headers={"AuthenticationToken": TOKEN, "DeveloperToken": "d"},
    ).json()
    return str(body["CustomerRoles"][0]["CustomerId"])


def scope(account_id: str, customer: str) -> dict[str, str]:
    return {"CustomerAccountId": account_id, "CustomerId": customer}


def ms_date(day: date) -> dict[str, int]:
    return {"Day": day.day, "Month": day.month, "Year": day.year}


def report_request(
    account_id: str,
    since: date,
    until: date,
    *,
    aggregation: str = "Daily",
    columns: list[str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    request = {
        "Type": "AdPerformanceReportRequest",
        "Aggregation": aggregation,
        "Columns": columns or COLUMNS,
        "Scope": {"AccountIds": [int(account_id)]},
        "Time": {
            "CustomDateRangeStart": ms_date(since),
            "CustomDateRangeEnd": ms_date(until),
            "ReportTimeZone": "EasternTimeUSCanada",
        },
        "Format": "Csv",
        "FormatVersion": "2.0",
        "ExcludeReportHeader": True,
        "ExcludeReportFooter": True,
        "ReturnOnlyCompleteData": False,
    }
    request.update(overrides)
    return {"ReportRequest": request}


def submit(client: httpx.Client, body: dict[str, Any], customer: str) -> httpx.Response:
    account = str(body["ReportRequest"]["Scope"]["AccountIds"][0])
    return client.post("/Reporting/v13/GenerateReport/Submit", json=body, headers=scope(account, customer))


def poll(client: httpx.Client, request_id: str) -> dict[str, Any]:
    response = client.post("/Reporting/v13/GenerateReport/Poll", json={"ReportRequestId": request_id})
    assert response.status_code == 200, response.text
    return response.json()["ReportRequestStatus"]


def finished(client: httpx.Client, request_id: str, polls: int = 5) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _ in range(polls):
        status = poll(client, request_id)
        if status["Status"] != "Pending":
            break
    return status


def download_text(url: str) -> str:
    response = httpx.get(url, timeout=10)  # a signed blob URL: no API headers
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        (name,) = archive.namelist()
        raw = archive.read(name)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark
    return raw.decode("utf-8-sig")


def run_report(client: httpx.Client, body: dict[str, Any], customer: str) -> str | None:
    response = submit(client, body, customer)
    assert response.status_code == 200, response.text
    status = finished(client, response.json()["ReportRequestId"])
    assert status["Status"] == "Success"
    return download_text(status["ReportDownloadUrl"]) if status["ReportDownloadUrl"] else None


def data_rows(text: str, columns: list[str]) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    start = rows.index(columns) + 1
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return [dict(zip(columns, row, strict=True)) for row in rows[start:end]]


def number(text: str) -> float:
    return 0.0 if text == "--" else float(text.replace(",", ""))


def operation_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    errors = body.get("OperationErrors") or body.get("Errors") or body.get("BatchErrors")
    return errors[0]


# --- accounts and entities ---------------------------------------------------------------------------


def test_user_accounts_and_account_details(
    server: SandboxServer, client: httpx.Client, customer_id: str
) -> None:
    world = server.world
    infos = client.post(
        "/CustomerManagement/v13/AccountsInfo/Query",
        json={"CustomerId": int(customer_id), "OnlyParentAccounts": False},
    ).json()["AccountsInfo"]
    statuses = {str(i["Id"]): i["AccountLifeCycleStatus"] for i in infos}
    assert {a.id for a in world.accounts(PLATFORM)} < set(statuses)
    assert sorted(statuses.values()) == ["Active", "Active", "Inactive"]  # one closed account to skip

    berlin = world.accounts(PLATFORM)[1]
    account = client.post("/CustomerManagement/v13/Account/Query", json={"AccountId": int(berlin.id)}).json()[
        "Account"
    ]
    assert account["Id"] == int(berlin.id) and account["Name"] == berlin.name
    assert (
        account["CurrencyCode"] == "EUR" and account["TimeZone"] == "AmsterdamBerlinBernRomeStockholmVienna"
    )
    assert str(account["ParentCustomerId"]) == customer_id and account["AccountLifeCycleStatus"] == "Active"

    # Customer Management errors have no ErrorCode element.
    missing = client.post("/CustomerManagement/v13/Account/Query", json={"AccountId": 42})
    assert missing.status_code == 400 and missing.json()["Type"] == "ApiFault"
    assert "ErrorCode" not in operation_error(missing)


def test_campaign_listing_defaults_to_search_and_needs_the_account_header(
    server: SandboxServer, client: httpx.Client, customer_id: str
) -> None:
    account = server.world.accounts(PLATFORM)[0]
    url = "/CampaignManagement/v13/Campaigns/QueryByAccountId"
    headers = scope(account.id, customer_id)
    default = client.post(url, json={"AccountId": int(account.id)}, headers=headers).json()["Campaigns"]
    every = client.post(
        url, json={"AccountId": int(account.id), "CampaignType": "Search Audience"}, headers=headers
    ).json()["Campaigns"]
    assert {c["CampaignType"] for c in default} == {"Search"}
    assert len(every) == len(server.world.campaigns(PLATFORM, account.id)) > len(default)
    campaign = every[0]
    assert "AccountId" not in campaign and isinstance(
        campaign["Id"], int
    )  # entities do not name their account
    assert campaign["BudgetType"] == "DailyBudgetStandard" and isinstance(campaign["DailyBudget"], float)
    assert campaign["TimeZone"] == "EasternTimeUSCanada"

    no_header = client.post(url, json={"AccountId": int(account.id)})
    assert no_header.status_code == 400 and operation_error(no_header)["Code"] == 116
    other = server.world.accounts(PLATFORM)[1].id
    mismatch = client.post(url, json={"AccountId": int(other)}, headers=headers)
    assert operation_error(mismatch)["Code"] == 1102


def test_ad_groups_and_ads(server: SandboxServer, client: httpx.Client, customer_id: str) -> None:
    world = server.world
    account = world.accounts(PLATFORM)[1]
    headers = scope(account.id, customer_id)
    lifetime = next(c for c in world.campaigns(PLATFORM, account.id) if c.end_date)
    groups = client.post(
        "/CampaignManagement/v13/AdGroups/QueryByCampaignId",
        json={"CampaignId": int(lifetime.id)},
        headers=headers,
    ).json()["AdGroups"]
    assert [str(g["Id"]) for g in groups] == [
        g.id for g in world.ad_groups(PLATFORM, account.id, lifetime.id)
    ]
    assert groups[0]["EndDate"] == ms_date(lifetime.end_date) and groups[0]["StartDate"] == ms_date(
        lifetime.start_date
    )

    group = world.ad_groups(PLATFORM, account.id)[0]
    url = "/CampaignManagement/v13/Ads/QueryByAdGroupId"
    assert (
        operation_error(client.post(url, json={"AdGroupId": int(group.id)}, headers=headers))["Code"] == 1049
    )
    ads = client.post(
        url,
        json={"AdGroupId": int(group.id), "AdTypes": ["ResponsiveSearch", "ResponsiveAd"]},
        headers=headers,
    ).json()["Ads"]
    expected = world.ads(PLATFORM, ad_group_id=group.id)
    assert [str(a["Id"]) for a in ads] == [a.id for a in expected]
    assert ads[0]["Headlines"][0]["Asset"]["Text"] == ad_title(expected[0])
    only_text = client.post(url, json={"AdGroupId": int(group.id), "AdTypes": ["Text"]}, headers=headers)
    assert only_text.json()["Ads"] == []
    foreign = world.ad_groups(PLATFORM, world.accounts(PLATFORM)[0].id)[0]
    assert (
        operation_error(
            client.post(
                url, json={"AdGroupId": int(foreign.id), "AdTypes": ["ResponsiveSearch"]}, headers=headers
            )
        )["Code"]
        == 1201
    )


# --- reports -----------------------------------------------------------------------------------------


def test_daily_report_csv_quirks_and_ground_truth(
    server: SandboxServer, client: httpx.Client, customer_id: str
) -> None:
    world = server.world
    account = world.accounts(PLATFORM)[0]
    day = TODAY - timedelta(days=3)
    body = report_request(
        account.id, day, day, ExcludeReportHeader=False, ExcludeReportFooter=False, ReportName="q"
    )
    text = run_report(client, body, customer_id)
    assert text is not None
    lines = text.split("\r\n")
    assert lines[0] == '"Report Name: q"' and lines[5] == '"Report Aggregation: Daily"'
    assert lines[2] == '"Time Zone: (GMT-05:00) Eastern Time (US & Canada)"'
    assert lines[-2].startswith('"©2026 Microsoft Corporation')
    assert lines[lines.index(",".join(f'"{c}"' for c in COLUMNS)) - 1] == ""  # blank line after the header
    rows = data_rows(text, COLUMNS)
    assert f'"Rows: {len(rows)}"' in lines
    delivery = world.account_day(PLATFORM, account.id, day)
    assert len(rows) == len(delivery)
    ads = world.ads(PLATFORM, account.id)
    truth = {ads[p].id: i for i, p in enumerate(delivery.positions)}
    for row in rows:
        i = truth[row["AdId"]]
        assert row["TimePeriod"] == day.isoformat() and row["CurrencyCode"] == "USD"
        assert number(row["Spend"]) == pytest.approx(float(delivery.spend[i]))
        assert number(row["Impressions"]) == delivery.impressions[i]
        assert number(row["Clicks"]) == delivery.clicks[i]
        assert number(row["ConversionsQualified"]) == delivery.conversions[i]
        assert number(row["Revenue"]) == pytest.approx(float(delivery.conversion_value[i]))
        assert row["Conversions"] == "0"  # deprecated column
        assert row["AdTitle"] == ad_title(world.ad(PLATFORM, row["AdId"]))
    # Quirks as served: thousands separators, percentages, "--", quoted fields with quotes and commas.
    assert any("," in r["Impressions"] for r in rows)
    assert all(r["Ctr"].endswith("%") for r in rows)
    assert all(r["ConversionsQualified"].endswith(".00") for r in rows)
    assert {r["Revenue"] for r in rows if r["ConversionsQualified"] == "0.00"} <= {"--"}
    assert '"Video 15s - Hook A, ""Official Site"""' in text or '""Official Site""' in text

    # Excluded header and footer: the column header row first.
    bare = run_report(client, report_request(account.id, day, day), customer_id)
    assert bare is not None and bare.startswith('"TimePeriod",') and "Microsoft Corporation" not in bare
    assert data_rows(bare, COLUMNS) == rows


def test_hourly_report_time_periods_and_dst(
    server: SandboxServer, client: httpx.Client, customer_id: str
) -> None:
    world = server.world
    new_york = world.accounts(PLATFORM)[0]
    fall_back = date(2026, 11, 1)  # 25 real hours in New York: 01:00 happens twice
    columns = ["TimePeriod", "AdId", "Impressions", "Spend"]
    text = run_report(
        client,
        report_request(new_york.id, fall_back, fall_back, aggregation="Hourly", columns=columns),
        customer_id,
    )
    assert text is not None
    rows = data_rows(text, columns)
    hours = {int(r["TimePeriod"].split("|")[1]) for r in rows}
    assert {r["TimePeriod"].split("|")[0] for r in rows} == {"2026-11-01"} and hours <= set(range(24))
    daily = world.account_day(PLATFORM, new_york.id, fall_back)
    assert sum(number(r["Spend"]) for r in rows) == pytest.approx(float(daily.spend.sum()), abs=0.01)
    assert sum(number(r["Impressions"]) for r in rows) == daily.impressions.sum()
    per_hour = {
        h: sum(number(r["Impressions"]) for r in rows if r["TimePeriod"].endswith(f"|{h}")) for h in (0, 1, 2)
    }
    assert per_hour[1] > per_hour[0]  # the repeated hour holds two hours of delivery

    # Format version 1.0 (the default): "m/d/yyyy 12:00:00 AM|h".
    legacy = report_request(new_york.id, fall_back, fall_back, aggregation="Hourly", columns=columns)
    del legacy["ReportRequest"]["FormatVersion"]
    old = data_rows(run_report(client, legacy, customer_id) or "", columns)
    assert old[0]["TimePeriod"].startswith("11/1/2026 12:00:00 AM|")

    # Today: hours up to the current local one only (10:30 in New York).
    today = data_rows(
        run_report(
            client,
            report_request(new_york.id, TODAY, TODAY, aggregation="Hourly", columns=columns),
            customer_id,
        )
        or "",
        columns,
    )
    assert max(int(r["TimePeriod"].split("|")[1]) for r in today) == 10


def test_summary_when_time_period_is_left_out(
    server: SandboxServer, client: httpx.Client, customer_id: str
) -> None:
    account = server.world.accounts(PLATFORM)[0]
    since, until = TODAY - timedelta(days=4), TODAY - timedelta(days=2)
    columns = ["AdId", "Spend"]
    rows = data_rows(
        run_report(client, report_request(account.id, since, until, columns=columns), customer_id) or "",
        columns,
    )
    truth = sum(
        float(server.world.account_day(PLATFORM, account.id, since + timedelta(d)).spend.sum())
        for d in range(3)
    )
    assert len(rows) == len({r["AdId"] for r in rows}) and sum(
        number(r["Spend"]) for r in rows
    ) == pytest.approx(truth)
    with_time = report_request(account.id, since, until, aggregation="Summary")
    assert operation_error(submit(client, with_time, customer_id))["Code"] == 2034


def test_report_validation(server: SandboxServer, client: httpx.Client, customer_id: str) -> None:
    account = server.world.accounts(PLATFORM)[0].id
    day = TODAY - timedelta(days=1)

    def code(body: dict[str, Any]) -> int:
        response = submit(client, body, customer_id)
        assert response.status_code == 400, response.text
        return operation_error(response)["Code"]

    assert code(report_request(account, day, TODAY + timedelta(days=1))) == 2010  # after today in New York
    assert code(report_request(account, day, day - timedelta(days=1))) == 2011
    assert code(report_request(account, day, TODAY, ReturnOnlyCompleteData=True)) == 2004
    assert (
        code(report_request(account, date(2026, 4, 1), day, aggregation="Hourly")) == 2009
    )  # 6 months of hours
    assert code(report_request(account, day, day, columns=["TimePeriod", "Bogus"])) == 201
    assert code(report_request(account, day, day, columns=["TimePeriod", "Spend", "Spend"])) == 2016
    assert code(report_request(account, day, day, columns=["TimePeriod", "AdId"])) == 2017
    assert code(report_request(account, day, day, Type="KeywordPerformanceReportRequest")) == 2002
    assert (
        code(
            {
                "ReportRequest": {
                    **report_request(account, day, day)["ReportRequest"],
                    "Scope": {"AccountIds": [1]},
                }
            }
        )
        == 2035
    )
    # ReportTimeZone decides "today": tomorrow in Berlin is still the future in New York.
    berlin = report_request(account, day, TODAY, ReturnOnlyCompleteData=False)
    berlin["ReportRequest"]["Time"]["ReportTimeZone"] = "AmsterdamBerlinBernRomeStockholmVienna"
    assert submit(client, berlin, customer_id).status_code == 200
    unknown = client.post("/Reporting/v13/GenerateReport/Poll", json={"ReportRequestId": "nope"})
    assert operation_error(unknown)["Code"] == 2100


def test_no_data_succeeds_without_a_download_url(
    server: SandboxServer, client: httpx.Client, customer_id: str
) -> None:
    account = server.world.accounts(PLATFORM)[0].id
    before_any_campaign = date(2026, 6, 1)
    response = submit(client, report_request(account, before_any_campaign, before_any_campaign), customer_id)
    assert finished(client, response.json()["ReportRequestId"]) == {
        "ReportDownloadUrl": None,
        "Status": "Success",
    }


def test_download_urls_are_signed_and_expire(
    server: SandboxServer, client: httpx.Client, customer_id: str
) -> None:
    account = server.world.accounts(PLATFORM)[0].id
    day = TODAY - timedelta(days=2)
    status = finished(
        client, submit(client, report_request(account, day, day), customer_id).json()["ReportRequestId"]
    )
    url = httpx.URL(status["ReportDownloadUrl"])
    assert {"sig", "se", "sv"} <= set(url.params)
    tampered = url.copy_set_param("sig", "0" * 43)
    assert httpx.get(tampered).status_code == 403
    assert httpx.get(url).status_code == 200
    server.world.advance(hours=0.1)  # six minutes: past the five-minute validity
    expired = httpx.get(url)
    assert expired.status_code == 403 and b"AuthenticationFailed" in expired.content


def test_restatement_over_http(server: SandboxServer, client: httpx.Client, customer_id: str) -> None:
    account = server.world.accounts(PLATFORM)[0].id
    day = TODAY - timedelta(days=1)
    columns = ["TimePeriod", "AdId", "Spend", "ConversionsQualified"]

    def totals() -> tuple[float, float]:
        rows = data_rows(
            run_report(client, report_request(account, day, day, columns=columns), customer_id) or "", columns
        )
        return sum(number(r["Spend"]) for r in rows), sum(number(r["ConversionsQualified"]) for r in rows)

    spend, young = totals()
    server.world.advance(days=30)
    later_spend, mature = totals()
    assert later_spend == pytest.approx(spend) and mature > young


# --- faults ------------------------------------------------------------------------------------------


def test_report_faults(server: SandboxServer, client: httpx.Client, customer_id: str) -> None:
    account = server.world.accounts(PLATFORM)[0].id
    day = TODAY - timedelta(days=2)
    body = report_request(account, day, day)

    server.faults.add(PLATFORM, "report_error")
    assert finished(client, submit(client, body, customer_id).json()["ReportRequestId"])["Status"] == "Error"
    server.faults.add(PLATFORM, "report_stuck")
    stuck = submit(client, body, customer_id).json()["ReportRequestId"]
    assert {poll(client, stuck)["Status"] for _ in range(6)} == {"Pending"}
    server.faults.add(PLATFORM, "report_no_url")
    assert finished(client, submit(client, body, customer_id).json()["ReportRequestId"]) == {
        "ReportDownloadUrl": None,
        "Status": "Success",
    }
    server.faults.add(PLATFORM, "report_ignores_exclude")
    text = run_report(client, body, customer_id) or ""
    assert text.startswith('"Report Name: ') and "Microsoft Corporation" in text
    assert (run_report(client, body, customer_id) or "").startswith('"TimePeriod"')  # fault used up


@pytest.mark.parametrize(("kind", "params", "status"), [
    ("download_expired", {}, 403),
    ("download_expired", {"status": 404}, 404),
    ("corrupt_zip", {"mode": "truncated"}, 200),
    ("corrupt_zip", {"mode": "bad_crc"}, 200),
    ("corrupt_zip", {"mode": "garbage"}, 200),
])  # fmt: skip
def test_download_faults(
    server: SandboxServer,
    client: httpx.Client,
    customer_id: str,
    kind: str,
    params: dict[str, Any],
    status: int,
) -> None:
    account = server.world.accounts(PLATFORM)[0].id
    day = TODAY - timedelta(days=2)
    url = finished(
        client, submit(client, report_request(account, day, day), customer_id).json()["ReportRequestId"]
    )["ReportDownloadUrl"]
    server.faults.add(PLATFORM, kind, **params)
    broken = httpx.get(url)
    assert broken.status_code == status
    if kind == "corrupt_zip":
        with (
            pytest.raises((zipfile.BadZipFile, zlib.error)),
            zipfile.ZipFile(io.BytesIO(broken.content)) as archive,
        ):
            archive.read(archive.namelist()[0])
    assert httpx.get(url).status_code == 200  # the fault was used up


def test_request_faults(server: SandboxServer, client: httpx.Client, customer_id: str) -> None:
    url = "/CustomerManagement/v13/User/Query"
    cases = [
        ("throttle", {}, 400, 117),
        ("server_error", {}, 500, 0),
        ("transient_code", {"code": 207}, 400, 207),
        ("transient_code", {"code": 4204}, 400, 4204),
        ("bad_token", {}, 401, 105),
        ("token_expired", {}, 401, 109),
    ]
    for kind, params, status, code in cases:
        server.faults.add(PLATFORM, kind, path=url, **params)
        response = client.post(url, json={"UserId": None})
        assert (response.status_code, operation_error(response)["Code"]) == (status, code), kind
    assert client.post(url, json={"UserId": None}).status_code == 200
    server.faults.add(PLATFORM, "server_error", status=503)
    gateway = client.post(url, json={"UserId": None})
    assert gateway.status_code == 503 and "json" not in gateway.headers["content-type"]
    for kind in ("malformed_json", "truncated_json"):
        server.faults.add(PLATFORM, kind)
        with pytest.raises(json.JSONDecodeError):
            json.loads(client.post(url, json={"UserId": None}).content)
    server.faults.add(PLATFORM, "timeout", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.post(url, json={"UserId": None}, timeout=0.3)


# --- auth --------------------------------------------------------------------------------------------


def test_auth_headers_and_oauth(server: SandboxServer) -> None:
    url = f"{server.base_url(PLATFORM)}/CustomerManagement/v13/User/Query"
    assert httpx.post(url, json={}, headers={"AuthenticationToken": TOKEN}).json()["Errors"][0]["Code"] == 105
    wrong = httpx.post(url, json={}, headers={"AuthenticationToken": "stolen", "DeveloperToken": "d"})
    assert (
        wrong.status_code == 401 and wrong.json()["Type"] == "AdApiFaultDetail" and "stolen" not in wrong.text
    )

    token_url = f"{server.base_url(PLATFORM)}{TOKEN_PATH}"
    form = {
        "grant_type": "refresh_token",
        "refresh_token": sandbox_refresh_token(PLATFORM),
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
    }
    assert httpx.post(token_url, data=form).json()["error"] == "invalid_request"  # scope is required
    grant = httpx.post(token_url, data={**form, "scope": f"{OAUTH_SCOPE} offline_access"}).json()
    assert grant["expires_in"] == 3600 and OAUTH_SCOPE in grant["scope"]
    fresh = {"AuthenticationToken": grant["access_token"], "DeveloperToken": "d"}
    assert httpx.post(url, json={}, headers=fresh).status_code == 200
    server.world.advance(hours=2)
    expired = httpx.post(url, json={}, headers=fresh)
    assert (
        expired.status_code == 401
        and expired.json()["Errors"][0]["ErrorCode"] == "AuthenticationTokenExpired"
    )
    server.faults.add(PLATFORM, "invalid_grant")
    refused = httpx.post(token_url, data={**form, "scope": OAUTH_SCOPE})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


# --- write-back (own server) -------------------------------------------------------------------------


def test_write_back_changes_the_world_and_reports_partial_errors() -> None:
    with (
        SandboxServer(make_world()) as own,
        httpx.Client(
            base_url=own.base_url(PLATFORM),
            headers={"AuthenticationToken": TOKEN, "DeveloperToken": "d"},
            timeout=10,
        ) as http,
    ):
        world = own.world
        customer = _customer(own)
        campaign = world.campaigns(PLATFORM)[0]
        headers = scope(campaign.account_id, customer)
        body = {
            "AccountId": int(campaign.account_id),
            "Campaigns": [{"Id": int(campaign.id), "Status": "Paused", "DailyBudget": 55.5}],
        }
        assert http.put("/CampaignManagement/v13/Campaigns", json=body, headers=headers).json() == {
            "PartialErrors": []
        }
        assert world.campaign_status(campaign) == "PAUSED" and world.campaign_daily_budget(campaign) == 55.5
        listed = http.post(
            "/CampaignManagement/v13/Campaigns/QueryByAccountId",
            json={"AccountId": int(campaign.account_id), "CampaignType": "Search Audience"},
            headers=headers,
        ).json()["Campaigns"]
        assert next(c for c in listed if c["Id"] == int(campaign.id))["Status"] == "Paused"

        bad = {
            "AccountId": int(campaign.account_id),
            "Campaigns": [{"Id": 1, "Status": "Paused"}, {"Id": int(campaign.id), "Status": "Deleted"},
                          {"Id": int(campaign.id), "DailyBudget": 0.2}],
        }  # fmt: skip
        errors = http.put("/CampaignManagement/v13/Campaigns", json=bad, headers=headers).json()[
            "PartialErrors"
        ]
        assert [(e["Index"], e["Code"]) for e in errors] == [(0, 1100), (1, 1020), (2, 1136)]
        assert world.campaign_daily_budget(campaign) == 55.5


def test_settings_shape_the_fake() -> None:
    settings = {PLATFORM: MicrosoftAdsApiSettings(polls_to_complete=4, extra_accounts=())}
    with (
        SandboxServer(make_world(), settings=settings) as own,
        httpx.Client(
            base_url=own.base_url(PLATFORM),
            headers={"AuthenticationToken": TOKEN, "DeveloperToken": "d"},
            timeout=10,
        ) as http,
    ):
        customer = _customer(own)
        infos = http.post(
            "/CustomerManagement/v13/AccountsInfo/Query", json={"CustomerId": int(customer)}
        ).json()
        assert {i["AccountLifeCycleStatus"] for i in infos["AccountsInfo"]} == {"Active"}
        account = own.world.accounts(PLATFORM)[0].id
        day = TODAY - timedelta(days=1)
        request_id = submit(http, report_request(account, day, day), customer).json()["ReportRequestId"]
        assert [poll(http, request_id)["Status"] for _ in range(4)] == ["Pending"] * 3 + ["Success"]
