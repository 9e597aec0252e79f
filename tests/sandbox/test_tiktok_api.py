"""The TikTok fake over real HTTP: envelope, auth, advertisers, paging, reports, faults, write-back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.routing import Mount

from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.sandbox.tiktok_api import TikTokApi

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # New York 10:30, Berlin 16:30
TOKEN = SANDBOX_TOKENS["tiktok"]
DAY = date(2026, 11, 17)
AD_METRICS = [
    "campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name", "currency", "spend",
    "impressions", "clicks", "ctr", "cpc", "cpm", "reach", "conversion", "cost_per_conversion",
    "complete_payment", "total_complete_payment_rate", "cost_per_complete_payment", "complete_payment_roas",
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


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.base_url('tiktok')}/open_api/v1.3", headers={"Access-Token": TOKEN}, timeout=10
    ) as c:
        yield c


@pytest.fixture(scope="module")
def ny(server: SandboxServer) -> str:
    return server.world.accounts("tiktok")[0].id  # USD, America/New_York


@pytest.fixture(scope="module")
def berlin(server: SandboxServer) -> str:
    return server.world.accounts("tiktok")[1].id  # EUR, Europe/Berlin


def api_of(server: SandboxServer) -> TikTokApi:
    mount = next(r for r in server.app.routes if isinstance(r, Mount) and r.path == "/tiktok")
    return mount.app.state.api  # type: ignore[attr-defined]


def ok(response: httpx.Response) -> dict[str, Any]:
    """The data of a successful answer; TikTok answers HTTP 200 whatever happens."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0 and body["message"] == "OK", body
    assert isinstance(body["request_id"], str) and len(body["request_id"]) > 14
    return body["data"]


def error(response: httpx.Response) -> tuple[int, str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] != 0 and body["data"] == {}
    return body["code"], body["message"]


def report(client: httpx.Client, advertiser: str, **overrides: Any) -> httpx.Response:
    params: dict[str, Any] = {
        "advertiser_id": advertiser,
        "service_type": "AUCTION",
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": ["ad_id", "stat_time_day"],
        "metrics": AD_METRICS,
        "start_date": DAY.isoformat(),
        "end_date": DAY.isoformat(),
        "page_size": 1000,
    }
    params.update(overrides)
    encoded = {k: json.dumps(v) if isinstance(v, list) else v for k, v in params.items()}
    return client.get("/report/integrated/get/", params=encoded)


def rows(client: httpx.Client, advertiser: str, **overrides: Any) -> list[dict[str, Any]]:
    data = ok(report(client, advertiser, **overrides))
    assert data["page_info"]["total_page"] <= 1
    return data["list"]


# --- envelope and auth -------------------------------------------------------------------------------


def test_token_in_the_access_token_header_only(server: SandboxServer, ny: str) -> None:
    url = f"{server.base_url('tiktok')}/open_api/v1.3/campaign/get/"
    params = {"advertiser_id": ny}
    assert error(httpx.get(url, params=params))[0] == 40104
    bearer = {"Authorization": f"Bearer {TOKEN}"}  # TikTok ignores it
    assert error(httpx.get(url, params=params, headers=bearer))[0] == 40104
    assert error(httpx.get(url, params=params, headers={"Access-Token": "nope"}))[0] == 40105
    assert ok(httpx.get(url, params=params, headers={"Access-Token": TOKEN}))["list"]
    assert httpx.get(f"{server.base_url('tiktok')}/open_api/v1.3/nothing/here/").status_code == 404
    assert httpx.get(f"{server.base_url('tiktok')}/open_api/v9.9/campaign/get/").status_code == 404


# --- advertisers -------------------------------------------------------------------------------------


