"""A faithful fake of the Meta Marketing (Graph) API, served from the simulator.

What it speaks (see docs platform-apis.md): ``/v{N}/me/adaccounts``, ``/v{N}/act_{id}`` and its
``campaigns`` / ``adsets`` / ``ads`` edges, ``/v{N}/act_{id}/insights`` synchronously (GET) and as
async report runs (POST → ``report_run_id``; GET ``/v{N}/{run_id}`` to poll; GET
``/v{N}/{run_id}/insights`` for the rows), ``/v{N}/{object_id}`` reads, and POST
``/v{N}/{campaign_id}`` write-back (status, daily_budget).

Behaviour kept from the real API because connectors and staging depend on it:

- numbers are JSON strings; money in the account currency (insights in major units, budgets in
  minor units); dates in the account's timezone;
- ``actions`` / ``action_values`` repeat a purchase under three action types
  (``offsite_conversion.fb_pixel_purchase``, ``purchase``, ``omni_purchase``), likewise add-to-cart;
  an action with no count is left out, an empty list is left out;
- ad-days with no delivery are not returned; ``date_start`` / ``date_stop`` always are;
- cursor paging with ``paging.cursors.{before,after}`` and an absolute ``paging.next`` URL that
  carries ``access_token`` (even when the request sent it in a header);
- entity edges leave ARCHIVED / DELETED objects out unless ``effective_status`` (or
  ``filtering`` on it) asks for them;
- unknown fields → error code 100; ``limit`` over 5000 → error code 100; bad or missing token →
  code 190 / 104; every response carries ``x-app-usage``, ``x-ad-account-usage``,
  ``x-business-use-case-usage`` and ``x-fb-ads-insights-throttle``, climbing with the request rate.

Faults injected through :class:`pipeline.sandbox.server.FaultInjector` (kinds in ``FAULT_KINDS``):
request faults hit the next request whose path contains the fault's ``path``; async faults are taken
when a report run is created (POST insights) and shape that run's polling.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import math
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlencode

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pipeline.sandbox.engine import (
    COMMON_REQUEST_FAULTS,
    AccountView,
    Job,
    JobBook,
    Rollup,
    RouterState,
    answer_stamp,
    day_block,
    days,
    gateway_page,
    make_router_factory,
    offset_window,
    rollup,
    take_request_fault,
)
from pipeline.sandbox.engine import params as engine_params
from pipeline.sandbox.engine.limits import SlidingWindow
from pipeline.sandbox.engine.params import ParamError
from pipeline.sandbox.engine.rollups import CLICKS, CONVERSIONS, IMPRESSIONS, SPEND, VALUE
from pipeline.sandbox.responses import json_response
from pipeline.sandbox.simulator import Account, Campaign, stable_int

PLATFORM = "meta"

REQUEST_FAULTS = COMMON_REQUEST_FAULTS | {"reduce_data", "bad_token"}
ASYNC_FAULTS = frozenset({"async_failed", "async_skipped", "async_stuck", "async_100_running"})
# Where performance records are asked for (router contract): "mid-sync" faults of the fault matrix aim here.
REPORT_PATH = "/insights"
FAULT_KINDS = REQUEST_FAULTS | ASYNC_FAULTS

PURCHASE_ACTION_TYPES = ("offsite_conversion.fb_pixel_purchase", "purchase", "omni_purchase")
ADD_TO_CART_ACTION_TYPES = ("offsite_conversion.fb_pixel_add_to_cart", "add_to_cart", "omni_add_to_cart")
ATTRIBUTION_SETTING = "7d_click_1d_view"
ATTRIBUTION_WINDOWS = frozenset(
    {"1d_click", "7d_click", "28d_click", "1d_view", "7d_view", "28d_view", "dda", "default"}
)
HOURLY_BREAKDOWN = "hourly_stats_aggregated_by_advertiser_time_zone"
LEVELS = ("account", "campaign", "adset", "ad")

ACCOUNT_FIELDS = frozenset(
    {"id", "account_id", "name", "currency", "timezone_name", "timezone_offset_hours_utc",
     "account_status", "disable_reason", "business", "created_time"}
)  # fmt: skip
CAMPAIGN_FIELDS = frozenset(
    {"id", "account_id", "name", "status", "configured_status", "effective_status", "objective",
     "buying_type", "bid_strategy", "daily_budget", "lifetime_budget", "special_ad_categories",
     "start_time", "stop_time", "created_time", "updated_time"}
)  # fmt: skip
ADSET_FIELDS = frozenset(
    {"id", "account_id", "campaign_id", "name", "status", "configured_status", "effective_status",
     "daily_budget", "lifetime_budget", "optimization_goal", "billing_event", "bid_strategy",
     "destination_type", "start_time", "end_time", "created_time", "updated_time"}
)  # fmt: skip
AD_FIELDS = frozenset(
    {"id", "account_id", "campaign_id", "adset_id", "name", "status", "configured_status",
     "effective_status", "creative", "created_time", "updated_time"}
)  # fmt: skip
INSIGHTS_FIELDS = frozenset(
    {"account_id", "account_name", "account_currency", "campaign_id", "campaign_name", "adset_id",
     "adset_name", "ad_id", "ad_name", "objective", "optimization_goal", "buying_type",
     "attribution_setting", "date_start", "date_stop", "spend", "impressions", "clicks", "reach",
     "frequency", "cpm", "cpc", "ctr", "cpp", "inline_link_clicks", "inline_link_click_ctr",
     "cost_per_inline_link_click", "actions", "action_values", "cost_per_action_type",
     "purchase_roas", "website_purchase_roas"}
)  # fmt: skip
REPORT_RUN_FIELDS = frozenset(
    {"id", "account_id", "time_ref", "time_completed", "async_status", "async_percent_completion",
     "date_start", "date_stop", "emails", "friendly_name", "is_bookmarked", "is_running",
     "schedule_id"}
)  # fmt: skip
_LEVEL_FIELDS = {  # insights fields that only exist from a level down
    "campaign_id": 1, "campaign_name": 1, "objective": 1, "buying_type": 1,
    "adset_id": 2, "adset_name": 2, "optimization_goal": 2,
    "ad_id": 3, "ad_name": 3,
}  # fmt: skip
_EDGE_FIELDS = {"campaigns": CAMPAIGN_FIELDS, "adsets": ADSET_FIELDS, "ads": AD_FIELDS}
_NODE_TYPES = {"campaigns": "Campaign", "adsets": "AdSet", "ads": "Ad", "account": "AdAccount"}
_HIDDEN_BY_DEFAULT = frozenset({"ARCHIVED", "DELETED"})
_FILTER_OPERATORS = frozenset({"IN", "NOT_IN", "EQUAL", "NOT_EQUAL"})
_THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    341: "(#341) Application limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}
_VERSION = re.compile(r"^v\d+\.\d+$")
_PRESET = re.compile(r"^last_(\d+)d$")
_JSON = "application/json; charset=UTF-8"

# metric columns of an insights result (money in cents, everything integer): the engine's base
# metrics, then the ones Meta derives per ad-day (hour) before summing
_SPEND, _IMPRESSIONS, _CLICKS, _CONVERSIONS, _VALUE = SPEND, IMPRESSIONS, CLICKS, CONVERSIONS, VALUE
_REACH, _LINK, _LPV, _CART, _UNITS = range(5, 10)
_N_METRICS = 10
_PARAM_MESSAGES = {
    "not_json": "Param {name} must be a JSON-encoded value",
    "not_list": "{name} must be a list",
    "body_not_json": "The request body is not valid JSON",
}


@dataclass
class MetaApiSettings:
    """Knobs of the fake (defaults keep tests fast and never throttle on their own)."""

    polls_to_complete: int = 3  # status polls until an async run reports "Job Completed"
    default_limit: int = 25
    max_limit: int = 5000
    usage_window_seconds: float = 60.0
    app_calls_per_window: int = 3000  # 100 % x-app-usage at this many calls in the window
    account_calls_per_window: int = 1500  # 100 % per-account usage
    enforce_limits: bool = False  # True: answer 4 / 80004 once usage passes 100 %
    max_months_back: int = 37


class MetaError(Exception):
    """An error the fake answers in Meta's shape."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: int = 400,
        subcode: int | None = None,
        transient: bool | None = None,
        error_type: str = "OAuthException",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.subcode = subcode
        self.transient = transient
        self.error_type = error_type

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient is not None:
            error["is_transient"] = self.transient
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:21]
        return {"error": error}


