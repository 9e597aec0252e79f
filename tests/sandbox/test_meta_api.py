"""The Meta fake over real HTTP: payload shapes, paging, async runs, faults, auth, write-back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from pipeline.sandbox.meta_api import HOURLY_BREAKDOWN, PURCHASE_ACTION_TYPES, MetaApiSettings
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
TOKEN = SANDBOX_TOKENS["meta"]
INSIGHTS_FIELDS = (
    "account_id,account_name,account_currency,campaign_id,campaign_name,adset_id,adset_name,ad_id,"
    "ad_name,date_start,date_stop,spend,impressions,clicks,reach,cpm,ctr,cpc,attribution_setting,"
    "actions,action_values"
)


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


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.base_url('meta')}/v21.0", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as c:
        yield c


def time_range(since: date, until: date) -> str:
    return json.dumps({"since": since.isoformat(), "until": until.isoformat()})


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def follow(first: httpx.Response) -> list[dict[str, Any]]:
    """Every record of a paged answer, following the absolute next links (token inside) bare."""
    rows: list[dict[str, Any]] = []
    response = first
    followed: set[str] = set()
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        link = body.get("paging", {}).get("next")
        if not link:
            return rows
        assert link.startswith("http://127.0.0.1:") and f"access_token={TOKEN}" in link
        assert link not in followed, "paging loops"
        followed.add(link)
        response = httpx.get(link, timeout=10)


def error_of(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]


# --- entities ----------------------------------------------------------------------------------------


def test_accounts_and_entity_payload_shapes(server: SandboxServer, client: httpx.Client) -> None:
    world = server.world
    accounts = client.get("/me/adaccounts", params={"fields": "account_id,account_status"}).json()["data"]
    assert [a["account_id"] for a in accounts] == [a.id for a in world.accounts("meta")]
    assert accounts[0]["id"] == f"act_{accounts[0]['account_id']}"

    berlin = world.accounts("meta")[1]
    account = client.get(
        f"/act_{berlin.id}",
        params={"fields": "id,account_id,name,currency,timezone_name,timezone_offset_hours_utc"},
    ).json()
    assert account == {
        "id": f"act_{berlin.id}",
        "account_id": berlin.id,
        "name": berlin.name,
        "currency": "EUR",
        "timezone_name": "Europe/Berlin",
        "timezone_offset_hours_utc": 1.0,
    }
    fields = "id,account_id,name,status,effective_status,objective,daily_budget,lifetime_budget,start_time,stop_time"
    campaigns = follow(client.get(f"/act_{berlin.id}/campaigns", params={"fields": fields, "limit": 1}))
    assert [c["id"] for c in campaigns] == [c.id for c in world.campaigns("meta", berlin.id)]
    first = world.campaigns("meta", berlin.id)[0]
    assert campaigns[0]["daily_budget"] == str(round(first.daily_budget * 100))
    assert campaigns[0]["account_id"] == berlin.id
    assert campaigns[0]["start_time"].endswith(("+0100", "+0200"))
    lifetime = next(c for c in campaigns if "lifetime_budget" in c)
    assert "daily_budget" not in lifetime and "stop_time" in lifetime
    paused = next(c for c in campaigns if c["status"] == "PAUSED")
    ads = follow(
        client.get(
            f"/act_{berlin.id}/ads", params={"fields": "id,account_id,campaign_id,adset_id,effective_status"}
        )
    )
    assert len(ads) == 16
    assert {a["effective_status"] for a in ads if a["campaign_id"] == paused["id"]} == {"CAMPAIGN_PAUSED"}
    adsets = follow(
        client.get(
            f"/act_{berlin.id}/adsets", params={"fields": "id,account_id,campaign_id,optimization_goal"}
        )
    )
    assert len(adsets) == 8 and all(s["account_id"] == berlin.id for s in adsets)
    assert client.get(f"/act_{berlin.id}/campaigns").json()["data"][0] == {"id": first.id}


def test_unknown_account_and_field_errors(server: SandboxServer, client: httpx.Client) -> None:
    response = client.get("/act_999/campaigns")
    assert response.status_code == 400 and error_of(response)["code"] == 100
    account = server.world.accounts("meta")[0].id
    response = client.get(f"/act_{account}/campaigns", params={"fields": "id,bogus"})
    assert (
        response.status_code == 400
        and error_of(response)["code"] == 100
        and "bogus" in error_of(response)["message"]
    )
    response = client.get(f"/act_{account}/insights", params={"fields": "spend,bogus"})
    assert error_of(response)["code"] == 100
    response = client.get(f"/act_{account}/insights", params={"fields": "spend", "limit": 5001})
    assert response.status_code == 400 and error_of(response)["code"] == 100
    response = client.get(f"/act_{account}/insights", params={"level": "creative"})
    assert error_of(response)["code"] == 100
    assert (
        error_of(
            client.get(f"/act_{account}/insights", params={"time_range": time_range(TODAY, days_ago(3))})
        )["code"]
        == 100
    )


# --- insights ----------------------------------------------------------------------------------------


def test_sync_insights_paging_returns_every_row_once(server: SandboxServer, client: httpx.Client) -> None:
    world = server.world
    account = world.accounts("meta")[0]
    since, until = days_ago(7), days_ago(1)
    params = {
        "level": "ad",
        "fields": INSIGHTS_FIELDS,
        "time_range": time_range(since, until),
        "time_increment": 1,
        "limit": 7,
    }
    rows = follow(client.get(f"/act_{account.id}/insights", params=params))
    keys = [(r["ad_id"], r["date_start"]) for r in rows]
    assert len(keys) == len(set(keys))
    expected = set()
    ads = world.ads("meta", account.id)
    for offset in range(1, 8):
        delivery = world.account_day("meta", account.id, days_ago(offset))
        expected |= {(ads[p].id, days_ago(offset).isoformat()) for p in delivery.positions}
    assert set(keys) == expected and len(keys) > 50

    row = next(r for r in rows if r["ad_id"] == ads[6].id and r["date_start"] == days_ago(5).isoformat())
    truth = world.ad_day(ads[6], days_ago(5))
    assert row["spend"] == f"{truth.spend:.2f}" and row["impressions"] == str(truth.impressions)
    assert row["date_stop"] == row["date_start"] and row["account_currency"] == "USD"
    assert all(isinstance(v, str) for k, v in row.items() if k not in ("actions", "action_values"))
    if truth.conversions:
        purchases = {a["action_type"]: a["value"] for a in row["actions"] if "purchase" in a["action_type"]}
        assert purchases == dict.fromkeys(PURCHASE_ACTION_TYPES, str(truth.conversions))
        values = {a["action_type"]: a["value"] for a in row["action_values"]}
        assert values == dict.fromkeys(PURCHASE_ACTION_TYPES, f"{truth.conversion_value:.2f}")


def test_tracking_break_rows_have_spend_but_no_purchases(server: SandboxServer, client: httpx.Client) -> None:
    broken = next(i for i in server.world.incidents if i.kind == "tracking_break")
    params = {
        "level": "ad",
        "fields": INSIGHTS_FIELDS,
        "time_range": time_range(days_ago(3), days_ago(1)),
        "time_increment": 1,
        "filtering": json.dumps([{"field": "campaign.id", "operator": "IN", "value": [broken.campaign_id]}]),
        "limit": 500,
    }
    rows = follow(client.get(f"/act_{broken.account_id}/insights", params=params))
    assert rows and {r["campaign_id"] for r in rows} == {broken.campaign_id}
    assert sum(float(r["spend"]) for r in rows) > 0
    for row in rows:
        assert not any("purchase" in a["action_type"] for a in row.get("actions", []))
        assert "action_values" not in row


def test_missing_day_over_http(server: SandboxServer, client: httpx.Client) -> None:
    missing = next(i for i in server.world.incidents if i.kind == "missing_day")
    params = {
        "level": "ad",
        "fields": "ad_id,spend",
        "time_range": time_range(days_ago(11), days_ago(9)),
        "time_increment": 1,
        "limit": 500,
    }
    rows = follow(client.get(f"/act_{missing.account_id}/insights", params=params))
    dates = {r["date_start"] for r in rows}
    assert dates == {days_ago(11).isoformat(), days_ago(9).isoformat()}


def test_levels_filtering_and_aggregation(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[0]
    day = days_ago(2)
    base = {
        "fields": "campaign_id,adset_id,ad_id,spend,impressions",
        "time_range": time_range(day, day),
        "limit": 500,
    }
    ads = follow(client.get(f"/act_{account.id}/insights", params={**base, "level": "ad"}))
    campaigns = follow(client.get(f"/act_{account.id}/insights", params={**base, "level": "campaign"}))
    whole = follow(client.get(f"/act_{account.id}/insights", params={**base, "level": "account"}))
    assert all("ad_id" not in c and "adset_id" not in c for c in campaigns)
    assert len(whole) == 1 and "campaign_id" not in whole[0]
    assert sum(int(r["impressions"]) for r in ads) == int(whole[0]["impressions"])
    assert sum(int(r["impressions"]) for r in campaigns) == int(whole[0]["impressions"])
    chosen = [campaigns[0]["campaign_id"], campaigns[2]["campaign_id"]]
    filtering = json.dumps([{"field": "campaign.id", "operator": "IN", "value": chosen}])
    filtered = follow(
        client.get(f"/act_{account.id}/insights", params={**base, "level": "ad", "filtering": filtering})
    )
    assert {r["campaign_id"] for r in filtered} == set(chosen)
    assert len(filtered) == sum(1 for r in ads if r["campaign_id"] in chosen)
    bad = client.get(
        f"/act_{account.id}/insights",
        params={
            **base,
            "filtering": json.dumps([{"field": "campaign.name", "operator": "IN", "value": ["x"]}]),
        },
    )
    assert error_of(bad)["code"] == 100


def test_hourly_breakdown(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[0]  # 10:30 in New York
    params = {
        "level": "campaign",
        "fields": "campaign_id,spend,impressions",
        "breakdowns": HOURLY_BREAKDOWN,
        "time_increment": 1,
        "time_range": time_range(days_ago(1), TODAY),
        "limit": 5000,
    }
    rows = follow(client.get(f"/act_{account.id}/insights", params=params))
    today_hours = {r[HOURLY_BREAKDOWN] for r in rows if r["date_start"] == TODAY.isoformat()}
    assert "10:00:00 - 10:59:59" in today_hours and "11:00:00 - 11:59:59" not in today_hours
    daily = follow(client.get(f"/act_{account.id}/insights", params={**params, "breakdowns": ""}))
    for campaign in daily:
        if campaign["date_start"] != days_ago(1).isoformat():
            continue
        hours = [
            r
            for r in rows
            if r["campaign_id"] == campaign["campaign_id"] and r["date_start"] == campaign["date_start"]
        ]
        assert len(hours) == 24
        assert sum(int(r["impressions"]) for r in hours) == int(campaign["impressions"])
        assert round(sum(float(r["spend"]) for r in hours), 2) == float(campaign["spend"])


def test_async_report_run_progression_and_paging(server: SandboxServer, client: httpx.Client) -> None:
    world = server.world
    account = world.accounts("meta")[1]
    day = days_ago(3)
    params = {
        "level": "ad",
        "fields": INSIGHTS_FIELDS,
        "time_range": time_range(day, day),
        "time_increment": "1",
    }
    run_id = client.post(f"/act_{account.id}/insights", data=params).json()["report_run_id"]
    assert run_id.isdigit()
    early = client.get(f"/{run_id}/insights")
    assert early.status_code == 400 and error_of(early)["code"] == 100
    seen = []
    for _ in range(5):
        status = client.get(
            f"/{run_id}", params={"fields": "id,async_status,async_percent_completion"}
        ).json()
        seen.append((status["async_status"], status["async_percent_completion"]))
    assert seen[:3] == [("Job Started", 0), ("Job Running", 50), ("Job Completed", 100)]
    assert seen[3:] == [("Job Completed", 100)] * 2
    rows = follow(client.get(f"/{run_id}/insights", params={"limit": 3}))
    delivery = world.account_day("meta", account.id, day)
    assert len(rows) == len(delivery) == len({r["ad_id"] for r in rows})
    assert {r["date_start"] for r in rows} == {day.isoformat()}


def test_restatement_over_http(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[1]
    day = days_ago(1)
    params = {
        "level": "account",
        "fields": "spend,actions",
        "time_range": time_range(day, day),
        "time_increment": 1,
    }

    def purchases() -> tuple[str, int]:
        row = client.get(f"/act_{account.id}/insights", params=params).json()["data"][0]
        count = next(int(a["value"]) for a in row["actions"] if a["action_type"] == PURCHASE_ACTION_TYPES[0])
        return row["spend"], count

    spend, young = purchases()
    try:
        moved = httpx.post(f"{server.url}/_sandbox/clock", json={"advance_days": 30}).json()
        assert moved["now"].startswith("2026-12-20")
        later_spend, mature = purchases()
    finally:
        server.world.now = NOW
    assert later_spend == spend and mature > young


# --- faults --------------------------------------------------------------------------------------


def test_throttle_fault_and_usage_headers(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[0].id
    server.faults.add("meta", "throttle", code=80004, regain_minutes=2)
    response = client.get(f"/act_{account}/campaigns")
    assert response.status_code == 400
    assert error_of(response)["code"] == 80004
    assert json.loads(response.headers["x-ad-account-usage"])["acc_id_util_pct"] == 100
    business = json.loads(response.headers["x-business-use-case-usage"])
    assert next(iter(business.values()))[0]["estimated_time_to_regain_access"] == 2
    server.faults.add("meta", "throttle")
    response = client.get(f"/act_{account}/campaigns")
    assert (
        error_of(response)["code"] == 17 and json.loads(response.headers["x-app-usage"])["call_count"] == 100
    )
    ok = client.get(f"/act_{account}/campaigns")
    assert ok.status_code == 200
    for header in (
        "x-app-usage",
        "x-ad-account-usage",
        "x-business-use-case-usage",
        "x-fb-ads-insights-throttle",
    ):
        assert header in ok.headers


def test_server_errors_reduce_data_and_bad_token(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[0].id
    server.faults.add("meta", "server_error")
    response = client.get(f"/act_{account}")
    assert response.status_code == 500 and error_of(response)["code"] == 2
    server.faults.add("meta", "server_error", status=503)
    response = client.get(f"/act_{account}")
    assert response.status_code == 503 and "json" not in response.headers["content-type"]
    server.faults.add("meta", "reduce_data", path="/insights")
    assert client.get(f"/act_{account}").status_code == 200  # path filter: not this request
    response = client.get(f"/act_{account}/insights")
    assert response.status_code == 500 and error_of(response)["code"] == 1
    assert "reduce the amount of data" in error_of(response)["message"]
    server.faults.add("meta", "bad_token")
    response = client.get(f"/act_{account}")
    assert response.status_code == 400 and error_of(response)["code"] == 190
    assert client.get(f"/act_{account}").status_code == 200


def test_broken_json_faults(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[0].id
    for kind in ("malformed_json", "truncated_json"):
        server.faults.add("meta", kind)
        response = client.get(f"/act_{account}/campaigns", params={"fields": "id,name"})
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
    assert client.get(f"/act_{account}/campaigns").json()["data"]


def test_timeout_fault(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[0].id
    server.faults.add("meta", "timeout", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"/act_{account}", timeout=0.3)
    assert client.get(f"/act_{account}").status_code == 200


def test_fault_times_and_http_control(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[0].id
    created = httpx.post(
        f"{server.url}/_sandbox/faults",
        json={"platform": "meta", "kind": "server_error", "times": 2, "status": 500},
    )
    assert created.status_code == 201
    assert [client.get(f"/act_{account}").status_code for _ in range(3)] == [500, 500, 200]
    assert (
        httpx.post(f"{server.url}/_sandbox/faults", json={"platform": "meta", "kind": "nope"}).status_code
        == 400
    )
    httpx.post(f"{server.url}/_sandbox/faults", json={"platform": "meta", "kind": "throttle", "times": -1})
    assert len(httpx.get(f"{server.url}/_sandbox/faults").json()["faults"]) == 1
    assert [client.get(f"/act_{account}").status_code for _ in range(3)] == [400, 400, 400]
    assert httpx.delete(f"{server.url}/_sandbox/faults").json() == {"cleared": 1}
    assert client.get(f"/act_{account}").status_code == 200
    with pytest.raises(ValueError):
        server.faults.add("meta", "no_such_fault")


def submit(client: httpx.Client, account: str) -> str:
    params = {
        "level": "ad",
        "fields": "ad_id,spend",
        "time_range": time_range(days_ago(2), days_ago(2)),
        "time_increment": 1,
    }
    return client.post(f"/act_{account}/insights", data=params).json()["report_run_id"]


def statuses(client: httpx.Client, run_id: str, polls: int) -> list[tuple[str, int]]:
    result = []
    for _ in range(polls):
        body = client.get(f"/{run_id}").json()
        result.append((body["async_status"], body["async_percent_completion"]))
    return result


@pytest.mark.parametrize("kind, final", [("async_failed", "Job Failed"), ("async_skipped", "Job Skipped")])
def test_async_failed_and_skipped(server: SandboxServer, client: httpx.Client, kind: str, final: str) -> None:
    account = server.world.accounts("meta")[0].id
    server.faults.add("meta", kind)
    run_id = submit(client, account)
    seen = statuses(client, run_id, 4)
    assert seen[0][0] == "Job Started" and [s for s, _ in seen[1:]] == [final] * 3
    assert client.get(f"/{run_id}/insights").status_code == 400
    normal = submit(client, account)  # the fault was used up
    assert statuses(client, normal, 3)[-1] == ("Job Completed", 100)


def test_async_stuck_and_parked_at_100(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("meta")[0].id
    server.faults.add("meta", "async_stuck")
    stuck = submit(client, account)
    assert {s for s, _ in statuses(client, stuck, 12)[1:]} == {"Job Running"}
    server.faults.add("meta", "async_100_running", polls=4)
    parked = submit(client, account)
    seen = statuses(client, parked, 6)
    assert seen == [("Job Started", 0)] + [("Job Running", 100)] * 4 + [("Job Completed", 100)]
    assert client.get(f"/{parked}/insights", params={"limit": 500}).json()["data"]


# --- auth ----------------------------------------------------------------------------------------


def test_tokens(server: SandboxServer) -> None:
    account = server.world.accounts("meta")[0].id
    url = f"{server.base_url('meta')}/v21.0/act_{account}"
    assert httpx.get(url, params={"access_token": TOKEN}).status_code == 200
    wrong = httpx.get(url, params={"access_token": "stolen"})
    assert wrong.status_code == 400 and error_of(wrong)["code"] == 190
    assert "stolen" not in wrong.text
    missing = httpx.get(url)
    assert error_of(missing)["code"] == 104
    server.tokens["meta"].discard(TOKEN)
    try:
        assert error_of(httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}))["code"] == 190
    finally:
        server.tokens["meta"].add(TOKEN)


# --- own servers: usage limits and write-back --------------------------------------------------------


def test_usage_climbs_with_request_rate_and_can_throttle() -> None:
    settings = {
        "meta": MetaApiSettings(app_calls_per_window=40, account_calls_per_window=10, enforce_limits=True)
    }
    with SandboxServer(make_world(), settings=settings) as server, httpx.Client(timeout=10) as http:
        account = server.world.accounts("meta")[0].id
        url = f"{server.base_url('meta')}/v21.0/act_{account}/insights"
        figures = []
        for _ in range(12):
            response = http.get(url, params={"access_token": TOKEN, "fields": "spend"})
            figures.append(
                (response.status_code, json.loads(response.headers["x-ad-account-usage"])["acc_id_util_pct"])
            )
            insights = json.loads(response.headers["x-fb-ads-insights-throttle"])
        usage = [pct for _, pct in figures]
        assert usage == sorted(usage) and usage[0] <= 10 and usage[-1] == 100
        assert insights["acc_id_util_pct"] == 100
        assert figures[-1][0] == 400
        assert error_of(http.get(url, params={"access_token": TOKEN}))["code"] == 80004


def test_write_back_changes_the_world_and_entities() -> None:
    with (
        SandboxServer(make_world()) as server,
        httpx.Client(
            base_url=f"{server.base_url('meta')}/v21.0",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ) as client,
    ):
        world = server.world
        campaign = world.campaigns("meta")[2]
        assert client.post(f"/{campaign.id}", data={"status": "PAUSED", "daily_budget": "25000"}).json() == {
            "success": True
        }
        assert world.campaign_status(campaign) == "PAUSED"
        assert world.campaign_daily_budget(campaign) == 250.0
        read = client.get(f"/{campaign.id}", params={"fields": "id,status,daily_budget,updated_time"}).json()
        assert read["status"] == "PAUSED" and read["daily_budget"] == "25000"
        ad = world.ads("meta", campaign_id=campaign.id)[0]
        world.advance(days=1)
        assert world.ad_day(ad, TODAY) is None
        assert error_of(client.post(f"/{campaign.id}", data={"status": "ENABLED"}))["code"] == 100
        assert error_of(client.post(f"/{campaign.id}", data={"daily_budget": "12.5"}))["code"] == 100
        lifetime = next(c for c in world.campaigns("meta") if c.lifetime_budget)
        assert error_of(client.post(f"/{lifetime.id}", data={"daily_budget": "5000"}))["code"] == 100
        assert error_of(client.post("/123", data={"status": "PAUSED"}))["error_subcode"] == 33
        # Archived objects leave the default listing, as on the real API.
        client.post(f"/{campaign.id}", data={"status": "ARCHIVED"})
        listed = client.get(f"/act_{campaign.account_id}/campaigns").json()["data"]
        assert campaign.id not in {c["id"] for c in listed}
        everything = client.get(
            f"/act_{campaign.account_id}/campaigns",
            params={"effective_status": json.dumps(["ACTIVE", "PAUSED", "ARCHIVED", "DELETED"])},
        ).json()["data"]
        assert campaign.id in {c["id"] for c in everything}


def test_health_endpoint(server: SandboxServer) -> None:
    health = httpx.get(f"{server.url}/_sandbox/health").json()
    assert health["status"] == "ok" and "meta" in health["platforms"] and health["clock_pinned"]


def test_clock_endpoint_pins_and_releases(server: SandboxServer) -> None:
    try:
        pinned = httpx.post(f"{server.url}/_sandbox/clock", json={"now": "2026-11-25T08:00:00Z"}).json()
        assert pinned == {"now": "2026-11-25T08:00:00+00:00", "clock_pinned": True}
        assert server.world.now == datetime(2026, 11, 25, 8, tzinfo=UTC)
        released = httpx.post(f"{server.url}/_sandbox/clock", json={"now": None}).json()
        assert released["clock_pinned"] is False and server.world.now is None
        assert httpx.post(f"{server.url}/_sandbox/clock", json={"now": "yesterday"}).status_code == 400
    finally:
        server.world.now = NOW