def test_advertiser_listing_needs_the_app_and_includes_a_disabled_one(
    server: SandboxServer, client: httpx.Client
) -> None:
    wrong = {"app_id": SANDBOX_CLIENT_ID, "secret": "wrong"}
    assert error(client.get("/oauth2/advertiser/get/", params=wrong))[0] == 40001
    listed = ok(
        client.get(
            "/oauth2/advertiser/get/", params={"app_id": SANDBOX_CLIENT_ID, "secret": SANDBOX_CLIENT_SECRET}
        )
    )["list"]
    disabled = api_of(server).disabled_advertiser
    assert [a["advertiser_id"] for a in listed] == [a.id for a in server.world.accounts("tiktok")] + [
        disabled.id
    ]
    info = ok(
        client.get(
            "/advertiser/info/", params={"advertiser_ids": json.dumps([a["advertiser_id"] for a in listed])}
        )
    )["list"]
    assert [i["status"] for i in info] == ["STATUS_ENABLE", "STATUS_ENABLE", "STATUS_DISABLE"]
    ny, berlin = info[0], info[1]
    assert (ny["currency"], ny["timezone"], ny["display_timezone"]) == (
        "USD",
        "Etc/GMT+5",
        "America/New_York",
    )
    assert (berlin["currency"], berlin["timezone"], berlin["display_timezone"]) == (
        "EUR",
        "Etc/GMT-1",
        "Europe/Berlin",
    )
    assert isinstance(ny["create_time"], int)  # epoch seconds here, text times elsewhere
    # The disabled advertiser has no objects and no data, but answers.
    assert ok(client.get("/campaign/get/", params={"advertiser_id": disabled.id}))["list"] == []
    assert rows(client, disabled.id) == []


def test_advertiser_info_validation(client: httpx.Client, ny: str) -> None:
    fields = json.dumps(["advertiser_id", "currency"])
    one = ok(client.get("/advertiser/info/", params={"advertiser_ids": json.dumps([ny]), "fields": fields}))
    assert one["list"] == [{"advertiser_id": ny, "currency": "USD"}]
    bad_field = {"advertiser_ids": json.dumps([ny]), "fields": json.dumps(["budget"])}
    assert error(client.get("/advertiser/info/", params=bad_field))[0] == 40002
    too_many = {"advertiser_ids": json.dumps([ny] * 101)}
    assert error(client.get("/advertiser/info/", params=too_many))[0] == 40002
    assert error(client.get("/advertiser/info/", params={"advertiser_ids": "7,8"}))[0] == 40002  # not JSON
    stranger = {"advertiser_ids": json.dumps(["7000000000000000001"])}
    assert error(client.get("/advertiser/info/", params=stranger))[0] == 40001


# --- entities and paging -----------------------------------------------------------------------------


def test_entity_shapes(server: SandboxServer, client: httpx.Client, berlin: str) -> None:
    world = server.world
    campaigns = ok(client.get("/campaign/get/", params={"advertiser_id": berlin, "page_size": 100}))["list"]
    assert [c["campaign_id"] for c in campaigns] == [c.id for c in world.campaigns("tiktok", berlin)]
    first = world.campaigns("tiktok", berlin)[0]
    assert campaigns[0]["budget"] == first.daily_budget and campaigns[0]["budget_mode"] == "BUDGET_MODE_DAY"
    lifetime = next(c for c in campaigns if c["budget_mode"] == "BUDGET_MODE_TOTAL")
    assert lifetime["budget"] == world.campaign("tiktok", lifetime["campaign_id"]).lifetime_budget
    paused = next(c for c in campaigns if c["operation_status"] == "DISABLE")
    assert paused["secondary_status"] == "CAMPAIGN_STATUS_DISABLE"
    assert len(campaigns[0]["create_time"]) == 19  # "YYYY-MM-DD HH:MM:SS", UTC

    groups = ok(client.get("/adgroup/get/", params={"advertiser_id": berlin, "page_size": 100}))["list"]
    under_paused = [g for g in groups if g["campaign_id"] == paused["campaign_id"]]
    assert {g["secondary_status"] for g in under_paused} == {"ADGROUP_STATUS_CAMPAIGN_DISABLE"}
    assert {g["budget_mode"] for g in groups} == {"BUDGET_MODE_INFINITE"}
    start = world.campaign("tiktok", groups[0]["campaign_id"]).start_date
    # Local midnight in Berlin is 22:00 or 23:00 UTC the day before.
    assert groups[0]["schedule_start_time"][:10] == (start - timedelta(days=1)).isoformat()
    ends = [g for g in groups if g["schedule_type"] == "SCHEDULE_START_END"]
    assert ends and all(g["schedule_end_time"].endswith(":59:59") for g in ends)

    ads = ok(client.get("/ad/get/", params={"advertiser_id": berlin, "page_size": 100}))["list"]
    assert {a["ad_id"] for a in ads} == {a.id for a in world.ads("tiktok", berlin)}
    assert all(isinstance(a["ad_id"], str) for a in ads)


