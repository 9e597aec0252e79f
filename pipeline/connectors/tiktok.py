"""TikTok API for Business (Marketing API v1.3) connector.

Speaks the API the way production connectors do:

- advertisers: ``oauth2/advertiser/get/`` (the advertisers the token was authorised for; it needs the
  app's ``app_id`` and ``secret``) then ``advertiser/info/`` for their status; deactivated
  advertisers (``STATUS_DISABLE``) are skipped. ``advertiser/info/`` is also the ``ad_accounts``
  snapshot (currency, timezone, status);
- entities: ``campaign/get/``, ``adgroup/get/``, ``ad/get/`` with every secondary status (deleted
  objects included, so dimensions know retired campaigns whose history is still in the reports);
- ad-level performance: the synchronous ``report/integrated/get/`` (``report_type=BASIC``,
  ``data_level=AUCTION_AD``), daily with ``stat_time_day`` in windows of at most 30 days, hourly
  with ``stat_time_hour`` one day per request;
- every list pages with ``page`` / ``page_size`` and ``data.page_info``. The pages of one listing are
  separate queries: when the data changes between them (a row arriving, a report restating), a
  plain page walk repeats one row and never sees another. So a walk checks itself — the same
  ``total_number`` on every page, no key twice, as many keys as ``total_number`` — and a walk that
  fails the check is read again from page 1. Rows are deduplicated by key within the sync (the key
  set is the only state kept), so every object or ad-day is yielded exactly once;
- errors come in an HTTP 200 as ``{"code": != 0}``: 40100 (rate limit) and 50002 (server error) are
  retried with backoff, 40105 (invalid or expired token) and 40001 (no permission) fail fast as
  credentials errors — TikTok access tokens are long-lived and have no refresh flow — and anything
  else (40002: invalid parameter...) fails with TikTok's message and request id.

The token travels in the ``Access-Token`` header (no "Bearer"). The app secret has to be a query
parameter of the advertiser listing; it is redacted from errors and logs like every secret.

Records are yielded as TikTok sent them, with one addition to report rows: ``"_advertiser_id"``, the
advertiser the request was made for. TikTok's report rows carry no advertiser id (the request is per
advertiser), and the raw tables key every row by its account.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from pipeline.connectors.base import (
    Credentials,
    KeyColumn,
    MajorUnitCampaignWrites,
    Page,
    RawStream,
    TokenRefreshCallback,
)
from pipeline.connectors.declarations import (
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
    RetryPolicy,
    Sleep,
    TransientError,
)

logger = logging.getLogger(__name__)

PLATFORM = "tiktok"
API_VERSION = "v1.3"
MAX_PAGE_SIZE = 1000  # TikTok rejects larger pages (40002)
# lists and reports page by number, at most MAX_PAGE_SIZE a page
_PAGES = Paging(PagingStyle.PAGE_NUMBER, MAX_PAGE_SIZE)
MAX_DAILY_REPORT_DAYS = 30  # stat_time_day reports span at most 30 days per request
DEFAULT_LOOKBACK_DAYS = 7  # TikTok restates conversions for about a week (attribution)
DEFAULT_HOURLY_DAYS = 7  # hourly data serves recent days (dbt var hourly_retention_days)
MAX_ADVERTISER_IDS = 100  # advertiser/info takes at most 100 ids per call
MAX_REREADS = 3  # a listing that keeps changing while it is paged is read again this often

# -- return codes (the "code" of TikTok's envelope) -------------------------------------------------
TOKEN_CODES = frozenset({40102, 40104, 40105})  # expired / missing / invalid or revoked access token
PERMISSION_CODES = frozenset({40001})  # no permission for this advertiser or app
RATE_LIMIT_CODES = frozenset({40100})
TRANSIENT_CODES = frozenset({50000, 50002})
# Tried in order on a body's non-zero ``code`` (HTTP errors without one: the HTTP defaults).
TIKTOK_ERRORS = ErrorMap(
    (
        ErrorRule(ErrorOutcome.CREDENTIALS, codes=TOKEN_CODES),
        ErrorRule(ErrorOutcome.CREDENTIALS, codes=PERMISSION_CODES, prefix="missing permission, "),
        ErrorRule(ErrorOutcome.RATE_LIMITED, codes=RATE_LIMIT_CODES, prefix="rate limited, "),
        ErrorRule(ErrorOutcome.TRANSIENT, codes=TRANSIENT_CODES),
    )
)

# -- advertiser statuses we do not report on --------------------------------------------------------
DISABLED_ADVERTISER_STATUSES = frozenset({"STATUS_DISABLE"})

# -- what each stream asks for ------------------------------------------------------------------------
ADVERTISER_FIELDS = (
    "advertiser_id",
    "name",
    "company",
    "status",
    "currency",
    "timezone",
    "display_timezone",
    "country",
    "create_time",
)
# Ids and names ride along as attribute metrics, so staging needs no joins to name a row.
_ATTRIBUTE_METRICS = ("campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name", "currency")
# Conversions are TikTok's web "Complete Payment" events: ``complete_payment`` counts them and
# ``total_complete_payment_rate`` is their total value (despite the name). ``conversion`` counts the
# ad group's optimisation event, which is a click for traffic ad groups: kept, but not a purchase.
_PERFORMANCE_METRICS = (
    "spend",
    "impressions",
    "clicks",
    "ctr",
    "cpc",
    "cpm",
    "conversion",
    "complete_payment",
    "total_complete_payment_rate",
    "complete_payment_roas",
)
DAILY_METRICS = (*_ATTRIBUTE_METRICS, *_PERFORMANCE_METRICS, "reach")
HOURLY_METRICS = (*_ATTRIBUTE_METRICS, *_PERFORMANCE_METRICS)  # reach does not exist per hour
ACCOUNT_ID_KEY = "_advertiser_id"  # added to report rows: the advertiser the request was for

_ACCOUNT_KEY = KeyColumn("account_id", "text", "advertiser_id")
_REPORT_ACCOUNT_KEY = KeyColumn("account_id", "text", ACCOUNT_ID_KEY)

TIKTOK_STREAMS: dict[str, RawStream] = {
    "ad_accounts": RawStream(
        PLATFORM,
        "ad_accounts",
        (_ACCOUNT_KEY,),
        None,
        "Advertiser settings (advertiser/info): currency, timezone, status.",
        paging=UNPAGED,
    ),
    "campaigns": RawStream(
        PLATFORM,
        "campaigns",
        (_ACCOUNT_KEY, KeyColumn("campaign_id", "text", "campaign_id")),
        None,
        "Campaigns (campaign/get, deleted included): status, objective, budget in major units.",
        paging=_PAGES,
    ),
    "adgroups": RawStream(
        PLATFORM,
        "adgroups",
        (_ACCOUNT_KEY, KeyColumn("adgroup_id", "text", "adgroup_id")),
        None,
        "Ad groups (adgroup/get, deleted included): status, optimisation goal, schedule, budget.",
        paging=_PAGES,
    ),
    "ads": RawStream(
        PLATFORM,
        "ads",
        (_ACCOUNT_KEY, KeyColumn("ad_id", "text", "ad_id")),
        None,
        "Ads (ad/get, deleted included) and their parents.",
        paging=_PAGES,
    ),
    "ads_insights_daily": RawStream(
        PLATFORM,
        "ads_insights_daily",
        (
            _REPORT_ACCOUNT_KEY,
            KeyColumn("ad_id", "text", "dimensions.ad_id"),
            KeyColumn("stat_time_day", "date", "dimensions.stat_time_day"),
        ),
        "stat_time_day",
        "Ad-level daily report (AUCTION_AD by stat_time_day) in the advertiser's timezone and currency; "
        "rows carry _advertiser_id, added by the connector.",
        report_window=ReportWindow(
            default_days=DEFAULT_LOOKBACK_DAYS,
            max_days_per_request=MAX_DAILY_REPORT_DAYS,
            restatement_days=DEFAULT_LOOKBACK_DAYS,
        ),
        paging=_PAGES,
    ),
    "ads_insights_hourly": RawStream(
        PLATFORM,
        "ads_insights_hourly",
        (
            _REPORT_ACCOUNT_KEY,
            KeyColumn("ad_id", "text", "dimensions.ad_id"),
            KeyColumn("stat_time_day", "date", "dimensions.stat_time_hour"),  # the hour's local day
            KeyColumn("stat_time_hour", "text", "dimensions.stat_time_hour"),
        ),
        "stat_time_day",
        "Ad-level hourly report (AUCTION_AD by stat_time_hour) for recent days, local clock hours of "
        "the advertiser's timezone; rows carry _advertiser_id, added by the connector.",
        report_window=ReportWindow(default_days=DEFAULT_HOURLY_DAYS, max_days_per_request=1),
        paging=_PAGES,
    ),
}

# endpoint, "all statuses" filter value and key field of each entity stream
_ENTITY_ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "campaigns": ("campaign/get/", "CAMPAIGN_STATUS_ALL", "campaign_id"),
    "adgroups": ("adgroup/get/", "ADGROUP_STATUS_ALL", "adgroup_id"),
    "ads": ("ad/get/", "AD_STATUS_ALL", "ad_id"),
}

RowKey = Callable[[dict[str, Any]], Hashable]


def normalize_account_id(account_id: str | int) -> str:
    """TikTok advertiser ids are digits (sent and received as strings)."""
    return _digits(account_id, "advertiser id")


def _digits(value: str | int, what: str) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"not a TikTok {what}: {value!r}")
    return text


def _report_row_key(row: dict[str, Any]) -> Hashable:
    dimensions = row.get("dimensions")
    if not isinstance(dimensions, dict):
        return None
    return tuple(sorted((str(k), str(v)) for k, v in dimensions.items()))


class TikTokConnector(MajorUnitCampaignWrites, HttpApiClient):
    """TikTok API for Business connector implementing :class:`pipeline.connectors.base.Connector`."""

    platform = PLATFORM
    display_name = "TikTok"
    streams = TIKTOK_STREAMS
    error_map = TIKTOK_ERRORS
    production_base_url = "https://business-api.tiktok.com"
    restatement_lookback_days = restatement_days_of(TIKTOK_STREAMS.values())

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        account_ids: Sequence[str] | None = None,
        on_token_refresh: TokenRefreshCallback | None = None,
        app_id: str | None = None,
        app_secret: str | None = None,
        api_version: str = API_VERSION,
        page_size: int = MAX_PAGE_SIZE,
        max_rereads: int = MAX_REREADS,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        if not credentials.access_token:
            raise CredentialsError(
                "TikTok", "no access token is configured: connect the TikTok account in adsignal first"
            )
        checked_page_size(TIKTOK_STREAMS.values(), page_size, "page_size")
        if max_rereads < 0:
            raise ValueError("max_rereads must be >= 0")
        super().__init__(
            base_url,
            credentials=credentials,
            on_token_refresh=on_token_refresh,
            secrets=[app_secret] if app_secret else (),
            headers={"Accept": "application/json"},
            retry=retry,
            sleep=sleep,
            transport=transport,
            timeout=timeout,
            clock=clock,
        )
        self.account_ids = [normalize_account_id(a) for a in account_ids] if account_ids else None
        # The app the token was issued to (needed only to list advertisers): options win, else the
        # connection's OAuth client.
        self.app_id = app_id or credentials.client_id
        self.app_secret = app_secret or credentials.client_secret
        self.api_version = api_version
        self.page_size = page_size
        self.max_rereads = max_rereads
        self._discovered: list[str] | None = None
        self._timezones: dict[str, ZoneInfo] = {}

    # -- Connector protocol ---------------------------------------------------------------------------

    def auth_headers(self, credentials: Credentials) -> dict[str, str]:
        return {"Access-Token": credentials.access_token}

    def list_account_ids(self) -> list[str]:
        """Configured advertiser ids, or every advertiser the token is authorised for that is not
        deactivated (asked once per connector: every stream of a sync lists them)."""
        if self.account_ids is not None:
            return list(self.account_ids)
        if self._discovered is None:
            self._discovered = self._discover_advertisers()
        return list(self._discovered)

    def read(
        self, stream: str, account_id: str, since: date | None = None, until: date | None = None
    ) -> Iterator[Page]:
        """Yield pages of records as TikTok sent them (report rows plus ``_advertiser_id``).

        Entity streams are snapshots (``since``/``until`` ignored). ``ads_insights_daily`` covers
        ``since``..``until`` inclusive, days in the advertiser's timezone, by default its report
        window's days up to today (UTC); TikTok serves the current day, partial.
        ``ads_insights_hourly`` covers the same kind of window, by default its report window's days
        up to the advertiser's own today. Each request spans at most the window's step.
        """
        if stream not in self.streams:
            raise ValueError(f"unknown TikTok stream {stream!r}; known streams: {', '.join(self.streams)}")
        advertiser = normalize_account_id(account_id)
        if stream == "ad_accounts":
            yield from self._advertiser_info([advertiser], ADVERTISER_FIELDS)
        elif stream in _ENTITY_ENDPOINTS:
            endpoint, all_statuses, id_field = _ENTITY_ENDPOINTS[stream]
            params = {
                "advertiser_id": advertiser,
                "filtering": json.dumps({"secondary_status": all_statuses}),
            }
            yield from self._paged(self._path(endpoint), params, key=lambda r: r.get(id_field))
        else:
            hourly = stream == "ads_insights_hourly"
            window = self.streams[stream].window
            # Hourly: the advertiser's today, not UTC's (east of UTC the current local day starts earlier).
            until = until or (self._local_today(advertiser) if hourly else self.today())
            since = since or window.default_since(until)
            _check_window(since, until)
            dimension, metrics = (
                ("stat_time_hour", HOURLY_METRICS) if hourly else ("stat_time_day", DAILY_METRICS)
            )
            for start, stop in window.steps(since, until):
                yield from self._report(advertiser, dimension, metrics, start, stop)

    # -- write-back -------------------------------------------------------------------------------------

    def campaign_state(self, campaign_id: str, *, account_id: str | None = None) -> dict[str, Any]:
        """The campaign's current status and daily budget, as an action needs them before and after a write.

        ``{"campaign_id", "account_id", "status" (ACTIVE / PAUSED / REMOVED), "platform_status",
        "budget_type" (DAILY / LIFETIME / AD_GROUP), "daily_budget" (major units or None), "currency"}``
        (currency None: TikTok reports it on the advertiser, not the campaign).
        """
        campaign_id = _digits(campaign_id, "campaign id")
        advertiser = normalize_account_id(account_id) if account_id else None
        advertiser, campaign = self._find_campaign(campaign_id, advertiser)
        operation = str(campaign.get("operation_status") or "")
        if str(campaign.get("secondary_status") or "") == "CAMPAIGN_STATUS_DELETE":
            status: str | None = "REMOVED"
        else:
            status = {"ENABLE": "ACTIVE", "DISABLE": "PAUSED"}.get(operation)
        mode = campaign.get("budget_mode")
        budget_type = {"BUDGET_MODE_DAY": "DAILY", "BUDGET_MODE_TOTAL": "LIFETIME"}.get(str(mode), "AD_GROUP")
        budget = campaign.get("budget")
        return {
            "campaign_id": campaign_id,
            "account_id": advertiser,
            "status": status,
            "platform_status": operation,
            "budget_type": budget_type,
            "daily_budget": round(float(budget), 2)
            if budget_type == "DAILY" and budget is not None
            else None,
            "currency": None,
        }

    def update_campaign(
        self,
        campaign_id: str,
        *,
        status: str | None = None,
        daily_budget: float | None = None,
        account_id: str | None = None,
    ) -> dict[str, Any]:
        """Pause / enable a campaign and/or set its daily budget (major units of the advertiser's currency).

        TikTok wants the advertiser of every write; without ``account_id`` the campaign is looked up
        among the connection's advertisers. A daily budget is only written to a campaign whose
        budget mode is ``BUDGET_MODE_DAY``: on a lifetime-budget campaign the same field is the total
        budget, and writing a daily amount there would silently cut it.
        """
        if status is None and daily_budget is None:
            raise ValueError("nothing to update: pass status and/or daily_budget")
        operation = None
        if status is not None:
            operation = {"ACTIVE": "ENABLE", "PAUSED": "DISABLE"}.get(status)
            if operation is None:
                raise ValueError(f"status must be ACTIVE or PAUSED, not {status!r}")
        budget = None
        if daily_budget is not None:
            if isinstance(daily_budget, bool) or not isinstance(daily_budget, int | float):
                raise ValueError("daily_budget is an amount in major units of the advertiser's currency")
            if not math.isfinite(daily_budget) or daily_budget <= 0:
                raise ValueError("daily_budget must be a positive amount in major units")
            budget = round(float(daily_budget), 2)
        campaign_id = _digits(campaign_id, "campaign id")
        advertiser = normalize_account_id(account_id) if account_id else None
        campaign: dict[str, Any] | None = None
        if advertiser is None or budget is not None:
            advertiser, campaign = self._find_campaign(campaign_id, advertiser)
        request_ids: list[str] = []
        if budget is not None and campaign is not None:
            mode = campaign.get("budget_mode")
            if mode != "BUDGET_MODE_DAY":
                raise ApiError(
                    self.display_name,
                    f"campaign {campaign_id} has budget_mode {mode}, not a daily budget; refusing to "
                    "write a daily amount into it",
                    endpoint="POST /open_api/campaign/update",
                )
            request_ids.append(
                self._post(
                    "campaign/update/",
                    {"advertiser_id": advertiser, "campaign_id": campaign_id, "budget": budget},
                )
            )
        if operation is not None:
            request_ids.append(
                self._post(
                    "campaign/status/update/",
                    {
                        "advertiser_id": advertiser,
                        "campaign_ids": [campaign_id],
                        "operation_status": operation,
                    },
                )
            )
        return {
            "campaign_id": campaign_id,
            "account_id": advertiser,
            "status": status,
            "daily_budget": budget,
            "request_ids": request_ids,
        }

    def _find_campaign(self, campaign_id: str, advertiser: str | None) -> tuple[str, dict[str, Any]]:
        """The campaign's advertiser and record (searching the connection's advertisers if needed)."""
        filtering = json.dumps({"campaign_ids": [campaign_id], "secondary_status": "CAMPAIGN_STATUS_ALL"})
        for candidate in [advertiser] if advertiser else self.list_account_ids():
            params = {"advertiser_id": candidate, "filtering": filtering}
            for page in self._paged(self._path("campaign/get/"), params, key=lambda r: r.get("campaign_id")):
                for record in page:
                    if str(record.get("campaign_id")) == campaign_id:
                        return candidate, record
        where = f"advertiser {advertiser}" if advertiser else "any advertiser of this connection"
        raise ApiError(self.display_name, f"campaign {campaign_id} not found under {where}")

    # -- TikTok specifics for the shared HTTP machinery ---------------------------------------------------

    def classify_error(self, response: httpx.Response, body: Any, endpoint: str) -> ApiError | None:
        code = body.get("code") if isinstance(body, dict) else None
        if code is None or response.status_code >= 400:
            return super().classify_error(response, body, endpoint)
        try:
            code = int(code)
        except (TypeError, ValueError):
            return TransientError(self.display_name, f"unreadable return code {code!r}", endpoint=endpoint)
        if code == 0:
            return None
        detail = f"code {code}: {body.get('message') or 'no message'}"
        if body.get("request_id"):
            detail += f" (request_id {body['request_id']})"
        return self.mapped_error(response, endpoint, detail, codes=(code,), code=code)

    # -- requests and paging --------------------------------------------------------------------------

    def _path(self, endpoint: str) -> str:
        return f"/open_api/{self.api_version}/{endpoint}"

    def _data(self, body: Any, endpoint: str) -> dict[str, Any]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise TransientError(self.display_name, f"{endpoint} answered code 0 without a data object")
        return data

    def _get_data(self, endpoint: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._data(self.request_json("GET", self._path(endpoint), params=params), endpoint)

    def _post(self, endpoint: str, body: Mapping[str, Any]) -> str:
        """POST a JSON body (TikTok's writes); returns the request id, for the action log."""
        answer = self.request_json("POST", self._path(endpoint), json_body=dict(body))
        self._data(answer, endpoint)
        return str(answer.get("request_id") or "")

    def _paged(self, url: str, params: Mapping[str, Any], key: RowKey) -> Iterator[Page]:
        """Every row of a ``page``/``page_size`` listing exactly once, even if it changes while paged.

        A walk is trusted when every page reported the same ``total_number``, no key came twice and
        it saw ``total_number`` keys; otherwise the listing moved under it (a row inserted before the
        page boundary shifts the rest: one row repeats, the new one is never on a page we read) and
        it is walked again from page 1. Keys already yielded are skipped on every walk.
        """
        yielded: set[Hashable] = set()
        for walk in range(1, self.max_rereads + 2):
            seen: set[Hashable] = set()
            totals: set[int] = set()
            repeated = False
            page = 1
            while True:
                data = self._data(
                    self.request_json(
                        "GET", url, params={**params, "page": page, "page_size": self.page_size}
                    ),
                    url,
                )
                rows = data.get("list") or []
                info = data.get("page_info") if isinstance(data.get("page_info"), dict) else {}
                totals.add(int(info.get("total_number") or 0))
                fresh: Page = []
                for row in rows:
                    row_key = key(row)
                    if row_key is None:
                        raise ApiError(self.display_name, f"a row of {url} has no key: {sorted(row)}")
                    repeated |= row_key in seen
                    seen.add(row_key)
                    if row_key not in yielded:
                        yielded.add(row_key)
                        fresh.append(row)
                if fresh:
                    yield fresh
                if not rows or page >= int(info.get("total_page") or 0):
                    break
                page += 1
            if len(totals) == 1 and not repeated and len(seen) == totals.pop():
                return
            stats = self._endpoint_stats(self.endpoint_name(self._client.build_request("GET", url)))
            stats["rereads"] = stats.get("rereads", 0) + 1
            logger.info(
                "TikTok %s changed while it was paged (walk %d: %d rows, totals %s%s); reading it again",
                url,
                walk,
                len(seen),
                sorted(totals),
                ", a row repeated" if repeated else "",
            )
        raise TransientError(
            self.display_name,
            f"{url} kept changing while it was paged ({self.max_rereads + 1} walks); try again later",
        )

    # -- advertisers --------------------------------------------------------------------------------------

    def _discover_advertisers(self) -> list[str]:
        if not (self.app_id and self.app_secret):
            raise CredentialsError(
                self.display_name,
                "listing TikTok advertisers needs the app's id and secret (the connection's client id "
                "and secret); store them, or configure the advertiser ids to sync",
            )
        data = self._get_data("oauth2/advertiser/get/", {"app_id": self.app_id, "secret": self.app_secret})
        ids = [normalize_account_id(a["advertiser_id"]) for a in data.get("list") or []]
        active: list[str] = []
        for page in self._advertiser_info(ids, ("advertiser_id", "status")):
            for info in page:
                if info.get("status") in DISABLED_ADVERTISER_STATUSES:
                    logger.info(
                        "TikTok advertiser %s is %s; skipped", info.get("advertiser_id"), info["status"]
                    )
                    continue
                active.append(normalize_account_id(info["advertiser_id"]))
        return active

    def _advertiser_info(self, advertiser_ids: Sequence[str], fields: Sequence[str]) -> Iterator[Page]:
        for start in range(0, len(advertiser_ids), MAX_ADVERTISER_IDS):
            chunk = list(advertiser_ids[start : start + MAX_ADVERTISER_IDS])
            data = self._get_data(
                "advertiser/info/", {"advertiser_ids": json.dumps(chunk), "fields": json.dumps(list(fields))}
            )
            records = data.get("list") or []
            for record in records:
                zone = record.get("display_timezone")
                if zone:
                    self._remember_timezone(str(record.get("advertiser_id")), str(zone))
            if records:
                yield records

    def _remember_timezone(self, advertiser: str, name: str) -> None:
        try:
            self._timezones[advertiser] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("TikTok advertiser %s has an unknown display_timezone %r", advertiser, name)

    def _local_today(self, advertiser: str) -> date:
        """Today in the advertiser's timezone (its reports' days and hours are local to it)."""
        if advertiser not in self._timezones:
            for _ in self._advertiser_info([advertiser], ("advertiser_id", "display_timezone")):
                pass
        zone = self._timezones.get(advertiser)
        if zone is None:
            raise ApiError(self.display_name, f"advertiser {advertiser} has no usable display_timezone")
        return self.today(zone)

    # -- reports --------------------------------------------------------------------------------------

    def _report(
        self, advertiser: str, time_dimension: str, metrics: Sequence[str], start: date, stop: date
    ) -> Iterator[Page]:
        params = {
            "advertiser_id": advertiser,
            "service_type": "AUCTION",
            "report_type": "BASIC",
            "data_level": "AUCTION_AD",
            "dimensions": json.dumps(["ad_id", time_dimension]),
            "metrics": json.dumps(list(metrics)),
            "start_date": start.isoformat(),
            "end_date": stop.isoformat(),
        }
        for page in self._paged(self._path("report/integrated/get/"), params, key=_report_row_key):
            # The one addition to TikTok's rows: whose they are (see the module docstring).
            yield [{**row, ACCOUNT_ID_KEY: advertiser} for row in page]


def _check_window(since: date, until: date) -> None:
    if since > until:
        raise ValueError(f"since ({since}) is after until ({until})")


__all__ = [
    "ACCOUNT_ID_KEY",
    "DAILY_METRICS",
    "DEFAULT_LOOKBACK_DAYS",
    "HOURLY_METRICS",
    "TIKTOK_STREAMS",
    "TikTokConnector",
    "normalize_account_id",
]
