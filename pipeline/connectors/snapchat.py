"""Snapchat Marketing API connector (``adsapi.snapchat.com/v1``).

Speaks the Ads API the way production connectors do:

- accounts: ``GET /v1/me/organizations``, then ``/v1/organizations/{id}/adaccounts`` (disabled and
  deleted accounts skipped); entities via ``/v1/adaccounts/{id}/{campaigns|adsquads|ads}`` with
  ``read_deleted_entities=true`` so retired objects whose history is in the stats stay known. Lists
  wrap every object (``{"campaigns": [{"sub_request_status": "SUCCESS", "campaign": {...}}]}``) and
  page with ``limit`` and an absolute ``paging.next_link`` (followed on our own host only);
- ad-level stats across an account in one request per window: ``GET /v1/adaccounts/{id}/stats`` with
  ``breakdown=ad``, ``granularity`` DAY or HOUR, ``omit_empty=true``, pinned attribution windows,
  and ``start_time`` / ``end_time`` at the account's local midnight *with that date's UTC offset*
  (Snap rejects anything else, and DST moves the offset). DAY requests span at most 31 local days,
  HOUR requests at most 7 real days (one day less across a DST fall-back week);
- the stats body nests ``timeseries_stats[].timeseries_stat.breakdown_stats.ad[].timeseries[]``;
  each ``timeseries_stats`` entry is a sub-request with its own ``sub_request_status``. A failed
  sub-request is retried alone (the page that carried it, with backoff) while everything already
  read is kept; if the account-level aggregation keeps failing, that window is read campaign by
  campaign (``/v1/campaigns/{id}/stats?breakdown=ad``), skipping ad-intervals already yielded, so
  every ad-interval arrives exactly once;
- OAuth: short-lived access tokens (30 min) are refreshed at the token URL with the refresh token on
  a 401 and the request is sent again once; ``invalid_grant`` means reconnect (CredentialsError).
  Requests are paced below Snap's ~10 per second per token; a bare HTTP 429 (Snap sends no
  Retry-After and no usage headers) backs off exponentially.
- write-back: ``PUT /v1/adaccounts/{id}/campaigns`` with the whole campaign object (Snap updates are
  full replacements), status and ``daily_budget_micro`` changed.

Records (one dict each; everything the API sent is kept, typing and units are staging's job):

- ``ad_accounts``: the ``adaccount`` object verbatim (``id``, ``name``, ``currency``, ``timezone``,
  ``status``, ``organization_id``, ...).
- ``campaigns``: the ``campaign`` object verbatim (it carries ``ad_account_id``; money in micros).
- ``ad_squads`` / ``ads``: the ``adsquad`` / ``ad`` object verbatim plus ``"_account_id"``, the ad
  account the list was read from (Snap's ad squads and ads do not name their account).
- ``ads_insights_daily`` / ``ads_insights_hourly``: one dict per ad and interval, derived from the
  nested timeseries without changing any value::

      {"ad_account_id": "<account uuid>",          # the account the stats were requested for
       "ad_id": "<ad uuid>",                       # breakdown_stats.ad[].id
       "granularity": "DAY" | "HOUR",
       "start_time": "2026-11-01T00:00:00.000-07:00",   # timeseries[].start_time, account offset
       "end_time": "2026-11-02T00:00:00.000-08:00",     # timeseries[].end_time
       "stats": {"impressions": 11440, "swipes": 88, "spend": 50960000,
                 "conversion_purchases": 7, "conversion_purchases_value": 343730000},
       "finalized_data_end_time": "...",           # from the enclosing timeseries_stat
       "swipe_up_attribution_window": "28_DAY", "view_attribution_window": "1_DAY"}

  Requests use ``omit_empty=true``: ads idle for the whole window are left out by Snap, while an
  active ad's idle days or hours arrive as all-zero intervals and are kept as sent (staging drops
  them). Raw keys: daily (account_id, ad_id, start_date = local date of ``start_time``); hourly adds
  ``start_time`` as text, which keeps both occurrences of a DST fall-back hour apart.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
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
    OAUTH_STATUS_ERROR_MAP,
    UNPAGED,
    Paging,
    PagingStyle,
    ReportWindow,
    checked_page_size,
    date_steps,
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
)

logger = logging.getLogger(__name__)

PLATFORM = "snapchat"
API_VERSION = "v1"
PRODUCTION_BASE_URL = "https://adsapi.snapchat.com"
PRODUCTION_TOKEN_URL = "https://accounts.snapchat.com/login/oauth2/access_token"
MAX_PAGE_LIMIT = 1000  # Snap accepts limit 50..1000 on lists and breakdown stats
# lists and stats follow paging.next_link, at most MAX_PAGE_LIMIT a page
_PAGES = Paging(PagingStyle.NEXT_LINK, MAX_PAGE_LIMIT)
MAX_DAY_SPAN_DAYS = 31  # DAY granularity: at most 31 local days per request
MAX_HOUR_SPAN = timedelta(days=7)  # HOUR granularity: at most 7 days per request
# Snap finalises a day's numbers about 48 h after it ends (timeseries_stat.finalized_data_end_time):
# re-reading yesterday and the 2 days before it converges on final values.
DEFAULT_LOOKBACK_DAYS = 2
DEFAULT_HOURLY_DAYS = 2  # hourly data is for recent days: yesterday and today
# Snap allows about 10 requests per second per token and answers more with a bare 429 (no usage
# headers to slow down by): pace ourselves below that.
DEFAULT_REQUESTS_PER_SECOND = 10
STATS_FIELDS = ("impressions", "swipes", "spend", "conversion_purchases", "conversion_purchases_value")
INACTIVE_ACCOUNT_STATUSES = frozenset({"DISABLED", "DELETED"})
# Fields a campaign update must not send back (server-maintained).
READ_ONLY_CAMPAIGN_FIELDS = frozenset({"updated_at", "created_at", "delivery_status", "creation_state"})
SUCCESS = "SUCCESS"

_ACCOUNT_KEY = KeyColumn("account_id", "text", "_account_id")

SNAPCHAT_STREAMS: dict[str, RawStream] = {
    "ad_accounts": RawStream(
        PLATFORM,
        "ad_accounts",
        (KeyColumn("account_id", "text", "id"),),
        None,
        "Ad accounts (currency, timezone, status, organization), objects verbatim.",
        paging=UNPAGED,
    ),
    "campaigns": RawStream(
        PLATFORM,
        "campaigns",
        (KeyColumn("account_id", "text", "ad_account_id"), KeyColumn("campaign_id", "text", "id")),
        None,
        "Campaigns: status, objective, daily_budget_micro / lifetime_spend_cap_micro (micro-currency).",
        paging=_PAGES,
    ),
    "ad_squads": RawStream(
        PLATFORM,
        "ad_squads",
        (_ACCOUNT_KEY, KeyColumn("ad_squad_id", "text", "id")),
        None,
        "Ad squads (Snap's ad groups) verbatim, plus _account_id (the account they were listed under).",
        paging=_PAGES,
    ),
    "ads": RawStream(
        PLATFORM,
        "ads",
        (_ACCOUNT_KEY, KeyColumn("ad_id", "text", "id")),
        None,
        "Ads verbatim (ad_squad_id, status, review_status), plus _account_id.",
        paging=_PAGES,
    ),
    "ads_insights_daily": RawStream(
        PLATFORM,
        "ads_insights_daily",
        (
            KeyColumn("account_id", "text", "ad_account_id"),
            KeyColumn("ad_id", "text", "ad_id"),
            KeyColumn("start_date", "date", "start_time"),
        ),
        "start_date",
        "Ad stats per local day (account stats, breakdown=ad, granularity=DAY); money in micros.",
        # by default the last complete local days: yesterday and the restated ones before it
        report_window=ReportWindow(
            default_days=DEFAULT_LOOKBACK_DAYS + 1,
            max_days_per_request=MAX_DAY_SPAN_DAYS,
            restatement_days=DEFAULT_LOOKBACK_DAYS,
        ),
        paging=_PAGES,
    ),
    "ads_insights_hourly": RawStream(
        PLATFORM,
        "ads_insights_hourly",
        (
            KeyColumn("account_id", "text", "ad_account_id"),
            KeyColumn("ad_id", "text", "ad_id"),
            KeyColumn("start_date", "date", "start_time"),
            KeyColumn("start_time", "text", "start_time"),
        ),
        "start_date",
        "Ad stats per hour (granularity=HOUR) for recent days; start_time carries the account's offset.",
        # at most 7 real days per request: hour_windows shortens a window over a 25-hour day
        report_window=ReportWindow(default_days=DEFAULT_HOURLY_DAYS, max_days_per_request=MAX_HOUR_SPAN.days),
        paging=_PAGES,
    ),
}

# entity stream -> (list edge, list key, object key)
_ENTITY_EDGES: dict[str, tuple[str, str, str]] = {
    "campaigns": ("campaigns", "campaigns", "campaign"),
    "ad_squads": ("adsquads", "adsquads", "adsquad"),
    "ads": ("ads", "ads", "ad"),
}
_GRANULARITY = {"ads_insights_daily": "DAY", "ads_insights_hourly": "HOUR"}


class SubRequestError(ApiError):
    """Snap answered 200 but a sub-request inside the body failed, and kept failing."""


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _snap_time(moment: datetime, tz: ZoneInfo) -> str:
    """``2026-11-01T00:00:00.000-07:00``: the instant in the account's zone, with that date's offset."""
    return moment.astimezone(tz).isoformat(timespec="milliseconds")


def day_windows(
    since: date, until: date, tz: ZoneInfo, max_days: int = MAX_DAY_SPAN_DAYS
) -> list[tuple[datetime, datetime]]:
    """DAY request windows covering since..until: local midnight to local midnight, ≤ 31 days each."""
    return [
        (_local_midnight(start, tz), _local_midnight(end + timedelta(days=1), tz))
        for start, end in date_steps(since, until, max_days)
    ]


def hour_windows(
    since: date, until: date, tz: ZoneInfo, now: datetime, max_days: int = MAX_HOUR_SPAN.days
) -> list[tuple[datetime, datetime]]:
    """HOUR request windows from local midnight of ``since`` to the end of the current hour at most.

    Each spans at most 7 real days; a window over a DST fall-back (a 25-hour day) would be 169 hours,
    so it stops a day earlier. Windows start at local midnight so days are never split across them.
    """
    max_span = timedelta(days=max_days)

    # All arithmetic in UTC: aware datetimes sharing one zone subtract as wall-clock times.
    def midnight(day: date) -> datetime:
        return _local_midnight(day, tz).astimezone(UTC)

    # Offsets are whole hours in every zone Snap supports: the hour boundary is the same in UTC.
    current_hour_end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    stop = min(midnight(until + timedelta(days=1)), current_hour_end)
    windows = []
    day = since
    while midnight(day) < stop:
        days = max_days
        while days > 1 and midnight(day + timedelta(days=days)) - midnight(day) > max_span:
            days -= 1
        end = min(stop, midnight(day + timedelta(days=days)))
        windows.append((midnight(day).astimezone(tz), end.astimezone(tz)))
        day += timedelta(days=days)
    return windows


class SnapchatConnector(MajorUnitCampaignWrites, HttpApiClient):
    """Snapchat Marketing API connector implementing :class:`pipeline.connectors.base.Connector`."""

    platform = PLATFORM
    display_name = "Snapchat"
    streams = SNAPCHAT_STREAMS
    error_map = OAUTH_STATUS_ERROR_MAP
    production_base_url = PRODUCTION_BASE_URL
    production_token_url = PRODUCTION_TOKEN_URL
    restatement_lookback_days = restatement_days_of(SNAPCHAT_STREAMS.values())

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        account_ids: Sequence[str] | None = None,
        on_token_refresh: TokenRefreshCallback | None = None,
        page_limit: int = MAX_PAGE_LIMIT,
        swipe_up_attribution_window: str = "28_DAY",
        view_attribution_window: str = "1_DAY",
        action_report_time: str = "impression",
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        requests_per_second: float | None = DEFAULT_REQUESTS_PER_SECOND,
    ) -> None:
        if not credentials.access_token and not credentials.can_refresh:
            raise CredentialsError(
                "Snapchat", "no access or refresh token is configured: connect the Snapchat account first"
            )
        checked_page_size(SNAPCHAT_STREAMS.values(), page_limit, "page_limit")
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
        self.account_ids = [str(a).strip() for a in account_ids] if account_ids else None
        self.page_limit = page_limit
        self.stats_params = {
            "swipe_up_attribution_window": swipe_up_attribution_window,
            "view_attribution_window": view_attribution_window,
            "action_report_time": action_report_time,
        }
        self._timezones: dict[str, ZoneInfo] = {}
        self.requests_per_second = requests_per_second
        self._recent_requests: deque[float] = deque()

    # -- Connector protocol ---------------------------------------------------------------------------

    def list_account_ids(self) -> list[str]:
        """Configured account ids, or every active ad account of every organization the token sees."""
        if self.account_ids is not None:
            return list(self.account_ids)
        ids: list[str] = []
        for organizations in self._paged(self._path("me/organizations"), {}, "organizations", "organization"):
            for organization in organizations:
                path = self._path(f"organizations/{organization['id']}/adaccounts")
                for accounts in self._paged(path, {"limit": self.page_limit}, "adaccounts", "adaccount"):
                    for account in accounts:
                        if account.get("status") in INACTIVE_ACCOUNT_STATUSES:
                            logger.info(
                                "Snapchat ad account %s is %s; skipped", account.get("id"), account["status"]
                            )
                            continue
                        ids.append(str(account["id"]))
        return list(dict.fromkeys(ids))

    def read(
        self, stream: str, account_id: str, since: date | None = None, until: date | None = None
    ) -> Iterator[Page]:
        """Yield pages of records (see the module docstring for their shapes).

        Entity streams are snapshots. ``ads_insights_daily`` covers complete local days of
        ``since``..``until`` (default: the last ``DEFAULT_LOOKBACK_DAYS`` + 1 complete days);
        ``ads_insights_hourly`` covers ``since``..``until`` up to the current hour (default:
        yesterday and today), all in the account's timezone.
        """
        if stream not in self.streams:
            raise ValueError(f"unknown Snapchat stream {stream!r}; known streams: {', '.join(self.streams)}")
        account = str(account_id).strip()
        if not account:
            raise ValueError("an ad account id is required")
        if stream == "ad_accounts":
            yield [self._account(account)]
        elif stream in _ENTITY_EDGES:
            edge, plural, singular = _ENTITY_EDGES[stream]
            params = {"limit": self.page_limit, "read_deleted_entities": "true"}
            for page in self._paged(self._path(f"adaccounts/{account}/{edge}"), params, plural, singular):
                if stream == "campaigns":
                    yield page
                else:
                    yield [{**item, "_account_id": account} for item in page]
        else:
            yield from self._read_stats(account, _GRANULARITY[stream], since, until)

    # -- write-back -------------------------------------------------------------------------------------

    def campaign_state(self, campaign_id: str, *, account_id: str | None = None) -> dict[str, Any]:
        """The campaign's current status and daily budget, as an action needs them before and after a write.

        ``{"campaign_id", "account_id", "status" (ACTIVE / PAUSED / REMOVED), "platform_status",
        "budget_type" (DAILY / LIFETIME / AD_GROUP), "daily_budget" (major units or None), "currency"}``.
        """
        body = self._get_envelope(self._path(f"campaigns/{campaign_id}"), None, "campaigns")
        campaign = body["campaigns"][0]["campaign"]
        owner = str(campaign.get("ad_account_id") or "")
        if account_id is not None and owner != str(account_id):
            raise ValueError(f"campaign {campaign_id} belongs to ad account {owner}, not {account_id}")
        platform_status = str(campaign.get("status") or "")
        daily = campaign.get("daily_budget_micro")
        lifetime = campaign.get("lifetime_spend_cap_micro")
        if daily and int(daily) > 0:
            budget_type = "DAILY"
        elif lifetime and int(lifetime) > 0:
            budget_type = "LIFETIME"
        else:
            budget_type = "AD_GROUP"
        return {
            "campaign_id": str(campaign_id),
            "account_id": owner,
            "status": {"DELETED": "REMOVED"}.get(platform_status, platform_status) or None,
            "platform_status": platform_status,
            "budget_type": budget_type,
            "daily_budget": round(int(daily) / 1_000_000, 2) if budget_type == "DAILY" else None,
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
        """Set a campaign's status (ACTIVE / PAUSED) and/or daily budget (major units); the new campaign.

        Snap replaces the whole campaign on update, so the current object is read first and sent
        back with the changes; ``daily_budget`` becomes ``daily_budget_micro``.
        """
        if status is None and daily_budget is None:
            raise ValueError("nothing to update: pass status and/or daily_budget")
        if status is not None and status not in ("ACTIVE", "PAUSED"):
            raise ValueError(f"status must be ACTIVE or PAUSED, not {status!r}")
        if daily_budget is not None and (
            isinstance(daily_budget, bool)
            or not isinstance(daily_budget, int | float)
            or not daily_budget > 0
        ):
            raise ValueError("daily_budget is a positive amount in major units of the account currency")
        body = self._get_envelope(self._path(f"campaigns/{campaign_id}"), None, "campaigns")
        campaign = body["campaigns"][0]["campaign"]
        owner = str(campaign.get("ad_account_id") or "")
        if account_id is not None and owner != str(account_id):
            raise ValueError(f"campaign {campaign_id} belongs to ad account {owner}, not {account_id}")
        updated = {k: v for k, v in campaign.items() if k not in READ_ONLY_CAMPAIGN_FIELDS}
        if status is not None:
            updated["status"] = status
        if daily_budget is not None:
            updated["daily_budget_micro"] = round(float(daily_budget) * 1_000_000)
        answer = self.request_json(
            "PUT", self._path(f"adaccounts/{owner}/campaigns"), json_body={"campaigns": [updated]}
        )
        entries = answer.get("campaigns") if isinstance(answer, dict) else None
        entry = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
        if entry.get("sub_request_status") != SUCCESS or not isinstance(entry.get("campaign"), dict):
            reason = entry.get("sub_request_error_reason") or "no campaign in the answer"
            raise ApiError(self.display_name, f"campaign {campaign_id} update failed: {reason}")
        return entry["campaign"]

    # -- Snapchat specifics for the shared HTTP machinery -------------------------------------------------

    def classify_error(self, response: httpx.Response, body: Any, endpoint: str) -> ApiError | None:
        status = response.status_code
        if status < 400:
            return None
        code: str | None = None
        detail = f"HTTP {status}"
        if isinstance(body, dict):
            code = body.get("error_code")
            message = body.get("debug_message") or body.get("display_message")
            reasons = _sub_request_reasons(body)
            parts = [p for p in (code, message, "; ".join(reasons)) if p]
            if parts:
                detail += ": " + " ".join(str(p) for p in parts)
            if body.get("request_id"):
                detail += f" (request_id {body['request_id']})"
        # 401: expired (30-minute tokens) or invalid; Snap sends no Retry-After, honoured if it appears
        return self.mapped_error(response, endpoint, detail, code=code)

    def request_json(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._pace(method, url)
        return super().request_json(method, url, *args, **kwargs)

    def _pace(self, method: str, url: str) -> None:
        """Stay under ``requests_per_second`` (a sliding one-second window) before each request."""
        if not self.requests_per_second:
            return
        now = time.monotonic()
        recent = self._recent_requests
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self.requests_per_second:
            wait = recent[0] + 1.0 - now
            stats = self._endpoint_stats(self.endpoint_name(self._client.build_request(method, url)))
            stats["throttle_sleeps"] += 1
            stats["throttle_sleep_s"] += wait
            self.sleep(wait)
            recent.popleft()
        recent.append(time.monotonic())

    # -- envelopes, sub-requests and paging ----------------------------------------------------------------

    def _path(self, path: str) -> str:
        return f"/{API_VERSION}/{path}"

    def _get_envelope(self, url: str, params: Mapping[str, Any] | None, plural: str) -> dict[str, Any]:
        """GET a wrapped answer whose ``plural`` entries all succeeded, retrying failed sub-requests.

        HTTP-level trouble is retried by ``request_json``; this retries a 200 whose sub-requests
        failed (or whose body lacks the list), with the same backoff, then gives up clearly.
        """
        attempt = 0
        while True:
            attempt += 1
            body = self.request_json("GET", url, params=params)
            problems = _failed_sub_requests(body, plural)
            if not problems:
                return body
            endpoint = self.endpoint_name(self._client.build_request("GET", url, params=params))
            stats = self._endpoint_stats(endpoint)
            stats["sub_request_errors"] = stats.get("sub_request_errors", 0) + 1
            if attempt >= self.retry.max_attempts:
                raise SubRequestError(
                    self.display_name,
                    f"sub-request failed: {'; '.join(problems)} (gave up after {attempt} attempts)",
                    endpoint=endpoint,
                )
            delay = self.retry.backoff(attempt, self._rng)
            stats["retries"] += 1
            stats["backoff_sleep_s"] += delay
            logger.info("Snapchat %s sub-request failed (%s); retry in %.1fs", endpoint, problems[0], delay)
            self.sleep(delay)

    def _paged(
        self, path: str, params: Mapping[str, Any] | None, plural: str, singular: str
    ) -> Iterator[list[dict[str, Any]]]:
        """The ``singular`` objects of a wrapped list, page by page, following ``paging.next_link``."""
        url, query = path, dict(params) if params else None
        followed: set[str] = set()
        while True:
            body = self._get_envelope(url, query, plural)
            items = [entry[singular] for entry in body[plural] if isinstance(entry.get(singular), dict)]
            if items:
                yield items
            link = _next_link(body)
            if not link:
                return
            url, query = self._own_link(link), None
            if url in followed:
                raise ApiError(self.display_name, f"paging loops back to {self.redact.url(url)}")
            followed.add(url)

    def _own_link(self, link: str) -> str:
        """A server-built next link, on our own host only (the token travels in the header)."""
        url = httpx.URL(link)
        base = self._client.base_url
        if url.is_absolute_url and (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            raise ApiError(self.display_name, f"refusing to follow a paging link to another host: {url.host}")
        return link

    # -- accounts -----------------------------------------------------------------------------------------

    def _account(self, account_id: str) -> dict[str, Any]:
        body = self._get_envelope(self._path(f"adaccounts/{account_id}"), None, "adaccounts")
        account = body["adaccounts"][0]["adaccount"]
        self._remember_timezone(account_id, account)
        return account

    def _remember_timezone(self, account_id: str, account: Mapping[str, Any]) -> ZoneInfo:
        name = str(account.get("timezone") or "")
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ApiError(
                self.display_name, f"ad account {account_id} has an unknown timezone {name!r}"
            ) from None
        self._timezones[account_id] = zone
        return zone

    def account_timezone(self, account_id: str) -> ZoneInfo:
        """The account's IANA zone (read once per connector): stats windows are local to it."""
        zone = self._timezones.get(account_id)
        return zone if zone is not None else self._remember_timezone(account_id, self._account(account_id))

    # -- stats --------------------------------------------------------------------------------------------

    def _read_stats(
        self, account_id: str, granularity: str, since: date | None, until: date | None
    ) -> Iterator[Page]:
        if since is not None and until is not None and since > until:
            raise ValueError(f"since ({since}) is after until ({until})")
        tz = self.account_timezone(account_id)
        now = self.clock()
        today = now.astimezone(tz).date()
        if granularity == "DAY":
            window = self.streams["ads_insights_daily"].window
            # Complete local days only: today's DAY bucket would be partial.
            last_complete = today - timedelta(days=1)
            until = min(until or last_complete, last_complete)
            since = since or window.default_since(until)
            windows = day_windows(since, until, tz, window.max_days_per_request) if since <= until else []
        else:
            window = self.streams["ads_insights_hourly"].window
            until = min(until or today, today)
            since = since or window.default_since(until)
            windows = (
                hour_windows(since, until, tz, now, window.max_days_per_request) if since <= until else []
            )
        for start, end in windows:
            yield from self._read_window(account_id, granularity, start, end, tz)

    def _stats_query(self, granularity: str, start: datetime, end: datetime, tz: ZoneInfo) -> dict[str, Any]:
        return {
            "granularity": granularity,
            "breakdown": "ad",
            "fields": ",".join(STATS_FIELDS),
            "start_time": _snap_time(start, tz),
            "end_time": _snap_time(end, tz),
            "omit_empty": "true",
            "limit": self.page_limit,
            **self.stats_params,
        }

    def _read_window(
        self, account_id: str, granularity: str, start: datetime, end: datetime, tz: ZoneInfo
    ) -> Iterator[Page]:
        """One stats window of the account; every (ad, interval) exactly once."""
        query = self._stats_query(granularity, start, end, tz)
        emitted: set[tuple[str, str]] = set()
        try:
            for page in self._stats_pages(self._path(f"adaccounts/{account_id}/stats"), query, account_id):
                emitted.update((r["ad_id"], r["start_time"]) for r in page)
                yield page
            return
        except SubRequestError as exc:
            # The account-level aggregation keeps failing: ask campaign by campaign instead.
            logger.warning(
                "Snapchat account %s stats %s..%s failed (%s); reading campaign by campaign",
                account_id,
                query["start_time"],
                query["end_time"],
                exc.message,
            )
        for campaigns in self._paged(
            self._path(f"adaccounts/{account_id}/campaigns"),
            {"limit": self.page_limit, "read_deleted_entities": "true"},
            "campaigns",
            "campaign",
        ):
            for campaign in campaigns:
                path = self._path(f"campaigns/{campaign['id']}/stats")
                for page in self._stats_pages(path, query, account_id):
                    fresh = [r for r in page if (r["ad_id"], r["start_time"]) not in emitted]
                    emitted.update((r["ad_id"], r["start_time"]) for r in fresh)
                    if fresh:
                        yield fresh

    def _stats_pages(self, path: str, query: Mapping[str, Any], account_id: str) -> Iterator[Page]:
        url, params = path, dict(query)
        followed: set[str] = set()
        while True:
            body = self._get_envelope(url, params, "timeseries_stats")
            records = _ad_interval_records(body, account_id)
            if records:
                yield records
            link = _next_link(body)
            if not link:
                return
            url, params = self._own_link(link), None
            if url in followed:
                raise ApiError(self.display_name, f"paging loops back to {self.redact.url(url)}")
            followed.add(url)


