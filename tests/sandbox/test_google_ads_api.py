"""The Google Ads fake over real HTTP: accounts, GAQL, payload shapes, paging, faults, OAuth, write-back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from pipeline.sandbox.google_ads_api import (
    FIXED_PAGE_SIZE,
    NO_END_DATE_TIME,
    SANDBOX_DEVELOPER_TOKEN,
    TOKEN_PATH,
    GoogleAdsApi,
    GoogleAdsApiSettings,
    budget_id,
)
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # London 12:00, Los Angeles 04:00
TOKEN = SANDBOX_TOKENS["google_ads"]
DAY = date(2026, 11, 17)
VERSION = "v23"
INSIGHTS = (
    "customer.id, customer.currency_code, campaign.id, ad_group.id, ad_group_ad.ad.id, segments.date, "
    "metrics.cost_micros, metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value"
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


def api_of(server: SandboxServer) -> GoogleAdsApi:
    mount = next(r for r in server.app.routes if getattr(r, "path", "") == "/google_ads")
    return mount.app.state.api  # type: ignore[attr-defined]


def headers(server: SandboxServer, *, token: str = TOKEN, login: bool = True) -> dict[str, str]:
    values = {"Authorization": f"Bearer {token}", "developer-token": SANDBOX_DEVELOPER_TOKEN}
    if login:
        values["login-customer-id"] = api_of(server).manager.id
    return values


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.base_url('google_ads')}/{VERSION}", timeout=10) as c:
        yield c


def stream(
    client: httpx.Client, server: SandboxServer, customer_id: str, query: str, **kwargs: Any
) -> httpx.Response:
    return client.post(
        f"/customers/{customer_id}/googleAds:searchStream",
        json={"query": query},
        headers=kwargs.pop("headers", None) or headers(server),
        **kwargs,
    )


def rows_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    return [row for batch in body for row in batch.get("results", [])]


def failure(response: httpx.Response) -> tuple[int, str, str, str]:
    """(HTTP status, status name, first error code, its message)."""
    error = response.json()["error"]
    entry = error["details"][0]["errors"][0]
    ((category, code),) = entry["errorCode"].items()
    assert error["details"][0]["@type"].endswith(f"{VERSION}.errors.GoogleAdsFailure")
    return response.status_code, error["status"], f"{category}.{code}", entry["message"]


def between(since: date, until: date) -> str:
    return f"segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'"


# --- accounts and access ---------------------------------------------------------------------------


def test_manager_lists_the_world_accounts_and_a_cancelled_client(
    server: SandboxServer, client: httpx.Client
) -> None:
    api = api_of(server)
    response = client.get("/customers:listAccessibleCustomers", headers=headers(server, login=False))
    assert response.json() == {
        "resourceNames": [f"customers/{api.manager.id}", f"customers/{api.cancelled.id}"]
    }
    query = (
        "SELECT customer_client.id, customer_client.manager, customer_client.status, customer_client.level, "
        "customer_client.currency_code, customer_client.time_zone FROM customer_client"
    )
    rows = rows_of(stream(client, server, api.manager.id, query, headers=headers(server, login=False)))
    clients = [r["customerClient"] for r in rows]
    assert clients[0]["id"] == api.manager.id and clients[0]["manager"] is True and clients[0]["level"] == "0"
    world_accounts = server.world.accounts("google_ads")
    assert [c["id"] for c in clients[1:]] == [a.id for a in world_accounts] + [api.cancelled.id]
    assert [c["status"] for c in clients[1:]] == ["ENABLED"] * len(world_accounts) + ["CANCELED"]
    assert {(c["currencyCode"], c["timeZone"]) for c in clients[1:3]} == {
        (a.currency, a.timezone) for a in world_accounts
    }
    assert all(len(c["id"]) == 10 and c["id"].isdigit() for c in clients)
    assert clients[1]["resourceName"] == f"customers/{api.manager.id}/customerClients/{clients[1]['id']}"


def test_clients_need_the_manager_as_login_customer_and_cancelled_ones_are_refused(
    server: SandboxServer, client: httpx.Client
) -> None:
    api = api_of(server)
    account = server.world.accounts("google_ads")[0].id
    query = "SELECT customer.id FROM customer"
    status, name, code, message = failure(
        stream(client, server, account, query, headers=headers(server, login=False))
    )
    assert (status, name, code) == (403, "PERMISSION_DENIED", "authorizationError.USER_PERMISSION_DENIED")
    assert "login-customer-id" in message
    assert rows_of(stream(client, server, account, query))[0]["customer"]["id"] == account

    status, name, code, _ = failure(stream(client, server, api.cancelled.id, query))
    assert (status, code) == (403, "authorizationError.CUSTOMER_NOT_ENABLED")
    status, _, code, _ = failure(stream(client, server, f"{account[:3]}-{account[3:6]}-{account[6:]}", query))
    assert (status, code) == (400, "requestError.INVALID_CUSTOMER_ID")

    metrics = f"SELECT customer.id, metrics.clicks FROM customer WHERE {between(DAY, DAY)}"
    _, _, code, message = failure(stream(client, server, api.manager.id, metrics))
    assert code == "queryError.REQUESTED_METRICS_FOR_MANAGER" and "each client account" in message


# --- payload shapes --------------------------------------------------------------------------------


def test_entities_are_camel_case_with_resource_names_and_int64_strings(
    server: SandboxServer, client: httpx.Client
) -> None:
    world = server.world
    account = world.accounts("google_ads")[1]
    customer = rows_of(
        stream(
            client,
            server,
            account.id,
            "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone, "
            "customer.status, customer.manager FROM customer",
        )
    )
    assert customer == [
        {
            "customer": {
                "resourceName": f"customers/{account.id}",
                "id": account.id,
                "descriptiveName": account.name,
                "currencyCode": account.currency,
                "timeZone": account.timezone,
                "status": "ENABLED",
                "manager": False,
            }
        }
    ]
    campaigns = rows_of(
        stream(
            client,
            server,
            account.id,
            "SELECT campaign.id, campaign.status, campaign.end_date_time, campaign.campaign_budget, "
            "campaign_budget.amount_micros, campaign_budget.total_amount_micros, campaign_budget.period "
            "FROM campaign",
        )
    )
    expected = world.campaigns("google_ads", account.id)
    assert [r["campaign"]["id"] for r in campaigns] == [c.id for c in expected]
    daily = next(r for r, c in zip(campaigns, expected, strict=True) if c.lifetime_budget is None)
    daily_campaign = world.campaign("google_ads", daily["campaign"]["id"])
    assert daily["campaignBudget"]["amountMicros"] == str(round(daily_campaign.daily_budget * 1_000_000))
    assert daily["campaignBudget"]["period"] == "DAILY"
    assert (
        daily["campaign"]["campaignBudget"]
        == f"customers/{account.id}/campaignBudgets/{budget_id(daily_campaign)}"
    )
    assert daily["campaign"]["endDateTime"] == NO_END_DATE_TIME  # Google's "no end date"
    lifetime = next(r for r in campaigns if r["campaignBudget"].get("period") == "CUSTOM_PERIOD")
    assert (
        "amountMicros" not in lifetime["campaignBudget"] and "totalAmountMicros" in lifetime["campaignBudget"]
    )
    assert {r["campaign"]["status"] for r in campaigns} <= {"ENABLED", "PAUSED", "REMOVED"}
    assert any(r["campaign"]["status"] == "PAUSED" for r in campaigns)

    ads = rows_of(
        stream(client, server, account.id, "SELECT ad_group_ad.ad.id, ad_group_ad.status FROM ad_group_ad")
    )
    ad = world.ads("google_ads", account.id)[0]
    assert ads[0]["adGroupAd"] == {
        "resourceName": f"customers/{account.id}/adGroupAds/{ad.ad_group_id}~{ad.id}",
        "ad": {"resourceName": f"customers/{account.id}/ads/{ad.id}", "id": ad.id},
        "status": "ENABLED",
    }


def test_daily_metrics_are_micros_strings_and_doubles_matching_the_world(
    server: SandboxServer, client: httpx.Client
) -> None:
    world = server.world
    for account in world.accounts("google_ads"):
        response = stream(
            client, server, account.id, f"SELECT {INSIGHTS} FROM ad_group_ad WHERE {between(DAY, DAY)}"
        )
        rows = rows_of(response)
        assert response.json()[0]["fieldMask"].startswith("customer.id,customer.currencyCode,campaign.id")
        expected = {ad.id: m for ad in world.ads("google_ads", account.id) if (m := world.ad_day(ad, DAY))}
        assert {r["adGroupAd"]["ad"]["id"] for r in rows} == set(expected)
        for row in rows:
            truth = expected[row["adGroupAd"]["ad"]["id"]]
            metrics = row["metrics"]
            assert isinstance(metrics["costMicros"], str) and isinstance(metrics["impressions"], str)
            assert int(metrics["costMicros"]) == round(truth.spend * 100) * 10_000
            assert int(metrics["impressions"]) == truth.impressions and int(metrics["clicks"]) == truth.clicks
            assert isinstance(metrics["conversions"], int | float) and not isinstance(
                metrics["conversions"], bool
            )
            assert metrics["conversions"] == truth.conversions
            assert metrics["conversionsValue"] == pytest.approx(truth.conversion_value)
            assert row["segments"] == {"date": DAY.isoformat()}
            assert row["customer"]["currencyCode"] == account.currency


def test_hours_are_local_sum_to_the_day_and_follow_dst(server: SandboxServer, client: httpx.Client) -> None:
    world = server.world
    london = next(a for a in world.accounts("google_ads") if a.timezone == "Europe/London")
    fall_back = date(2026, 10, 25)  # clocks go back: local hour 1 happens twice
    query = (
        "SELECT ad_group_ad.ad.id, segments.date, segments.hour, metrics.cost_micros, metrics.impressions "
        f"FROM ad_group_ad WHERE {between(fall_back, fall_back)}"
    )
    hourly = rows_of(stream(client, server, london.id, query))
    assert all(isinstance(r["segments"]["hour"], int) and 0 <= r["segments"]["hour"] <= 23 for r in hourly)
    daily = rows_of(
        stream(
            client,
            server,
            london.id,
            f"SELECT ad_group_ad.ad.id, metrics.cost_micros, metrics.impressions FROM ad_group_ad "
            f"WHERE {between(fall_back, fall_back)}",
        )
    )
    for row in daily:
        ad_id = row["adGroupAd"]["ad"]["id"]
        hours = [h for h in hourly if h["adGroupAd"]["ad"]["id"] == ad_id]
        assert sum(int(h["metrics"]["costMicros"]) for h in hours) == int(row["metrics"]["costMicros"])
        assert sum(int(h["metrics"]["impressions"]) for h in hours) == int(row["metrics"]["impressions"])
    impressions_by_hour = [0] * 24
    for row in hourly:
        impressions_by_hour[row["segments"]["hour"]] += int(row["metrics"]["impressions"])
    assert impressions_by_hour[1] > 1.5 * impressions_by_hour[2]  # two real hours in local hour 1

    # Today: served up to the current local hour (partial), as a daily row too.
    today_hours = rows_of(
        stream(client, server, london.id, query.replace(between(fall_back, fall_back), between(TODAY, TODAY)))
    )
    assert max(r["segments"]["hour"] for r in today_hours) == 11  # 12:00 now: hour 12 has nothing yet
    today_daily = rows_of(
        stream(
            client,
            server,
            london.id,
            f"SELECT ad_group_ad.ad.id, metrics.cost_micros FROM ad_group_ad WHERE {between(TODAY, TODAY)}",
        )
    )
    assert sum(int(r["metrics"]["costMicros"]) for r in today_daily) == sum(
        int(r["metrics"]["costMicros"]) for r in today_hours
    )
    assert (
        rows_of(
            stream(
                client,
                server,
                london.id,
                query.replace(
                    between(fall_back, fall_back),
                    between(TODAY + timedelta(days=1), TODAY + timedelta(days=1)),
                ),
            )
        )
        == []
    )


def test_where_order_by_limit_and_levels(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("google_ads")[0]
    campaign = server.world.campaigns("google_ads", account.id)[0]
    by_ad = rows_of(
        stream(
            client,
            server,
            account.id,
            f"SELECT campaign.id, ad_group_ad.ad.id, metrics.clicks FROM ad_group_ad "
            f"WHERE {between(DAY, DAY)} AND campaign.id = {campaign.id}",
        )
    )
    assert by_ad and {r["campaign"]["id"] for r in by_ad} == {campaign.id}
    by_campaign = rows_of(
        stream(
            client,
            server,
            account.id,
            f"SELECT campaign.id, metrics.clicks FROM campaign WHERE {between(DAY, DAY)} "
            f"AND campaign.id IN ({campaign.id}) AND metrics.clicks > 0",
        )
    )
    assert by_campaign == [
        {
            "campaign": {
                "resourceName": f"customers/{account.id}/campaigns/{campaign.id}",
                "id": campaign.id,
            },
            "metrics": {"clicks": str(sum(int(r["metrics"]["clicks"]) for r in by_ad))},
        }
    ]
    top = rows_of(
        stream(
            client,
            server,
            account.id,
            f"SELECT ad_group_ad.ad.id, metrics.impressions FROM ad_group_ad WHERE {between(DAY, DAY)} "
            "ORDER BY metrics.impressions DESC LIMIT 3",
        )
    )
    impressions = [int(r["metrics"]["impressions"]) for r in top]
    assert len(top) == 3 and impressions == sorted(impressions, reverse=True)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT campaign.start_date FROM campaign", "queryError.UNRECOGNIZED_FIELD"),
        ("SELECT ad_group.id FROM campaign", "queryError.PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        (
            "SELECT ad_group_ad.ad.id, segments.date FROM ad_group_ad",
            "queryError.EXPECTED_FILTERS_ON_DATE_RANGE",
        ),
        ("SELECT campaign.id FROM campaign WHERE campaign.name = 'open", "queryError.STRING_NOT_TERMINATED"),
        ("SELECT campaign.id campaign", "queryError.EXPECTED_FROM"),
        ("SELECT campaign.id FROM keyword_view_x", "queryError.BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        (
            f"SELECT segments.date, metrics.clicks FROM campaign WHERE {between(DAY, DAY - timedelta(days=1))}",
            "dateRangeError.START_DATE_AFTER_END_DATE",
        ),
        (
            "SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-11-31' AND '2026-12-01'",
            "dateRangeError.INVALID_DATE",
        ),
        (
            "SELECT customer_client.id, metrics.clicks FROM customer_client",
            "queryError.PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
        ),
    ],
)
def test_invalid_queries_are_rejected_like_google_does(
    server: SandboxServer, client: httpx.Client, query: str, code: str
) -> None:
    account = server.world.accounts("google_ads")[0].id
    status, name, got, message = failure(stream(client, server, account, query))
    assert (status, name, got) == (400, "INVALID_ARGUMENT", code)
    assert message


def test_payload_problems_are_rejected_before_the_query(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("google_ads")[0].id
    url = f"/customers/{account}/googleAds:search"
    response = client.post(
        url, json={"query": "SELECT campaign.id FROM campaign", "pageSize": 5}, headers=headers(server)
    )
    assert failure(response)[2] == "requestError.PAGE_SIZE_NOT_SUPPORTED"
    assert f"'{FIXED_PAGE_SIZE}'" in failure(response)[3]
    response = client.post(
        url, json={"query": "SELECT campaign.id FROM campaign", "fields": "x"}, headers=headers(server)
    )
    error = response.json()["error"]
    assert response.status_code == 400 and 'Unknown name "fields"' in error["message"]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    missing = client.get("/customers/123/nothing", headers=headers(server))
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    sunset = httpx.post(
        f"{server.base_url('google_ads')}/v14/customers/{account}/googleAds:search",
        json={"query": "SELECT campaign.id FROM campaign"},
        headers=headers(server),
    )
    assert sunset.status_code == 404


# --- streaming and paging ----------------------------------------------------------------------------


def test_stream_batches_and_search_pages_hold_the_same_rows() -> None:
    settings = {"google_ads": GoogleAdsApiSettings(page_size=7, stream_batch_size=5)}
    with (
        SandboxServer(make_world(), settings=settings) as own,
        httpx.Client(base_url=f"{own.base_url('google_ads')}/{VERSION}", timeout=10) as c,
    ):
        account = own.world.accounts("google_ads")[0].id
        query = f"SELECT {INSIGHTS} FROM ad_group_ad WHERE {between(DAY - timedelta(days=2), DAY)}"
        streamed = stream(c, own, account, query)
        batches = streamed.json()
        assert len(batches) > 1 and all(len(b["results"]) <= 5 for b in batches)
        assert len({b["requestId"] for b in batches}) == 1
        streamed_rows = rows_of(streamed)

        paged: list[dict[str, Any]] = []
        tokens: list[str] = []
        body: dict[str, Any] = {"query": query}
        while True:
            page = c.post(f"/customers/{account}/googleAds:search", json=body, headers=headers(own)).json()
            assert len(page["results"]) <= 7 and page["fieldMask"] == batches[0]["fieldMask"]
            paged += page["results"]
            if "nextPageToken" not in page:
                break
            tokens.append(page["nextPageToken"])
            body = {"query": query, "pageToken": page["nextPageToken"]}
        assert paged == streamed_rows and len(tokens) == -(-len(paged) // 7) - 1

        # A token belongs to its query; a garbled one is invalid.
        other = c.post(
            f"/customers/{account}/googleAds:search",
            json={"query": query.replace("metrics.clicks, ", ""), "pageToken": tokens[0]},
            headers=headers(own),
        )
        assert failure(other)[2] == "requestError.INVALID_PAGE_TOKEN"
        garbled = c.post(
            f"/customers/{account}/googleAds:search",
            json={"query": query, "pageToken": "nope"},
            headers=headers(own),
        )
        assert failure(garbled)[2] == "requestError.INVALID_PAGE_TOKEN"

        # Injected expiry hits only a request that carries a token.
        own.faults.add("google_ads", "expired_page_token", times=1)
        first = c.post(f"/customers/{account}/googleAds:search", json={"query": query}, headers=headers(own))
        assert first.status_code == 200
        expired = c.post(
            f"/customers/{account}/googleAds:search",
            json={"query": query, "pageToken": first.json()["nextPageToken"]},
            headers=headers(own),
        )
        assert failure(expired)[:3] == (400, "INVALID_ARGUMENT", "requestError.EXPIRED_PAGE_TOKEN")

        # Tokens also expire with time.
        api_of(own).settings.page_token_ttl_seconds = 0.0
        stale = c.post(
            f"/customers/{account}/googleAds:search",
            json={"query": query, "pageToken": first.json()["nextPageToken"]},
            headers=headers(own),
        )
        assert failure(stale)[2] == "requestError.EXPIRED_PAGE_TOKEN"


def test_pages_are_computed_afresh_so_restated_values_show_between_pages() -> None:
    settings = {"google_ads": GoogleAdsApiSettings(page_size=4)}
    with (
        SandboxServer(make_world(), settings=settings) as own,
        httpx.Client(base_url=f"{own.base_url('google_ads')}/{VERSION}", timeout=10) as c,
    ):
        account = own.world.accounts("google_ads")[0].id
        yesterday = TODAY - timedelta(days=1)
        query = f"SELECT {INSIGHTS} FROM ad_group_ad WHERE {between(yesterday, yesterday)}"
        url = f"/customers/{account}/googleAds:search"
        first = c.post(url, json={"query": query}, headers=headers(own)).json()
        before = rows_of(stream(c, own, account, query))
        own.world.advance(days=20)  # conversions of that day mature meanwhile
        after = rows_of(stream(c, own, account, query))
        second = c.post(
            url, json={"query": query, "pageToken": first["nextPageToken"]}, headers=headers(own)
        ).json()
        assert first["results"] == before[:4]
        assert second["results"] == after[4:8]
        assert sum(r["metrics"]["conversions"] for r in after) > sum(
            r["metrics"]["conversions"] for r in before
        )


def test_conversions_restate_until_final(server: SandboxServer) -> None:
    world = make_world()
    with (
        SandboxServer(world) as own,
        httpx.Client(base_url=f"{own.base_url('google_ads')}/{VERSION}", timeout=10) as c,
    ):
        account = world.accounts("google_ads")[0].id
        day = TODAY - timedelta(days=2)
        query = f"SELECT {INSIGHTS} FROM ad_group_ad WHERE {between(day, day)}"
        young = {r["adGroupAd"]["ad"]["id"]: r["metrics"] for r in rows_of(stream(c, own, account, query))}
        world.advance(days=31)
        final = {r["adGroupAd"]["ad"]["id"]: r["metrics"] for r in rows_of(stream(c, own, account, query))}
        assert young.keys() == final.keys()
        assert sum(m["conversions"] for m in final.values()) > sum(m["conversions"] for m in young.values())
        for ad in world.ads("google_ads", account):
            if ad.id in final:
                truth = world.truth_ad_day(ad, day)
                assert final[ad.id]["conversions"] == truth.conversions
                assert final[ad.id]["costMicros"] == young[ad.id]["costMicros"]  # spend does not restate


# --- faults ------------------------------------------------------------------------------------------


def test_quota_error_carries_retry_delay(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("google_ads")[0].id
    server.faults.add("google_ads", "throttle", times=1, retry_seconds=40591)
    response = stream(client, server, account, "SELECT campaign.id FROM campaign")
    status, name, code, message = failure(response)
    assert (status, name, code) == (429, "RESOURCE_EXHAUSTED", "quotaError.RESOURCE_EXHAUSTED")
    assert message == "Too many requests. Retry in 40591 seconds."
    details = response.json()["error"]["details"][0]["errors"][0]["details"]["quotaErrorDetails"]
    assert details == {
        "rateScope": "DEVELOPER",
        "rateName": "Number of operations for basic access",
        "retryDelay": "40591s",
    }


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("server_error", {}, (500, "INTERNAL", "internalError.INTERNAL_ERROR")),
        ("transient_error", {}, (503, "UNAVAILABLE", "internalError.TRANSIENT_ERROR")),
        ("deadline_exceeded", {}, (504, "DEADLINE_EXCEEDED", "internalError.DEADLINE_EXCEEDED")),
        ("token_expired", {}, (401, "UNAUTHENTICATED", "authenticationError.OAUTH_TOKEN_EXPIRED")),
        ("bad_token", {}, (401, "UNAUTHENTICATED", "authenticationError.OAUTH_TOKEN_INVALID")),
        ("bad_developer_token", {}, (401, "UNAUTHENTICATED", "authenticationError.DEVELOPER_TOKEN_INVALID")),
        ("permission_denied", {}, (403, "PERMISSION_DENIED", "authorizationError.USER_PERMISSION_DENIED")),
        ("customer_not_enabled", {}, (403, "PERMISSION_DENIED", "authorizationError.CUSTOMER_NOT_ENABLED")),
    ],
)
def test_error_faults_answer_in_googles_shape(
    server: SandboxServer,
    client: httpx.Client,
    kind: str,
    params: dict[str, Any],
    expected: tuple[int, str, str],
) -> None:
    account = server.world.accounts("google_ads")[0].id
    server.faults.add("google_ads", kind, path="googleAds:searchStream", times=1, **params)
    assert failure(stream(client, server, account, "SELECT campaign.id FROM campaign"))[:3] == expected
    assert rows_of(stream(client, server, account, "SELECT campaign.id FROM campaign"))  # one-shot


def test_unavailable_without_details_and_broken_bodies(server: SandboxServer, client: httpx.Client) -> None:
    account = server.world.accounts("google_ads")[0].id
    query = "SELECT campaign.id FROM campaign"
    server.faults.add("google_ads", "server_error", times=1, status=503)
    response = stream(client, server, account, query)
    assert response.status_code == 503 and response.json()["error"]["status"] == "UNAVAILABLE"
    for kind in ("malformed_json", "truncated_json"):
        server.faults.add("google_ads", kind, times=1)
        broken = stream(client, server, account, query)
        assert broken.status_code == 200
        with pytest.raises(ValueError):
            broken.json()
    server.faults.add("google_ads", "timeout", times=1, seconds=1.0)
    with pytest.raises(httpx.TimeoutException):
        stream(client, server, account, query, timeout=0.2)


def test_stream_error_ends_the_array_with_an_error_element() -> None:
    with (
        SandboxServer(
            make_world(), settings={"google_ads": GoogleAdsApiSettings(stream_batch_size=4)}
        ) as own,
        httpx.Client(base_url=f"{own.base_url('google_ads')}/{VERSION}", timeout=10) as c,
    ):
        account = own.world.accounts("google_ads")[0].id
        own.faults.add("google_ads", "stream_error", times=1)
        own.faults.add("google_ads", "expired_page_token", times=1)  # not taken by searchStream
        response = stream(c, own, account, f"SELECT {INSIGHTS} FROM ad_group_ad WHERE {between(DAY, DAY)}")
        assert response.status_code == 200
        body = response.json()
        assert "results" in body[0] and set(body[-1]) == {"error"}
        assert body[-1]["error"]["details"][0]["errors"][0]["errorCode"] == {
            "internalError": "TRANSIENT_ERROR"
        }
        assert [f.kind for f in own.faults.pending()] == ["expired_page_token"]


# --- OAuth -------------------------------------------------------------------------------------------


def test_refresh_grant_issues_tokens_that_expire_with_the_world_clock() -> None:
    world = make_world()
    with SandboxServer(world) as own, httpx.Client(base_url=own.base_url("google_ads"), timeout=10) as c:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": sandbox_refresh_token("google_ads"),
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
        }
        grant = c.post(TOKEN_PATH, data=form).json()
        assert grant["token_type"] == "Bearer" and grant["expires_in"] == 3600 and "adwords" in grant["scope"]
        account = world.accounts("google_ads")[0].id
        query_url = f"/{VERSION}/customers/{account}/googleAds:searchStream"
        fresh = headers(own, token=grant["access_token"])
        assert (
            c.post(query_url, json={"query": "SELECT customer.id FROM customer"}, headers=fresh).status_code
            == 200
        )
        world.advance(hours=2)
        expired = c.post(query_url, json={"query": "SELECT customer.id FROM customer"}, headers=fresh)
        assert failure(expired)[:3] == (401, "UNAUTHENTICATED", "authenticationError.OAUTH_TOKEN_EXPIRED")
        # The sandbox's static token never expires.
        assert (
            c.post(
                query_url, json={"query": "SELECT customer.id FROM customer"}, headers=headers(own)
            ).status_code
            == 200
        )

        revoked = c.post(TOKEN_PATH, data={**form, "refresh_token": "revoked"})
        assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
        own.faults.add("google_ads", "invalid_grant", times=1)
        refused = c.post(TOKEN_PATH, data=form)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        missing = c.post(
            query_url,
            json={"query": "SELECT customer.id FROM customer"},
            headers={"developer-token": SANDBOX_DEVELOPER_TOKEN},
        )
        assert missing.status_code == 401 and "details" not in missing.json()["error"]
        no_developer_token = c.post(
            query_url,
            json={"query": "SELECT customer.id FROM customer"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert failure(no_developer_token)[2] == "authenticationError.DEVELOPER_TOKEN_INVALID"


# --- write-back ----------------------------------------------------------------------------------------


def test_mutates_change_status_and_budget_in_the_world() -> None:
    world = make_world()
    with (
        SandboxServer(world) as own,
        httpx.Client(base_url=f"{own.base_url('google_ads')}/{VERSION}", timeout=10) as c,
    ):
        account = world.accounts("google_ads")[0]
        campaign = next(
            x
            for x in world.campaigns("google_ads", account.id)
            if x.lifetime_budget is None and world.campaign_status(x) == "ACTIVE"
        )
        campaign_name = f"customers/{account.id}/campaigns/{campaign.id}"
        budget_name = f"customers/{account.id}/campaignBudgets/{budget_id(campaign)}"

        def mutate(collection: str, update: dict[str, Any], mask: str | None, **extra: Any) -> httpx.Response:
            operation: dict[str, Any] = {"update": update}
            if mask is not None:
                operation["updateMask"] = mask
            return c.post(
                f"/customers/{account.id}/{collection}:mutate",
                json={"operations": [operation], **extra},
                headers=headers(own),
            )

        dry = mutate(
            "campaigns", {"resourceName": campaign_name, "status": "PAUSED"}, "status", validateOnly=True
        )
        assert dry.json() == {} and world.campaign_status(campaign) == "ACTIVE"
        done = mutate("campaigns", {"resourceName": campaign_name, "status": "PAUSED"}, "status")
        assert done.json() == {"results": [{"resourceName": campaign_name}]}
        assert world.campaign_status(campaign) == "PAUSED"
        listed = rows_of(
            stream(
                c, own, account.id, f"SELECT campaign.status FROM campaign WHERE campaign.id = {campaign.id}"
            )
        )
        assert listed[0]["campaign"]["status"] == "PAUSED"

        ok = mutate(
            "campaignBudgets", {"resourceName": budget_name, "amountMicros": "123450000"}, "amount_micros"
        )
        assert ok.json() == {"results": [{"resourceName": budget_name}]}
        assert world.campaign_daily_budget(campaign) == 123.45

        assert failure(
            mutate(
                "campaignBudgets", {"resourceName": budget_name, "amountMicros": "123456789"}, "amountMicros"
            )
        )[2] == ("campaignBudgetError.NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT")
        assert failure(mutate("campaigns", {"resourceName": campaign_name, "status": "ENABLED"}, None))[
            2
        ] == ("fieldMaskError.FIELD_MASK_MISSING")
        assert failure(mutate("campaigns", {"resourceName": campaign_name, "status": "REMOVED"}, "status"))[
            2
        ] == ("fieldError.INVALID_VALUE")
        assert failure(
            mutate(
                "campaigns",
                {"resourceName": f"customers/{account.id}/campaigns/1", "status": "PAUSED"},
                "status",
            )
        )[2] == ("mutateError.RESOURCE_NOT_FOUND")
        lifetime = next(x for x in world.campaigns("google_ads") if x.lifetime_budget is not None)
        lifetime_account = lifetime.account_id
        response = c.post(
            f"/customers/{lifetime_account}/campaignBudgets:mutate",
            json={
                "operations": [
                    {
                        "update": {
                            "resourceName": f"customers/{lifetime_account}/campaignBudgets/{budget_id(lifetime)}",
                            "amountMicros": "50000000",
                        },
                        "updateMask": "amountMicros",
                    }
                ]
            },
            headers=headers(own),
        )
        assert failure(response)[2] == "mutateError.MUTATE_NOT_ALLOWED"