def test_paging_and_filtering(client: httpx.Client, ny: str) -> None:
    pages = [
        ok(client.get("/ad/get/", params={"advertiser_id": ny, "page": p, "page_size": 5}))
        for p in (1, 2, 3, 4, 5)
    ]
    assert [p["page_info"] for p in pages[:1]] == [
        {"page": 1, "page_size": 5, "total_number": 16, "total_page": 4}
    ]
    assert [len(p["list"]) for p in pages] == [5, 5, 5, 1, 0]
    assert len({a["ad_id"] for p in pages for a in p["list"]}) == 16
    assert ok(client.get("/ad/get/", params={"advertiser_id": ny}))["page_info"]["page_size"] == 10
    for bad in ({"page_size": 1001}, {"page_size": 0}, {"page": 0}, {"page": "x"}):
        assert error(client.get("/ad/get/", params={"advertiser_id": ny, **bad}))[0] == 40002
    some = [a["ad_id"] for a in pages[0]["list"][:2]]
    filtered = ok(
        client.get("/ad/get/", params={"advertiser_id": ny, "filtering": json.dumps({"ad_ids": some})})
    )["list"]
    assert [a["ad_id"] for a in filtered] == some
    unknown = {"advertiser_id": ny, "filtering": json.dumps({"objective": "X"})}
    assert error(client.get("/ad/get/", params=unknown))[0] == 40002
    unknown_field = {"advertiser_id": ny, "fields": json.dumps(["ad_id", "nope"])}
    assert error(client.get("/ad/get/", params=unknown_field))[0] == 40002


def test_insert_row_fault_shifts_the_pages(server: SandboxServer, client: httpx.Client, ny: str) -> None:
    clean = [
        a["ad_id"]
        for p in (1, 2)
        for a in ok(client.get("/ad/get/", params={"advertiser_id": ny, "page": p, "page_size": 5}))["list"]
    ]
    server.faults.add("tiktok", "insert_row", path="/ad/get/", times=1)
    first = ok(client.get("/ad/get/", params={"advertiser_id": ny, "page": 1, "page_size": 5}))
    second = ok(client.get("/ad/get/", params={"advertiser_id": ny, "page": 2, "page_size": 5}))
    assert first["page_info"]["total_number"] == 15 and second["page_info"]["total_number"] == 16
    shifted = [a["ad_id"] for a in first["list"] + second["list"]]
    assert shifted[:5] == clean[1:6]  # the first row was not there yet...
    assert shifted[5] == shifted[4]  # ...so page 2 repeats page 1's last row
    assert clean[0] not in shifted


# --- reports -----------------------------------------------------------------------------------------


def test_ad_report_shapes_and_truth(server: SandboxServer, client: httpx.Client, ny: str) -> None:
    world = server.world
    data = rows(client, ny)
    assert data
    for row in data:
        assert set(row) == {"dimensions", "metrics"}
        assert row["dimensions"]["stat_time_day"] == f"{DAY.isoformat()} 00:00:00"
        m = row["metrics"]
        assert list(m) == AD_METRICS and all(isinstance(v, str) for v in m.values())
        ad = world.ad("tiktok", row["dimensions"]["ad_id"])
        truth = world.ad_day(ad, DAY)
        assert truth is not None
        assert (m["campaign_id"], m["adgroup_id"], m["ad_name"]) == (ad.campaign_id, ad.ad_group_id, ad.name)
        assert m["currency"] == "USD"
        assert Decimal(m["spend"]) == Decimal(f"{truth.spend:.2f}") and "." in m["spend"]
        assert int(m["impressions"]) == truth.impressions and int(m["clicks"]) == truth.clicks
        assert Decimal(m["ctr"]) == round(Decimal(truth.clicks * 100) / truth.impressions, 2)  # percent
        if truth.conversions:
            assert int(m["complete_payment"]) == truth.conversions
            assert Decimal(m["total_complete_payment_rate"]) == Decimal(f"{truth.conversion_value:.2f}")
        else:
            assert m["complete_payment"] == m["total_complete_payment_rate"] == "-"
            assert m["cost_per_complete_payment"] == "-" and m["complete_payment_roas"] == "0.00"
        traffic = "TRAFFIC" in world.campaign("tiktok", ad.campaign_id).objective
        # conversion = the optimisation event: clicks for traffic ad groups, payments otherwise
        assert int(m["conversion"]) == (truth.clicks if traffic else truth.conversions)
        if truth.clicks == 0:
            assert m["cpc"] == "-"
    assert any("TRAFFIC" in world.campaign("tiktok", r["metrics"]["campaign_id"]).objective for r in data)


