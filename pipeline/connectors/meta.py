"""Meta (Facebook / Instagram) Marketing API connector.

Speaks the Graph API the way production connectors do:

- entities (ad account, campaigns, ad sets, ads) via cursor-paged edges, following ``paging.next``;
- daily ad-level insights via *async report runs*, one per account-day: submit (POST
  ``act_{id}/insights``), poll ``/{report_run_id}``, then page ``/{report_run_id}/insights``.
  A run that fails, is skipped, or does not finish within ``poll_timeout`` (including runs parked at
  100 % "Job Running") is split: the account-day into halves of the campaigns that delivered that
  day, a single campaign into halves of its ad sets, a single ad set into halves of its ads (via
  ``filtering`` on ``campaign.id`` / ``adset.id`` / ``ad.id``). Results are only read from completed
  runs and the pieces partition their parent, so every ad-day arrives exactly once.
- hourly ad-level insights the same way (``breakdowns=hourly_stats_aggregated_by_advertiser_time_zone``,
  one async run per account-day, same splitting): one record per ad and local clock hour, the hour
  in the account's timezone as ``"HH:00:00 - HH:59:59"``; today's hours up to the current one
  (partial). A DST day has 23 or 25 real hours but Meta labels 24 clock hours at most: the skipped
  hour has no row, the repeated one holds both.
- errors classified from Meta's ``{"error": {"code", ...}}`` body: throttling codes back off, code 1
  "reduce the amount of data" halves the page ``limit``, code 190 fails fast as a credentials error.
- usage headers (``x-app-usage``, ``x-ad-account-usage``, ``x-business-use-case-usage``,
  ``x-fb-ads-insights-throttle``) slow us down before Meta has to.

The access token travels in the ``Authorization`` header, and is stripped from the ``paging.next``
URLs Meta builds, so it never appears in a request line, a log or an error message.
Records are yielded exactly as Meta sent them; typing and units are staging's job (dbt).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from pipeline.connectors.base import Credentials, KeyColumn, Page, RawStream, TokenRefreshCallback
from pipeline.connectors.declarations import (
    SERVER_ERRORS,
    UNPAGED,
    ErrorMap,
    ErrorOutcome,
    ErrorRule,
    Paging,
    PagingStyle,
    ReportWindow,
    checked_page_size,
    restatement_days_of,
)
from pipeline.connectors.http import (
    DEFAULT_TIMEOUT,
    ApiError,
    Clock,
    CredentialsError,
    HttpApiClient,
    RequestTooLargeError,
    RetryPolicy,
    Sleep,
    TransientError,
    Usage,
    without_query_params,
)

logger = logging.getLogger(__name__)

PLATFORM = "meta"
API_VERSION = "v21.0"
MAX_PAGE_LIMIT = 5000  # Meta rejects larger page sizes
# lists and report results follow paging.next, at most MAX_PAGE_LIMIT a page
_PAGES = Paging(PagingStyle.NEXT_LINK, MAX_PAGE_LIMIT)
DEFAULT_LOOKBACK_DAYS = 28  # attribution keeps restating a day for 28 days
DEFAULT_HOURLY_DAYS = 7  # hourly data serves recent days (dbt var hourly_retention_days)
HOURLY_BREAKDOWN = "hourly_stats_aggregated_by_advertiser_time_zone"

# -- error codes (https://developers.facebook.com/docs/marketing-api/error-reference) ----------------
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80007), 80008, 80014})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({102, 190})  # invalid / expired / revoked session
PERMISSION_CODES = frozenset({10, *range(200, 300)})  # token valid but lacks a permission
REDUCE_DATA_HINT = "reduce the amount of data"
IS_TRANSIENT = "is_transient"  # the error body's own flag, matched like a code

META_ERRORS = ErrorMap(
    (
        ErrorRule(ErrorOutcome.CREDENTIALS, codes=TOKEN_CODES),
        ErrorRule(ErrorOutcome.CREDENTIALS, codes=PERMISSION_CODES, prefix="missing permission, "),
        # code 1 is also Meta's "unknown error": only with this message is it "ask for less"
        ErrorRule(ErrorOutcome.TOO_LARGE, codes=frozenset({1}), message_contains=REDUCE_DATA_HINT),
        ErrorRule(ErrorOutcome.RATE_LIMITED, codes=RATE_LIMIT_CODES, prefix="throttled, "),
        ErrorRule(
            ErrorOutcome.TRANSIENT, codes=TRANSIENT_CODES | {IS_TRANSIENT}, http_statuses=SERVER_ERRORS
        ),
    )
)

# -- account statuses we do not report on -----------------------------------------------------------
DISABLED_ACCOUNT_STATUSES = frozenset({2, 101})  # DISABLED, CLOSED

# -- async report runs --------------------------------------------------------------------------------
JOB_COMPLETED = "Job Completed"
JOB_FAILED_STATUSES = frozenset({"Job Failed", "Job Skipped"})
MAX_JOBS_IN_FLIGHT = 10  # Meta advises against many concurrent report runs per account
MAX_ATTEMPTS_UNSPLITTABLE = 3  # a single-ad job that keeps failing is resubmitted this often

# -- fields requested per stream (entity payloads must carry account_id: it is a raw-table key) ------
ACCOUNT_FIELDS = (
    "id",
    "account_id",
    "name",
    "currency",
    "timezone_name",
    "timezone_offset_hours_utc",
    "account_status",
)
CAMPAIGN_FIELDS = (
    "id",
    "account_id",
    "name",
    "status",
    "effective_status",
    "objective",
    "daily_budget",
    "lifetime_budget",
    "start_time",
    "stop_time",
    "created_time",
    "updated_time",
)
ADSET_FIELDS = (
    "id",
    "account_id",
    "campaign_id",
    "name",
    "status",
    "effective_status",
    "daily_budget",
    "optimization_goal",
)
AD_FIELDS = (
    "id",
    "account_id",
    "campaign_id",
    "adset_id",
    "name",
    "status",
    "effective_status",
    "created_time",
)
INSIGHTS_FIELDS = (
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "date_start",
    "date_stop",
    "spend",
    "impressions",
    "clicks",
    "reach",
    "cpm",
    "ctr",
    "cpc",
    "attribution_setting",
    "actions",
    "action_values",
)
# Unique-people metrics (reach, frequency) do not exist per hour: Meta refuses them with the hourly
# breakdown, so the hourly stream asks for everything else.
HOURLY_INSIGHTS_FIELDS = tuple(f for f in INSIGHTS_FIELDS if f != "reach")

# Entity edges leave ARCHIVED / DELETED objects out unless asked: ask for every status, so dimensions
# know about retired campaigns whose history is still in the insights.
_CAMPAIGN_STATUSES = ("ACTIVE", "PAUSED", "DELETED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES")
_ADSET_STATUSES = (*_CAMPAIGN_STATUSES, "CAMPAIGN_PAUSED")
_AD_STATUSES = (
    *_ADSET_STATUSES,
    "ADSET_PAUSED",
    "DISAPPROVED",
    "PENDING_REVIEW",
    "PREAPPROVED",
    "PENDING_BILLING_INFO",
)

_ACCOUNT_KEY = KeyColumn("account_id", "text", "account_id")

META_STREAMS: dict[str, RawStream] = {
    "ad_accounts": RawStream(
        PLATFORM,
        "ad_accounts",
        (_ACCOUNT_KEY,),
        None,
        "Ad account settings (currency, timezone, status).",
        paging=UNPAGED,
    ),
    "campaigns": RawStream(
        PLATFORM,
        "campaigns",
        (_ACCOUNT_KEY, KeyColumn("campaign_id", "text", "id")),
        None,
        "Campaigns: status, objective, budgets in minor units of the account currency.",
        paging=_PAGES,
    ),
    "adsets": RawStream(
        PLATFORM,
        "adsets",
        (_ACCOUNT_KEY, KeyColumn("adset_id", "text", "id")),
        None,
        "Ad sets: status, budget, optimisation goal.",
        paging=_PAGES,
    ),
    "ads": RawStream(
        PLATFORM,
        "ads",
        (_ACCOUNT_KEY, KeyColumn("ad_id", "text", "id")),
        None,
        "Ads and their parents.",
        paging=_PAGES,
    ),
    "ads_insights_daily": RawStream(
        PLATFORM,
        "ads_insights_daily",
        (_ACCOUNT_KEY, KeyColumn("ad_id", "text", "ad_id"), KeyColumn("date_start", "date", "date_start")),
        "date_start",
        "Ad-level daily insights (level=ad, time_increment=1) in the account's timezone and currency.",
        # one async report run per day: a failed day is retried (or split by ad) on its own
        report_window=ReportWindow(
            default_days=DEFAULT_LOOKBACK_DAYS, max_days_per_request=1, restatement_days=DEFAULT_LOOKBACK_DAYS
        ),
        paging=_PAGES,
    ),
    "ads_insights_hourly": RawStream(
        PLATFORM,
        "ads_insights_hourly",
        (
            _ACCOUNT_KEY,
            KeyColumn("ad_id", "text", "ad_id"),
            KeyColumn("date_start", "date", "date_start"),
            KeyColumn(HOURLY_BREAKDOWN, "text", HOURLY_BREAKDOWN),
        ),
        "date_start",
        "Ad-level hourly insights (breakdowns=hourly_stats_aggregated_by_advertiser_time_zone) for "
        "recent days: one row per ad, local day and local clock hour, in the account's currency.",
        report_window=ReportWindow(default_days=DEFAULT_HOURLY_DAYS, max_days_per_request=1),
        paging=_PAGES,
    ),
}

# edge name, fields and effective statuses of each entity stream
_ENTITY_EDGES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "campaigns": ("campaigns", CAMPAIGN_FIELDS, _CAMPAIGN_STATUSES),
    "adsets": ("adsets", ADSET_FIELDS, _ADSET_STATUSES),
    "ads": ("ads", AD_FIELDS, _AD_STATUSES),
}

# How a failed insights job splits: filter field -> (next level, its filter field). None = account.
_SPLIT_DOWN: dict[str | None, tuple[str, str] | None] = {
    None: ("campaign", "campaign.id"),
    "campaign.id": ("adset", "adset.id"),
    "adset.id": ("ad", "ad.id"),
    "ad.id": None,
}


# Meta budgets are ints in a currency's minor units; these currencies have no minor unit ("offset" 1).
# https://developers.facebook.com/docs/marketing-api/currencies (staging's meta_budget_to_major_units too)
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"CLP", "COP", "CRC", "HUF", "IDR", "ISK", "JPY", "KRW", "PYG", "TWD", "VND"}
)


def currency_offset(currency: str) -> int:
    return 1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100


def major_to_minor_units(amount: float, currency: str) -> int:
    """A budget in major units (e.g. 12.34 USD) as Meta's int minor units (1234)."""
    return round(float(amount) * currency_offset(currency))


