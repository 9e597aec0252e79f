"""A faithful fake of the TikTok API for Business (v1.3), served from the simulator.

What it speaks (see docs platform-apis.md), all under ``/open_api/v1.3/``:

- ``GET oauth2/advertiser/get/?app_id=&secret=``: the advertisers the token was authorised for
  (the sandbox accepts ``SANDBOX_CLIENT_ID`` / ``SANDBOX_CLIENT_SECRET`` from ``sandbox.oauth``);
  besides the world's advertisers it lists one deactivated advertiser (``STATUS_DISABLE``, no data)
  that connectors are expected to skip;
- ``GET advertiser/info/?advertiser_ids=[...]&fields=[...]``: currency, timezone, status;
- ``GET campaign/get/``, ``adgroup/get/``, ``ad/get/``: ``page`` / ``page_size`` paging with
  ``data.page_info``; deleted objects only when ``filtering.secondary_status`` asks for them
  (``*_STATUS_ALL``);
- ``GET report/integrated/get/`` (``report_type=BASIC``, ``service_type=AUCTION``, every
  ``data_level``, ``stat_time_day`` or ``stat_time_hour``), paged the same way;
- ``POST campaign/status/update/`` (``operation_status`` ENABLE / DISABLE / DELETE) and
  ``POST campaign/update/`` (``budget`` of a daily-budget campaign): write-back into the world.

Behaviour kept from the real API because connectors and staging depend on it:

- every answer is HTTP 200 with ``{code, message, request_id, data}``; ``code != 0`` is the error
  (40001 no permission, 40002 invalid parameter, 40100 rate limited, 40104 no token, 40105 invalid
  or expired token, 50002 server error). The token travels in the ``Access-Token`` header (no
  "Bearer"); ``Authorization`` is ignored;
- list-valued query parameters are JSON-encoded strings (``dimensions=["ad_id","stat_time_day"]``);
- report metrics are strings: money with two decimals in the advertiser's currency, counts as
  integers, ``ctr`` / ``conversion_rate`` as percentages without a sign (``"1.52"`` = 1.52 %); ``"-"``
  where a value is empty: ratios with a zero denominator, and the web "Complete Payment" event
  metrics (``complete_payment``, ``total_complete_payment_rate`` = their total *value*, despite the
  name) on rows without any payment. ``conversion`` counts the ad group's optimisation event
  (payments for ``CONVERT``, clicks for ``CLICK``), so it is not a purchase count;
- ids are strings; ``stat_time_day`` is ``"YYYY-MM-DD 00:00:00"`` and ``stat_time_hour``
  ``"YYYY-MM-DD HH:00:00"`` in the advertiser's timezone (a DST day has no row for the skipped hour
  and one row holding both repeated hours); the advertiser's current day is served, partial;
- entity times (``create_time``, ``schedule_start_time``...) are UTC ``"YYYY-MM-DD HH:MM:SS"``;
  ``advertiser/info`` gives ``create_time`` as epoch seconds, ``timezone`` as a fixed-offset
  ``Etc/GMT±N`` and ``display_timezone`` as the IANA name (only the latter is DST-correct);
- budgets are JSON numbers in major units; a lifetime-budget campaign has ``BUDGET_MODE_TOTAL``,
  its ad groups ``BUDGET_MODE_INFINITE``;
- validation: ``page_size`` 1-1000, ``stat_time_day`` ranges of at most 30 days, ``stat_time_hour``
  one day at a time, no ``reach`` / ``frequency`` per hour, metrics that exist only below a level
  (``ad_name`` at ``AUCTION_CAMPAIGN``...) and unknown metrics or fields are 40002.

Faults (kinds in ``FAULT_KINDS``, injected through :class:`pipeline.sandbox.server.FaultInjector`):
``throttle`` (40100 in an HTTP 200), ``server_error`` (50002 in an HTTP 200, or with
``status=502|503|504`` a gateway's HTML page), ``timeout`` (``seconds``), ``malformed_json``,
``truncated_json``, ``bad_token`` / ``token_expired`` (40105; TikTok tokens are long-lived, there
is no refresh flow) and ``insert_row``: taken by a paged request for page 1, which is then served
from the listing minus one row (``position``, default 0): to the client it looks as if that row was
inserted between page 1 and page 2 — page 2 repeats page 1's last row and the new row is never on a
page it reads, unless it reads again.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pipeline.sandbox.engine import (
    COMMON_REQUEST_FAULTS,
    AccountView,
    Rollup,
    RouterState,
    answer_stamp,
    day_block,
    days,
    gateway_page,
    make_router_factory,
    numbered_page,
    rollup,
    take_request_fault,
)
from pipeline.sandbox.engine import params as engine_params
from pipeline.sandbox.engine.params import ParamError
from pipeline.sandbox.engine.rollups import CLICKS, CONVERSIONS, IMPRESSIONS, SPEND, VALUE
from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from pipeline.sandbox.responses import json_response
from pipeline.sandbox.simulator import Account, Ad, AdGroup, Campaign, World, entity_id, stable_int

PLATFORM = "tiktok"
API_VERSION = "v1.3"

REQUEST_FAULTS = COMMON_REQUEST_FAULTS | {"bad_token", "token_expired"}
PAGING_FAULTS = frozenset({"insert_row"})
# Where performance records are asked for (router contract): "mid-sync" faults of the fault matrix aim here.
REPORT_PATH = "report/integrated/get"
FAULT_KINDS = REQUEST_FAULTS | PAGING_FAULTS

# -- return codes -----------------------------------------------------------------------------------
OK = 0
NO_PERMISSION = 40001
INVALID_PARAMETER = 40002
RATE_LIMITED = 40100
TOKEN_MISSING = 40104
TOKEN_INVALID = 40105
SERVER_ERROR = 50002

LEVELS = ("AUCTION_ADVERTISER", "AUCTION_CAMPAIGN", "AUCTION_ADGROUP", "AUCTION_AD")
ID_DIMENSIONS = ("advertiser_id", "campaign_id", "adgroup_id", "ad_id")  # one per level, in order
TIME_DIMENSIONS = ("stat_time_day", "stat_time_hour")
# Attribute metrics: the first level (index into LEVELS) that has them; every level below has them too.
ATTRIBUTE_METRICS: dict[str, int] = {
    "advertiser_name": 0,
    "currency": 0,
    "campaign_id": 1,
    "campaign_name": 1,
    "objective_type": 1,
    "adgroup_id": 2,
    "adgroup_name": 2,
    "optimization_goal": 2,
    "ad_name": 3,
}
PERFORMANCE_METRICS = frozenset(
    {"spend", "impressions", "clicks", "ctr", "cpc", "cpm", "reach", "frequency", "conversion",
     "cost_per_conversion", "conversion_rate", "complete_payment", "cost_per_complete_payment",
     "total_complete_payment_rate", "value_per_complete_payment", "complete_payment_roas"}
)  # fmt: skip
NOT_HOURLY = frozenset({"reach", "frequency"})  # unique people are not additive over hours
DEFAULT_METRICS = ("spend", "impressions")

ADVERTISER_FIELDS = (
    "advertiser_id", "name", "company", "status", "role", "currency", "timezone", "display_timezone",
    "country", "language", "balance", "create_time",
)  # fmt: skip
CAMPAIGN_FIELDS = (
    "advertiser_id", "campaign_id", "campaign_name", "campaign_type", "objective_type", "budget",
    "budget_mode", "budget_optimize_on", "operation_status", "secondary_status", "create_time",
    "modify_time",
)  # fmt: skip
ADGROUP_FIELDS = (
    "advertiser_id", "campaign_id", "adgroup_id", "adgroup_name", "operation_status",
    "secondary_status", "placement_type", "optimization_goal", "billing_event", "bid_type", "budget",
    "budget_mode", "schedule_type", "schedule_start_time", "schedule_end_time", "create_time",
    "modify_time",
)  # fmt: skip
AD_FIELDS = (
    "advertiser_id", "campaign_id", "adgroup_id", "ad_id", "ad_name", "ad_format", "call_to_action",
    "operation_status", "secondary_status", "create_time", "modify_time",
)  # fmt: skip

# Simulator status -> (operation_status, campaign secondary_status)
_CAMPAIGN_STATUS = {
    "ACTIVE": ("ENABLE", "CAMPAIGN_STATUS_ENABLE"),
    "PAUSED": ("DISABLE", "CAMPAIGN_STATUS_DISABLE"),
    "ARCHIVED": ("DISABLE", "CAMPAIGN_STATUS_DISABLE"),  # TikTok has no archive: a paused campaign
    "DELETED": ("DISABLE", "CAMPAIGN_STATUS_DELETE"),
}
_OPERATIONS = {"ENABLE": "ACTIVE", "DISABLE": "PAUSED", "DELETE": "DELETED"}
MIN_DAILY_BUDGET = 50.0  # TikTok's minimum campaign daily budget (USD-like currencies)
MAX_ADVERTISER_IDS = 100
MAX_STATUS_UPDATE_IDS = 20
MAX_FILTER_IDS = 100

# metric columns of a report row, all integers (money in cents)
_SPEND, _IMPRESSIONS, _CLICKS, _PAYMENTS, _VALUE = SPEND, IMPRESSIONS, CLICKS, CONVERSIONS, VALUE
_REACH, _OPTIMISED = 5, 6  # derived per ad row (engine ``derive``) before summing
_N_METRICS = 7
_PARAM_MESSAGES = {
    "missing": "{name}: Missing data for required field.",
    "not_integer": "{name}: Not a valid integer.",
    "not_date": "{name}: must be a date in the format YYYY-MM-DD.",
    "not_json": "{name}: must be JSON-encoded.",
    "not_list": "{name}: must be a JSON array of strings.",
    "not_object": "{name}: must be a JSON object.",
    "body_not_json": "The request body must be JSON.",
    "body_not_object": "The request body must be a JSON object.",
}
_JSON = "application/json; charset=utf-8"


@dataclass
class TikTokApiSettings:
    """Knobs of the fake (defaults are the real API's limits)."""

    default_page_size: int = 10
    max_page_size: int = 1000
    max_daily_range_days: int = 30
    max_total_range_days: int = 365  # without a time dimension (one row per object for the range)
    include_disabled_advertiser: bool = True


class TikTokError(Exception):
    """An error the fake answers in TikTok's envelope (always HTTP 200)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> TikTokError:
    return TikTokError(INVALID_PARAMETER, message)


def _param_error(error: ParamError) -> TikTokError:
    return _invalid(_PARAM_MESSAGES[error.problem].format(name=error.name))


@dataclass(frozen=True)
class ReportQuery:
    advertiser_id: str
    level: int  # index into LEVELS
    time_dimension: str | None
    metrics: tuple[str, ...]
    start: date
    end: date

    @property
    def id_dimension(self) -> str:
        return ID_DIMENSIONS[self.level]

    @property
    def hourly(self) -> bool:
        return self.time_dimension == "stat_time_hour"


class TikTokApi(RouterState):
    """The TikTok router's state: world, faults, tokens and a small cache of report answers."""

    platform = PLATFORM
    settings_class: ClassVar[type] = TikTokApiSettings
    settings: TikTokApiSettings

    def __init__(self, world: World, *args: Any, **kwargs: Any) -> None:
        super().__init__(world, *args, **kwargs)
        self._frequency: dict[str, np.ndarray] = {}  # impressions per person reached, per ad
        self.disabled_advertiser = Account(
            PLATFORM,
            entity_id(world.scenario.seed, PLATFORM, "account", 999),
            "Retired Storefront - USD",
            "USD",
            "Asia/Singapore",
        )
        if self.settings.include_disabled_advertiser:
            self.views.put(AccountView.empty(self.disabled_advertiser))

    # -- the ASGI app ---------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [Route("/open_api/{version}/{rest:path}", self.handle, methods=["GET", "POST"])]

    async def handle(self, request: Request) -> Response:
        version = request.path_params["version"]
        endpoint = request.path_params["rest"].strip("/")
        path = f"/open_api/{version}/{endpoint}/"
        fault = await take_request_fault(self.faults, PLATFORM, path, REQUEST_FAULTS)
        if fault.answer is not None:
            return self._fault_response(fault.answer.kind, fault.answer.params)
        route = _ROUTES.get((request.method, endpoint))
        if version != API_VERSION or route is None:
            # What the gateway answers for a path no API serves: not TikTok's envelope.
            return Response(b"404 page not found", 404, media_type="text/plain")
        try:
            self._authenticate(request)
            params = await _request_params(request)
            data = route(self, request, path, params)
            response = _envelope(OK, "OK", data)
        except TikTokError as error:
            response = _envelope(error.code, error.message, {})
        return fault.finish(response)

    def _authenticate(self, request: Request) -> None:
        token = request.headers.get("access-token", "").strip()
        if not token:
            raise TikTokError(TOKEN_MISSING, "Access token is null, please check the request header.")
        if token not in self.valid_tokens():
            raise TikTokError(TOKEN_INVALID, "Access token is incorrect or has been revoked.")

    def _fault_response(self, kind: str, params: Mapping[str, Any]) -> Response:
        if kind == "throttle":
            return _envelope(RATE_LIMITED, "Too many requests. Please retry in some time.", {})
        if kind == "server_error":
            status = int(params.get("status", 200))
            if status >= 500:  # the gateway in front of the API: HTML, not TikTok's envelope
                return gateway_page(
                    status, f"<html><body><h1>{status} Service Unavailable</h1></body></html>".encode()
                )
            return _envelope(SERVER_ERROR, "Internal service error. Please try again later.", {})
        if kind == "bad_token":
            return _envelope(TOKEN_INVALID, "Access token is incorrect or has been revoked.", {})
        if kind == "token_expired":
            return _envelope(
                TOKEN_INVALID, "Access token has expired. Please re-authorize the application.", {}
            )
        raise AssertionError(kind)  # pragma: no cover - REQUEST_FAULTS is exhaustive

    # -- advertisers ----------------------------------------------------------------------------------

    def _all_views(self) -> list[AccountView]:
        views = [self._view(a.id) for a in self.world.accounts(PLATFORM)]
        if self.settings.include_disabled_advertiser:
            views.append(self._view(self.disabled_advertiser.id))
        return views

    def _view(self, advertiser_id: str) -> AccountView:
        try:
            return self.views.get(advertiser_id)
        except KeyError:
            raise TikTokError(
                NO_PERMISSION, f"No permission to operate advertiser {advertiser_id}."
            ) from None

    def _status(self, view: AccountView) -> str:
        return "STATUS_DISABLE" if view.id == self.disabled_advertiser.id else "STATUS_ENABLE"

    def _list_advertisers(self, request: Request, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if params.get("app_id") != SANDBOX_CLIENT_ID or params.get("secret") != SANDBOX_CLIENT_SECRET:
            raise TikTokError(NO_PERMISSION, "The app_id or secret is invalid.")
        return {
            "list": [{"advertiser_id": v.id, "advertiser_name": v.account.name} for v in self._all_views()]
        }

    def _advertiser_info(self, request: Request, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        ids = _json_list(params, "advertiser_ids", required=True)
        if not 1 <= len(ids) <= MAX_ADVERTISER_IDS:
            raise _invalid(f"advertiser_ids: between 1 and {MAX_ADVERTISER_IDS} ids are allowed.")
        fields = _fields(params, ADVERTISER_FIELDS)
        return {"list": [_select(self._advertiser_record(self._view(i)), fields) for i in ids]}

    def _advertiser_record(self, view: AccountView) -> dict[str, Any]:
        account = view.account
        created = datetime(2021, 3, 4, 9, 30, tzinfo=UTC) + timedelta(
            days=stable_int("tt-adv", account.id) % 700
        )
        return {
            "advertiser_id": account.id,
            "name": account.name,
            "company": account.name.split(" - ")[0],
            "status": self._status(view),
            "role": "ROLE_ADVERTISER",
            "currency": account.currency,
            "timezone": _fixed_offset_zone(account.timezone),
            "display_timezone": account.timezone,
            "country": {"USD": "US", "EUR": "DE", "GBP": "GB"}.get(account.currency, "SG"),
            "language": "en",
            "balance": round(1000 + stable_int("tt-balance", account.id) % 90_000 / 10, 2),
            "create_time": int(created.timestamp()),
        }

    # -- entities -------------------------------------------------------------------------------------

    def _list_objects(
        self, request: Request, path: str, params: Mapping[str, Any], kind: str
    ) -> dict[str, Any]:
        view = self._view(_required(params, "advertiser_id"))
        objects, record, fields = {
            "CAMPAIGN": (view.campaigns, self._campaign_record, CAMPAIGN_FIELDS),
            "ADGROUP": (view.ad_groups, self._adgroup_record, ADGROUP_FIELDS),
            "AD": (view.ads, self._ad_record, AD_FIELDS),
        }[kind]
        return self._list_entities(path, params, [record(view, o) for o in objects], kind, fields)  # type: ignore[operator]

    def _list_entities(
        self,
        path: str,
        params: Mapping[str, Any],
        records: list[dict[str, Any]],
        kind: str,
        allowed_fields: Sequence[str],
    ) -> dict[str, Any]:
        fields = _fields(params, allowed_fields)
        filtering = _json_object(params, "filtering")
        wanted_status = str(filtering.pop("secondary_status", f"{kind}_STATUS_NOT_DELETE"))
        if wanted_status == f"{kind}_STATUS_NOT_DELETE":
            records = [r for r in records if not r["secondary_status"].endswith("DELETE")]
        elif wanted_status != f"{kind}_STATUS_ALL":
            records = [r for r in records if r["secondary_status"] == wanted_status]
        for name in ("campaign_ids", "adgroup_ids", "ad_ids"):
            if name not in filtering:
                continue
            ids = filtering.pop(name)
            if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_FILTER_IDS:
                raise _invalid(f"filtering.{name}: a list of 1-{MAX_FILTER_IDS} ids is required.")
            records = [r for r in records if r[name.removesuffix("s")] in {str(i) for i in ids}]
        if filtering:
            raise _invalid(f"filtering.{sorted(filtering)[0]}: not supported by the sandbox.")
        page = self._page(path, params, records)
        page["list"] = [_select(r, fields) for r in page["list"]]
        return page

    def _campaign_record(self, view: AccountView, campaign: Campaign) -> dict[str, Any]:
        operation, secondary = _CAMPAIGN_STATUS[self.world.campaign_status(campaign)]
        created = _local_moment(view.account, campaign.created_date or campaign.start_date, 10)
        updated = self.world.campaign_updated_at(campaign)
        lifetime = campaign.lifetime_budget is not None
        return {
            "advertiser_id": view.id,
            "campaign_id": campaign.id,
            "campaign_name": campaign.name,
            "campaign_type": "REGULAR_CAMPAIGN",
            "objective_type": campaign.objective,
            "budget": float(campaign.lifetime_budget)
            if lifetime
            else float(self.world.campaign_daily_budget(campaign)),
            "budget_mode": "BUDGET_MODE_TOTAL" if lifetime else "BUDGET_MODE_DAY",
            "budget_optimize_on": True,
            "operation_status": operation,
            "secondary_status": secondary,
            "create_time": _utc_text(created),
            "modify_time": _utc_text(updated) if updated else _utc_text(created),
        }

    def _adgroup_record(self, view: AccountView, group: AdGroup) -> dict[str, Any]:
        campaign = view.campaigns[int(view.group_campaign[view.ad_groups.index(group)])]
        campaign_status = self.world.campaign_status(campaign)
        created = _local_moment(view.account, campaign.created_date or campaign.start_date, 11)
        traffic = "TRAFFIC" in campaign.objective
        record: dict[str, Any] = {
            "advertiser_id": view.id,
            "campaign_id": campaign.id,
            "adgroup_id": group.id,
            "adgroup_name": group.name,
            "operation_status": "ENABLE" if group.status == "ACTIVE" else "DISABLE",
            "secondary_status": _child_status("ADGROUP", group.status, campaign_status),
            "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
            "optimization_goal": "CLICK" if traffic else "CONVERT",
            "billing_event": "CPC" if traffic else "OCPM",
            "bid_type": "BID_TYPE_NO_BID",
            "budget": 0.0,  # the campaign holds the budget (budget optimisation on)
            "budget_mode": "BUDGET_MODE_INFINITE",
            "schedule_type": "SCHEDULE_START_END" if campaign.end_date else "SCHEDULE_FROM_NOW",
            "schedule_start_time": _utc_text(_local_moment(view.account, campaign.start_date, 0)),
            "create_time": _utc_text(created),
            "modify_time": _utc_text(created),
        }
        if campaign.end_date:
            # Delivery ends at the end of the local end date.
            end = _local_moment(view.account, campaign.end_date + timedelta(days=1), 0) - timedelta(seconds=1)
            record["schedule_end_time"] = _utc_text(end)
        return record

    def _ad_record(self, view: AccountView, ad: Ad) -> dict[str, Any]:
        campaign = self.world.campaign(PLATFORM, ad.campaign_id)
        created = _local_moment(view.account, campaign.created_date or campaign.start_date, 12)
        return {
            "advertiser_id": view.id,
            "campaign_id": ad.campaign_id,
            "adgroup_id": ad.ad_group_id,
            "ad_id": ad.id,
            "ad_name": ad.name,
            "ad_format": "SINGLE_VIDEO",
            "call_to_action": "SHOP_NOW",
            "operation_status": "ENABLE" if ad.status == "ACTIVE" else "DISABLE",
            "secondary_status": _child_status("AD", ad.status, self.world.campaign_status(campaign)),
            "create_time": _utc_text(created),
            "modify_time": _utc_text(created),
        }

    # -- paging ---------------------------------------------------------------------------------------

    def _page(self, path: str, params: Mapping[str, Any], rows: Sequence[Any]) -> dict[str, Any]:
        """``{list, page_info}`` of one page of ``rows`` (records, or row indices for reports)."""
        page = engine_params.integer(params, "page", 1, _param_error)
        size = engine_params.integer(params, "page_size", self.settings.default_page_size, _param_error)
        if page < 1:
            raise _invalid("page: must be greater than or equal to 1.")
        if not 1 <= size <= self.settings.max_page_size:
            raise _invalid(f"page_size: must be between 1 and {self.settings.max_page_size}.")
        fault = self.faults.take(PLATFORM, path, PAGING_FAULTS) if page == 1 else None
        if fault is not None and rows:
            # The listing as it was a moment ago: one row short (see the module docstring).
            rows = list(rows)
            del rows[min(int(fault.params.get("position", 0)), len(rows) - 1)]
        window, pages = numbered_page(page, size, len(rows))
        return {
            "list": list(rows[window.start : window.stop]),
            "page_info": {"page": page, "page_size": size, "total_number": len(rows), "total_page": pages},
        }

    # -- reports --------------------------------------------------------------------------------------

    def _report(self, request: Request, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        query = self._parse_report(params)
        view = self._view(query.advertiser_id)
        rows = self._rows(view, query)
        page = self._page(path, params, range(len(rows)))
        page["list"] = [self._report_record(view, query, rows, i) for i in page["list"]]
        return page

    def _parse_report(self, params: Mapping[str, Any]) -> ReportQuery:
        advertiser_id = _required(params, "advertiser_id")
        if str(params.get("service_type") or "AUCTION") != "AUCTION":
            raise _invalid("service_type: the sandbox serves AUCTION reports only.")
        report_type = _required(params, "report_type")
        if report_type != "BASIC":
            raise _invalid(f"report_type: {report_type} is not supported by the sandbox (BASIC only).")
        level_name = _required(params, "data_level")
        if level_name not in LEVELS:
            raise _invalid(f"data_level: must be one of {', '.join(LEVELS)}.")
        level = LEVELS.index(level_name)
        dimensions = _json_list(params, "dimensions", required=True)
        id_dims = [d for d in dimensions if d in ID_DIMENSIONS]
        time_dims = [d for d in dimensions if d in TIME_DIMENSIONS]
        unknown = [d for d in dimensions if d not in ID_DIMENSIONS and d not in TIME_DIMENSIONS]
        if unknown:
            raise _invalid(f"dimensions: {unknown[0]} is not a valid dimension for BASIC reports.")
        if id_dims != [ID_DIMENSIONS[level]] or len(time_dims) > 1 or len(dimensions) != len(set(dimensions)):
            raise _invalid(
                f"dimensions: {level_name} needs exactly one id dimension, {ID_DIMENSIONS[level]}, and "
                "at most one time dimension (stat_time_day or stat_time_hour)."
            )
        time_dimension = time_dims[0] if time_dims else None
        metrics = _json_list(params, "metrics", required=False) or list(DEFAULT_METRICS)
        for metric in metrics:
            if metric in ATTRIBUTE_METRICS:
                if ATTRIBUTE_METRICS[metric] > level:
                    raise _invalid(f"metrics: {metric} is not supported at data_level {level_name}.")
            elif metric not in PERFORMANCE_METRICS:
                raise _invalid(f"metrics: {metric} is not a valid metric.")
            if time_dimension == "stat_time_hour" and metric in NOT_HOURLY:
                raise _invalid(f"metrics: {metric} is not supported with stat_time_hour.")
        start, end = _date_param(params, "start_date"), _date_param(params, "end_date")
        if end < start:
            raise _invalid("end_date: must not be earlier than start_date.")
        span = (end - start).days + 1
        if time_dimension == "stat_time_hour" and span > 1:
            raise _invalid(
                "When stat_time_hour is a dimension, start_date and end_date must be the same day."
            )
        if time_dimension == "stat_time_day" and span > self.settings.max_daily_range_days:
            raise _invalid(
                f"When stat_time_day is a dimension, the time range cannot exceed "
                f"{self.settings.max_daily_range_days} days."
            )
        if span > self.settings.max_total_range_days:
            raise _invalid(f"The time range cannot exceed {self.settings.max_total_range_days} days.")
        return ReportQuery(advertiser_id, level, time_dimension, tuple(dict.fromkeys(metrics)), start, end)

    def _rows(self, view: AccountView, query: ReportQuery) -> Rollup:
        # Pinned clock: exact; real clock: per minute. Paging a query within it sees one answer.
        return self.cache.get((query, *answer_stamp(self.world)), lambda: self._compute(view, query))

    def _compute(self, view: AccountView, query: ReportQuery) -> Rollup:
        as_of = self.world.clock()
        blocks = [
            day_block(
                self.world, PLATFORM, view.account, d, as_of, hourly=query.hourly, today_from_hours=True
            )
            for d in (days(query.start, query.end) if view.ads else ())
        ]
        # One bucket per day with a time dimension (rows by hour, then object), else one for the range.
        buckets = [[b] for b in blocks] if query.time_dimension else [blocks]
        return rollup(
            view,
            query.level,
            buckets,
            hourly=query.hourly,
            derive=self._derive,
            n_metrics=_N_METRICS,
            hour_major=True,
        )

    def _derive(self, view: AccountView, positions: np.ndarray, base: np.ndarray) -> list[np.ndarray]:
        """Reach (impressions over a per-ad frequency) and the ad group's optimisation event:
        payments for CONVERT ad groups, clicks for CLICK (traffic) ones."""
        frequency = self._frequency.get(view.id)
        if frequency is None:
            frequency = self._frequency[view.id] = view.ad_constants("tiktok-ad", 1.1, 0.6)
        reach = np.floor(base[_IMPRESSIONS] / frequency[positions][:, None]).astype(np.int64)
        traffic = np.array(["TRAFFIC" in view.campaigns[c].objective for c in view.ad_campaign[positions]])
        return [reach, np.where(traffic[:, None], base[_CLICKS], base[_PAYMENTS])]

    def _report_record(
        self, view: AccountView, query: ReportQuery, rows: Rollup, index: int
    ) -> dict[str, Any]:
        group = int(rows.group[index])
        dimensions = {query.id_dimension: self._object_id(view, query.level, group)}
        if query.time_dimension is not None:
            day = query.start + timedelta(days=int(rows.bucket[index]))
            dimensions[query.time_dimension] = f"{day.isoformat()} {max(0, int(rows.hour[index])):02d}:00:00"
        values = [int(v) for v in rows.metrics[index]]
        attributes = self._attributes(view, query.level, group)
        metrics = {
            m: attributes[m] if m in ATTRIBUTE_METRICS else _metric_text(m, values, query.level)
            for m in query.metrics
        }
        return {"metrics": metrics, "dimensions": dimensions}

    @staticmethod
    def _object_id(view: AccountView, level: int, group: int) -> str:
        if level == 0:
            return view.id
        return (view.campaigns, view.ad_groups, view.ads)[level - 1][group].id

    def _attributes(self, view: AccountView, level: int, group: int) -> dict[str, str]:
        campaign, ad_group, ad = view.parents(level, group)
        traffic = campaign is not None and "TRAFFIC" in campaign.objective
        return {
            "advertiser_name": view.account.name,
            "currency": view.account.currency,
            "campaign_id": campaign.id if campaign else "-",
            "campaign_name": campaign.name if campaign else "-",
            "objective_type": campaign.objective if campaign else "-",
            "adgroup_id": ad_group.id if ad_group else "-",
            "adgroup_name": ad_group.name if ad_group else "-",
            "optimization_goal": ("CLICK" if traffic else "CONVERT") if ad_group else "-",
            "ad_name": ad.name if ad else "-",
        }

    # -- write-back -----------------------------------------------------------------------------------

    def _update_status(self, request: Request, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        view = self._view(_required(params, "advertiser_id"))
        ids = params.get("campaign_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_STATUS_UPDATE_IDS:
            raise _invalid(f"campaign_ids: a list of 1-{MAX_STATUS_UPDATE_IDS} campaign ids is required.")
        operation = str(params.get("operation_status") or "")
        if operation not in _OPERATIONS:
            raise _invalid("operation_status: must be one of ENABLE, DISABLE, DELETE.")
        campaigns = [self._own_campaign(view, str(i)) for i in ids]
        for campaign in campaigns:
            if self.world.campaign_status(campaign) == "DELETED":
                raise _invalid(f"campaign {campaign.id} is deleted; its status cannot be modified.")
        for campaign in campaigns:
            self.world.set_campaign_status(PLATFORM, campaign.id, _OPERATIONS[operation])
        return {"campaign_ids": [c.id for c in campaigns], "status": operation}

    def _update_campaign(self, request: Request, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        view = self._view(_required(params, "advertiser_id"))
        campaign = self._own_campaign(view, _required(params, "campaign_id"))
        unsupported = sorted(set(params) - {"advertiser_id", "campaign_id", "budget", "budget_mode"})
        if unsupported:
            raise _invalid(f"{unsupported[0]}: not supported on campaign updates in the sandbox.")
        if "budget" not in params:
            raise _invalid("Nothing to update: pass budget.")
        budget = params["budget"]
        if isinstance(budget, bool) or not isinstance(budget, int | float) or not math.isfinite(budget):
            raise _invalid("budget: must be a number.")
        if (
            campaign.lifetime_budget is not None
            or params.get("budget_mode", "BUDGET_MODE_DAY") != "BUDGET_MODE_DAY"
        ):
            raise _invalid("budget: the sandbox can only change the budget of BUDGET_MODE_DAY campaigns.")
        if budget < MIN_DAILY_BUDGET:
            raise _invalid(f"budget: the daily budget cannot be lower than {MIN_DAILY_BUDGET:g}.")
        if self.world.campaign_status(campaign) == "DELETED":
            raise _invalid(f"campaign {campaign.id} is deleted and cannot be modified.")
        self.world.set_campaign_daily_budget(PLATFORM, campaign.id, float(budget))
        record = self._campaign_record(view, campaign)
        return {
            k: record[k] for k in ("campaign_id", "campaign_name", "budget", "budget_mode", "modify_time")
        }

    def _own_campaign(self, view: AccountView, campaign_id: str) -> Campaign:
        for campaign in view.campaigns:
            if campaign.id == campaign_id:
                return campaign
        raise _invalid(f"campaign_id: {campaign_id} does not exist under advertiser {view.id}.")


_ROUTES = {
    ("GET", "oauth2/advertiser/get"): TikTokApi._list_advertisers,
    ("GET", "advertiser/info"): TikTokApi._advertiser_info,
    ("GET", "campaign/get"): partial(TikTokApi._list_objects, kind="CAMPAIGN"),
    ("GET", "adgroup/get"): partial(TikTokApi._list_objects, kind="ADGROUP"),
    ("GET", "ad/get"): partial(TikTokApi._list_objects, kind="AD"),
    ("GET", "report/integrated/get"): TikTokApi._report,
    ("POST", "campaign/status/update"): TikTokApi._update_status,
    ("POST", "campaign/update"): TikTokApi._update_campaign,
}


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


async def _request_params(request: Request) -> dict[str, Any]:
    """GET: the query string (values are strings; lists are JSON text). POST: the JSON body."""
    if request.method == "GET":
        return dict(request.query_params)
    return await engine_params.json_body(request, _param_error, empty={})


def _required(params: Mapping[str, Any], name: str) -> str:
    return engine_params.required(params, name, _param_error)


def _date_param(params: Mapping[str, Any], name: str) -> date:
    return engine_params.iso_date(params, name, _param_error)


def _json_list(params: Mapping[str, Any], name: str, *, required: bool) -> list[str]:
    value = engine_params.json_list(params, name, _param_error)
    if value is None and required:
        raise _param_error(ParamError(name, "missing"))
    return value or []


def _json_object(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    return engine_params.json_object(params, name, _param_error)


def _fields(params: Mapping[str, Any], allowed: Sequence[str]) -> list[str]:
    fields = _json_list(params, "fields", required=False)
    for name in fields:
        if name not in allowed:
            raise _invalid(f"fields: {name} is not a valid field.")
    return fields or list(allowed)


def _select(record: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: record[name] for name in fields if name in record}


def _child_status(kind: str, own: str, campaign_status: str) -> str:
    if campaign_status == "DELETED":
        return f"{kind}_STATUS_CAMPAIGN_DELETE"
    if campaign_status != "ACTIVE":
        return f"{kind}_STATUS_CAMPAIGN_DISABLE"
    return f"{kind}_STATUS_DELIVERY_OK" if own == "ACTIVE" else f"{kind}_STATUS_DISABLE"


def _local_moment(account: Account, day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(account.timezone))


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _fixed_offset_zone(name: str) -> str:
    """``Etc/GMT+5`` for New York: the standard (winter) offset, POSIX sign (west is plus)."""
    offset = datetime(2025, 1, 15, 12, tzinfo=ZoneInfo(name)).utcoffset() or timedelta()
    hours = -int(offset.total_seconds() // 3600)
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{hours:+d}"


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> str:
    return "-" if not denominator else f"{numerator * scale / denominator:.2f}"


def _metric_text(name: str, m: Sequence[int], level: int) -> str:
    """One performance metric of a row as TikTok writes it (``m``: integer columns, money in cents)."""
    spend, impressions, clicks = m[_SPEND], m[_IMPRESSIONS], m[_CLICKS]
    payments, value, optimised = m[_PAYMENTS], m[_VALUE], m[_OPTIMISED]
    if name == "spend":
        return _money(spend)
    if name in ("impressions", "clicks"):
        return str(m[_IMPRESSIONS] if name == "impressions" else clicks)
    if name == "reach":
        return str(m[_REACH])
    if name == "frequency":
        return _ratio(impressions, m[_REACH])
    if name == "ctr":
        return _ratio(clicks, impressions, 100)
    if name == "cpc":
        return _ratio(spend, clicks, 0.01)
    if name == "cpm":
        return _ratio(spend, impressions, 10)
    if name in ("conversion", "cost_per_conversion", "conversion_rate"):
        if level < 2:  # optimisation events differ per ad group: not summed above it
            return "-"
        if name == "conversion":
            return str(optimised)
        return (
            _ratio(spend, optimised, 0.01)
            if name == "cost_per_conversion"
            else _ratio(optimised, clicks, 100)
        )
    # Web "Complete Payment" events: empty ("-") on rows without any.
    if name == "complete_payment":
        return str(payments) if payments else "-"
    if name == "total_complete_payment_rate":
        return _money(value) if payments else "-"
    if name == "cost_per_complete_payment":
        return _ratio(spend, payments, 0.01)
    if name == "value_per_complete_payment":
        return _ratio(value, payments, 0.01)
    if name == "complete_payment_roas":
        return _ratio(value, spend)
    raise AssertionError(name)  # pragma: no cover - validated against PERFORMANCE_METRICS


def _request_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


def _envelope(code: int, message: str, data: Any) -> Response:
    body = {"code": code, "message": message, "request_id": _request_id(), "data": data}
    return json_response(body, media_type=_JSON)


router_factory = make_router_factory(TikTokApi)


__all__ = [
    "ADGROUP_FIELDS",
    "ADVERTISER_FIELDS",
    "AD_FIELDS",
    "CAMPAIGN_FIELDS",
    "FAULT_KINDS",
    "PAGING_FAULTS",
    "REQUEST_FAULTS",
    "ReportQuery",
    "TikTokApi",
    "TikTokApiSettings",
    "TikTokError",
    "router_factory",
]
