"""The Snapchat fake over real HTTP: envelopes, paging, stats validation and DST, faults, OAuth, write-back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.sandbox.snapchat_api import TOKEN_PATH, SnapchatApiSettings

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 12:00 in London, 04:00 in Los Angeles
TOKEN = SANDBOX_TOKENS["snapchat"]
FIELDS = "impressions,swipes,spend,conversion_purchases,conversion_purchases_value"
LA = ZoneInfo("America/Los_Angeles")
FALL_BACK = date(2026, 11, 1)  # US DST ends: 25 hours in Los Angeles


def make_world() -> World:
    world = World(default_scenario(today=TODAY))
    world.now = NOW
    return world


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    # min_limit=1 lets a 4-campaign account page; the real floor (50) is tested on its own server.
    with SandboxServer(make_world(), settings={"snapchat": SnapchatApiSettings(min_limit=1)}) as running:
        yield running


@pytest.fixture(autouse=True)
def no_leftover_faults(server: SandboxServer) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.base_url('snapchat')}/v1", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as c:
        yield c


def la_account(world: World) -> Any:
    return next(a for a in world.accounts("snapchat") if a.timezone == "America/Los_Angeles")


def midnight(day: date, tz: ZoneInfo = LA) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=tz).isoformat()


def stats(client: httpx.Client, path: str, **params: Any) -> httpx.Response:
    return client.get(f"{path}/stats", params=params)


def follow(client: httpx.Client, first: httpx.Response, plural: str, singular: str) -> list[dict[str, Any]]:
    """Every object of a wrapped, paged list, following the absolute next links."""
    objects: list[dict[str, Any]] = []
    response = first
    seen: set[str] = set()
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["request_status"] == "SUCCESS"
        for entry in body[plural]:
            assert entry["sub_request_status"] == "SUCCESS"
            objects.append(entry[singular])
        link = body.get("paging", {}).get("next_link")
        if not link:
            return objects
        assert link.startswith("http://127.0.0.1:") and "cursor=" in link and link not in seen
        seen.add(link)
        response = client.get(link)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["request_status"] == "ERROR" and body["request_id"]
    return body


def ad_series(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    (wrapped,) = body["timeseries_stats"]
    assert wrapped["sub_request_status"] == "SUCCESS"
    return {entry["id"]: entry["timeseries"] for entry in wrapped["timeseries_stat"]["breakdown_stats"]["ad"]}


# --- entities ----------------------------------------------------------------------------------------


def test_organizations_accounts_and_entity_shapes(server: SandboxServer, client: httpx.Client) -> None:
    world = server.world
    organizations = follow(client, client.get("/me/organizations"), "organizations", "organization")
    assert len(organizations) == 1
    organization_id = organizations[0]["id"]
    accounts = follow(
        client, client.get(f"/organizations/{organization_id}/adaccounts"), "adaccounts", "adaccount"
    )
    active = [a for a in accounts if a["status"] == "ACTIVE"]
    assert [a["id"] for a in active] == [a.id for a in world.accounts("snapchat")]
    assert [a["status"] for a in accounts if a not in active] == ["DISABLED"]  # to be skipped
    assert {(a["currency"], a["timezone"]) for a in active} == {
        ("GBP", "Europe/London"),
        ("USD", "America/Los_Angeles"),
    }
    nested = client.get("/me/organizations", params={"with_ad_accounts": "true"}).json()
    assert len(nested["organizations"][0]["organization"]["ad_accounts"]) == len(accounts)

    account = la_account(world)
    single = client.get(f"/adaccounts/{account.id}").json()
    assert single["adaccounts"][0]["adaccount"]["organization_id"] == organization_id

    campaigns = follow(client, client.get(f"/adaccounts/{account.id}/campaigns"), "campaigns", "campaign")
    truth = {c.id: c for c in world.campaigns("snapchat", account.id)}
    assert [c["id"] for c in campaigns] == list(truth)
    for campaign in campaigns:
        simulated = truth[campaign["id"]]
        assert campaign["ad_account_id"] == account.id
        assert campaign["start_time"].endswith("Z")  # entity times are UTC
        local_start = datetime.fromisoformat(campaign["start_time"]).astimezone(LA)
        assert (local_start.date(), local_start.hour) == (simulated.start_date, 0)
        if simulated.lifetime_budget is not None:
            assert campaign["lifetime_spend_cap_micro"] == round(simulated.lifetime_budget * 1e6)
            assert "daily_budget_micro" not in campaign and "end_time" in campaign
        else:
            assert campaign["daily_budget_micro"] == round(simulated.daily_budget * 1e6)
    assert {c["status"] for c in campaigns} == {"ACTIVE", "PAUSED"}

    squads = follow(client, client.get(f"/adaccounts/{account.id}/adsquads"), "adsquads", "adsquad")
    ads = follow(client, client.get(f"/adaccounts/{account.id}/ads"), "ads", "ad")
    assert {s["id"] for s in squads} == {g.id for g in world.ad_groups("snapchat", account.id)}
    assert {a["id"] for a in ads} == {a.id for a in world.ads("snapchat", account.id)}
    assert "ad_account_id" not in squads[0] and "ad_account_id" not in ads[0]  # as on Snap
    assert {a["ad_squad_id"] for a in ads} == {s["id"] for s in squads}
    first_campaign = campaigns[0]["id"]
    under = follow(client, client.get(f"/campaigns/{first_campaign}/adsquads"), "adsquads", "adsquad")
    assert {s["campaign_id"] for s in under} == {first_campaign}
    assert client.get(f"/ads/{ads[0]['id']}").json()["ads"][0]["ad"] == ads[0]


def test_lists_page_by_cursor_and_survive_changes_between_pages(
    server: SandboxServer, client: httpx.Client
) -> None:
    world = server.world
    account = la_account(world)
    first = client.get(f"/adaccounts/{account.id}/ads", params={"limit": 5})
    body = first.json()
    assert len(body["ads"]) == 5 and "next_link" in body["paging"]
    # Nothing is skipped or repeated although the data changes between pages.
    collected = [e["ad"]["id"] for e in body["ads"]]
    link = body["paging"]["next_link"]
    world.advance(hours=1)
    try:
        while link:
            page = client.get(link).json()
            collected += [e["ad"]["id"] for e in page["ads"]]
            link = page["paging"].get("next_link")
    finally:
        world.now = NOW
    assert collected == [a.id for a in world.ads("snapchat", account.id)]
    assert client.get(f"/adaccounts/{account.id}/ads", params={"cursor": "not-a-cursor"}).status_code == 400


def test_limit_range_is_enforced() -> None:
    with SandboxServer(make_world()) as strict:
        account = la_account(strict.world)
        with httpx.Client(
            base_url=f"{strict.base_url('snapchat')}/v1", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as c:
            assert c.get(f"/adaccounts/{account.id}/campaigns", params={"limit": 49}).status_code == 400
            assert c.get(f"/adaccounts/{account.id}/campaigns", params={"limit": 1001}).status_code == 400
            whole = c.get(f"/adaccounts/{account.id}/campaigns", params={"limit": 50}).json()
            assert len(whole["campaigns"]) == 4 and whole["paging"] == {}


def test_deleted_objects_are_listed_only_when_asked() -> None:
    world = make_world()
    account = la_account(world)
    deleted = world.campaigns("snapchat", account.id)[0]
    world.set_campaign_status("snapchat", deleted.id, "DELETED")
    with (
        SandboxServer(world) as own,
        httpx.Client(
            base_url=f"{own.base_url('snapchat')}/v1", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as c,
    ):
        default = c.get(f"/adaccounts/{account.id}/campaigns").json()["campaigns"]
        everything = c.get(
            f"/adaccounts/{account.id}/campaigns", params={"read_deleted_entities": "true"}
        ).json()["campaigns"]
    assert deleted.id not in {e["campaign"]["id"] for e in default}
    assert {e["campaign"]["id"]: e["campaign"]["status"] for e in everything}[deleted.id] == "DELETED"


# --- stats: values, units, DST -------------------------------------------------------------------------


def test_day_stats_per_ad_equal_the_simulator_in_micros(server: SandboxServer, client: httpx.Client) -> None:
    world = server.world
    account = la_account(world)
    since, until = date(2026, 10, 30), date(2026, 11, 2)  # spans the fall-back day
    response = stats(
        client,
        f"/adaccounts/{account.id}",
        granularity="DAY",
        breakdown="ad",
        fields=FIELDS,
        start_time=midnight(since),
        end_time=midnight(until + timedelta(days=1)),
        omit_empty="true",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    header = body["timeseries_stats"][0]["timeseries_stat"]
    assert (header["type"], header["granularity"], header["id"]) == ("AD_ACCOUNT", "DAY", account.id)
    assert header["start_time"] == "2026-10-30T00:00:00.000-07:00"
    assert header["end_time"] == "2026-11-03T00:00:00.000-08:00"
    series = ad_series(body)
    ads = {a.id: a for a in world.ads("snapchat", account.id)}
    delivering = {
        ad_id
        for ad_id, ad in ads.items()
        if any(world.ad_day(ad, since + timedelta(days=i)) for i in range(4))
    }
    assert set(series) == delivering  # omit_empty: ads without delivery in the window are left out
    for ad_id, points in series.items():
        assert [p["start_time"][:10] for p in points] == [
            "2026-10-30",
            "2026-10-31",
            "2026-11-01",
            "2026-11-02",
        ]
        fall_back = points[2]
        assert (fall_back["start_time"], fall_back["end_time"]) == (
            "2026-11-01T00:00:00.000-07:00",
            "2026-11-02T00:00:00.000-08:00",
        )
        for point in points:
            truth = world.ad_day(ads[ad_id], date.fromisoformat(point["start_time"][:10]))
            got = point["stats"]
            assert list(got) == FIELDS.split(",")
            assert all(isinstance(v, int) for v in got.values())  # numbers, not strings
            if truth is None:
                assert set(got.values()) == {0}
                continue
            assert got["spend"] == round(truth.spend * 100) * 10_000  # micro-currency
            assert got["conversion_purchases_value"] == round(truth.conversion_value * 100) * 10_000
            assert (got["impressions"], got["swipes"], got["conversion_purchases"]) == (
                truth.impressions,
                truth.clicks,
                truth.conversions,
            )

    everything = stats(
        client,
        f"/adaccounts/{account.id}",
        granularity="DAY",
        breakdown="ad",
        start_time=midnight(since),
        end_time=midnight(until + timedelta(days=1)),
    ).json()
    assert len(ad_series(everything)) == len(ads)  # omit_empty defaults to false


def test_hour_stats_are_real_hours_and_sum_to_the_day(server: SandboxServer, client: httpx.Client) -> None:
    world = server.world
    account = la_account(world)
    day_body = stats(
        client,
        f"/adaccounts/{account.id}",
        granularity="DAY",
        breakdown="ad",
        fields=FIELDS,
        start_time=midnight(FALL_BACK),
        end_time=midnight(FALL_BACK + timedelta(days=1)),
        omit_empty="true",
    ).json()
    hour_body = stats(
        client,
        f"/adaccounts/{account.id}",
        granularity="HOUR",
        breakdown="ad",
        fields=FIELDS,
        start_time=midnight(FALL_BACK),
        end_time=midnight(FALL_BACK + timedelta(days=1)),
        omit_empty="true",
    ).json()
    days, hours = ad_series(day_body), ad_series(hour_body)
    assert set(days) == set(hours)
    for ad_id, points in hours.items():
        assert len(points) == 25  # the fall-back day has 25 real hours
        starts = [p["start_time"] for p in points]
        assert starts[1:3] == ["2026-11-01T01:00:00.000-07:00", "2026-11-01T01:00:00.000-08:00"]
        assert len(set(starts)) == 25
        for field in FIELDS.split(","):
            assert sum(p["stats"][field] for p in points) == days[ad_id][0]["stats"][field]

    # London's fall-back was a week earlier; a plain day there has 24 buckets.
    london = next(a for a in world.accounts("snapchat") if a.timezone == "Europe/London")
    tz = ZoneInfo("Europe/London")
    plain = stats(
        client,
        f"/adaccounts/{london.id}",
        granularity="HOUR",
        start_time=midnight(date(2026, 11, 10), tz),
        end_time=midnight(date(2026, 11, 11), tz),
    ).json()
    assert len(plain["timeseries_stats"][0]["timeseries_stat"]["timeseries"]) == 24


def test_hour_stats_stop_at_the_current_hour(server: SandboxServer, client: httpx.Client) -> None:
    account = la_account(server.world)  # 04:00 local at NOW
    body = stats(
        client,
        f"/adaccounts/{account.id}",
        granularity="HOUR",
        start_time=midnight(TODAY),
        end_time=midnight(TODAY + timedelta(days=1)),
    ).json()
    points = body["timeseries_stats"][0]["timeseries_stat"]["timeseries"]
    assert [p["start_time"][11:13] for p in points] == ["00", "01", "02", "03", "04"]
    day = stats(
        client,
        f"/adaccounts/{account.id}",
        granularity="DAY",
        start_time=midnight(TODAY - timedelta(days=1)),
        end_time=midnight(TODAY + timedelta(days=1)),
    ).json()
    # DAY buckets cover complete local days only.
    assert [p["start_time"][:10] for p in day["timeseries_stats"][0]["timeseries_stat"]["timeseries"]] == [
        "2026-11-19"
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"granularity": "DAY", "start_time": "2026-11-01T00:30:00-07:00"}, "on the hour"),
        # Los Angeles is still on PDT (-07:00) at midnight on Nov 1: -08:00 is 01:00 local.
        ({"granularity": "DAY", "start_time": "2026-11-01T00:00:00-08:00"}, "start of a day"),
        ({"granularity": "DAY", "start_time": "2026-11-01T00:00:00Z"}, "start of a day"),
        ({"granularity": "DAY", "end_time": "2026-11-03T00:00:00-07:00"}, "start of a day"),
        ({"granularity": "DAY", "start_time": "2026-10-01T00:00:00-07:00"}, "at most 31 days"),
        ({"granularity": "HOUR", "start_time": "2026-10-25T00:00:00-07:00"}, "at most 7 days"),
        ({"granularity": "HOUR", "fields": "impressions,uniques"}, "not supported with HOUR"),
        ({"fields": "spend,clicks"}, "Invalid stats field: clicks"),
        ({"breakdown": "keyword"}, "breakdown keyword is not supported"),
        ({"end_time": "2026-10-31T00:00:00-07:00"}, "after start_time"),
        ({"start_time": "2026-11-01T00:00:00"}, "UTC offset"),
        ({"swipe_up_attribution_window": "3_DAY"}, "swipe_up_attribution_window"),
        ({"granularity": "WEEK"}, "granularity must be"),
    ],
)
def test_stats_requests_are_validated_like_snap(
    server: SandboxServer, client: httpx.Client, params: dict[str, str], message: str
) -> None:
    account = la_account(server.world)
    query = {
        "granularity": "DAY",
        "start_time": "2026-11-01T00:00:00-07:00",
        "end_time": "2026-11-02T00:00:00-08:00",
        **params,
    }
    response = stats(client, f"/adaccounts/{account.id}", **query)
    assert response.status_code == 400
    assert message in error_of(response)["debug_message"]


def test_day_span_of_31_local_days_is_accepted(server: SandboxServer, client: httpx.Client) -> None:
    account = la_account(server.world)
    # 31 local days across the DST change: 745 real hours, still within the limit.
    response = stats(
        client,
        f"/adaccounts/{account.id}",
        granularity="DAY",
        start_time=midnight(date(2026, 10, 15)),
        end_time=midnight(date(2026, 11, 15)),
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["timeseries_stats"][0]["timeseries_stat"]["timeseries"]) == 31


def test_entity_levels_breakdowns_and_total_agree(server: SandboxServer, client: httpx.Client) -> None:
    world = server.world
    account = la_account(world)
    window = {"start_time": midnight(date(2026, 11, 10)), "end_time": midnight(date(2026, 11, 13))}
    campaign = world.campaigns("snapchat", account.id)[0]
    by_ad = stats(
        client, f"/campaigns/{campaign.id}", granularity="DAY", breakdown="ad", fields=FIELDS, **window
    )
    plain = stats(client, f"/campaigns/{campaign.id}", granularity="DAY", fields=FIELDS, **window)
    total = stats(client, f"/campaigns/{campaign.id}", granularity="TOTAL", fields=FIELDS, **window)
    series = ad_series(by_ad.json())
    assert set(series) == {a.id for a in world.ads("snapchat", campaign_id=campaign.id)}
    campaign_series = plain.json()["timeseries_stats"][0]["timeseries_stat"]["timeseries"]
    for i, point in enumerate(campaign_series):
        assert point["stats"]["spend"] == sum(s[i]["stats"]["spend"] for s in series.values())
    total_stat = total.json()["total_stats"][0]["total_stat"]
    assert total_stat["granularity"] == "TOTAL"
    assert total_stat["stats"]["impressions"] == sum(p["stats"]["impressions"] for p in campaign_series)

    squads = stats(
        client,
        f"/adaccounts/{account.id}",
        granularity="TOTAL",
        breakdown="adsquad",
        fields="spend",
        **window,
    ).json()
    entries = squads["total_stats"][0]["total_stat"]["breakdown_stats"]["adsquad"]
    assert {e["type"] for e in entries} == {"AD_SQUAD"}
    assert len(entries) == len(world.ad_groups("snapchat", account.id))
    ad = world.ads("snapchat", account.id)[0]
    assert stats(client, f"/ads/{ad.id}", granularity="DAY", breakdown="ad", **window).status_code == 400


def test_breakdown_pages_survive_a_clock_change_between_pages(
    server: SandboxServer, client: httpx.Client
) -> None:
    world = server.world
    account = la_account(world)
    params = {
        "granularity": "DAY",
        "breakdown": "ad",
        "fields": FIELDS,
        "start_time": midnight(date(2026, 11, 16)),
        "end_time": midnight(date(2026, 11, 19)),
        "omit_empty": "true",
        "limit": 3,
    }
    first = stats(client, f"/adaccounts/{account.id}", **params).json()
    seen = list(ad_series(first))
    link = first["paging"]["next_link"]
    world.advance(days=1)  # restatement moves on while we page
    try:
        while link:
            page = client.get(link).json()
            seen += list(ad_series(page))
            link = page.get("paging", {}).get("next_link")
    finally:
        world.now = NOW
    unpaged = ad_series(stats(client, f"/adaccounts/{account.id}", **{**params, "limit": 1000}).json())
    assert seen == list(unpaged)  # each ad once, in a stable order


def test_finalized_data_end_time_and_restatement() -> None:
    world = make_world()
    account = la_account(world)
    ad = next(a for a in world.ads("snapchat", account.id) if world.ad_day(a, TODAY - timedelta(days=1)))
    window = {
        "granularity": "DAY",
        "breakdown": "ad",
        "fields": FIELDS,
        "start_time": midnight(TODAY - timedelta(days=4)),
        "end_time": midnight(TODAY),
    }
    with (
        SandboxServer(world) as own,
        httpx.Client(
            base_url=f"{own.base_url('snapchat')}/v1", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as c,
    ):
        before = c.get(f"/adaccounts/{account.id}/stats", params=window).json()
        world.advance(days=3)
        after = c.get(f"/adaccounts/{account.id}/stats", params=window).json()
        ad_after = world.ad_day(ad, TODAY - timedelta(days=1))
    finalized = before["timeseries_stats"][0]["timeseries_stat"]["finalized_data_end_time"]
    assert finalized == "2026-11-19T00:00:00.000-08:00"  # 2-day window: days before Nov 19 are final
    old, new = ad_series(before)[ad.id], ad_series(after)[ad.id]
    for old_point, new_point in zip(old, new, strict=True):
        if old_point["end_time"] <= finalized:
            assert old_point == new_point  # final data never changes
    yesterday_old, yesterday_new = old[-1]["stats"], new[-1]["stats"]
    assert yesterday_new["conversion_purchases"] >= yesterday_old["conversion_purchases"]
    assert yesterday_new["conversion_purchases"] == ad_after.conversions
    assert yesterday_new["spend"] == yesterday_old["spend"]
    assert after["timeseries_stats"][0]["timeseries_stat"]["finalized_data_end_time"] > finalized


# --- faults --------------------------------------------------------------------------------------------


def test_sub_request_error_fault(server: SandboxServer, client: httpx.Client) -> None:
    account = la_account(server.world)
    server.faults.add("snapchat", "sub_request_error", path="/stats", times=1, reason="E1008: try again")
    params = {
        "granularity": "DAY",
        "start_time": midnight(date(2026, 11, 10)),
        "end_time": midnight(date(2026, 11, 11)),
    }
    failed = stats(client, f"/adaccounts/{account.id}", **params)
    assert failed.status_code == 200
    (entry,) = failed.json()["timeseries_stats"]
    assert entry["sub_request_status"] == "ERROR" and entry["sub_request_error_reason"] == "E1008: try again"
    assert entry["timeseries_stat"]["id"] == account.id and "timeseries" not in entry["timeseries_stat"]
    ok = stats(client, f"/adaccounts/{account.id}", **params).json()
    assert ok["timeseries_stats"][0]["sub_request_status"] == "SUCCESS"


def test_request_faults(server: SandboxServer, client: httpx.Client) -> None:
    account = la_account(server.world)
    path = f"/adaccounts/{account.id}/campaigns"
    server.faults.add("snapchat", "throttle", path="/campaigns")
    throttled = client.get(path)
    assert throttled.status_code == 429
    assert "retry-after" not in throttled.headers
    assert not [h for h in throttled.headers if h.startswith("x-")]

    server.faults.add("snapchat", "server_error", path="/campaigns", status=500)
    assert error_of(client.get(path))["error_code"] == "E1008"
    server.faults.add("snapchat", "server_error", path="/campaigns", status=503)
    unavailable = client.get(path)
    assert unavailable.status_code == 503 and unavailable.headers["content-type"].startswith("text/html")

    for kind in ("malformed_json", "truncated_json"):
        server.faults.add("snapchat", kind, path="/campaigns")
        broken = client.get(path)
        assert broken.status_code == 200
        with pytest.raises(ValueError):
            broken.json()

    server.faults.add("snapchat", "token_expired", path="/campaigns")
    assert error_of(client.get(path))["debug_message"] == "The access token has expired"
    server.faults.add("snapchat", "bad_token", path="/campaigns")
    assert client.get(path).status_code == 401

    server.faults.add("snapchat", "timeout", path="/campaigns", seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        client.get(path, timeout=0.1)
    assert client.get(path).status_code == 200


def test_rate_limit_answers_a_bare_429() -> None:
    settings = {"snapchat": SnapchatApiSettings(enforce_limits=True, requests_per_second_per_token=3)}
    with (
        SandboxServer(make_world(), settings=settings) as limited,
        httpx.Client(
            base_url=f"{limited.base_url('snapchat')}/v1", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as c,
    ):
        statuses = [c.get("/me/organizations").status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]


# --- OAuth ---------------------------------------------------------------------------------------------


def test_oauth_refresh_expiry_and_invalid_grant() -> None:
    world = make_world()
    with SandboxServer(world) as own, httpx.Client(base_url=own.base_url("snapchat")) as c:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": sandbox_refresh_token("snapchat"),
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
        }
        granted = c.post(TOKEN_PATH, data=form).json()
        assert granted["expires_in"] == 1800 and granted["token_type"] == "Bearer"
        assert granted["refresh_token"] == form["refresh_token"]
        headers = {"Authorization": f"Bearer {granted['access_token']}"}
        assert c.get("/v1/me/organizations", headers=headers).status_code == 200
        world.advance(hours=0.5)
        expired = c.get("/v1/me/organizations", headers=headers)
        assert expired.status_code == 401 and expired.json()["error_code"] == "E3003"
        assert c.get("/v1/me/organizations").status_code == 401  # no token at all
        assert c.get("/v1/me/organizations", headers={"Authorization": "Bearer nope"}).status_code == 401

        assert (
            c.post(TOKEN_PATH, data={**form, "refresh_token": "revoked"}).json()["error"] == "invalid_grant"
        )
        assert c.post(TOKEN_PATH, data={**form, "client_secret": "wrong"}).status_code == 401
        own.faults.add("snapchat", "invalid_grant")
        refused = c.post(TOKEN_PATH, data=form)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        assert c.post(TOKEN_PATH, data=form).status_code == 200


# --- write-back ----------------------------------------------------------------------------------------


def test_put_campaign_writes_status_and_budget() -> None:
    world = make_world()
    account = la_account(world)
    campaign = next(
        c
        for c in world.campaigns("snapchat", account.id)
        if world.campaign_status(c) == "ACTIVE" and c.lifetime_budget is None
    )
    with (
        SandboxServer(world) as own,
        httpx.Client(
            base_url=f"{own.base_url('snapchat')}/v1", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as c,
    ):
        current = c.get(f"/campaigns/{campaign.id}").json()["campaigns"][0]["campaign"]
        changed = {**current, "status": "PAUSED", "daily_budget_micro": 123_450_000}
        answer = c.put(f"/adaccounts/{account.id}/campaigns", json={"campaigns": [changed]})
        assert answer.status_code == 200, answer.text
        written = answer.json()["campaigns"][0]
        assert written["sub_request_status"] == "SUCCESS"
        assert (written["campaign"]["status"], written["campaign"]["daily_budget_micro"]) == (
            "PAUSED",
            123_450_000,
        )
        assert world.campaign_status(campaign) == "PAUSED"
        assert world.campaign_daily_budget(campaign) == 123.45
        assert written["campaign"]["updated_at"] != current["updated_at"]

        partial = {k: v for k, v in current.items() if k != "name"}
        rejected = c.put(f"/adaccounts/{account.id}/campaigns", json={"campaigns": [partial]})
        assert rejected.status_code == 400
        assert "name is required" in rejected.json()["campaigns"][0]["sub_request_error_reason"]
        too_low = c.put(
            f"/adaccounts/{account.id}/campaigns",
            json={"campaigns": [{**current, "daily_budget_micro": 5_000_000}]},
        ).json()
        assert too_low["campaigns"][0]["sub_request_status"] == "ERROR"
        other = next(a for a in world.accounts("snapchat") if a.id != account.id)
        wrong_account = c.put(f"/adaccounts/{other.id}/campaigns", json={"campaigns": [current]})
        assert "does not belong" in wrong_account.json()["campaigns"][0]["sub_request_error_reason"]
        assert c.put(f"/adaccounts/{account.id}/campaigns", content=b"{").status_code == 400