def _invalid(message: str, subcode: int | None = None) -> MetaError:
    return MetaError(100, f"(#100) {message}", subcode=subcode)


def _no_object(object_id: str, method: str = "get") -> MetaError:
    return MetaError(
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due "
        "to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        error_type="GraphMethodException",
    )


# --------------------------------------------------------------------------------------------------
# Usage meter (sliding window)
# --------------------------------------------------------------------------------------------------


class _UsageMeter:
    def __init__(self, settings: MetaApiSettings) -> None:
        self.settings = settings
        self.calls = SlidingWindow(settings.usage_window_seconds)

    def record(self, account_id: str | None, insights: bool) -> None:
        keys: list[tuple[str, str]] = [("app", "")]
        if insights:
            keys.append(("app_insights", ""))
        if account_id:
            keys.append(("account", account_id))
            if insights:
                keys.append(("account_insights", account_id))
        self.calls.record(*keys)

    def percents(self, account_id: str | None) -> tuple[int, int, int, int]:
        """(app, account, app insights, account insights) usage in percent, capped at 100."""
        s, account = self.settings, account_id or ""
        keys = (("app", ""), ("account", account), ("app_insights", ""), ("account_insights", account))
        limits = (s.app_calls_per_window, s.account_calls_per_window) * 2
        app, acc, app_insights, acc_insights = (
            min(100, math.floor(100 * self.calls.count(key) / limit))
            for key, limit in zip(keys, limits, strict=True)
        )
        return app, acc, app_insights, acc_insights

    def headers(
        self, account_id: str | None, *, insights: bool, throttled: bool = False, regain_minutes: int = 0
    ) -> dict[str, str]:
        app, account, app_insights, account_insights = (
            (100, 100, 100, 100) if throttled else self.percents(account_id)
        )
        business: dict[str, Any] = {}
        if account_id:
            business[_business_id(account_id)] = [
                {
                    "type": "ads_insights" if insights else "ads_management",
                    "call_count": account,
                    "total_cputime": account if throttled else account // 2,
                    "total_time": account if throttled else (account * 3) // 4,
                    "estimated_time_to_regain_access": regain_minutes if throttled else 0,
                    "ads_api_access_tier": "standard_access",
                }
            ]
        return {
            "x-app-usage": _compact(
                {
                    "call_count": app,
                    "total_cputime": app if throttled else app // 2,
                    "total_time": app if throttled else (app * 3) // 4,
                }
            ),
            "x-ad-account-usage": _compact(
                {
                    "acc_id_util_pct": account,
                    "reset_time_duration": regain_minutes * 60 if throttled else 0,
                    "ads_api_access_tier": "standard_access",
                }
            ),
            "x-business-use-case-usage": _compact(business),
            "x-fb-ads-insights-throttle": _compact(
                {
                    "app_id_util_pct": app_insights,
                    "acc_id_util_pct": account_insights,
                    "ads_api_access_tier": "standard_access",
                }
            ),
        }


def _business_id(account_id: str) -> str:
    return str(10**14 + stable_int("business", account_id) % (9 * 10**14))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# --------------------------------------------------------------------------------------------------
# Requests, params and paging
# --------------------------------------------------------------------------------------------------


def _param_error(error: ParamError) -> MetaError:
    return _invalid(_PARAM_MESSAGES[error.problem].format(name=error.name))


def _list_param(params: Mapping[str, Any], name: str) -> list[str] | None:
    """A list given as "a,b", '["a","b"]' or a JSON array."""
    return engine_params.loose_list(params, name, _param_error)


def _json_param(params: Mapping[str, Any], name: str) -> Any:
    return engine_params.json_value(params, name, _param_error)