def test_levels_aggregate_the_ad_rows(client: httpx.Client, ny: str) -> None:
    ads = rows(client, ny, metrics=["campaign_id", "spend", "impressions", "complete_payment"])
    campaigns = rows(
        client,
        ny,
        data_level="AUCTION_CAMPAIGN",
        dimensions=["campaign_id", "stat_time_day"],
        metrics=["spend", "impressions", "conversion", "campaign_name"],
    )
    by_campaign: dict[str, int] = {}
    for row in ads:
        campaign = row["metrics"]["campaign_id"]
        by_campaign[campaign] = by_campaign.get(campaign, 0) + int(row["metrics"]["impressions"])
    assert {
        r["dimensions"]["campaign_id"]: int(r["metrics"]["impressions"]) for r in campaigns
    } == by_campaign
    assert {r["metrics"]["conversion"] for r in campaigns} == {"-"}  # not summed above ad groups
    total = rows(client, ny, data_level="AUCTION_ADVERTISER", dimensions=["advertiser_id"], metrics=["spend"])
    assert [r["dimensions"] for r in total] == [{"advertiser_id": ny}]
    assert Decimal(total[0]["metrics"]["spend"]) == sum(Decimal(r["metrics"]["spend"]) for r in ads)


def test_report_validation(client: httpx.Client, ny: str) -> None:
    start = DAY - timedelta(days=29)
    assert ok(report(client, ny, start_date=start.isoformat()))["page_info"]["total_number"] > 0  # 30 days
    cases: list[dict[str, Any]] = [
        {"start_date": (start - timedelta(days=1)).isoformat()},  # 31 days
        {"dimensions": ["ad_id", "stat_time_hour"], "start_date": (DAY - timedelta(days=1)).isoformat()},
        {"dimensions": ["ad_id", "stat_time_hour"], "metrics": ["spend", "reach"]},
        {"metrics": ["spend", "purchases"]},
        {"dimensions": ["campaign_id", "stat_time_day"]},  # not the id of AUCTION_AD
        {"dimensions": ["ad_id", "stat_time_day", "stat_time_hour"]},
        {"dimensions": ["ad_id", "country_code"]},
        {"data_level": "AUCTION_CAMPAIGN", "dimensions": ["campaign_id"], "metrics": ["ad_name"]},
        {"data_level": "AD"},
        {"report_type": "AUDIENCE"},
        {"service_type": "RESERVATION"},
        {"start_date": "2026/11/17"},
        {"end_date": (DAY - timedelta(days=1)).isoformat()},
        {"page_size": 1001},
        {"dimensions": "ad_id,stat_time_day"},  # lists are JSON arrays
    ]
    for case in cases:
        code, message = error(report(client, ny, **case))
        assert code == 40002, (case, message)


def test_hourly_rows_sum_to_the_day(server: SandboxServer, client: httpx.Client, berlin: str) -> None:
    hourly = rows(client, berlin, dimensions=["ad_id", "stat_time_hour"], metrics=["spend", "impressions"])
    daily = rows(client, berlin, metrics=["spend", "impressions"])
    assert {r["dimensions"]["stat_time_hour"][11:] for r in hourly} == {f"{h:02d}:00:00" for h in range(24)}
    for day_row in daily:
        ad_id = day_row["dimensions"]["ad_id"]
        hours = [r for r in hourly if r["dimensions"]["ad_id"] == ad_id]
        assert sum(int(r["metrics"]["impressions"]) for r in hours) == int(day_row["metrics"]["impressions"])
        assert sum(Decimal(r["metrics"]["spend"]) for r in hours) == Decimal(day_row["metrics"]["spend"])