def minor_to_major_units(amount: int, currency: str) -> float:
    return round(int(amount) / currency_offset(currency), 2)


def canonical_account_id(account_id: str) -> str:
    """An account id as exports spell it (``act_123``) in the form this connector writes (``123``)."""
    return account_id.removeprefix("act_")


def normalize_account_id(account_id: str | int) -> str:
    """Meta account ids are digits; accept ``act_123`` too."""
    text = str(account_id).strip()
    text = text.removeprefix("act_")
    if not text.isdigit():
        raise ValueError(f"not a Meta ad account id: {account_id!r}")
    return text


@dataclass(frozen=True)
class InsightsJob:
    """One async report run request: an account-day, optionally narrowed to some objects' ids."""

    account_id: str
    day: date
    filter_field: str | None = None  # "campaign.id" | "adset.id" | "ad.id"; None = the whole account
    ids: tuple[str, ...] = ()
    attempt: int = 1
    breakdowns: tuple[str, ...] = ()  # (HOURLY_BREAKDOWN,) for the hourly stream

    def filtering(self) -> list[dict[str, Any]]:
        if self.filter_field is None:
            return []
        return [{"field": self.filter_field, "operator": "IN", "value": list(self.ids)}]

    def describe(self) -> str:
        scope = f"act_{self.account_id} {self.day.isoformat()}"
        if self.breakdowns:
            scope += f" by {','.join(self.breakdowns)}"
        if self.filter_field:
            shown = ",".join(self.ids[:3]) + (f",… ({len(self.ids)})" if len(self.ids) > 3 else "")
            scope += f" {self.filter_field} IN [{shown}]"
        return scope


