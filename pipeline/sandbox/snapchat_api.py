"""A faithful fake of the Snapchat Marketing API (``adsapi.snapchat.com/v1``), served from the simulator.

What it speaks (see platform-apis.md), mounted at ``/snapchat``:

- OAuth: ``POST /login/oauth2/access_token`` (``grant_type=refresh_token``; ``TOKEN_PATH``). Issued
  access tokens live 30 minutes of the world clock, as Snap's do (``expires_in: 1800``);
- ``GET /v1/me/organizations``, ``/v1/organizations/{id}``, ``/v1/organizations/{id}/adaccounts``;
- ``GET /v1/adaccounts/{id}`` and its ``campaigns`` / ``adsquads`` / ``ads`` lists,
  ``/v1/campaigns/{id}[/adsquads]``, ``/v1/adsquads/{id}[/ads]``, ``/v1/ads/{id}``;
- ``PUT /v1/adaccounts/{id}/campaigns`` (write-back: status ACTIVE / PAUSED, ``daily_budget_micro``);
- ``GET /v1/{adaccounts|campaigns|adsquads|ads}/{id}/stats`` with ``granularity`` TOTAL / DAY / HOUR,
  ``fields``, ``start_time`` / ``end_time``, ``breakdown`` (ad, adsquad, campaign), ``omit_empty``,
  ``limit``, attribution windows and ``action_report_time``.

Behaviour kept from the real API because connectors and staging depend on it:

- every list wraps each object (``{"campaigns": [{"sub_request_status": "SUCCESS", "campaign":
  {...}}]}``) and pages with ``limit`` (50-1000) and an absolute ``paging.next_link`` whose cursor
  is the last object served, so objects changing between pages are neither skipped nor repeated;
  without ``limit`` everything comes in one answer;
- money is micro-currency (``spend``, ``conversion_purchases_value``, ``daily_budget_micro``) in the
  ad account's currency; stats are JSON numbers; entity times are UTC (``...Z``), stats times carry
  the account's UTC offset (``2026-11-01T00:00:00.000-07:00``) and DAY buckets run from local
  midnight to local midnight (23 or 25 hours on DST days); HOUR buckets are real hours, so the
  repeated hour of a DST fall-back day comes twice (its delivery split between the two);
- stats validation answers HTTP 400: times not on the hour, DAY boundaries not at the account's
  local midnight (a wrong DST offset included), DAY spans over 31 local days, HOUR spans over 7
  days, ``uniques`` / ``frequency`` with HOUR, unknown fields or breakdowns, ``limit`` out of range;
- ``timeseries_stat.finalized_data_end_time``: data before it no longer changes (conversions keep
  restating for the platform's 2-day window); DAY buckets cover complete local days only, HOUR
  buckets stop at the current hour (partial);
- lists leave DELETED objects out unless ``read_deleted_entities=true``; the organization also holds
  a DISABLED ad account that has no data (connectors should skip it);
- errors are ``{"request_status": "ERROR", "request_id", "debug_message", "display_message",
  "error_code"}``; 401 for a missing, invalid or expired token; HTTP 429 carries no headers at all.
  Error codes are the fake's own choice.

Faults (``pipeline.sandbox.server.FaultInjector``, kinds in ``FAULT_KINDS``): ``throttle`` (bare
429), ``server_error`` (``status`` 500 JSON, else an HTML proxy page), ``timeout`` (``seconds``),
``malformed_json``, ``truncated_json``, ``bad_token`` (401 invalid token), ``token_expired`` (401
expired token) on any API request whose path contains the fault's ``path``; ``invalid_grant`` and
``server_error`` on the token endpoint; ``sub_request_error`` on stats requests: HTTP 200 whose
``timeseries_stats`` / ``total_stats`` entry has ``sub_request_status: ERROR``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pipeline.sandbox.engine import (
    COMMON_REQUEST_FAULTS,
    DayBlock,
    RouterState,
    day_block,
    gateway_page,
    make_router_factory,
    offset_window,
    take_request_fault,
)
from pipeline.sandbox.engine import params as engine_params
from pipeline.sandbox.engine.limits import SlidingWindow
from pipeline.sandbox.engine.rollups import AD, AD_GROUP, CAMPAIGN, N_BASE
from pipeline.sandbox.oauth import OAuthIssuer
from pipeline.sandbox.responses import json_response
from pipeline.sandbox.simulator import Account, AdGroup, Campaign, World, stable_int

PLATFORM = "snapchat"
API_VERSION = "v1"
TOKEN_PATH = "/login/oauth2/access_token"

REQUEST_FAULTS = COMMON_REQUEST_FAULTS | {"bad_token", "token_expired"}
TOKEN_FAULTS = frozenset({"invalid_grant", "server_error"})
STATS_FAULTS = frozenset({"sub_request_error"})
# Where performance records are asked for (router contract): "mid-sync" faults of the fault matrix aim here.
REPORT_PATH = "/stats"
FAULT_KINDS = REQUEST_FAULTS | TOKEN_FAULTS | STATS_FAULTS

GRANULARITIES = ("TOTAL", "DAY", "HOUR")
SWIPE_UP_ATTRIBUTION_WINDOWS = frozenset({"1_DAY", "7_DAY", "28_DAY"})
VIEW_ATTRIBUTION_WINDOWS = frozenset({"none", "1_HOUR", "3_HOUR", "6_HOUR", "1_DAY", "7_DAY", "28_DAY"})
ACTION_REPORT_TIMES = frozenset({"impression", "conversion"})
CONVERSION_SOURCE_TYPES = frozenset({"web", "app", "offline", "total"})
# Fields the fake serves. Base metrics come from the simulator; the rest derive from them.
STATS_FIELDS = frozenset(
    {"impressions", "swipes", "spend", "conversion_purchases", "conversion_purchases_value", "video_views",
     "quartile_1", "quartile_2", "quartile_3", "view_completion", "screen_time_millis",
     "conversion_add_cart", "conversion_page_views", "conversion_sign_ups", "uniques", "frequency"}
)  # fmt: skip
NOT_HOURLY_FIELDS = frozenset({"uniques", "frequency"})  # reach metrics exist per day or total only
DEFAULT_STATS_FIELDS = ("impressions", "spend")
# breakdowns each stats entity accepts (a level below it)
_BREAKDOWNS = {
    "adaccounts": ("campaign", "adsquad", "ad"),
    "campaigns": ("adsquad", "ad"),
    "adsquads": ("ad",),
    "ads": (),
}
_ENTITY_TYPES = {"adaccounts": "AD_ACCOUNT", "campaigns": "CAMPAIGN", "adsquads": "AD_SQUAD", "ads": "AD"}
_BREAKDOWN_TYPES = {"campaign": "CAMPAIGN", "adsquad": "AD_SQUAD", "ad": "AD"}
# Legacy objective and objective_v2 type of the simulator's (sales-like, traffic-like) campaigns.
_OBJECTIVES = {"SALES": ("WEB_CONVERSION", "SALES"), "TRAFFIC": ("DRIVE_TRAFFIC", "TRAFFIC")}
_COUNTRY_CODES = {"US": "us", "DE": "de", "UK": "gb", "FR": "fr", "NL": "nl", "CA": "ca"}
MIN_CAMPAIGN_DAILY_BUDGET_MICRO = 20_000_000  # the fake's floor: 20 units of the account currency
_JSON = "application/json;charset=utf-8"

# base metric columns of a stats block (money in cents, counts as integers)
_SPEND, _IMPRESSIONS, _SWIPES, _PURCHASES, _VALUE = range(5)  # the engine's base metrics, Snap's names
_N_BASE = N_BASE
_BREAKDOWN_LEVELS = {"campaign": CAMPAIGN, "adsquad": AD_GROUP, "ad": AD}


@dataclass
class SnapchatApiSettings:
    """Knobs of the fake (defaults follow the real API; tests lower ``min_limit`` to page small lists)."""

    min_limit: int = 50
    max_limit: int = 1000
    token_lifetime: timedelta = timedelta(seconds=1800)
    max_day_span_days: int = 31
    max_hour_span: timedelta = timedelta(days=7)
    requests_per_second_per_token: int = 10
    enforce_limits: bool = False  # True: bare 429 beyond requests_per_second_per_token


class SnapError(Exception):
    """An error the fake answers in Snap's shape."""

    def __init__(self, status: int, error_code: str, debug_message: str, display_message: str = "") -> None:
        super().__init__(debug_message)
        self.status = status
        self.error_code = error_code
        self.debug_message = debug_message
        self.display_message = display_message or "We're sorry, but the request could not be completed."

    def body(self) -> dict[str, Any]:
        return {
            "request_status": "ERROR",
            "request_id": _request_id(),
            "debug_message": self.debug_message,
            "display_message": self.display_message,
            "error_code": self.error_code,
        }