def _failed_sub_requests(body: Any, plural: str) -> list[str]:
    """Why the answer cannot be used: failed sub-requests, or no ``plural`` list at all."""
    if not isinstance(body, dict) or not isinstance(body.get(plural), list):
        status = body.get("request_status") if isinstance(body, dict) else None
        return [f"answer without a '{plural}' list (request_status {status})"]
    return [
        str(entry.get("sub_request_error_reason") or entry.get("sub_request_status") or "unknown")
        for entry in body[plural]
        if not isinstance(entry, dict) or entry.get("sub_request_status") != SUCCESS
    ]


def _sub_request_reasons(body: Mapping[str, Any]) -> list[str]:
    reasons = []
    for value in body.values():
        if isinstance(value, list):
            reasons += [
                str(e["sub_request_error_reason"])
                for e in value
                if isinstance(e, dict) and e.get("sub_request_error_reason")
            ]
    return reasons


def _next_link(body: Mapping[str, Any]) -> str | None:
    paging = body.get("paging")
    link = paging.get("next_link") if isinstance(paging, dict) else None
    if not link:  # some answers page inside the stat object
        for entry in body.get("timeseries_stats") or []:
            stat = entry.get("timeseries_stat") if isinstance(entry, dict) else None
            inner = stat.get("paging") if isinstance(stat, dict) else None
            if isinstance(inner, dict) and inner.get("next_link"):
                return str(inner["next_link"])
    return str(link) if link else None


def _ad_interval_records(body: Mapping[str, Any], account_id: str) -> list[dict[str, Any]]:
    """One record per (ad, interval) from a stats answer with ``breakdown=ad``; values untouched."""
    records: list[dict[str, Any]] = []
    for entry in body.get("timeseries_stats") or []:
        stat = entry.get("timeseries_stat") or {}
        context = {
            key: stat[key]
            for key in ("finalized_data_end_time", "swipe_up_attribution_window", "view_attribution_window")
            if key in stat
        }
        for ad in (stat.get("breakdown_stats") or {}).get("ad") or []:
            for point in ad.get("timeseries") or []:
                records.append(
                    {
                        "ad_account_id": account_id,
                        "ad_id": ad.get("id"),
                        "granularity": ad.get("granularity") or stat.get("granularity"),
                        "start_time": point.get("start_time"),
                        "end_time": point.get("end_time"),
                        "stats": point.get("stats") or {},
                        **context,
                    }
                )
    return records


__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "SNAPCHAT_STREAMS",
    "STATS_FIELDS",
    "SnapchatConnector",
    "SubRequestError",
    "day_windows",
    "hour_windows",
]