@dataclass
class _Run:
    job: InsightsJob
    report_run_id: str
    started: float
    polls: int = 0
    status: str = ""
    percent: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _time_range(since: date, until: date) -> str:
    return json.dumps({"since": since.isoformat(), "until": until.isoformat()})


def _json_header(headers: httpx.Headers, name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


class MetaConnector(HttpApiClient):
    """Meta Marketing API connector implementing :class:`pipeline.connectors.base.Connector`."""

    platform = PLATFORM
    display_name = "Meta"
    streams = META_STREAMS
    error_map = META_ERRORS
    production_base_url = "https://graph.facebook.com"
    restatement_lookback_days = restatement_days_of(META_STREAMS.values())
    max_jobs_in_flight = MAX_JOBS_IN_FLIGHT

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        account_ids: Sequence[str] | None = None,
        on_token_refresh: TokenRefreshCallback | None = None,
        api_version: str = API_VERSION,
        poll_interval: float = 2.0,
        poll_timeout: float = 900.0,
        page_limit: int = 500,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        access_token = credentials.access_token
        if not access_token:
            raise CredentialsError(
                "Meta", "no access token is configured: connect the Meta account in adsignal first"
            )
        checked_page_size(META_STREAMS.values(), page_limit, "page_limit")
        # Meta tokens are long-lived (no refresh grant): a rejected token means reconnect.
        super().__init__(
            base_url,
            credentials=credentials,
            on_token_refresh=on_token_refresh,
            headers={"Accept": "application/json"},
            retry=retry,
            sleep=sleep,
            transport=transport,
            timeout=timeout,
            clock=clock,
        )
        self.account_ids = [normalize_account_id(a) for a in account_ids] if account_ids else None
        self.api_version = api_version
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.page_limit = page_limit

    # -- Connector protocol ---------------------------------------------------------------------------

    def list_account_ids(self) -> list[str]:
        """Configured account ids, or every active ad account the token can see."""
        if self.account_ids is not None:
            return list(self.account_ids)
        ids: list[str] = []
        params = {"fields": "account_id,account_status", "limit": self.page_limit}
        for page in self._paged(self._path("me/adaccounts"), params):
            for account in page:
                if account.get("account_status") in DISABLED_ACCOUNT_STATUSES:
                    continue
                ids.append(normalize_account_id(account.get("account_id") or account["id"]))
        return ids

    def read(
        self, stream: str, account_id: str, since: date | None = None, until: date | None = None
    ) -> Iterator[Page]:
        """Yield pages of records exactly as Meta sent them.

        Entity streams are snapshots (``since``/``until`` ignored). ``ads_insights_daily`` covers
        ``since``..``until`` inclusive, dates in the account's timezone; by default its report
        window's days up to today (UTC), since Meta restates that long. ``ads_insights_hourly``
        covers the same kind of window, by default its report window's days up to the account's own
        today (its current day is partial).
        """
        if stream not in self.streams:
            raise ValueError(f"unknown Meta stream {stream!r}; known streams: {', '.join(self.streams)}")
        account = normalize_account_id(account_id)
        if stream == "ad_accounts":
            payload = self.request_json(
                "GET", self._path(f"act_{account}"), params={"fields": ",".join(ACCOUNT_FIELDS)}
            )
            yield [payload]
        elif stream in _ENTITY_EDGES:
            edge, fields, statuses = _ENTITY_EDGES[stream]
            params = {
                "fields": ",".join(fields),
                "effective_status": json.dumps(list(statuses)),
                "limit": self.page_limit,
            }
            yield from self._paged(self._path(f"act_{account}/{edge}"), params)
        else:
            hourly = stream == "ads_insights_hourly"
            window = self.streams[stream].window
            # Hourly: the account's today, not UTC's (east of UTC the current local day starts earlier).
            until = until or (self._local_today(account) if hourly else self.today())
            since = since or window.default_since(until)
            if since > until:
                raise ValueError(f"since ({since}) is after until ({until})")
            breakdowns = (HOURLY_BREAKDOWN,) if hourly else ()
            yield from self._read_insights(account, window.steps(since, until), breakdowns=breakdowns)

    def _local_today(self, account_id: str) -> date:
        """Today in the ad account's timezone (Meta reports days and hours in it)."""
        body = self.request_json("GET", self._path(f"act_{account_id}"), params={"fields": "timezone_name"})
        name = body.get("timezone_name") if isinstance(body, dict) else None
        try:
            zone = ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            raise ApiError(
                self.display_name, f"act_{account_id} has no usable timezone_name: {name!r}"
            ) from None
        return self.today(zone)

    # -- write-back -------------------------------------------------------------------------------------

    def campaign_state(self, campaign_id: str, *, account_id: str | None = None) -> dict[str, Any]:
        """The campaign's current status and daily budget, as an action needs them before and after a write.

        ``{"campaign_id", "account_id", "status" (ACTIVE / PAUSED / ARCHIVED / REMOVED), "platform_status",
        "budget_type" (DAILY / LIFETIME / AD_GROUP), "daily_budget" (major units or None), "currency"}``.
        """
        if not str(campaign_id).isdigit():
            raise ValueError(f"not a Meta campaign id: {campaign_id!r}")
        fields = "id,account_id,status,daily_budget,lifetime_budget"
        body = self.request_json("GET", self._path(str(campaign_id)), params={"fields": fields})
        if not isinstance(body, dict) or str(body.get("id")) != str(campaign_id):
            raise ApiError(self.display_name, f"campaign {campaign_id}: unexpected answer to a campaign read")
        owner = normalize_account_id(body.get("account_id") or account_id or "")
        if account_id is not None and owner != normalize_account_id(account_id):
            raise ValueError(f"campaign {campaign_id} belongs to ad account {owner}, not {account_id}")
        account = self.request_json("GET", self._path(f"act_{owner}"), params={"fields": "currency"})
        currency = str(account.get("currency") or "").upper() if isinstance(account, dict) else ""
        daily = body.get("daily_budget")
        lifetime = body.get("lifetime_budget")
        budget_type = (
            "DAILY"
            if daily and int(daily) > 0
            else "LIFETIME"
            if lifetime and int(lifetime) > 0
            else "AD_GROUP"
        )
        platform_status = str(body.get("status") or "")
        return {
            "campaign_id": str(campaign_id),
            "account_id": owner,
            "status": {"DELETED": "REMOVED"}.get(platform_status, platform_status) or None,
            "platform_status": platform_status,
            "budget_type": budget_type,
            "daily_budget": minor_to_major_units(int(daily), currency) if budget_type == "DAILY" else None,
            "currency": currency or None,
        }

    def update_arguments(
        self, *, account_id: str, status: str | None, daily_budget: float | None, currency: str
    ) -> dict[str, Any]:
        """Meta takes budgets in int minor units of the account currency and no account id."""
        arguments: dict[str, Any] = {}
        if status is not None:
            arguments["status"] = status
        if daily_budget is not None:
            if not currency:
                raise ValueError("the Meta account's currency is unknown: cannot convert to minor units")
            arguments["daily_budget"] = major_to_minor_units(daily_budget, currency)
        return arguments

    def update_campaign(
        self, campaign_id: str, status: str | None = None, daily_budget: int | None = None
    ) -> dict[str, Any]:
        """Set a campaign's status (ACTIVE / PAUSED) and/or daily budget.

        ``daily_budget`` is in *minor units* of the account currency (cents), exactly as Meta's API
        takes and returns it; an int is required so a major-unit float cannot slip through.
        """
        if status is None and daily_budget is None:
            raise ValueError("nothing to update: pass status and/or daily_budget")
        data: dict[str, Any] = {}
        if status is not None:
            if status not in ("ACTIVE", "PAUSED"):
                raise ValueError(f"status must be ACTIVE or PAUSED, not {status!r}")
            data["status"] = status
        if daily_budget is not None:
            if isinstance(daily_budget, bool) or not isinstance(daily_budget, int) or daily_budget <= 0:
                raise ValueError("daily_budget is a positive int in minor units of the account currency")
            data["daily_budget"] = str(daily_budget)
        if not str(campaign_id).isdigit():
            raise ValueError(f"not a Meta campaign id: {campaign_id!r}")
        return self.request_json("POST", self._path(str(campaign_id)), data=data)

    # -- Meta specifics for the shared HTTP machinery ---------------------------------------------------

    def classify_error(self, response: httpx.Response, body: Any, endpoint: str) -> ApiError | None:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return super().classify_error(response, body, endpoint)
        code = error.get("code")
        subcode = error.get("error_subcode")
        message = str(error.get("message") or "")
        detail = f"code {code}{f'/{subcode}' if subcode else ''}: {message}"
        if error.get("fbtrace_id"):
            detail += f" (fbtrace_id {error['fbtrace_id']})"
        usage = self.parse_usage(response.headers)
        return self.mapped_error(
            response,
            endpoint,
            detail,
            codes=(code, IS_TRANSIENT) if error.get("is_transient") else (code,),
            message=message,
            code=code,
            retry_after=usage.regain_after if usage else None,
        )

    def parse_usage(self, headers: httpx.Headers) -> Usage | None:
        """All of Meta's usage headers as named percentages, plus the time to regain access."""
        percent: dict[str, float] = {}
        regain_minutes = 0.0

        def take(prefix: str, figures: Any) -> None:
            if isinstance(figures, dict):
                for name, value in figures.items():
                    number = _numeric(value)
                    if number is not None and name != "reset_time_duration":
                        percent[f"{prefix}.{name}"] = number

        take("app", _json_header(headers, "x-app-usage"))
        take("ad_account", _json_header(headers, "x-ad-account-usage"))
        take("insights", _json_header(headers, "x-fb-ads-insights-throttle"))
        business = _json_header(headers, "x-business-use-case-usage")
        if isinstance(business, dict):
            for business_id, entries in business.items():
                for entry in entries if isinstance(entries, list) else [entries]:
                    if not isinstance(entry, dict):
                        continue
                    regain = _numeric(entry.get("estimated_time_to_regain_access"))
                    regain_minutes = max(regain_minutes, regain or 0.0)
                    kind = entry.get("type") or business_id
                    take(
                        f"business.{kind}",
                        {k: v for k, v in entry.items() if k != "estimated_time_to_regain_access"},
                    )
        if not percent and not regain_minutes:
            return None
        return Usage(percent=percent, regain_after=regain_minutes * 60.0 or None)

    # -- paging -----------------------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        return f"/{self.api_version}/{path}"

    def _paged(self, url: str, params: Mapping[str, Any] | None) -> Iterator[Page]:
        """Follow ``paging.next`` from ``url``; on "reduce the amount of data" halve ``limit`` and retry."""
        next_url: str = url
        next_params: dict[str, Any] | None = dict(params) if params is not None else None
        followed: set[str] = set()
        while True:
            try:
                body = self.request_json("GET", next_url, params=next_params)
            except RequestTooLargeError as exc:
                next_url, next_params = self._with_smaller_limit(next_url, next_params, exc)
                continue
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise TransientError(
                    self.display_name,
                    "paged response without a 'data' list",
                    endpoint=self.endpoint_name(self._client.build_request("GET", next_url)),
                )
            if body["data"]:
                yield body["data"]
            paging = body.get("paging")
            link = paging.get("next") if isinstance(paging, dict) else None
            if not link:
                return
            next_url, next_params = self._own_link(link), None
            if next_url in followed:
                raise ApiError(self.display_name, f"paging loops back to {self.redact.url(next_url)}")
            followed.add(next_url)

    def _own_link(self, link: str) -> str:
        """A server-built next link minus the token (auth goes in the header), on our host only."""
        url = httpx.URL(link)
        base = self._client.base_url
        if url.is_absolute_url and (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            raise ApiError(self.display_name, f"refusing to follow a paging link to another host: {url.host}")
        return without_query_params(link, ["access_token"])

    def _with_smaller_limit(
        self, url: str, params: dict[str, Any] | None, exc: RequestTooLargeError
    ) -> tuple[str, dict[str, Any] | None]:
        current = params.get("limit") if params is not None else httpx.URL(url).params.get("limit")
        limit = int(current) if current is not None else self.page_limit
        if limit <= 1:
            raise exc
        smaller = max(1, limit // 2)
        logger.info("Meta asks for less data on %s; retrying with limit=%d", exc.endpoint, smaller)
        self._endpoint_stats(exc.endpoint or "?").setdefault("limit_reductions", 0)
        self._endpoint_stats(exc.endpoint or "?")["limit_reductions"] += 1
        if params is not None:
            return url, {**params, "limit": smaller}
        return str(httpx.URL(url).copy_set_param("limit", smaller)), None

    # -- insights via async report runs -----------------------------------------------------------------

    def _read_insights(
        self, account_id: str, days: Iterable[tuple[date, date]], breakdowns: tuple[str, ...] = ()
    ) -> Iterator[Page]:
        """One async report run per step of the stream's window (a day each)."""
        queue: deque[InsightsJob] = deque(
            InsightsJob(account_id, day, breakdowns=breakdowns) for day, _ in days
        )
        running: list[_Run] = []
        while queue or running:
            while queue and len(running) < self.max_jobs_in_flight:
                job = queue.popleft()
                try:
                    running.append(self._submit(job))
                except RequestTooLargeError:
                    # Too big to even accept: same remedy as a run that failed.
                    queue.extend(
                        self._after_failure(_Run(job, "(not created)", time.monotonic()), "too large")
                    )
            if not running:
                continue
            self.sleep(self.poll_interval)
            still_running: list[_Run] = []
            for run in running:
                self._poll(run)
                if run.status == JOB_COMPLETED:
                    yield from self._paged(
                        self._path(f"{run.report_run_id}/insights"), {"limit": self.page_limit}
                    )
                elif run.status in JOB_FAILED_STATUSES:
                    queue.extend(self._after_failure(run, f"ended '{run.status}'"))
                elif self._elapsed(run) >= self.poll_timeout:
                    reason = f"still '{run.status}' at {run.percent:g} % after {self._elapsed(run):.0f}s"
                    queue.extend(self._after_failure(run, reason))
                else:
                    still_running.append(run)
            running = still_running

    def _insights_params(self, job: InsightsJob) -> dict[str, Any]:
        params: dict[str, Any] = {
            "level": "ad",
            "fields": ",".join(HOURLY_INSIGHTS_FIELDS if job.breakdowns else INSIGHTS_FIELDS),
            "time_range": _time_range(job.day, job.day),
            "time_increment": 1,
        }
        if job.breakdowns:
            params["breakdowns"] = ",".join(job.breakdowns)
        if job.filter_field:
            params["filtering"] = json.dumps(job.filtering())
        return params

    def _submit(self, job: InsightsJob) -> _Run:
        body = self.request_json(
            "POST", self._path(f"act_{job.account_id}/insights"), data=self._insights_params(job)
        )
        run_id = body.get("report_run_id") if isinstance(body, dict) else None
        if not run_id:
            raise TransientError(self.display_name, f"no report_run_id for {job.describe()}")
        logger.debug("Meta report run %s submitted for %s", run_id, job.describe())
        return _Run(job=job, report_run_id=str(run_id), started=time.monotonic())

    def _poll(self, run: _Run) -> None:
        body = self.request_json(
            "GET",
            self._path(run.report_run_id),
            params={"fields": "id,async_status,async_percent_completion"},
        )
        run.polls += 1
        if isinstance(body, dict):
            run.status = str(body.get("async_status") or "")
            run.percent = _numeric(body.get("async_percent_completion")) or 0.0

    def _elapsed(self, run: _Run) -> float:
        # Wall time in production; with an injected (fake) sleep the polls count the waiting.
        return max(time.monotonic() - run.started, run.polls * self.poll_interval)

    def _after_failure(self, run: _Run, reason: str) -> list[InsightsJob]:
        job = run.job
        pieces = self._split(job)
        if pieces is not None:
            logger.info(
                "Meta report run %s for %s %s; split into %d jobs",
                run.report_run_id,
                job.describe(),
                reason,
                len(pieces),
            )
            return pieces
        if job.attempt >= MAX_ATTEMPTS_UNSPLITTABLE:
            raise ApiError(
                self.display_name,
                f"async report for {job.describe()} {reason} on {job.attempt} attempts and cannot be "
                "split further",
                endpoint="POST /act_{id}/insights",
            )
        logger.info("Meta report run for %s %s; resubmitting", job.describe(), reason)
        return [replace(job, attempt=job.attempt + 1)]

    def _split(self, job: InsightsJob) -> list[InsightsJob] | None:
        """Pieces that together cover ``job``; ``[]`` if it has no data; ``None`` if it cannot split."""
        filter_field, ids = job.filter_field, job.ids
        while len(ids) < 2:
            lower = _SPLIT_DOWN[filter_field]
            if lower is None:
                return None
            level, child_field = lower
            ids = self._delivering_ids(replace(job, filter_field=filter_field, ids=ids), level)
            filter_field = child_field
            if not ids:
                return []
        half = len(ids) // 2
        return [
            InsightsJob(job.account_id, job.day, filter_field, ids[:half], breakdowns=job.breakdowns),
            InsightsJob(job.account_id, job.day, filter_field, ids[half:], breakdowns=job.breakdowns),
        ]

    def _delivering_ids(self, job: InsightsJob, level: str) -> tuple[str, ...]:
        """Ids of the ``level`` objects with insights on the job's day within its filter.

        Asked of the (cheap, synchronous) insights edge rather than the entity lists, so archived
        and deleted objects that delivered that day are not lost. With the job's breakdowns, so an
        hourly job sees the same objects as its rows would (today's hours included).
        """
        params: dict[str, Any] = {
            "level": level,
            "fields": f"{level}_id",
            "time_range": _time_range(job.day, job.day),
            "limit": self.page_limit,
        }
        if job.breakdowns:
            params["breakdowns"] = ",".join(job.breakdowns)
        if job.filter_field:
            params["filtering"] = json.dumps(job.filtering())
        seen: dict[str, None] = {}
        for page in self._paged(self._path(f"act_{job.account_id}/insights"), params):
            for row in page:
                object_id = row.get(f"{level}_id")
                if object_id is not None:
                    seen[str(object_id)] = None
        return tuple(seen)