def test_current_day_is_partial_in_both_grains(server: SandboxServer, client: httpx.Client, ny: str) -> None:
    today = dict(start_date=TODAY.isoformat(), end_date=TODAY.isoformat(), metrics=["impressions"])
    hourly = rows(client, ny, dimensions=["ad_id", "stat_time_hour"], **today)
    daily = rows(client, ny, **today)
    assert max(r["dimensions"]["stat_time_hour"] for r in hourly) == f"{TODAY.isoformat()} 10:00:00"
    assert sum(int(r["metrics"]["impressions"]) for r in hourly) == sum(
        int(r["metrics"]["impressions"]) for r in daily
    )
    tomorrow = TODAY + timedelta(days=1)
    assert rows(client, ny, start_date=tomorrow.isoformat(), end_date=tomorrow.isoformat()) == []


def test_dst_fall_back_day_has_one_row_per_clock_hour(client: httpx.Client, ny: str) -> None:
    fall_back = date(2026, 11, 1).isoformat()  # New York repeats 01:00-02:00
    hourly = rows(
        client,
        ny,
        dimensions=["ad_id", "stat_time_hour"],
        metrics=["impressions"],
        start_date=fall_back,
        end_date=fall_back,
    )
    keys = [(r["dimensions"]["ad_id"], r["dimensions"]["stat_time_hour"]) for r in hourly]
    assert len(keys) == len(set(keys))
    one_am = sum(
        int(r["metrics"]["impressions"])
        for r in hourly
        if r["dimensions"]["stat_time_hour"].endswith("01:00:00")
    )
    midnight = sum(
        int(r["metrics"]["impressions"])
        for r in hourly
        if r["dimensions"]["stat_time_hour"].endswith("00:00:00")
    )
    assert one_am > midnight  # two real hours in one clock hour (the profile is flatter than that)


def test_restatement_over_http(server: SandboxServer, ny: str) -> None:
    with (
        SandboxServer(make_world()) as own,
        httpx.Client(
            base_url=f"{own.base_url('tiktok')}/open_api/v1.3", headers={"Access-Token": TOKEN}, timeout=10
        ) as c,
    ):
        day = (TODAY - timedelta(days=1)).isoformat()

        def payments() -> int:
            data = rows(c, ny, start_date=day, end_date=day, metrics=["complete_payment", "spend"])
            return sum(
                int(r["metrics"]["complete_payment"]) for r in data if r["metrics"]["complete_payment"] != "-"
            )

        young = payments()
        own.world.advance(days=10)
        final = payments()
        assert final > young
        truth = own.world.metrics_frame(
            "tiktok", date.fromisoformat(day), date.fromisoformat(day), account_ids=[ny], truth=True
        )
        assert final == int(truth["conversions"].sum())


# --- faults ------------------------------------------------------------------------------------------


