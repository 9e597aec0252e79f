"""A faithful fake of the LinkedIn Marketing API (versioned REST), served from the simulator.

Mounted at ``/linkedin`` (so ``{base}/rest/...`` as on ``api.linkedin.com``); what it speaks:

- ``POST /oauth/v2/accessToken`` (``TOKEN_PATH``): refresh-token grant; access tokens live 60 days
  of the world clock, the refresh token is echoed with its remaining ``refresh_token_expires_in``;
- ``GET /rest/adAccounts?q=search`` (the simulator's accounts plus one CANCELED account without
  data), ``GET /rest/adAccounts/{id}``;
- ``GET /rest/adAccounts/{id}/adCampaignGroups?q=search`` (one group per market of the account's
  campaigns), ``/adCampaigns?q=search`` (optional ``search=(status:(values:List(...)))``),
  ``/creatives?q=criteria``; ``GET /rest/adAccounts/{id}/adCampaigns/{campaign}``;
- ``POST /rest/adAccounts/{id}/adCampaigns/{campaign}`` with ``X-RestLi-Method: PARTIAL_UPDATE`` and
  ``{"patch": {"$set": {"status", "dailyBudget": {"amount", "currencyCode"}}}}`` -> 204;
- ``GET /rest/adAnalytics?q=analytics&pivot=CREATIVE&timeGranularity=DAILY&dateRange=(...)
  &accounts=List(urn%3Ali%3AsponsoredAccount%3A...)&fields=...``.

Behaviour kept from the real API because the connector and staging depend on it:

- every ``/rest`` call needs ``LinkedIn-Version`` (missing: 400 ``VERSION_MISSING``; not a served
  release: 426 ``NONEXISTENT_VERSION``) and ``X-Restli-Protocol-Version: 2.0.0`` (else 400: the
  Rest.li 2.0 query syntax is not understood);
- lists page by cursor: ``pageSize`` (1..1000, default 100), ``metadata.nextPageToken`` naming the
  last element served (changes between pages neither skip nor repeat);
- analytics are UTC days with activity only, money as decimal strings, counts as numbers, only the
  ``fields`` asked for; no paging: an answer over ``max_analytics_elements`` is refused (400,
  ``code`` ``TOO_MANY_ELEMENTS``). The simulator's account-local day is served as that UTC day;
  conversions restate for the platform's window; today's (partial) day is not served;
- errors are ``{"status", "serviceErrorCode", "code", "message"}``; 401 for a missing, invalid or
  expired token; 429 without Retry-After. Service error codes are the fake's own choice.

Faults (``FaultInjector``; kinds in ``FAULT_KINDS``) on ``/rest`` requests whose path contains the
fault's ``path``: ``throttle`` (429), ``server_error`` (``status`` 500: JSON body, else an HTML
proxy page), ``timeout`` (``seconds``), ``malformed_json``, ``truncated_json``, ``bad_token``,
``token_expired``; on the token endpoint: ``invalid_grant``, ``server_error``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.sandbox.oauth import OAuthIssuer
from pipeline.sandbox.responses import corrupt_json
from pipeline.sandbox.simulator import Account, Campaign, World, stable_int

if TYPE_CHECKING:
    from pipeline.sandbox.server import FaultInjector

PLATFORM = "linkedin"
TOKEN_PATH = "/oauth/v2/accessToken"
SERVED_VERSIONS = frozenset({"202601", "202603", "202606", "202609"})
REQUEST_FAULTS = frozenset(
    {"throttle", "server_error", "timeout", "malformed_json", "truncated_json", "bad_token", "token_expired"}
)
TOKEN_FAULTS = frozenset({"invalid_grant", "server_error"})
FAULT_KINDS = REQUEST_FAULTS | TOKEN_FAULTS
# Where performance records are asked for (router contract): "mid-sync" faults of the fault matrix aim here.
REPORT_PATH = "/adAnalytics"
METRICS = frozenset(
    {"costInLocalCurrency", "impressions", "clicks", "externalWebsiteConversions",
     "conversionValueInLocalCurrency", "landingPageClicks", "costInUsd"}
)  # fmt: skip
_STATUSES = {"ACTIVE": "ACTIVE", "PAUSED": "PAUSED", "ARCHIVED": "ARCHIVED", "DELETED": "REMOVED"}
_WRITABLE_STATUSES = frozenset({"ACTIVE", "PAUSED", "ARCHIVED"})
_DATE_RANGE = re.compile(
    r"^\(start:\(year:(\d+),month:(\d+),day:(\d+)\)(?:,end:\(year:(\d+),month:(\d+),day:(\d+)\))?\)$"
)
_JSON = "application/json"


@dataclass
class LinkedInApiSettings:
    """Knobs of the fake (defaults follow the real API; tests lower them to see paging and splits)."""

    default_page_size: int = 100
    max_page_size: int = 1000
    max_analytics_elements: int = 15_000
    token_lifetime: timedelta = timedelta(days=60)
    refresh_token_lifetime: timedelta = timedelta(days=365)


class LinkedInError(Exception):
    def __init__(self, status: int, code: str, message: str, service_code: int = 0) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.service_code = service_code or status

    def response(self) -> Response:
        body = {"status": self.status, "serviceErrorCode": self.service_code, "code": self.code,
                "message": self.message}  # fmt: skip
        return _json(body, self.status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")).encode(), status_code=status, media_type=_JSON)


def _invalid(message: str) -> LinkedInError:
    return LinkedInError(400, "ILLEGAL_ARGUMENT", message, 100)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _numeric(*parts: object) -> int:
    return 500_000_000 + stable_int(*parts, bits=28)


class LinkedInApi:
    """The LinkedIn router's state: the world, faults and the OAuth issuer."""

    def __init__(
        self,
        world: World,
        faults: FaultInjector,
        tokens: Mapping[str, Iterable[str]],
        settings: LinkedInApiSettings | None = None,
    ) -> None:
        self.world = world
        self.faults = faults
        self.settings = settings or LinkedInApiSettings()
        live_tokens: Any = tokens  # the server's sets: revoking a token there takes effect here
        self.oauth = OAuthIssuer(PLATFORM, world, live_tokens, lifetime=self.settings.token_lifetime)
        self.canceled_account_id = str(_numeric(world.scenario.seed, PLATFORM, "canceled-account"))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(TOKEN_PATH, self.token, methods=["POST"]),
                Route("/rest/{rest:path}", self.handle, methods=["GET", "POST"]),
            ]
        )

    # -- OAuth ----------------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        fault = self.faults.take(PLATFORM, TOKEN_PATH, TOKEN_FAULTS)
        if fault is not None and fault.kind == "server_error":
            return Response(b"<html><body>Service Unavailable</body></html>", 503, media_type="text/html")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if fault is not None:  # invalid_grant
            return _json({"error": "invalid_grant", "error_description": "The token used in the request has been revoked by the user"}, 400)  # fmt: skip
        status, body = self.oauth.grant(form)
        if status == 200:  # LinkedIn echoes the refresh token; its lifetime does not restart
            body["refresh_token"] = form.get("refresh_token", "")
            body["refresh_token_expires_in"] = int(self.settings.refresh_token_lifetime.total_seconds())
        return _json(body, status)

    # -- requests -------------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        path = "/rest/" + request.path_params["rest"].strip("/")
        corrupt: str | None = None
        fault = self.faults.take(PLATFORM, path, REQUEST_FAULTS)
        try:
            if fault is not None:
                if fault.kind == "timeout":
                    await asyncio.sleep(float(fault.params.get("seconds", 5.0)))
                elif fault.kind in ("malformed_json", "truncated_json"):
                    corrupt = fault.kind
                else:
                    return self._fault(fault.kind, fault.params)
            self._authorize(request)
            response = await self._route(request, path)
        except LinkedInError as error:
            response = error.response()
        return corrupt_json(response, corrupt) if corrupt and response.status_code != 204 else response

    def _fault(self, kind: str, params: Mapping[str, Any]) -> Response:
        if kind == "throttle":
            return LinkedInError(429, "TOO_MANY_REQUESTS", "Resource level throttle limit for calls to this resource is reached.", 101).response()  # fmt: skip
        if kind == "server_error":
            status = int(params.get("status", 500))
            if status == 500:
                return LinkedInError(500, "INTERNAL_SERVER_ERROR", "Internal Server Error").response()
            return Response(b"<html><body><h1>Service Unavailable</h1></body></html>", status, media_type="text/html")  # fmt: skip
        if kind == "bad_token":
            return LinkedInError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600).response()
        return LinkedInError(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65601).response()  # fmt: skip

    def _authorize(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        verdict = self.oauth.check(token.strip() if scheme.lower() == "bearer" else None)
        if verdict == "missing":
            raise LinkedInError(401, "EMPTY_ACCESS_TOKEN", "Empty oauth2_access_token", 65602)
        if verdict == "expired":
            raise LinkedInError(
                401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65601
            )
        if verdict != "valid":
            raise LinkedInError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        version = request.headers.get("linkedin-version")
        if not version:
            raise LinkedInError(400, "VERSION_MISSING", "A version must be present. Please specify a version by adding the LinkedIn-Version header.")  # fmt: skip
        if version not in SERVED_VERSIONS:
            raise LinkedInError(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            raise _invalid("Rest.li protocol version 2.0.0 syntax is required (X-Restli-Protocol-Version)")

    async def _route(self, request: Request, path: str) -> Response:
        segments = path.split("/")[2:]
        params = _query(request)
        if request.method == "GET" and segments == ["adAnalytics"]:
            return self._analytics(params)
        if not segments or segments[0] != "adAccounts":
            raise LinkedInError(404, "NOT_FOUND", f"No resource at {path}")
        if len(segments) == 1 and request.method == "GET":
            _finder(params, "search")
            accounts = [self._account_json(a) for a in self.world.accounts(PLATFORM)] + [
                self._canceled_json()
            ]
            return self._page(params, accounts)
        account = self._account(segments[1])
        tail = segments[2:]
        if not tail and request.method == "GET":
            return _json(self._account_json(account) if account else self._canceled_json())
        if account is None:  # the canceled account holds nothing
            return self._page(params, [])
        if tail == ["adCampaignGroups"] and request.method == "GET":
            _finder(params, "search")
            return self._page(params, self._groups(account))
        if tail == ["adCampaigns"] and request.method == "GET":
            _finder(params, "search")
            campaigns = [self._campaign_json(c) for c in self.world.campaigns(PLATFORM, account.id)]
            wanted = _status_filter(params.get("search"))
            return self._page(params, [c for c in campaigns if wanted is None or c["status"] in wanted])
        if tail == ["creatives"] and request.method == "GET":
            _finder(params, "criteria")
            return self._page(params, [self._creative_json(a) for a in self.world.ads(PLATFORM, account.id)])
        if len(tail) == 2 and tail[0] == "adCampaigns":
            campaign = self._campaign(account, tail[1])
            if request.method == "GET":
                return _json(self._campaign_json(campaign))
            return self._partial_update(request, campaign, await request.body())
        raise LinkedInError(404, "NOT_FOUND", f"No resource at {path}")

    # -- entities -------------------------------------------------------------------------------------

    def _account(self, account_id: str) -> Account | None:
        if account_id == self.canceled_account_id:
            return None
        try:
            return self.world.account(PLATFORM, account_id)
        except KeyError:
            raise LinkedInError(404, "NOT_FOUND", f"Ad account {account_id} does not exist") from None

    def _campaign(self, account: Account, campaign_id: str) -> Campaign:
        try:
            campaign = self.world.campaign(PLATFORM, campaign_id)
        except KeyError:
            campaign = None
        if campaign is None or campaign.account_id != account.id:
            raise LinkedInError(404, "NOT_FOUND", f"Campaign {campaign_id} not found in account {account.id}")
        return campaign

    def _audit(self, created: datetime, modified: datetime | None = None) -> dict[str, Any]:
        return {"created": {"time": _millis(created)}, "lastModified": {"time": _millis(modified or created)}}

    def _account_json(self, account: Account) -> dict[str, Any]:
        created = datetime(2021, 2, 3, 9, 30, tzinfo=UTC)
        return {
            "id": int(account.id), "name": account.name, "currency": account.currency, "status": "ACTIVE",
            "type": "BUSINESS", "test": False, "reference": f"urn:li:organization:{_numeric(account.id, 'org')}",
            "servingStatuses": ["RUNNABLE"], "notifiedOnCampaignOptimization": False,
            "notifiedOnCreativeApproval": False, "notifiedOnCreativeRejection": True,
            "notifiedOnEndOfCampaign": False, "version": {"versionTag": "4"}, "changeAuditStamps": self._audit(created),
        }  # fmt: skip

    def _canceled_json(self) -> dict[str, Any]:
        created = datetime(2020, 5, 1, 8, tzinfo=UTC)
        return {
            "id": int(self.canceled_account_id), "name": "Closed pilot account", "currency": "USD",
            "status": "CANCELED", "type": "BUSINESS", "test": False, "servingStatuses": ["ACCOUNT_STATUS_NOT_ACTIVE"],
            "version": {"versionTag": "9"}, "changeAuditStamps": self._audit(created, created + timedelta(days=300)),
        }  # fmt: skip

    def _group_id(self, account: Account, market: str) -> int:
        return _numeric(account.id, "campaign-group", market)

    def _groups(self, account: Account) -> list[dict[str, Any]]:
        markets = dict.fromkeys(c.name.split(" | ", 1)[0] for c in self.world.campaigns(PLATFORM, account.id))
        return [
            {"id": self._group_id(account, market), "account": f"urn:li:sponsoredAccount:{account.id}",
             "name": f"{market} campaigns", "status": "ACTIVE", "test": False,
             "runSchedule": {"start": _millis(datetime(2024, 1, 1, tzinfo=UTC))},
             "servingStatuses": ["RUNNABLE"], "changeAuditStamps": self._audit(datetime(2024, 1, 1, tzinfo=UTC))}
            for market in markets
        ]  # fmt: skip

    def _campaign_json(self, campaign: Campaign) -> dict[str, Any]:
        account = self.world.account(PLATFORM, campaign.account_id)
        status = _STATUSES.get(self.world.campaign_status(campaign), "ACTIVE")
        created_day = campaign.created_date or campaign.start_date
        created = datetime(created_day.year, created_day.month, created_day.day, 10, 4, tzinfo=UTC)
        schedule: dict[str, Any] = {
            "start": _millis(datetime.combine(campaign.start_date, datetime.min.time(), UTC))
        }
        if campaign.end_date is not None:
            schedule["end"] = _millis(
                datetime.combine(campaign.end_date + timedelta(days=1), datetime.min.time(), UTC)
            )
        market = campaign.name.split(" | ", 1)[0]
        body: dict[str, Any] = {
            "id": int(campaign.id), "name": campaign.name, "account": f"urn:li:sponsoredAccount:{account.id}",
            "campaignGroup": f"urn:li:sponsoredCampaignGroup:{self._group_id(account, market)}",
            "status": status, "type": "SPONSORED_UPDATES", "objectiveType": campaign.objective,
            "costType": "CPM", "format": "SINGLE_IMAGE", "locale": {"country": "US", "language": "en"},
            "runSchedule": schedule, "offsiteDeliveryEnabled": False, "test": False,
            "servingStatuses": ["RUNNABLE"] if status == "ACTIVE" else ["CAMPAIGN_STATUS_NOT_ACTIVE"],
            "version": {"versionTag": str(1 + self.world.version)},
            "changeAuditStamps": self._audit(created, self.world.campaign_updated_at(campaign)),
        }  # fmt: skip
        if campaign.lifetime_budget is not None:
            body["totalBudget"] = {
                "amount": f"{campaign.lifetime_budget:.2f}",
                "currencyCode": account.currency,
            }
        else:
            budget = self.world.campaign_daily_budget(campaign)
            body["dailyBudget"] = {"amount": f"{budget:.2f}", "currencyCode": account.currency}
        return body

    def _creative_json(self, ad: Any) -> dict[str, Any]:
        campaign = self.world.campaign(PLATFORM, ad.campaign_id)
        created_day = campaign.created_date or campaign.start_date
        created = datetime(created_day.year, created_day.month, created_day.day, 10, 20, tzinfo=UTC)
        return {
            "id": f"urn:li:sponsoredCreative:{ad.id}", "name": ad.name,
            "account": f"urn:li:sponsoredAccount:{ad.account_id}", "campaign": f"urn:li:sponsoredCampaign:{ad.campaign_id}",
            "intendedStatus": _STATUSES.get(ad.status, "ACTIVE"), "isServing": ad.status == "ACTIVE",
            "content": {"reference": f"urn:li:share:{_numeric(ad.id, 'share')}"},
            "createdAt": _millis(created), "lastModifiedAt": _millis(created), "isTest": False,
        }  # fmt: skip

    # -- paging ---------------------------------------------------------------------------------------

    def _page(self, params: Mapping[str, str], elements: list[dict[str, Any]]) -> Response:
        try:
            size = int(params.get("pageSize") or self.settings.default_page_size)
        except ValueError:
            raise _invalid("pageSize must be an integer") from None
        if not 1 <= size <= self.settings.max_page_size:
            raise _invalid(f"pageSize must be between 1 and {self.settings.max_page_size}")
        ids = [str(e["id"]) for e in elements]
        start = 0
        if params.get("pageToken"):
            try:
                last = base64.urlsafe_b64decode(params["pageToken"] + "==").decode()
            except ValueError:
                raise _invalid("Invalid pageToken") from None
            start = ids.index(last) + 1 if last in ids else len(ids)
        stop = min(len(ids), start + size)
        metadata: dict[str, Any] = {}
        if stop < len(ids):
            metadata["nextPageToken"] = base64.urlsafe_b64encode(ids[stop - 1].encode()).decode().rstrip("=")
        return _json({"elements": elements[start:stop], "paging": {"start": start, "count": size, "links": []},
                      "metadata": metadata})  # fmt: skip

    # -- writes ---------------------------------------------------------------------------------------

    def _partial_update(self, request: Request, campaign: Campaign, raw: bytes) -> Response:
        if request.headers.get("x-restli-method", "").upper() != "PARTIAL_UPDATE":
            raise _invalid("POST on an entity needs X-RestLi-Method: PARTIAL_UPDATE")
        try:
            changes = json.loads(raw or b"{}")["patch"]["$set"]
        except (ValueError, KeyError, TypeError):
            raise _invalid('Body must be {"patch": {"$set": {...}}}') from None
        if not isinstance(changes, dict) or not changes:
            raise _invalid("Nothing to set")
        unknown = set(changes) - {"status", "dailyBudget"}
        if unknown:
            raise _invalid(f"Fields not updatable here: {', '.join(sorted(unknown))}")
        account = self.world.account(PLATFORM, campaign.account_id)
        if "status" in changes and changes["status"] not in _WRITABLE_STATUSES:
            raise _invalid(f"Invalid status {changes['status']!r}")
        if "dailyBudget" in changes:
            budget = changes["dailyBudget"]
            if not isinstance(budget, dict) or budget.get("currencyCode") != account.currency:
                raise _invalid(f"dailyBudget must be {{amount, currencyCode: {account.currency}}}")
            try:
                amount = float(str(budget.get("amount")))
            except ValueError:
                raise _invalid("dailyBudget.amount must be a decimal string") from None
            if amount < 10:
                raise LinkedInError(400, "INVALID_BUDGET", "Daily budget must be at least 10.00", 2004)
            self.world.set_campaign_daily_budget(PLATFORM, campaign.id, amount)
        if "status" in changes and changes["status"] != _STATUSES.get(self.world.campaign_status(campaign)):
            self.world.set_campaign_status(PLATFORM, campaign.id, changes["status"])
        return Response(status_code=204)

    # -- analytics ------------------------------------------------------------------------------------

    def _analytics(self, params: Mapping[str, str]) -> Response:
        if params.get("q") != "analytics":
            raise _invalid("q must be analytics (statistics needs several pivots)")
        if params.get("pivot") != "CREATIVE":
            raise _invalid("The fake serves pivot=CREATIVE only")
        if params.get("timeGranularity") != "DAILY":
            raise _invalid("The fake serves timeGranularity=DAILY only (LinkedIn has no hourly reports)")
        match = _DATE_RANGE.match(params.get("dateRange") or "")
        if not match:
            raise _invalid("dateRange must be (start:(year:Y,month:M,day:D),end:(year:Y,month:M,day:D))")
        numbers = [int(g) if g else None for g in match.groups()]
        start = date(*numbers[:3])  # type: ignore[arg-type]
        end = date(*numbers[3:]) if numbers[3] else self.world.clock().date()  # type: ignore[arg-type]
        if end < start:
            raise _invalid("dateRange end is before its start")
        fields = [f for f in (params.get("fields") or "").split(",") if f]
        unknown = set(fields) - METRICS - {"dateRange", "pivotValues"}
        if unknown or len(set(fields) & METRICS) > 20:
            raise _invalid(f"Unknown or too many fields: {', '.join(sorted(unknown))}")
        accounts = _urn_list(params.get("accounts"), "urn:li:sponsoredAccount:")
        if not accounts:
            raise _invalid("accounts=List(urn:li:sponsoredAccount:...) is required")
        elements: list[dict[str, Any]] = []
        as_of = self.world.clock()
        for account_id in accounts:
            account = self._account(account_id)
            if account is None:
                continue
            ads = self.world.ads(PLATFORM, account.id)
            today = self.world.today_local(account, as_of)
            day = start
            while day <= min(end, today - timedelta(days=1)):
                delivery = self.world.account_day(PLATFORM, account.id, day, as_of)
                for row, position in enumerate(delivery.positions if delivery is not None else []):
                    elements.append(_element(ads[position].id, day, delivery, row, fields))
                day += timedelta(days=1)
                if len(elements) > self.settings.max_analytics_elements:
                    raise LinkedInError(400, "TOO_MANY_ELEMENTS", f"The response would exceed {self.settings.max_analytics_elements} elements; narrow the dateRange", 4001)  # fmt: skip
        return _json({"paging": {"start": 0, "count": 10, "links": []}, "elements": elements})


def _element(ad_id: str, day: date, delivery: Any, row: int, fields: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "pivotValues": [f"urn:li:sponsoredCreative:{ad_id}"],
        "dateRange": {"start": {"year": day.year, "month": day.month, "day": day.day},
                      "end": {"year": day.year, "month": day.month, "day": day.day}},
        "costInLocalCurrency": f"{float(delivery.spend[row]):.2f}",
        "costInUsd": f"{float(delivery.spend[row]):.2f}",
        "impressions": int(delivery.impressions[row]),
        "clicks": int(delivery.clicks[row]),
        "landingPageClicks": int(delivery.clicks[row]),
        "externalWebsiteConversions": int(delivery.conversions[row]),
        "conversionValueInLocalCurrency": f"{float(delivery.conversion_value[row]):.2f}",
    }  # fmt: skip
    return {name: values[name] for name in fields} if fields else values


def _query(request: Request) -> dict[str, str]:
    """Query parameters with Rest.li values left as sent (percent-decoding once, as the server does)."""
    return {key: unquote(value) for key, value in parse_qsl(request.url.query, keep_blank_values=True)}


def _finder(params: Mapping[str, str], name: str) -> None:
    if params.get("q") != name:
        raise _invalid(f"q={name} is required on this resource")


def _status_filter(search: str | None) -> set[str] | None:
    match = re.search(r"status:\(values:List\(([A-Z_,]*)\)\)", search or "")
    return set(match.group(1).split(",")) if match else None


def _urn_list(value: str | None, prefix: str) -> list[str]:
    match = re.fullmatch(r"List\((.*)\)", value or "")
    if not match:
        return []
    return [item.removeprefix(prefix) for item in match.group(1).split(",") if item.startswith(prefix)]


def router_factory(
    world: World,
    faults: FaultInjector,
    tokens: Mapping[str, Iterable[str]],
    settings: LinkedInApiSettings | None = None,
) -> Starlette:
    """The LinkedIn router, mounted by the sandbox server at ``/linkedin``."""
    api = LinkedInApi(world, faults, tokens, settings)
    app = api.app()
    app.state.api = api
    return app


__all__ = ["FAULT_KINDS", "TOKEN_PATH", "LinkedInApi", "LinkedInApiSettings", "router_factory"]