def _invalid(message: str) -> SnapError:
    return SnapError(400, "E1001", message, "The request has invalid parameters.")


def _not_found(kind: str, object_id: str) -> SnapError:
    return SnapError(404, "E1003", f"Resource can not be found: {kind} {object_id}", "Resource not found.")


def _request_id() -> str:
    return secrets.token_hex(26)


def _uuid(*parts: object) -> str:
    return str(uuid.UUID(int=stable_int(*parts, bits=128), version=4))


def _utc_text(moment: datetime) -> str:
    """Snap's entity timestamps: UTC with milliseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _local_text(moment: datetime, tz: ZoneInfo) -> str:
    """Snap's stats timestamps: the account's local time with its UTC offset, milliseconds."""
    return moment.astimezone(tz).isoformat(timespec="milliseconds")


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


_json_response = partial(json_response, media_type=_JSON)


def _encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid("Invalid cursor") from None
    if not text.startswith("after:"):
        raise _invalid("Invalid cursor")
    return text.removeprefix("after:")


def _flag(params: Mapping[str, str], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise _invalid(f"{name} must be true or false")
    return value.lower() == "true"


@dataclass(frozen=True)
class _Bucket:
    """One stats interval: [start, end) in UTC, and where its values come from in the simulator."""

    start: datetime
    end: datetime
    day: date  # the account-local day the values belong to
    hour: int | None = None  # local clock hour (HOUR granularity)
    part: int = 0  # which occurrence of a repeated local hour (DST fall-back) this is
    parts: int = 1


@dataclass
class _Scope:
    """The ads a stats request covers and how they group for a breakdown."""

    account: Account
    entity_kind: str  # adaccounts | campaigns | adsquads | ads
    entity_id: str
    ad_positions: np.ndarray  # positions in world.ads(PLATFORM, account)


class SnapchatApi(RouterState):
    """The Snapchat router's state: world, faults, tokens (OAuth issuer) and rate windows."""

    platform = PLATFORM
    settings_class: ClassVar[type] = SnapchatApiSettings
    settings: SnapchatApiSettings

    def __init__(self, world: World, *args: Any, **kwargs: Any) -> None:
        super().__init__(world, *args, **kwargs)
        live_tokens: Any = self.tokens
        self.oauth = OAuthIssuer(PLATFORM, world, live_tokens, lifetime=self.settings.token_lifetime)
        self.organization_id = _uuid(world.scenario.seed, PLATFORM, "organization")
        self.disabled_account = {
            "id": _uuid(world.scenario.seed, PLATFORM, "disabled-account"),
            "name": "Closed test account - USD",
            "currency": "USD",
            "timezone": "America/New_York",
        }
        self._budget_written: set[str] = set()  # campaigns whose daily budget was set via PUT
        self._rate = SlidingWindow(1.0)  # calls per token in the last second

    # -- the ASGI app ---------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route("/{version}/{rest:path}", self.handle, methods=["GET", "PUT", "POST", "DELETE"]),
        ]

    async def token(self, request: Request) -> Response:
        fault = self.faults.take(PLATFORM, TOKEN_PATH, TOKEN_FAULTS)
        if fault is not None and fault.kind == "server_error":
            return gateway_page(503, b"<html><body>Service Unavailable</body></html>")
        form = engine_params.form(await request.body())
        if fault is not None and fault.kind == "invalid_grant":
            return _json_response(
                {"error": "invalid_grant", "error_description": "Invalid refresh token"}, 400
            )
        status, body = self.oauth.grant(form)
        if status == 200:
            body["refresh_token"] = form.get("refresh_token", "")  # Snap echoes the (unrotated) refresh token
        return _json_response(body, status)

    async def handle(self, request: Request) -> Response:
        version = request.path_params["version"]
        rest = request.path_params["rest"].strip("/")
        path = f"/{version}/{rest}"
        fault = await take_request_fault(self.faults, PLATFORM, path, REQUEST_FAULTS)
        if fault.answer is not None:
            return self._fault_response(fault.answer.kind, fault.answer.params)
        try:
            token = engine_params.bearer(request)
            verdict = self.oauth.check(token)
            if verdict == "missing":
                raise SnapError(401, "E3001", "Missing access token", "Unauthorized.")
            if verdict == "expired":
                raise SnapError(401, "E3003", "The access token has expired", "Unauthorized.")
            if verdict != "valid":
                raise SnapError(401, "E3002", "Invalid access token", "Unauthorized.")
            if self.settings.enforce_limits and not self._rate.admit(
                str(token), self.settings.requests_per_second_per_token
            ):
                return Response(b'{"request_status":"ERROR","error_code":"E1010"}', 429, media_type=_JSON)
            if version != API_VERSION:
                raise _not_found("path", path)
            segments = rest.split("/") if rest else []
            response = await self._route(request, segments, path)
        except SnapError as error:
            response = _json_response(error.body(), error.status)
        return fault.finish(response)

    def _fault_response(self, kind: str, params: Mapping[str, Any]) -> Response:
        if kind == "throttle":
            # Snap's 429 carries no Retry-After and no usage headers.
            return Response(b"Too Many Requests", 429, media_type="text/plain")
        if kind == "server_error":
            status = int(params.get("status", 500))
            if status == 500:
                error = SnapError(
                    500, "E1008", "Internal server error, please retry", "Something went wrong."
                )
                return _json_response(error.body(), 500)
            return gateway_page(status)
        if kind == "bad_token":
            return _json_response(
                SnapError(401, "E3002", "Invalid access token", "Unauthorized.").body(), 401
            )
        if kind == "token_expired":
            error = SnapError(401, "E3003", "The access token has expired", "Unauthorized.")
            return _json_response(error.body(), 401)
        raise AssertionError(kind)  # pragma: no cover - REQUEST_FAULTS is exhaustive

    # -- routing --------------------------------------------------------------------------------------

    async def _route(self, request: Request, segments: list[str], path: str) -> Response:
        method = request.method
        params = dict(request.query_params)
        if segments == ["me", "organizations"] and method == "GET":
            return self._list(request, params, "organizations", "organization", [self._organization(params)])
        if len(segments) >= 2 and segments[0] == "organizations":
            if segments[1] != self.organization_id:
                raise _not_found("organization", segments[1])
            if len(segments) == 2 and method == "GET":
                return self._single("organizations", "organization", self._organization(params))
            if segments[2:] == ["adaccounts"] and method == "GET":
                accounts = [self._account_json(a) for a in self.world.accounts(PLATFORM)]
                accounts.append(self._disabled_account_json())
                return self._list(request, params, "adaccounts", "adaccount", accounts)
        if len(segments) >= 2 and segments[0] in _ENTITY_TYPES:
            kind, object_id, tail = segments[0], segments[1], segments[2:]
            if tail == ["stats"] and method == "GET":
                return self._stats(request, params, kind, object_id, path)
            if kind == "adaccounts":
                return await self._account_route(request, params, object_id, tail)
            if not tail and method == "GET":
                return self._single(kind, kind[:-1], self._entity_json(kind, object_id, params))
            if kind == "campaigns" and tail == ["adsquads"] and method == "GET":
                campaign = self._campaign(object_id)
                groups = self.world.ad_groups(PLATFORM, campaign.account_id, campaign_id=campaign.id)
                items = [self._ad_squad_json(g) for g in groups]
                return self._list(request, params, "adsquads", "adsquad", self._visible(items, params))
            if kind == "adsquads" and tail == ["ads"] and method == "GET":
                group = self._ad_group(object_id)
                items = [
                    self._ad_json(a) for a in self.world.ads(PLATFORM, group.account_id, ad_group_id=group.id)
                ]
                return self._list(request, params, "ads", "ad", self._visible(items, params))
        raise SnapError(404, "E1003", f"Unsupported {method} request on {path}", "Resource not found.")

    async def _account_route(
        self, request: Request, params: dict[str, str], account_id: str, tail: list[str]
    ) -> Response:
        method = request.method
        if account_id == self.disabled_account["id"]:
            if not tail and method == "GET":
                return self._single("adaccounts", "adaccount", self._disabled_account_json())
            if tail and tail[0] in ("campaigns", "adsquads", "ads") and method == "GET":
                return self._list(request, params, tail[0], tail[0][:-1], [])
            raise _not_found("adaccount", account_id)
        account = self._account(account_id)
        if not tail and method == "GET":
            return self._single("adaccounts", "adaccount", self._account_json(account))
        if tail == ["campaigns"] and method == "PUT":
            return self._write_campaigns(account, await request.body())
        if tail == ["campaigns"] and method == "GET":
            items = [self._campaign_json(c) for c in self.world.campaigns(PLATFORM, account.id)]
            return self._list(request, params, "campaigns", "campaign", self._visible(items, params))
        if tail == ["adsquads"] and method == "GET":
            items = [self._ad_squad_json(g) for g in self.world.ad_groups(PLATFORM, account.id)]
            return self._list(request, params, "adsquads", "adsquad", self._visible(items, params))
        if tail == ["ads"] and method == "GET":
            items = [self._ad_json(a) for a in self.world.ads(PLATFORM, account.id)]
            return self._list(request, params, "ads", "ad", self._visible(items, params))
        raise SnapError(
            404, "E1003", f"Unsupported {method} request on /adaccounts/{account_id}/{'/'.join(tail)}"
        )

    # -- lists and single objects ---------------------------------------------------------------------

    def _limit(self, params: Mapping[str, str]) -> int | None:
        raw = params.get("limit")
        if raw is None or raw == "":
            return None
        try:
            limit = int(raw)
        except ValueError:
            raise _invalid("limit must be an integer") from None
        if not self.settings.min_limit <= limit <= self.settings.max_limit:
            raise _invalid(f"limit must be between {self.settings.min_limit} and {self.settings.max_limit}")
        return limit

    def _page(
        self, request: Request, params: Mapping[str, str], ids: Sequence[str]
    ) -> tuple[int, int, dict[str, Any] | None]:
        """(start, stop) of the page asked for among ``ids`` and its ``paging`` block (None: unpaged)."""
        limit = self._limit(params)
        start = 0
        cursor = params.get("cursor")
        if cursor:
            last = _decode_cursor(cursor)
            # Objects are ordered stably; the cursor names the last one served, so changes between
            # pages neither skip nor repeat the rest.
            start = ids.index(last) + 1 if last in ids else len(ids)
        window = offset_window(start, limit, len(ids))
        if limit is None:
            return window.start, window.stop, None
        paging: dict[str, Any] = {}
        if window.more:
            query = {k: v for k, v in request.query_params.items() if k != "cursor"}
            query["cursor"] = _encode_cursor(ids[window.stop - 1])
            paging["next_link"] = str(request.url.replace(query=urlencode(query)))
        return window.start, window.stop, paging

    def _list(
        self,
        request: Request,
        params: Mapping[str, str],
        plural: str,
        singular: str,
        items: list[dict[str, Any]],
    ) -> Response:
        start, stop, paging = self._page(request, params, [i["id"] for i in items])
        body: dict[str, Any] = {"request_status": "SUCCESS", "request_id": _request_id()}
        if paging is not None:
            body["paging"] = paging
        body[plural] = [{"sub_request_status": "SUCCESS", singular: item} for item in items[start:stop]]
        return _json_response(body)

    @staticmethod
    def _single(plural: str, singular: str, item: dict[str, Any]) -> Response:
        return _json_response(
            {
                "request_status": "SUCCESS",
                "request_id": _request_id(),
                plural: [{"sub_request_status": "SUCCESS", singular: item}],
            }
        )

    @staticmethod
    def _visible(items: list[dict[str, Any]], params: Mapping[str, str]) -> list[dict[str, Any]]:
        if _flag(params, "read_deleted_entities", False):
            return items
        return [i for i in items if i.get("status") != "DELETED"]

    # -- entities -------------------------------------------------------------------------------------

    def _find(self, kind: str, object_id: str) -> Any:
        """The world's adaccount / campaign / adsquad / ad, or Snap's 404."""
        lookup = {"adaccount": self.world.account, "campaign": self.world.campaign,
                  "adsquad": self.world.ad_group, "ad": self.world.ad}[kind]  # fmt: skip
        try:
            return lookup(PLATFORM, object_id)
        except KeyError:
            raise _not_found(kind, object_id) from None

    def _account(self, account_id: str) -> Account:
        return self._find("adaccount", account_id)  # type: ignore[no-any-return]

    def _campaign(self, campaign_id: str) -> Campaign:
        return self._find("campaign", campaign_id)  # type: ignore[no-any-return]

    def _ad_group(self, ad_squad_id: str) -> AdGroup:
        return self._find("adsquad", ad_squad_id)  # type: ignore[no-any-return]

    def _organization(self, params: Mapping[str, str]) -> dict[str, Any]:
        created = datetime(2019, 3, 4, 9, 12, 44, 381000, tzinfo=UTC)
        organization: dict[str, Any] = {
            "id": self.organization_id,
            "updated_at": _utc_text(created),
            "created_at": _utc_text(created),
            "name": "adsignal sandbox agency",
            "country": "US",
            "postal_code": "94105",
            "locality": "San Francisco",
            "type": "ENTERPRISE",
            "state": "ACTIVE",
            "configuration_settings": {"notifications_enabled": True},
        }
        if _flag(params, "with_ad_accounts", False):
            organization["ad_accounts"] = [self._account_json(a) for a in self.world.accounts(PLATFORM)] + [
                self._disabled_account_json()
            ]
        return organization

    def _account_json(self, account: Account) -> dict[str, Any]:
        created = datetime(2019, 3, 4, 9, 30, 1, 120000, tzinfo=UTC)
        return {
            "id": account.id,
            "updated_at": _utc_text(created),
            "created_at": _utc_text(created),
            "name": account.name,
            "type": "PARTNER",
            "status": "ACTIVE",
            "organization_id": self.organization_id,
            "funding_source_ids": [_uuid("funding-source", account.id)],
            "currency": account.currency,
            "timezone": account.timezone,
            "advertiser_organization_id": self.organization_id,
            "billing_center_id": _uuid("billing-center", self.organization_id),
            "billing_type": "REVOLVING",
            "agency_representing_client": False,
            "client_paying_invoices": False,
        }

    def _disabled_account_json(self) -> dict[str, Any]:
        created = datetime(2020, 6, 1, 8, 0, 0, tzinfo=UTC)
        return {
            "id": self.disabled_account["id"],
            "updated_at": _utc_text(created + timedelta(days=400)),
            "created_at": _utc_text(created),
            "name": self.disabled_account["name"],
            "type": "PARTNER",
            "status": "DISABLED",
            "organization_id": self.organization_id,
            "funding_source_ids": [],
            "currency": self.disabled_account["currency"],
            "timezone": self.disabled_account["timezone"],
            "advertiser_organization_id": self.organization_id,
            "billing_type": "REVOLVING",
            "agency_representing_client": False,
            "client_paying_invoices": False,
        }

    def _entity_json(self, kind: str, object_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        if kind == "campaigns":
            return self._campaign_json(self._campaign(object_id))
        if kind == "adsquads":
            return self._ad_squad_json(self._ad_group(object_id))
        return self._ad_json(self._find("ad", object_id))

    def _created(self, campaign: Campaign) -> datetime:
        account = self.world.account(PLATFORM, campaign.account_id)
        created = campaign.created_date or campaign.start_date
        return datetime(created.year, created.month, created.day, 10, 4, 12, 345000, tzinfo=account.tz)

    def _campaign_json(self, campaign: Campaign) -> dict[str, Any]:
        account = self.world.account(PLATFORM, campaign.account_id)
        status = self.world.campaign_status(campaign)
        created = self._created(campaign)
        updated = self.world.campaign_updated_at(campaign) or created
        legacy, v2 = _OBJECTIVES.get(campaign.objective, ("WEB_CONVERSION", campaign.objective))
        values: dict[str, Any] = {
            "id": campaign.id,
            "updated_at": _utc_text(updated),
            "created_at": _utc_text(created),
            "name": campaign.name,
            "ad_account_id": campaign.account_id,
            "status": "DELETED" if status in ("ARCHIVED", "DELETED") else status,
            "objective": legacy,
            "objective_v2_properties": {"objective_v2_type": v2},
            "start_time": _utc_text(_local_midnight(campaign.start_date, account.tz)),
            "buy_model": "AUCTION",
            "creation_state": "PUBLISHED",
            "delivery_status": ["VALID"] if status == "ACTIVE" else ["INVALID_NOT_ACTIVE"],
        }
        if campaign.end_date is not None:
            values["end_time"] = _utc_text(_local_midnight(campaign.end_date + timedelta(days=1), account.tz))
        if campaign.lifetime_budget is not None:
            values["lifetime_spend_cap_micro"] = round(campaign.lifetime_budget * 1_000_000)
        if campaign.lifetime_budget is None or campaign.id in self._budget_written:
            values["daily_budget_micro"] = round(self.world.campaign_daily_budget(campaign) * 1_000_000)
        return values

    def _ad_squad_json(self, group: AdGroup) -> dict[str, Any]:
        campaign = self.world.campaign(PLATFORM, group.campaign_id)
        account = self.world.account(PLATFORM, group.account_id)
        created = self._created(campaign) + timedelta(minutes=7)
        market = campaign.name.split(" | ", 1)[0]
        traffic = campaign.objective == "TRAFFIC"
        return {
            "id": group.id,
            "updated_at": _utc_text(created),
            "created_at": _utc_text(created),
            "name": group.name,
            "status": "DELETED" if group.status in ("ARCHIVED", "DELETED") else group.status,
            "campaign_id": group.campaign_id,
            "type": "SNAP_ADS",
            "targeting": {
                "regulated_content": False,
                "geos": [{"country_code": _COUNTRY_CODES.get(market, "us"), "operation": "INCLUDE"}],
            },
            "targeting_reach_status": "VALID",
            "placement_v2": {"config": "AUTOMATIC"},
            "billing_event": "IMPRESSION",
            "auto_bid": True,
            "bid_strategy": "AUTO_BID",
            "start_time": _utc_text(_local_midnight(campaign.start_date, account.tz)),
            "optimization_goal": "SWIPES" if traffic else "PIXEL_PURCHASE",
            "delivery_constraint": "DAILY_BUDGET",
            "pacing_type": "STANDARD",
            "delivery_status": ["VALID"],
        }

    def _ad_json(self, ad: Any) -> dict[str, Any]:
        campaign = self.world.campaign(PLATFORM, ad.campaign_id)
        created = self._created(campaign) + timedelta(minutes=15)
        return {
            "id": ad.id,
            "updated_at": _utc_text(created),
            "created_at": _utc_text(created),
            "name": ad.name,
            "ad_squad_id": ad.ad_group_id,
            "creative_id": _uuid("creative", ad.id),
            "status": "DELETED" if ad.status in ("ARCHIVED", "DELETED") else ad.status,
            "type": "SNAP_AD",
            "render_type": "STATIC",
            "review_status": "APPROVED",
            "review_status_reasons": [],
            "delivery_status": ["VALID"],
        }

    # -- write-back -----------------------------------------------------------------------------------

    def _write_campaigns(self, account: Account, raw: bytes) -> Response:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise _invalid("The request body is not valid JSON") from None
        items = body.get("campaigns") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise _invalid('Body must be {"campaigns": [<campaign>, ...]}')
        results: list[dict[str, Any]] = []
        for item in items:
            try:
                campaign = self._validate_campaign_write(account, item)
            except SnapError as error:
                results.append(
                    {
                        "sub_request_status": "ERROR",
                        "sub_request_error_reason": f"{error.error_code}: {error.debug_message}",
                        "campaign": item if isinstance(item, dict) else {},
                    }
                )
                continue
            if item["status"] != self.world.campaign_status(campaign):
                self.world.set_campaign_status(PLATFORM, campaign.id, item["status"])
            if "daily_budget_micro" in item:
                budget = item["daily_budget_micro"] / 1_000_000
                if not math.isclose(budget, self.world.campaign_daily_budget(campaign)) or (
                    campaign.lifetime_budget is not None and campaign.id not in self._budget_written
                ):
                    self.world.set_campaign_daily_budget(PLATFORM, campaign.id, budget)
                self._budget_written.add(campaign.id)
            results.append({"sub_request_status": "SUCCESS", "campaign": self._campaign_json(campaign)})
        failed = sum(r["sub_request_status"] != "SUCCESS" for r in results)
        request_status = "SUCCESS" if not failed else ("ERROR" if failed == len(results) else "PARTIAL")
        status = 400 if failed == len(results) else 200
        return _json_response(
            {"request_status": request_status, "request_id": _request_id(), "campaigns": results}, status
        )

    def _validate_campaign_write(self, account: Account, item: Any) -> Campaign:
        if not isinstance(item, dict):
            raise _invalid("Each campaign must be an object")
        campaign_id = item.get("id")
        if not campaign_id:
            raise _invalid("id is required to update a campaign")
        campaign = self._campaign(str(campaign_id))
        if campaign.account_id != account.id or item.get("ad_account_id") != account.id:
            raise _invalid(f"Campaign {campaign_id} does not belong to ad account {account.id}")
        for required in ("name", "status", "start_time"):
            if not item.get(required):
                raise _invalid(f"{required} is required: an update sends the whole campaign")
        if item["status"] not in ("ACTIVE", "PAUSED"):
            raise _invalid("status must be ACTIVE or PAUSED")
        if "daily_budget_micro" in item:
            micro = item["daily_budget_micro"]
            if isinstance(micro, bool) or not isinstance(micro, int):
                raise _invalid("daily_budget_micro must be an integer (micro-currency)")
            if micro < MIN_CAMPAIGN_DAILY_BUDGET_MICRO:
                raise _invalid(f"daily_budget_micro must be at least {MIN_CAMPAIGN_DAILY_BUDGET_MICRO}")
        return campaign

    # -- stats ----------------------------------------------------------------------------------------

    def _stats(
        self, request: Request, params: dict[str, str], kind: str, object_id: str, path: str
    ) -> Response:
        scope = self._scope(kind, object_id)
        tz = scope.account.tz
        granularity = (params.get("granularity") or "TOTAL").upper()
        if granularity not in GRANULARITIES:
            raise _invalid(f"granularity must be one of {', '.join(GRANULARITIES)}")
        fields = [
            f.strip()
            for f in (params.get("fields") or ",".join(DEFAULT_STATS_FIELDS)).split(",")
            if f.strip()
        ]
        for name in fields:
            if name not in STATS_FIELDS:
                raise _invalid(f"Invalid stats field: {name}")
            if granularity == "HOUR" and name in NOT_HOURLY_FIELDS:
                raise _invalid(f"{name} is not supported with HOUR granularity")
        breakdown = params.get("breakdown") or None
        if breakdown is not None and breakdown not in _BREAKDOWNS[kind]:
            allowed = ", ".join(_BREAKDOWNS[kind]) or "none"
            raise _invalid(f"breakdown {breakdown} is not supported for {kind} (allowed: {allowed})")
        swipe_window = params.get("swipe_up_attribution_window") or "28_DAY"
        view_window = params.get("view_attribution_window") or "1_DAY"
        if swipe_window not in SWIPE_UP_ATTRIBUTION_WINDOWS:
            raise _invalid(
                f"swipe_up_attribution_window must be one of {sorted(SWIPE_UP_ATTRIBUTION_WINDOWS)}"
            )
        if view_window not in VIEW_ATTRIBUTION_WINDOWS:
            raise _invalid(f"view_attribution_window must be one of {sorted(VIEW_ATTRIBUTION_WINDOWS)}")
        if (params.get("action_report_time") or "impression") not in ACTION_REPORT_TIMES:
            raise _invalid("action_report_time must be impression or conversion")
        for source_type in (params.get("conversion_source_types") or "total").split(","):
            if source_type.strip() not in CONVERSION_SOURCE_TYPES:
                raise _invalid(f"Invalid conversion_source_types value: {source_type}")
        omit_empty = _flag(params, "omit_empty", False)
        start, end = self._time_range(params, granularity, tz)

        as_of = self.world.clock()
        buckets = self._buckets(scope.account, granularity, start, end, as_of)
        header: dict[str, Any] = {
            "id": scope.entity_id,
            "type": _ENTITY_TYPES[kind],
            "granularity": granularity,
            "start_time": _local_text(start, tz),
            "end_time": _local_text(end, tz),
            "finalized_data_end_time": _local_text(self._finalized_end(scope.account, as_of), tz),
            "swipe_up_attribution_window": swipe_window,
            "view_attribution_window": view_window,
        }
        wrapper, inner = (
            ("total_stats", "total_stat")
            if granularity == "TOTAL"
            else ("timeseries_stats", "timeseries_stat")
        )
        fault = self.faults.take(PLATFORM, path, STATS_FAULTS)
        if fault is not None:
            reason = str(
                fault.params.get("reason")
                or "E1008: Stats could not be computed for this entity, please retry"
            )
            return _json_response(
                {
                    "request_status": "ERROR",
                    "request_id": _request_id(),
                    wrapper: [
                        {
                            "sub_request_status": "ERROR",
                            "sub_request_error_reason": reason,
                            inner: {
                                k: header[k] for k in ("id", "type", "granularity", "start_time", "end_time")
                            },
                        }
                    ],
                }
            )

        values = self._values(scope, buckets, as_of)  # (_N_BASE, ads_in_scope, buckets) int64
        body: dict[str, Any] = {"request_status": "SUCCESS", "request_id": _request_id()}
        stat = dict(header)
        if breakdown is None:
            totals = values.sum(axis=1)
            if granularity == "TOTAL":
                stat["stats"] = _stats_values(totals.sum(axis=1), fields)
            else:
                stat["timeseries"] = [
                    {"start_time": _local_text(b.start, tz), "end_time": _local_text(b.end, tz),
                     "stats": _stats_values(totals[:, i], fields)}
                    for i, b in enumerate(buckets)
                ]  # fmt: skip
        else:
            group_ids, grouped = self._group(scope, breakdown, values)
            if omit_empty:
                keep = [g for g in range(len(group_ids)) if grouped[[_SPEND, _IMPRESSIONS], g].any()]
            else:
                keep = list(range(len(group_ids)))
            kept_ids = [group_ids[g] for g in keep]
            page_start, page_stop, paging = self._page(request, params, kept_ids)
            entries = []
            for g in keep[page_start:page_stop]:
                entry: dict[str, Any] = {
                    "id": group_ids[g],
                    "type": _BREAKDOWN_TYPES[breakdown],
                    "granularity": granularity,
                }
                if granularity == "TOTAL":
                    entry["stats"] = _stats_values(grouped[:, g].sum(axis=1), fields)
                else:
                    entry["start_time"] = header["start_time"]
                    entry["end_time"] = header["end_time"]
                    entry["timeseries"] = [
                        {"start_time": _local_text(b.start, tz), "end_time": _local_text(b.end, tz),
                         "stats": _stats_values(grouped[:, g, i], fields)}
                        for i, b in enumerate(buckets)
                    ]  # fmt: skip
                entries.append(entry)
            stat["breakdown_stats"] = {breakdown: entries}
            if paging is not None:
                body["paging"] = paging
        body[wrapper] = [{"sub_request_status": "SUCCESS", inner: stat}]
        return _json_response(body)

    def _scope(self, kind: str, object_id: str) -> _Scope:
        if kind == "adaccounts":
            if object_id == self.disabled_account["id"]:
                raise SnapError(403, "E3004", "The ad account is disabled", "Access denied.")
            account = self._account(object_id)
            ads = self.world.ads(PLATFORM, account.id)
            return _Scope(account, kind, object_id, np.arange(len(ads)))
        if kind == "campaigns":
            campaign = self._campaign(object_id)
            account_id, match = campaign.account_id, (lambda a: a.campaign_id == object_id)
        elif kind == "adsquads":
            group = self._ad_group(object_id)
            account_id, match = group.account_id, (lambda a: a.ad_group_id == object_id)
        else:
            ad = self._find("ad", object_id)
            account_id, match = ad.account_id, (lambda a: a.id == object_id)
        ads = self.world.ads(PLATFORM, account_id)
        positions = np.array([i for i, a in enumerate(ads) if match(a)], dtype=np.int64)
        return _Scope(self.world.account(PLATFORM, account_id), kind, object_id, positions)

    def _time_range(
        self, params: Mapping[str, str], granularity: str, tz: ZoneInfo
    ) -> tuple[datetime, datetime]:
        raw_start, raw_end = params.get("start_time"), params.get("end_time")
        if not raw_start or not raw_end:
            raise _invalid("start_time and end_time are required")
        start, end = _parse_time(raw_start, "start_time"), _parse_time(raw_end, "end_time")
        for name, moment in (("start_time", start), ("end_time", end)):
            if (moment.minute, moment.second, moment.microsecond) != (
                0,
                0,
                0,
            ) or moment.utcoffset().total_seconds() % 3600:  # type: ignore[union-attr]
                raise _invalid(f"{name} must be on the hour")
            if granularity == "DAY" and moment.astimezone(tz).hour != 0:
                raise _invalid(
                    f"{name} must be at the start of a day in the ad account's timezone ({tz.key}) "
                    f"with its UTC offset on that date; got {moment.isoformat()}"
                )
        if end <= start:
            raise _invalid("end_time must be after start_time")
        if granularity == "DAY":
            days = (end.astimezone(tz).date() - start.astimezone(tz).date()).days
            if days > self.settings.max_day_span_days:
                raise _invalid(
                    f"DAY granularity allows at most {self.settings.max_day_span_days} days per request"
                )
        if granularity == "HOUR" and end - start > self.settings.max_hour_span:
            raise _invalid(
                f"HOUR granularity allows at most {self.settings.max_hour_span.days} days per request"
            )
        return start.astimezone(tz), end.astimezone(tz)

    def _finalized_end(self, account: Account, as_of: datetime) -> datetime:
        """Data before this instant no longer changes: days older than the restatement window."""
        window = self.world.scenario.restatement_window(PLATFORM)
        today = self.world.today_local(account, as_of)
        return _local_midnight(today - timedelta(days=window - 1), account.tz)

    def _buckets(
        self, account: Account, granularity: str, start: datetime, end: datetime, as_of: datetime
    ) -> list[_Bucket]:
        tz = account.tz
        local_now = as_of.astimezone(tz)
        whole_days = start.astimezone(tz).hour == 0 and end.astimezone(tz).hour == 0
        if granularity == "DAY" or (granularity == "TOTAL" and whole_days):
            buckets = []
            day = start.astimezone(tz).date()
            while _local_midnight(day, tz) < end:
                following = _local_midnight(day + timedelta(days=1), tz)
                if day < local_now.date():  # complete days only
                    buckets.append(_Bucket(_local_midnight(day, tz), following, day))
                day += timedelta(days=1)
            return buckets
        buckets = []
        moment = start.astimezone(UTC)
        # UTC arithmetic: adding an hour to a zoned time is wall-clock addition (wrong across DST).
        current_hour_end = as_of.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
            hours=1
        )
        limit = min(end.astimezone(UTC), current_hour_end)
        while moment < limit:
            local = moment.astimezone(tz)
            following = moment + timedelta(hours=1)
            # Fall-back day: the local clock hour repeats; the simulator holds both in one column.
            previous_same = (moment - timedelta(hours=1)).astimezone(tz).hour == local.hour
            next_same = following.astimezone(tz).hour == local.hour
            parts = 2 if (previous_same or next_same) else 1
            part = 1 if previous_same else 0
            buckets.append(
                _Bucket(
                    moment.astimezone(tz), following.astimezone(tz), local.date(), local.hour, part, parts
                )
            )
            moment = following
        return buckets

    def _values(self, scope: _Scope, buckets: list[_Bucket], as_of: datetime) -> np.ndarray:
        """Base metrics (_N_BASE, ads in scope, buckets) as integers (money in cents)."""
        account = scope.account
        values = np.zeros((_N_BASE, len(self.views.get(account.id).ads), len(buckets)), dtype=np.int64)
        blocks: dict[tuple[date, bool], DayBlock | None] = {}
        for index, bucket in enumerate(buckets):
            hourly = bucket.hour is not None
            key = (bucket.day, hourly)
            if key not in blocks:
                blocks[key] = day_block(self.world, PLATFORM, account, bucket.day, as_of, hourly=hourly)
            block = blocks[key]
            column = bucket.hour if bucket.hour is not None else 0
            if block is None or not block.hours[column]:
                continue
            for metric in range(_N_BASE):
                values[metric, block.positions, index] = _split(
                    block.values[metric, :, column], bucket.part, bucket.parts
                )
        return values[:, scope.ad_positions, :]

    def _group(self, scope: _Scope, breakdown: str, values: np.ndarray) -> tuple[list[str], np.ndarray]:
        view = self.views.get(scope.account.id)
        level = _BREAKDOWN_LEVELS[breakdown]
        if level == AD:
            return [view.ads[p].id for p in scope.ad_positions], values
        groups = view.group_of(level, scope.ad_positions).tolist()
        order = list(dict.fromkeys(groups))  # as the ads first name them
        objects = view.campaigns if level == CAMPAIGN else view.ad_groups
        index = np.array([order.index(g) for g in groups], dtype=np.int64)
        grouped = np.zeros((values.shape[0], len(order), values.shape[2]), dtype=np.int64)
        for metric in range(values.shape[0]):
            np.add.at(grouped[metric], index, values[metric])
        return [objects[g].id for g in order], grouped