def test_request_faults(server: SandboxServer, client: httpx.Client, ny: str) -> None:
    faults = server.faults
    params = {"advertiser_id": ny}
    faults.add("tiktok", "throttle", path="/campaign/get/", times=1)
    assert error(client.get("/campaign/get/", params=params)) == (
        40100,
        "Too many requests. Please retry in some time.",
    )
    faults.add("tiktok", "server_error", path="/campaign/get/", times=1)
    assert error(client.get("/campaign/get/", params=params))[0] == 50002
    faults.add("tiktok", "server_error", path="/campaign/get/", times=1, status=503)
    gateway = client.get("/campaign/get/", params=params)
    assert gateway.status_code == 503 and gateway.headers["content-type"].startswith("text/html")
    for kind in ("bad_token", "token_expired"):
        faults.add("tiktok", kind, path="/campaign/get/", times=1)
        assert error(client.get("/campaign/get/", params=params))[0] == 40105
    for kind in ("malformed_json", "truncated_json"):
        faults.add("tiktok", kind, path="/campaign/get/", times=1)
        broken = client.get("/campaign/get/", params=params)
        assert broken.status_code == 200
        with pytest.raises(ValueError):
            json.loads(broken.content)
    faults.add("tiktok", "timeout", path="/campaign/get/", times=1, seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/campaign/get/", params=params, timeout=0.1)
    assert ok(client.get("/campaign/get/", params=params))["list"]
    assert faults.pending() == []


def test_fault_only_hits_matching_paths(server: SandboxServer, client: httpx.Client, ny: str) -> None:
    server.faults.add("tiktok", "throttle", path="/report/integrated/get/", times=1)
    assert ok(client.get("/campaign/get/", params={"advertiser_id": ny}))["list"]
    assert error(report(client, ny))[0] == 40100
    assert rows(client, ny)


# --- write-back --------------------------------------------------------------------------------------


def test_write_back_changes_the_world_and_the_entities(ny: str, berlin: str) -> None:
    with (
        SandboxServer(make_world()) as own,
        httpx.Client(
            base_url=f"{own.base_url('tiktok')}/open_api/v1.3", headers={"Access-Token": TOKEN}, timeout=10
        ) as c,
    ):
        world = own.world
        target, other = world.campaigns("tiktok", ny)[:2]

        def post(endpoint: str, body: dict[str, Any]) -> httpx.Response:
            return c.post(endpoint, json=body)

        data = ok(
            post(
                "/campaign/status/update/",
                {"advertiser_id": ny, "campaign_ids": [target.id], "operation_status": "DISABLE"},
            )
        )
        assert data == {"campaign_ids": [target.id], "status": "DISABLE"}
        assert world.campaign_status(target) == "PAUSED"
        listed = ok(c.get("/campaign/get/", params={"advertiser_id": ny, "page_size": 100}))["list"]
        assert next(x for x in listed if x["campaign_id"] == target.id)["operation_status"] == "DISABLE"

        data = ok(post("/campaign/update/", {"advertiser_id": ny, "campaign_id": target.id, "budget": 250.5}))
        assert data["budget"] == 250.5 and data["budget_mode"] == "BUDGET_MODE_DAY"
        assert world.campaign_daily_budget(target) == 250.5

        lifetime = next(x for x in world.campaigns("tiktok", berlin) if x.lifetime_budget is not None)
        rejected = [
            ("/campaign/update/", {"advertiser_id": berlin, "campaign_id": lifetime.id, "budget": 100}),
            ("/campaign/update/", {"advertiser_id": ny, "campaign_id": target.id, "budget": 10}),
            ("/campaign/update/", {"advertiser_id": ny, "campaign_id": target.id, "budget": "100"}),
            ("/campaign/update/", {"advertiser_id": ny, "campaign_id": target.id, "campaign_name": "x"}),
            ("/campaign/update/", {"advertiser_id": berlin, "campaign_id": target.id, "budget": 100}),
            (
                "/campaign/status/update/",
                {"advertiser_id": ny, "campaign_ids": [target.id], "operation_status": "PAUSE"},
            ),
            (
                "/campaign/status/update/",
                {"advertiser_id": ny, "campaign_ids": [target.id] * 21, "operation_status": "ENABLE"},
            ),
            (
                "/campaign/status/update/",
                {"advertiser_id": ny, "campaign_ids": target.id, "operation_status": "ENABLE"},
            ),
        ]
        for endpoint, body in rejected:
            assert error(post(endpoint, body))[0] == 40002, (endpoint, body)
        assert error(c.post("/campaign/update/", content=b"budget=1"))[0] == 40002

        ok(
            post(
                "/campaign/status/update/",
                {"advertiser_id": ny, "campaign_ids": [other.id], "operation_status": "DELETE"},
            )
        )
        assert world.campaign_status(other) == "DELETED"
        visible = ok(c.get("/campaign/get/", params={"advertiser_id": ny, "page_size": 100}))["list"]
        assert other.id not in {x["campaign_id"] for x in visible}
        everything = ok(
            c.get(
                "/campaign/get/",
                params={
                    "advertiser_id": ny,
                    "filtering": json.dumps({"secondary_status": "CAMPAIGN_STATUS_ALL"}),
                },
            )
        )["list"]
        assert (
            next(x for x in everything if x["campaign_id"] == other.id)["secondary_status"]
            == "CAMPAIGN_STATUS_DELETE"
        )
        children = ok(
            c.get(
                "/ad/get/",
                params={
                    "advertiser_id": ny,
                    "page_size": 100,
                    "filtering": json.dumps({"secondary_status": "AD_STATUS_ALL"}),
                },
            )
        )["list"]
        assert {a["secondary_status"] for a in children if a["campaign_id"] == other.id} == {
            "AD_STATUS_CAMPAIGN_DELETE"
        }
        again = {"advertiser_id": ny, "campaign_ids": [other.id], "operation_status": "ENABLE"}
        assert error(post("/campaign/status/update/", again))[0] == 40002  # deleted is final