def _limit(params: Mapping[str, Any], settings: MetaApiSettings) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return settings.default_limit
    try:
        limit = int(str(raw))
    except ValueError:
        raise _invalid("Param limit must be an integer") from None
    if limit < 1:
        raise _invalid("Param limit must be a positive integer")
    if limit > settings.max_limit:
        raise _invalid(f"Param limit must be at most {settings.max_limit}, got {limit}")
    return limit


def _encode_cursor(offset: int) -> str:
    # Meta's cursors are base64 with the padding spelled "ZD"; offsets keep pages stable.
    return base64.b64encode(str(offset).encode()).decode().rstrip("=") + "ZD"


def _decode_cursor(cursor: str) -> int:
    try:
        text = cursor.removesuffix("ZD")
        value = int(base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid("The cursor is invalid or has expired", subcode=1357045) from None
    if value < 0:
        raise _invalid("The cursor is invalid or has expired", subcode=1357045)
    return value


def _page_window(params: Mapping[str, Any], total: int, limit: int) -> tuple[int, int]:
    after, before = params.get("after"), params.get("before")
    if after:
        start = _decode_cursor(str(after))
    elif before:
        start = max(0, _decode_cursor(str(before)) - limit)
    else:
        start = 0
    window = offset_window(start, limit, total)
    return window.start, window.stop


def _paged_body(
    request: Request,
    params: Mapping[str, Any],
    token: str,
    data: list[dict[str, Any]],
    start: int,
    stop: int,
    total: int,
) -> dict[str, Any]:
    body: dict[str, Any] = {"data": data}
    if total == 0:
        return body
    paging: dict[str, Any] = {"cursors": {"before": _encode_cursor(start), "after": _encode_cursor(stop)}}
    if request.method == "GET":  # POST bodies are not re-playable as links
        query = {k: v for k, v in request.query_params.items() if k not in ("after", "before")}
        query["access_token"] = token  # the real API puts the token into its links
        if stop < total:
            paging["next"] = str(
                request.url.replace(query=urlencode({**query, "after": _encode_cursor(stop)}))
            )
        if start > 0:
            paging["previous"] = str(
                request.url.replace(query=urlencode({**query, "before": _encode_cursor(start)}))
            )
    body["paging"] = paging
    return body


_json_response = partial(json_response, media_type=_JSON)


# --------------------------------------------------------------------------------------------------
# Insights queries and results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InsightsQuery:
    account_id: str
    level: str
    fields: tuple[str, ...]
    since: date
    until: date
    time_increment: str  # "1".."90" | "monthly" | "all_days"
    hourly: bool
    filters: tuple[tuple[str, str, frozenset[str]], ...]
    action_windows: tuple[str, ...]

    def buckets(self) -> list[tuple[date, date]]:
        """The time buckets (date_start, date_stop) the range splits into."""
        if self.time_increment == "all_days":
            return [(self.since, self.until)]
        result: list[tuple[date, date]] = []
        if self.time_increment == "monthly":
            start = self.since
            while start <= self.until:
                last = date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
                result.append((start, min(last, self.until)))
                start = last + timedelta(days=1)
            return result
        step = int(self.time_increment)
        start = self.since
        while start <= self.until:
            stop = min(self.until, start + timedelta(days=step - 1))
            result.append((start, stop))
            start = stop + timedelta(days=1)
        return result


@dataclass
class _Result:
    """An insights answer: the engine's roll-up rows and the time buckets they index."""

    query: InsightsQuery
    buckets: list[tuple[date, date]]
    rows: Rollup

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class _ReportRun(Job):
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "Job Not Started"
    percent: int = 0
    completed_at: datetime | None = None


class MetaApi(RouterState):
    """The Meta router's state: world, faults, tokens, async runs and usage counters."""

    platform = PLATFORM
    settings_class: ClassVar[type] = MetaApiSettings
    settings: MetaApiSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.usage = _UsageMeter(self.settings)
        self.run_book: JobBook[_ReportRun] = JobBook(self.faults, PLATFORM, ASYNC_FAULTS)
        self.runs = self.run_book.jobs
        self._lock = threading.Lock()
        self._ad_constants: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._identities: dict[tuple[Any, ...], dict[str, str]] = {}

    # -- the ASGI app ---------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [Route("/{version}/{rest:path}", self.handle, methods=["GET", "POST"])]

    async def handle(self, request: Request) -> Response:
        version = request.path_params["version"]
        rest = request.path_params["rest"].strip("/")
        path = f"/{version}/{rest}"
        segments = rest.split("/") if rest else []
        account_id = self._account_of(segments)
        insights = "insights" in segments
        self.usage.record(account_id, insights)
        fault = await take_request_fault(self.faults, PLATFORM, path, REQUEST_FAULTS)
        if fault.answer is not None:
            return self._fault_response(fault.answer.kind, fault.answer.params, account_id, insights)
        try:
            params = await engine_params.query_and_body(request, _param_error)
            token = engine_params.bearer(request, ("bearer", "oauth")) or (
                str(params["access_token"]) if params.get("access_token") else None
            )
            if not token:
                raise MetaError(104, "An access token is required to request this resource.")
            if token not in self.valid_tokens():
                raise MetaError(190, "Invalid OAuth access token - Cannot parse access token")
            if not _VERSION.match(version):
                raise MetaError(2500, f"Unknown path components: /{version}")
            if self.settings.enforce_limits:
                self._enforce(account_id)
            response = await self._route(request, segments, params, token)
        except MetaError as error:
            response = _json_response(error.body(), error.status)
        response.headers.update(self.usage.headers(account_id, insights=insights))
        return fault.finish(response)

    def _account_of(self, segments: Sequence[str]) -> str | None:
        if segments and segments[0].startswith("act_"):
            return segments[0].removeprefix("act_")
        if segments and segments[0] in self.runs:
            return self.runs[segments[0]].query.account_id
        return None

    def _enforce(self, account_id: str | None) -> None:
        app, account, _, _ = self.usage.percents(account_id)
        if app >= 100:
            raise MetaError(4, _THROTTLE_MESSAGES[4], transient=True)
        if account >= 100:
            raise MetaError(
                80004,
                "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
                subcode=2446079,
                transient=True,
            )

    def _fault_response(
        self, kind: str, params: Mapping[str, Any], account_id: str | None, insights: bool
    ) -> Response:
        if kind == "throttle":
            code = int(params.get("code", 17))
            message = _THROTTLE_MESSAGES.get(
                code,
                f"(#{code}) There have been too many calls to this ad-account. Wait a bit and try again.",
            )
            error = MetaError(code, message, subcode=2446079 if code in (17, 80004) else None, transient=True)
            response = _json_response(error.body(), 400)
            response.headers.update(
                self.usage.headers(
                    account_id,
                    insights=insights,
                    throttled=True,
                    regain_minutes=int(params.get("regain_minutes", 0)),
                )
            )
            return response
        if kind == "server_error":
            status = int(params.get("status", 500))
            if status == 500:
                error = MetaError(
                    2,
                    "An unexpected error has occurred. Please retry your request later.",
                    status=500,
                    transient=True,
                )
                response = _json_response(error.body(), 500)
            else:  # what a proxy in front of the Graph API answers: not JSON
                response = gateway_page(status)
        elif kind == "reduce_data":
            error = MetaError(
                1,
                "Please reduce the amount of data you're asking for, then retry your request",
                status=500,
                subcode=99,
                transient=True,
            )
            response = _json_response(error.body(), 500)
        elif kind == "bad_token":
            error = MetaError(
                190,
                "Error validating access token: Session has expired. The current time is after the "
                "expiry time of the token.",
                subcode=int(params.get("subcode", 463)),
            )
            response = _json_response(error.body(), 400)
        else:  # pragma: no cover - REQUEST_FAULTS is exhaustive
            raise AssertionError(kind)
        response.headers.update(self.usage.headers(account_id, insights=insights))
        return response

    # -- routing --------------------------------------------------------------------------------------

    async def _route(
        self, request: Request, segments: list[str], params: dict[str, Any], token: str
    ) -> Response:
        method = request.method
        if not segments:
            raise MetaError(2500, "Unknown path components: /")
        head = segments[0]
        if segments == ["me", "adaccounts"] and method == "GET":
            return self._list_accounts(request, params, token)
        if head.startswith("act_"):
            view = self._view(head.removeprefix("act_"))
            if len(segments) == 1 and method == "GET":
                return _json_response(self._account_record(view.account, self._fields(params, "account")))
            if len(segments) == 2 and segments[1] in _EDGE_FIELDS and method == "GET":
                return self._list_edge(request, params, token, view, segments[1])
            if len(segments) == 2 and segments[1] == "insights":
                query = self._parse_insights(params, view)
                if method == "POST":
                    return _json_response({"report_run_id": self._create_run(query, request)})
                if method == "GET":
                    result = self._result(query, self.world.clock(), cache_key=self._sync_key(query))
                    return self._insights_page(request, params, token, result)
        elif head in self.runs:
            run = self.runs[head]
            if len(segments) == 1 and method == "GET":
                return _json_response(self._poll(run, params))
            if segments[1:] == ["insights"] and method == "GET":
                if run.status != "Job Completed":
                    raise _invalid(
                        f"Report {run.id} is not ready (async_status: {run.status}); poll it until "
                        "'Job Completed' before reading its insights"
                    )
                result = self._result(run.query, run.as_of, cache_key=("run", run.id))
                return self._insights_page(request, params, token, result)
        elif len(segments) == 1 and head.isdigit():
            if method == "POST":
                return _json_response(self._write(head, params))
            if method == "GET":
                return _json_response(self._object(head, params))
        raise MetaError(
            2500 if len(segments) > 1 else 100,
            f"Unsupported {method.lower()} request on /{'/'.join(segments)}",
        )

    # -- accounts and entities ------------------------------------------------------------------------

    def _view(self, account_id: str) -> AccountView:
        try:
            return self.views.get(account_id)
        except KeyError:
            raise _no_object(f"act_{account_id}") from None

    def _fields(self, params: Mapping[str, Any], node: str) -> list[str] | None:
        allowed = {"account": ACCOUNT_FIELDS, **_EDGE_FIELDS, "run": REPORT_RUN_FIELDS}[node]
        fields = _list_param(params, "fields")
        if fields is None:
            return None
        for name in fields:
            if name not in allowed:
                raise _invalid(
                    f"Tried accessing nonexisting field ({name}) on node type ({_NODE_TYPES.get(node, node)})"
                )
        return fields

    def _list_accounts(self, request: Request, params: Mapping[str, Any], token: str) -> Response:
        fields = self._fields(params, "account") or ["account_id", "id"]
        accounts = self.world.accounts(PLATFORM)
        limit = _limit(params, self.settings)
        start, stop = _page_window(params, len(accounts), limit)
        data = [self._account_record(a, fields) for a in accounts[start:stop]]
        return _json_response(_paged_body(request, params, token, data, start, stop, len(accounts)))

    def _account_record(self, account: Account, fields: list[str] | None) -> dict[str, Any]:
        offset = self.world.local_time(account).utcoffset() or timedelta()
        values: dict[str, Any] = {
            "id": f"act_{account.id}",
            "account_id": account.id,
            "name": account.name,
            "currency": account.currency,
            "timezone_name": account.timezone,
            "timezone_offset_hours_utc": offset.total_seconds() / 3600.0,
            "account_status": 1,
            "disable_reason": 0,
            "business": {"id": _business_id(account.id), "name": account.name.split(" - ")[0]},
            "created_time": _meta_time(account, date(2019, 3, 4), hour=9),
        }
        return _select(values, fields or ["id"], always=("id",))

    def _list_edge(
        self, request: Request, params: Mapping[str, Any], token: str, view: AccountView, edge: str
    ) -> Response:
        fields = self._fields(params, edge) or ["id"]
        limit = _limit(params, self.settings)
        records = [self._entity_values(view, edge, obj) for obj in self._edge_objects(view, edge)]
        statuses = _list_param(params, "effective_status")
        filters = self._entity_filters(params, edge)
        if statuses is None and not any(f[0] == "effective_status" for f in filters):
            records = [r for r in records if r["effective_status"] not in _HIDDEN_BY_DEFAULT]
        elif statuses is not None:
            records = [r for r in records if r["effective_status"] in statuses]
        for name, operator, values in filters:
            records = [r for r in records if _matches(str(r.get(name, "")), operator, values)]
        start, stop = _page_window(params, len(records), limit)
        data = [_select(r, fields, always=("id",)) for r in records[start:stop]]
        return _json_response(_paged_body(request, params, token, data, start, stop, len(records)))

    @staticmethod
    def _edge_objects(view: AccountView, edge: str) -> list[Any]:
        return {"campaigns": view.campaigns, "adsets": view.ad_groups, "ads": view.ads}[edge]

    def _entity_filters(self, params: Mapping[str, Any], edge: str) -> list[tuple[str, str, frozenset[str]]]:
        raw = _json_param(params, "filtering") or []
        prefix = {"campaigns": "campaign", "adsets": "adset", "ads": "ad"}[edge]
        names = {
            "effective_status": "effective_status",
            f"{prefix}.effective_status": "effective_status",
            "id": "id",
            f"{prefix}.id": "id",
            "campaign.id": "campaign_id",
            "adset.id": "adset_id",
            "name": "name",
            f"{prefix}.name": "name",
        }
        result = []
        for name, operator, values in _parse_filtering(raw):
            if name not in names:
                raise _invalid(f"Filtering field {name} is invalid")
            result.append((names[name], operator, values))
        return result

    def _entity_values(self, view: AccountView, edge: str, obj: Any) -> dict[str, Any]:
        account = view.account
        if edge == "campaigns":
            return self._campaign_values(account, obj)
        campaign = view.campaigns[view.campaign_pos[obj.campaign_id]]
        campaign_status = self.world.campaign_status(campaign)
        created = _meta_time(account, campaign.created_date or campaign.start_date, hour=11)
        if edge == "adsets":
            values = {
                "id": obj.id,
                "account_id": account.id,
                "campaign_id": obj.campaign_id,
                "name": obj.name,
                "status": obj.status,
                "configured_status": obj.status,
                "effective_status": _child_status(obj.status, campaign_status, "CAMPAIGN_PAUSED"),
                "optimization_goal": "LINK_CLICKS"
                if "TRAFFIC" in campaign.objective
                else "OFFSITE_CONVERSIONS",
                "billing_event": "IMPRESSIONS",
                "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
                "destination_type": "WEBSITE",
                "start_time": _meta_time(account, campaign.start_date),
                "created_time": created,
                "updated_time": created,
            }
            if campaign.end_date:
                values["end_time"] = _meta_time(account, campaign.end_date + timedelta(days=1))
            return values
        group = view.ad_groups[view.group_pos[obj.ad_group_id]]
        group_status = _child_status(group.status, campaign_status, "CAMPAIGN_PAUSED")
        return {
            "id": obj.id,
            "account_id": account.id,
            "campaign_id": obj.campaign_id,
            "adset_id": obj.ad_group_id,
            "name": obj.name,
            "status": obj.status,
            "configured_status": obj.status,
            "effective_status": _child_status(
                obj.status,
                group_status,
                "CAMPAIGN_PAUSED" if group_status == "CAMPAIGN_PAUSED" else "ADSET_PAUSED",
            ),
            "creative": {"id": str(10**17 + stable_int("creative", obj.id) % (9 * 10**17))},
            "created_time": created,
            "updated_time": created,
        }

    def _campaign_values(self, account: Account, campaign: Campaign) -> dict[str, Any]:
        status = self.world.campaign_status(campaign)
        created = _meta_time(account, campaign.created_date or campaign.start_date, hour=10)
        updated_at = self.world.campaign_updated_at(campaign)
        values: dict[str, Any] = {
            "id": campaign.id,
            "account_id": account.id,
            "name": campaign.name,
            "status": status,
            "configured_status": status,
            "effective_status": status,
            "objective": campaign.objective,
            "buying_type": "AUCTION",
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
            "special_ad_categories": [],
            "start_time": _meta_time(account, campaign.start_date),
            "created_time": created,
            "updated_time": updated_at.astimezone(account.tz).strftime("%Y-%m-%dT%H:%M:%S%z")
            if updated_at
            else created,
        }
        if campaign.lifetime_budget is not None:
            values["lifetime_budget"] = str(round(campaign.lifetime_budget * 100))
        else:
            values["daily_budget"] = str(round(self.world.campaign_daily_budget(campaign) * 100))
        if campaign.end_date:
            values["stop_time"] = _meta_time(account, campaign.end_date + timedelta(days=1))
        return values

    def _object(self, object_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        for edge, lookup in (
            ("campaigns", self.world.campaign),
            ("adsets", self.world.ad_group),
            ("ads", self.world.ad),
        ):
            try:
                obj = lookup(PLATFORM, object_id)
            except KeyError:
                continue
            fields = self._fields(params, edge) or ["id"]
            view = self._view(obj.account_id)
            return _select(self._entity_values(view, edge, obj), fields, always=("id",))
        raise _no_object(object_id)

    def _write(self, object_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            campaign = self.world.campaign(PLATFORM, object_id)
        except KeyError:
            raise _no_object(object_id, "post") from None
        ignored = {"access_token", "method", "format", "pretty", "suppress_http_code"}
        unknown = sorted(set(params) - ignored - {"status", "daily_budget"})
        if unknown:
            raise _invalid(f"Param {unknown[0]} is not supported on campaign writes in the sandbox")
        status = params.get("status")
        budget = params.get("daily_budget")
        if status is None and budget is None:
            raise _invalid("Nothing to update: pass status and/or daily_budget")
        if status is not None and status not in ("ACTIVE", "PAUSED", "ARCHIVED", "DELETED"):
            raise _invalid("Param status must be one of {ACTIVE, PAUSED, DELETED, ARCHIVED}")
        minor: int | None = None
        if budget is not None:
            try:
                minor = int(str(budget))
            except ValueError:
                raise _invalid("Param daily_budget must be an integer (minor units)") from None
            if campaign.lifetime_budget is not None:
                raise _invalid(
                    "Cannot set daily_budget on a campaign with a lifetime budget", subcode=1885621
                )
            if minor < 100:
                raise _invalid("The daily budget is too low", subcode=1885272)
        if status is not None:
            self.world.set_campaign_status(PLATFORM, campaign.id, str(status))
        if minor is not None:
            self.world.set_campaign_daily_budget(PLATFORM, campaign.id, minor / 100.0)
        return {"success": True}

    # -- insights -------------------------------------------------------------------------------------

    def _parse_insights(self, params: Mapping[str, Any], view: AccountView) -> InsightsQuery:
        level = str(params.get("level") or "account")
        if level not in LEVELS:
            raise _invalid("level must be one of the following values: ad, adset, campaign, account")
        fields = _list_param(params, "fields") or ["spend", "impressions"]
        for name in fields:
            if name not in INSIGHTS_FIELDS:
                raise _invalid(
                    f"{name} is not valid for fields param. please check "
                    "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ "
                    "for all valid values"
                )
        since, until = self._time_range(params, view.account)
        increment = str(params.get("time_increment") or "all_days")
        if increment not in ("all_days", "monthly") and not (
            increment.isdigit() and 1 <= int(increment) <= 90
        ):
            raise _invalid("time_increment must be an integer 1-90, 'monthly' or 'all_days'")
        breakdowns = _list_param(params, "breakdowns") or []
        for breakdown in breakdowns:
            if breakdown != HOURLY_BREAKDOWN:
                raise _invalid(
                    f"breakdowns[0] must be one of the following values: {HOURLY_BREAKDOWN} "
                    "(the sandbox serves only the hourly breakdown)"
                )
        action_breakdowns = _list_param(params, "action_breakdowns") or ["action_type"]
        if action_breakdowns != ["action_type"]:
            raise _invalid("action_breakdowns: the sandbox supports only action_type")
        report_time = params.get("action_report_time")
        if report_time is not None and report_time not in ("impression", "conversion", "mixed"):
            raise _invalid("action_report_time must be one of impression, conversion, mixed")
        windows = _list_param(params, "action_attribution_windows") or []
        for window in windows:
            if window not in ATTRIBUTION_WINDOWS:
                raise _invalid(f"action_attribution_windows[0] must be one of {sorted(ATTRIBUTION_WINDOWS)}")
        filters = []
        for name, operator, values in _parse_filtering(_json_param(params, "filtering") or []):
            if name not in ("campaign.id", "adset.id", "ad.id"):
                raise _invalid(f"Filtering field {name} is invalid")
            filters.append((name, operator, values))
        return InsightsQuery(
            account_id=view.account.id,
            level=level,
            fields=tuple(dict.fromkeys(fields)),
            since=since,
            until=until,
            time_increment=increment,
            hourly=bool(breakdowns),
            filters=tuple(filters),
            action_windows=tuple(windows),
        )

    def _time_range(self, params: Mapping[str, Any], account: Account) -> tuple[date, date]:
        today = self.world.today_local(account)
        if params.get("time_ranges"):
            raise _invalid("time_ranges is not supported by the sandbox; use time_range")
        time_range = _json_param(params, "time_range")
        if time_range is not None:
            if not isinstance(time_range, dict) or "since" not in time_range or "until" not in time_range:
                raise _invalid("time_range must be an object with since and until")
            try:
                since = date.fromisoformat(str(time_range["since"]))
                until = date.fromisoformat(str(time_range["until"]))
            except ValueError:
                raise _invalid("time_range dates must be YYYY-MM-DD") from None
        else:
            preset = str(params.get("date_preset") or "last_30d")
            since, until = _preset_range(preset, today)
        if since > until:
            raise _invalid("The 'since' field must be before or equal to 'until' in time_range")
        earliest = _months_back(today, self.settings.max_months_back)
        if since < earliest:
            raise MetaError(
                3018,
                f"(#3018) The start date of the time range cannot be beyond {self.settings.max_months_back} "
                "months from the current date",
            )
        return since, until

    def _sync_key(self, query: InsightsQuery) -> tuple[Any, ...]:
        # Pinned clock: exact; real clock: per minute (the current hour is partial in hourly rows).
        return ("sync", query, *answer_stamp(self.world))

    def _result(self, query: InsightsQuery, as_of: datetime, cache_key: Any) -> _Result:
        return self.cache.get(cache_key, lambda: self._compute(query, as_of))

    def _compute(self, query: InsightsQuery, as_of: datetime) -> _Result:
        view = self._view(query.account_id)
        buckets = query.buckets()
        blocks = (
            (day_block(self.world, PLATFORM, view.account, d, as_of, hourly=query.hourly) for d in days(*b))
            for b in buckets
        )
        rows = rollup(
            view,
            LEVELS.index(query.level),
            blocks,
            hourly=query.hourly,
            derive=self._derive,
            n_metrics=_N_METRICS,
            allowed=self._filter_mask(query, view) if query.filters else None,
        )
        return _Result(query, buckets, rows)

    def _filter_mask(self, query: InsightsQuery, view: AccountView) -> np.ndarray:
        allowed = np.ones(len(view.ads), dtype=bool)
        for name, operator, values in query.filters:
            if name == "campaign.id":
                ids = np.array([view.campaigns[c].id for c in view.ad_campaign])
            elif name == "adset.id":
                ids = np.array([view.ad_groups[g].id for g in view.ad_group])
            else:
                ids = np.array([a.id for a in view.ads])
            hit = np.isin(ids, list(values))
            allowed &= hit if operator in ("IN", "EQUAL") else ~hit
        return allowed

    def _derive(self, view: AccountView, positions: np.ndarray, base: np.ndarray) -> list[np.ndarray]:
        """Meta's own metrics of each ad-day (hour): reach, link clicks, landing page views,
        add-to-carts and delivering units (reach is not additive; it is scaled back from these)."""
        constants = self._ad_constants.get(view.id)
        if constants is None:
            link_ratio = view.ad_constants("meta-ad", 0.78, 0.17)
            frequency = view.ad_constants("meta-ad", 1.08, 0.5, shift=10)
            constants = self._ad_constants[view.id] = (link_ratio, frequency)
        link_ratio, frequency = constants
        impressions, clicks = base[_IMPRESSIONS], base[_CLICKS]
        reach = np.floor(impressions / frequency[positions][:, None]).astype(np.int64)
        link = np.floor(clicks * link_ratio[positions][:, None]).astype(np.int64)
        landing = np.floor(link * 0.8).astype(np.int64)
        cart = base[_CONVERSIONS] * 3 + np.floor(link * 0.03).astype(np.int64)
        units = (impressions > 0).astype(np.int64)
        return [reach, link, landing, cart, units]

    def _insights_page(
        self, request: Request, params: Mapping[str, Any], token: str, result: _Result
    ) -> Response:
        limit = _limit(params, self.settings)
        start, stop = _page_window(params, len(result), limit)
        view = self._view(result.query.account_id)
        data = [self._insights_record(view, result, i) for i in range(start, stop)]
        return _json_response(_paged_body(request, params, token, data, start, stop, len(result)))

    def _insights_record(self, view: AccountView, result: _Result, row: int) -> dict[str, Any]:
        query = result.query
        rows = result.rows
        record = dict(self._identity(view, query, int(rows.group[row])))
        record.update(_metric_values([int(v) for v in rows.metrics[row]], query))
        start, stop = result.buckets[int(rows.bucket[row])]
        record["date_start"] = start.isoformat()
        record["date_stop"] = stop.isoformat()
        if query.hourly:
            hour = int(rows.hour[row])
            record[HOURLY_BREAKDOWN] = f"{hour:02d}:00:00 - {hour:02d}:59:59"
        return record

    def _identity(self, view: AccountView, query: InsightsQuery, group: int) -> dict[str, str]:
        """The requested id / name / setting fields of one object at the query's level (cached)."""
        key = (view.account.id, query.level, group, query.fields)
        cached = self._identities.get(key)
        if cached is not None:
            return cached
        level_index = LEVELS.index(query.level)
        campaign, ad_group, ad = view.parents(level_index, group)
        account = view.account
        known: dict[str, str | None] = {
            "account_id": account.id,
            "account_name": account.name,
            "account_currency": account.currency,
            "attribution_setting": ATTRIBUTION_SETTING,
            "buying_type": "AUCTION",
            "campaign_id": campaign.id if campaign else None,
            "campaign_name": campaign.name if campaign else None,
            "objective": campaign.objective if campaign else None,
            "optimization_goal": (
                ("LINK_CLICKS" if "TRAFFIC" in campaign.objective else "OFFSITE_CONVERSIONS")
                if campaign
                else None
            ),
            "adset_id": ad_group.id if ad_group else None,
            "adset_name": ad_group.name if ad_group else None,
            "ad_id": ad.id if ad else None,
            "ad_name": ad.name if ad else None,
        }
        identity = {
            name: value
            for name in query.fields
            if (value := known.get(name)) is not None and _LEVEL_FIELDS.get(name, 0) <= level_index
        }
        if len(self._identities) > 200_000:
            self._identities.clear()
        self._identities[key] = identity
        return identity

    # -- async report runs ----------------------------------------------------------------------------

    def _create_run(self, query: InsightsQuery, request: Request) -> str:
        path = f"/{request.path_params['version']}/act_{query.account_id}/insights"
        run_id = str(6_090_000_000_000_000 + self.run_book.next_serial() * 7_919)
        run = _ReportRun(id=run_id, query=query, as_of=self.world.clock())
        return self.run_book.create(run, path).id

    def _poll(self, run: _ReportRun, params: Mapping[str, Any]) -> dict[str, Any]:
        fields = self._fields(params, "run")
        self.run_book.poll(run)
        with self._lock:
            if run.status not in ("Job Completed", "Job Failed", "Job Skipped"):
                run.status, run.percent = self._progress(run)
                if run.status == "Job Completed":
                    run.completed_at = datetime.now(UTC)
        values = {
            "id": run.id,
            "account_id": run.query.account_id,
            "time_ref": int(run.created.timestamp()),
            "time_completed": int(run.completed_at.timestamp()) if run.completed_at else 0,
            "async_status": run.status,
            "async_percent_completion": run.percent,
            "date_start": run.query.since.isoformat(),
            "date_stop": run.query.until.isoformat(),
            "emails": [],
            "friendly_name": "Async job",
            "is_bookmarked": False,
            "is_running": run.status not in ("Job Completed", "Job Failed", "Job Skipped"),
            "schedule_id": "0",
        }
        return _select(values, fields, always=("id",)) if fields else values

    def _progress(self, run: _ReportRun) -> tuple[str, int]:
        k = run.polls
        params = run.fault_params
        if run.fault in ("async_failed", "async_skipped"):
            after = int(params.get("polls", 2))
            if k >= after:
                return ("Job Failed" if run.fault == "async_failed" else "Job Skipped"), run.percent
            return ("Job Started", 0) if k == 1 else ("Job Running", min(90, 30 * (k - 1)))
        if run.fault == "async_stuck":
            return ("Job Started", 0) if k == 1 else ("Job Running", int(params.get("percent", 42)))
        if run.fault == "async_100_running":
            at_hundred = int(params.get("polls", 3))
            if k == 1:
                return "Job Started", 0
            return ("Job Running", 100) if k <= 1 + at_hundred else ("Job Completed", 100)
        n = max(1, self.settings.polls_to_complete)
        if k >= n:
            return "Job Completed", 100
        percent = int(100 * (k - 1) / (n - 1))
        if k == 1:
            return ("Job Not Started" if n >= 4 else "Job Started"), 0
        if k == 2 and n >= 4:
            return "Job Started", percent
        return "Job Running", percent


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _metric_values(m: Sequence[int], query: InsightsQuery) -> dict[str, Any]:
    """The requested metric fields of one result row (``m``: integer metric columns, money in cents)."""
    wanted = query.fields
    spend, impressions, clicks, value, link = m[_SPEND], m[_IMPRESSIONS], m[_CLICKS], m[_VALUE], m[_LINK]
    # Reach is not additive: people overlap across ads and days. Meta has no reach per hour.
    reach = (
        0 if query.hourly else min(impressions, round(m[_REACH] / (1.0 + 0.1 * math.log(max(1, m[_UNITS])))))
    )
    windows = query.action_windows
    out: dict[str, Any] = {}
    for name in wanted:
        if name == "spend":
            out[name] = _money(spend)
        elif name == "impressions":
            out[name] = str(impressions)
        elif name == "clicks":
            out[name] = str(clicks)
        elif name == "inline_link_clicks":
            out[name] = str(link)
        elif name == "reach" and reach:
            out[name] = str(reach)
        elif name == "frequency" and reach:
            out[name] = _ratio(impressions / reach)
        elif name == "cpm" and impressions:
            out[name] = _ratio(spend / 100 / impressions * 1000)
        elif name == "cpp" and reach:
            out[name] = _ratio(spend / 100 / reach * 1000)
        elif name == "ctr" and impressions:
            out[name] = _ratio(clicks / impressions * 100)
        elif name == "inline_link_click_ctr" and impressions:
            out[name] = _ratio(link / impressions * 100)
        elif name == "cpc" and clicks:
            out[name] = _ratio(spend / 100 / clicks)
        elif name == "cost_per_inline_link_click" and link:
            out[name] = _ratio(spend / 100 / link)
        elif name == "actions":
            actions = _actions(m, windows)
            if actions:
                out[name] = actions
        elif name == "action_values" and value:
            out[name] = [_action(t, value, windows, money=True) for t in PURCHASE_ACTION_TYPES]
        elif name == "cost_per_action_type":
            costs = [{"action_type": t, "value": _ratio(spend / 100 / n)} for t, n in _action_counts(m) if n]
            if costs:
                out[name] = costs
        elif name in ("purchase_roas", "website_purchase_roas") and value and spend:
            action_type = "omni_purchase" if name == "purchase_roas" else PURCHASE_ACTION_TYPES[0]
            out[name] = [{"action_type": action_type, "value": _ratio(value / spend)}]
    return out


def _parse_filtering(raw: Any) -> list[tuple[str, str, frozenset[str]]]:
    if not isinstance(raw, list):
        raise _invalid("filtering must be a list of {field, operator, value} objects")
    result = []
    for item in raw:
        if not isinstance(item, dict) or "field" not in item or "operator" not in item:
            raise _invalid("filtering entries need field, operator and value")
        operator = str(item["operator"]).upper()
        if operator not in _FILTER_OPERATORS:
            raise _invalid(f"Filtering operator {operator} is invalid for field {item['field']}")
        value = item.get("value")
        values = value if isinstance(value, list) else [value]
        result.append((str(item["field"]), operator, frozenset(str(v) for v in values)))
    return result


def _matches(value: str, operator: str, values: frozenset[str]) -> bool:
    return (value in values) == (operator in ("IN", "EQUAL"))


def _select(values: Mapping[str, Any], fields: Sequence[str], always: Sequence[str] = ()) -> dict[str, Any]:
    """Only the fields asked for (plus ``always``), in request order; absent values stay absent."""
    wanted = list(dict.fromkeys([*fields, *always]))
    return {name: values[name] for name in wanted if name in values and values[name] is not None}


def _child_status(own: str, parent: str, paused_label: str) -> str:
    if own != "ACTIVE":
        return own
    if parent in ("ARCHIVED", "DELETED"):
        return parent
    if parent in ("PAUSED", "CAMPAIGN_PAUSED", "ADSET_PAUSED"):
        return paused_label
    return "ACTIVE"


def _meta_time(account: Account, day: date, hour: int = 0) -> str:
    """``2026-09-01T00:00:00+0200``: Meta's timestamp shape in the account's timezone."""
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=account.tz)
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _ratio(value: float) -> str:
    return f"{value:.6f}"


def _action_counts(m: Sequence[int]) -> list[tuple[str, int]]:
    counts = [("link_click", m[_LINK]), ("landing_page_view", m[_LPV])]
    counts += [(t, m[_CART]) for t in ADD_TO_CART_ACTION_TYPES]
    counts += [(t, m[_CONVERSIONS]) for t in PURCHASE_ACTION_TYPES]
    return counts


def _actions(m: Sequence[int], windows: Sequence[str]) -> list[dict[str, str]]:
    return [_action(t, count, windows) for t, count in _action_counts(m) if count]


def _action(action_type: str, amount: int, windows: Sequence[str], money: bool = False) -> dict[str, str]:
    """One ``{action_type, value[, <window>...]}`` entry; money amounts are in cents here."""
    text = _money if money else str
    entry = {"action_type": action_type, "value": text(amount)}
    if windows:  # only when asked: the per-window split
        view_1d = math.floor(amount * 0.12)
        click_7d = amount - view_1d  # 7d_click + 1d_view = the default attribution setting
        split = {
            "1d_click": math.floor(click_7d * 0.8),
            "7d_click": click_7d,
            "28d_click": click_7d + math.floor(amount * 0.05),
            "1d_view": view_1d,
            "7d_view": math.floor(amount * 0.18),
            "28d_view": math.floor(amount * 0.22),
            "dda": amount,
            "default": amount,
        }
        for window in windows:
            entry[window] = text(split[window])
    return entry


def _preset_range(preset: str, today: date) -> tuple[date, date]:
    yesterday = today - timedelta(days=1)
    if preset == "today":
        return today, today
    if preset == "yesterday":
        return yesterday, yesterday
    match = _PRESET.match(preset)
    if match:
        return today - timedelta(days=int(match.group(1))), yesterday
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise _invalid(f"date_preset {preset} is not supported by the sandbox")


def _months_back(today: date, months: int) -> date:
    month_index = today.year * 12 + today.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(today.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


router_factory = make_router_factory(MetaApi)


__all__ = [
    "ASYNC_FAULTS",
    "FAULT_KINDS",
    "HOURLY_BREAKDOWN",
    "INSIGHTS_FIELDS",
    "PURCHASE_ACTION_TYPES",
    "REQUEST_FAULTS",
    "InsightsQuery",
    "MetaApi",
    "MetaApiSettings",
    "MetaError",
    "router_factory",
]