def _split(column: np.ndarray, part: int, parts: int) -> np.ndarray:
    """One occurrence's share of a repeated local hour: the first gets the odd unit."""
    if parts == 1:
        return column
    second = column // 2
    return column - second if part == 0 else second


def _stats_values(base: np.ndarray, fields: Sequence[str]) -> dict[str, Any]:
    """The requested stats fields of one bucket, as Snap sends them (numbers; money in micros)."""
    spend, impressions, swipes, purchases, value = (int(v) for v in base[:_N_BASE])
    uniques = math.floor(impressions / 1.3)
    derived: dict[str, Any] = {
        "impressions": impressions,
        "swipes": swipes,
        "spend": spend * 10_000,
        "conversion_purchases": purchases,
        "conversion_purchases_value": value * 10_000,
        "video_views": math.floor(impressions * 0.62),
        "quartile_1": math.floor(impressions * 0.45),
        "quartile_2": math.floor(impressions * 0.31),
        "quartile_3": math.floor(impressions * 0.21),
        "view_completion": math.floor(impressions * 0.12),
        "screen_time_millis": impressions * 1850,
        "conversion_add_cart": purchases * 3 + math.floor(swipes * 0.02),
        "conversion_page_views": math.floor(swipes * 0.8),
        "conversion_sign_ups": math.floor(swipes * 0.01),
        "uniques": uniques,
        "frequency": round(impressions / uniques, 4) if uniques else 0.0,
    }
    return {name: derived[name] for name in fields}


def _parse_time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace(" ", "+"))  # a '+' left unencoded arrives as a space
    except ValueError:
        raise _invalid(f"{name} must be an ISO 8601 timestamp, got {text!r}") from None
    if moment.tzinfo is None:
        raise _invalid(f"{name} must carry a UTC offset (the ad account's), got {text!r}")
    return moment


router_factory = make_router_factory(SnapchatApi)


__all__ = [
    "API_VERSION",
    "FAULT_KINDS",
    "STATS_FIELDS",
    "TOKEN_PATH",
    "SnapError",
    "SnapchatApi",
    "SnapchatApiSettings",
    "router_factory",
]
