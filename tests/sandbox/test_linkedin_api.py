"""The LinkedIn fake over real HTTP: headers, cursor paging, analytics validation, writes, OAuth, faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from pipeline.sandbox.linkedin_api import TOKEN_PATH
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = SANDBOX_TOKENS["linkedin"]
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "LinkedIn-Version": "202606",
    "X-Restli-Protocol-Version": "2.0.0",
}
FIELDS = "dateRange,pivotValues,costInLocalCurrency,impressions,clicks,externalWebsiteConversions"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    world = World(default_scenario(today=TODAY))
    world.now = NOW
    with SandboxServer(world) as running:
        yield running


@pytest.fixture(autouse=True)
def no_leftover_faults(server: SandboxServer) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.base_url('linkedin')}/rest", headers=HEADERS, timeout=10) as c:
        yield c


def analytics(
    client: httpx.Client, account: str, start: date, end: date, fields: str = FIELDS
) -> httpx.Response:
    date_range = (
        f"(start:(year:{start.year},month:{start.month},day:{start.day}),"
        f"end:(year:{end.year},month:{end.month},day:{end.day}))"
    )
    query = (
        f"q=analytics&pivot=CREATIVE&timeGranularity=DAILY&dateRange={date_range}"
        f"&accounts=List(urn%3Ali%3AsponsoredAccount%3A{account})&fields={fields}"
    )
    return client.get(f"/adAnalytics?{query}")


def test_cursor_paging_serves_every_campaign_once(client: httpx.Client, server: SandboxServer) -> None:
    account = server.world.accounts("linkedin")[0].id
    seen, token = [], None
    while True:
        params = {"q": "search", "pageSize": "1", **({"pageToken": token} if token else {})}
        body = client.get(f"/adAccounts/{account}/adCampaigns", params=params).json()
        seen += [c["id"] for c in body["elements"]]
        token = body["metadata"].get("nextPageToken")
        if not token:
            break
    assert sorted(seen) == sorted(int(c.id) for c in server.world.campaigns("linkedin", account))
    too_big = client.get(f"/adAccounts/{account}/adCampaigns", params={"q": "search", "pageSize": "1001"})
    assert too_big.status_code == 400 and too_big.json()["status"] == 400


def test_campaigns_carry_budgets_as_amount_and_currency(client: httpx.Client, server: SandboxServer) -> None:
    account = server.world.accounts("linkedin")[0]
    campaign = next(c for c in server.world.campaigns("linkedin", account.id) if c.lifetime_budget is None)
    body = client.get(f"/adAccounts/{account.id}/adCampaigns/{campaign.id}").json()
    assert body["dailyBudget"] == {
        "amount": f"{server.world.campaign_daily_budget(campaign):.2f}",
        "currencyCode": account.currency,
    }
    assert body["account"] == f"urn:li:sponsoredAccount:{account.id}"
    assert body["campaignGroup"].startswith("urn:li:sponsoredCampaignGroup:")


def test_analytics_are_complete_days_with_activity_and_only_the_fields_asked(
    client: httpx.Client, server: SandboxServer
) -> None:
    account = server.world.accounts("linkedin")[0].id
    elements = analytics(client, account, TODAY - timedelta(days=3), TODAY).json()["elements"]
    days = {(e["dateRange"]["start"]["month"], e["dateRange"]["start"]["day"]) for e in elements}
    assert (TODAY.month, TODAY.day) not in days, "today's partial day is not served"
    assert all(set(e) == set(FIELDS.split(",")) for e in elements)
    assert all(
        isinstance(e["costInLocalCurrency"], str) and isinstance(e["impressions"], int) for e in elements
    )
    assert all(e["impressions"] or float(e["costInLocalCurrency"]) for e in elements)


def test_analytics_validation(client: httpx.Client, server: SandboxServer) -> None:
    account = server.world.accounts("linkedin")[0].id
    assert analytics(client, account, TODAY, TODAY - timedelta(days=2)).status_code == 400
    assert analytics(client, account, TODAY, TODAY, fields="spend").status_code == 400
    hourly = client.get("/adAnalytics?q=analytics&pivot=CREATIVE&timeGranularity=HOURLY")
    assert hourly.status_code == 400 and "no hourly" in hourly.json()["message"]


def test_partial_update_answers_204_and_changes_the_world(
    client: httpx.Client, server: SandboxServer
) -> None:
    account = server.world.accounts("linkedin")[1]
    campaign = server.world.campaigns("linkedin", account.id)[0]
    patch = {"patch": {"$set": {"dailyBudget": {"amount": "77.50", "currencyCode": account.currency}}}}
    written = client.post(
        f"/adAccounts/{account.id}/adCampaigns/{campaign.id}",
        json=patch,
        headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
    )
    assert written.status_code == 204 and not written.content
    assert server.world.campaign_daily_budget(campaign) == 77.5
    wrong_currency = {"patch": {"$set": {"dailyBudget": {"amount": "80.00", "currencyCode": "JPY"}}}}
    refused = client.post(
        f"/adAccounts/{account.id}/adCampaigns/{campaign.id}",
        json=wrong_currency,
        headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
    )
    assert refused.status_code == 400
    without_method = client.post(f"/adAccounts/{account.id}/adCampaigns/{campaign.id}", json=patch)
    assert without_method.status_code == 400


def test_refresh_grant_echoes_the_refresh_token_and_60_day_tokens(server: SandboxServer) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": sandbox_refresh_token("linkedin"),
            "client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET}  # fmt: skip
    body = httpx.post(f"{server.base_url('linkedin')}{TOKEN_PATH}", data=form, timeout=10).json()
    assert body["expires_in"] == 60 * 24 * 3600
    assert body["refresh_token"] == form["refresh_token"] and body["refresh_token_expires_in"] > 0
    issued = {**HEADERS, "Authorization": f"Bearer {body['access_token']}"}
    assert (
        httpx.get(f"{server.base_url('linkedin')}/rest/adAccounts?q=search", headers=issued).status_code
        == 200
    )


def test_faults_answer_in_linkedins_error_shape(client: httpx.Client, server: SandboxServer) -> None:
    server.faults.add("linkedin", "throttle", path="/adAccounts")
    throttled = client.get("/adAccounts", params={"q": "search"})
    assert throttled.status_code == 429 and "retry-after" not in throttled.headers
    assert throttled.json() == {
        "status": 429,
        "serviceErrorCode": 101,
        "code": "TOO_MANY_REQUESTS",
        "message": throttled.json()["message"],
    }
    server.faults.add("linkedin", "token_expired", path="/adAccounts")
    assert client.get("/adAccounts", params={"q": "search"}).json()["code"] == "EXPIRED_ACCESS_TOKEN"
    server.faults.add("linkedin", "server_error", path="/adAccounts", status=503)
    proxy = client.get("/adAccounts", params={"q": "search"})
    assert proxy.status_code == 503 and proxy.headers["content-type"].startswith("text/html")
