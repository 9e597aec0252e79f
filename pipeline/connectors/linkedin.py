"""LinkedIn Marketing API connector (versioned REST, ``https://api.linkedin.com/rest``).

What the public documentation says (learn.microsoft.com/linkedin/marketing), and how we use it:

- **Versioning**: every call goes to ``/rest/...`` with ``LinkedIn-Version: YYYYMM`` (monthly
  releases, each supported about a year, then sunset: an unknown or sunset version is refused) and
  ``X-Restli-Protocol-Version: 2.0.0`` (Rest.li 2.0 syntax: ``List(...)`` and ``(key:value)`` query
  values with URNs percent-encoded inside, parentheses and commas not). The legacy ``/v2`` base
  path is sunset.
- **Auth**: OAuth 2.0 bearer tokens. Access tokens live 60 days; programmatic refresh tokens
  (Marketing Developer Platform partners) live 365 days from the first grant, and refreshing
  (``POST https://www.linkedin.com/oauth/v2/accessToken``, ``grant_type=refresh_token``) gives a new
  60-day access token without extending the refresh token. A 401 (``EXPIRED_ACCESS_TOKEN``,
  ``INVALID_ACCESS_TOKEN``) is refreshed once; ``invalid_grant`` means reconnect. Scopes:
  ``r_ads``, ``r_ads_reporting``, ``rw_ads`` (writes).
- **Hierarchy**: ad accounts (``urn:li:sponsoredAccount:{id}``; status ACTIVE, DRAFT, CANCELED,
  PENDING_DELETION, REMOVED; currency per account) → campaign groups
  (``urn:li:sponsoredCampaignGroup:{id}``) → campaigns (``urn:li:sponsoredCampaign:{id}``; status
  ACTIVE, PAUSED, ARCHIVED, COMPLETED, CANCELED, DRAFT, PENDING_DELETION, REMOVED; ``dailyBudget``
  and ``totalBudget`` as ``{"amount": "50.00", "currencyCode": "USD"}``, amount a string in major
  units; ``runSchedule`` in epoch milliseconds) → creatives (``urn:li:sponsoredCreative:{id}``,
  ``intendedStatus``). Budgets and status live on the campaign: it is the house *campaign*; LinkedIn
  has no level between campaign and creative (house *ad*), so there are no ad groups.
- **Lists**: ``GET /rest/adAccounts?q=search``, ``/rest/adAccounts/{id}/adCampaignGroups?q=search``,
  ``/rest/adAccounts/{id}/adCampaigns?q=search``, ``/rest/adAccounts/{id}/creatives?q=criteria``
  page by cursor (since 202401): ``pageSize`` (default 100, at most 1000) and ``pageToken`` =
  ``metadata.nextPageToken`` of the previous answer, absent on the last page. Answers are
  ``{"elements": [...], "metadata": {"nextPageToken": ...}}``.
- **Reporting**: ``GET /rest/adAnalytics?q=analytics&pivot=CREATIVE&timeGranularity=DAILY`` with
  ``dateRange=(start:(year:2026,month:11,day:1),end:(year:2026,month:11,day:19))`` (inclusive, UTC
  days), ``accounts=List(urn%3Ali%3AsponsoredAccount%3A{id})`` and ``fields=`` (at most 20 metrics):
  we ask ``dateRange,pivotValues,costInLocalCurrency,impressions,clicks,externalWebsiteConversions,
  conversionValueInLocalCurrency``. Granularity is ALL, DAILY, MONTHLY or YEARLY: there are no hourly
  reports, so LinkedIn has no hourly stream. The answer is one element per creative and day with
  activity (``pivotValues: ["urn:li:sponsoredCreative:..."]``; money as decimal strings, counts as
  numbers) and is **not paginated**: a request whose answer would exceed 15,000 elements is refused,
  so the window is halved and read again. Conversions are attributed back to the click or view day
  (default windows 30-day click, 7-day view): recent days restate for about 30 days.
- **Writes**: ``POST /rest/adAccounts/{account}/adCampaigns/{id}`` with ``X-RestLi-Method:
  PARTIAL_UPDATE`` and ``{"patch": {"$set": {"status": "PAUSED", "dailyBudget": {...}}}}``; the
  answer is ``204 No Content``, so the campaign is read back.
- **Errors and limits**: ``{"status": 429, "serviceErrorCode": 101, "code": "TOO_MANY_REQUESTS",
  "message": "..."}``: ``status`` is the HTTP status, ``serviceErrorCode`` a subcode. Limits are per
  application and per member per day (reset at midnight UTC, not published, shown in the developer
  portal); a 429 may also come from infrastructure protection. No Retry-After: we back off.

Records (everything the API sent is kept; units and names are staging's job): each entity object
verbatim plus ``_account_id`` (the ad account id as text; LinkedIn's objects name it as a URN, if at
all); analytics elements verbatim plus ``_account_id``, ``_creative_id`` (the id in ``pivotValues``)
and ``_date`` (the ISO day of ``dateRange.start``) for the raw keys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from pipeline.connectors.base import Credentials, KeyColumn, Page, RawStream, TokenRefreshCallback
from pipeline.connectors.declarations import (
    OAUTH_STATUS_ERROR_MAP,
    UNPAGED,
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
)

logger = logging.getLogger(__name__)

PLATFORM = "linkedin"
API_VERSION = "202606"  # LinkedIn-Version: a monthly release, supported about a year
RESTLI_PROTOCOL_VERSION = "2.0.0"
PRODUCTION_BASE_URL = "https://api.linkedin.com"
PRODUCTION_TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
MAX_PAGE_SIZE = 1000
# searches return metadata.nextPageToken, at most MAX_PAGE_SIZE a page
_PAGES = Paging(PagingStyle.PAGE_TOKEN, MAX_PAGE_SIZE)
# Conversions restate for the 30-day click window: re-read that much.
DEFAULT_LOOKBACK_DAYS = 30
ANALYTICS_WINDOW_DAYS = 31  # days per analytics request; halved when LinkedIn refuses the size
ANALYTICS_FIELDS = (
    "dateRange",
    "pivotValues",
    "costInLocalCurrency",
    "impressions",
    "clicks",
    "externalWebsiteConversions",
    "conversionValueInLocalCurrency",
)
INACTIVE_ACCOUNT_STATUSES = frozenset({"CANCELED", "DRAFT", "PENDING_DELETION", "REMOVED"})
# Every campaign status: a search without a status filter leaves out nothing, but say it.
CAMPAIGN_STATUSES = ("ACTIVE", "PAUSED", "ARCHIVED", "COMPLETED", "CANCELED", "DRAFT", "PENDING_DELETION")
# The answer would hold more elements than LinkedIn returns in one (adAnalytics has no paging).
TOO_MANY_ELEMENTS = "TOO_MANY_ELEMENTS"
ACCOUNT_URN = "urn:li:sponsoredAccount:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"
CREATIVE_URN = "urn:li:sponsoredCreative:"

_ACCOUNT_KEY = KeyColumn("account_id", "text", "_account_id")

LINKEDIN_STREAMS: dict[str, RawStream] = {
    "ad_accounts": RawStream(
        PLATFORM, "ad_accounts", (_ACCOUNT_KEY,), None,
        "Ad accounts (name, currency, status, type, reference), objects verbatim plus _account_id.",
        paging=UNPAGED,
    ),
    "campaign_groups": RawStream(
        PLATFORM, "campaign_groups", (_ACCOUNT_KEY, KeyColumn("campaign_group_id", "text", "_id")), None,
        "Campaign groups (name, status, totalBudget, runSchedule) verbatim.",
        paging=_PAGES,
    ),
    "campaigns": RawStream(
        PLATFORM, "campaigns", (_ACCOUNT_KEY, KeyColumn("campaign_id", "text", "_id")), None,
        "Campaigns: status, objectiveType, dailyBudget / totalBudget {amount, currencyCode}, runSchedule.",
        paging=_PAGES,
    ),
    "creatives": RawStream(
        PLATFORM, "creatives", (_ACCOUNT_KEY, KeyColumn("creative_id", "text", "_id")), None,
        "Creatives (LinkedIn's ads): campaign URN, intendedStatus, name, verbatim.",
        paging=_PAGES,
    ),
    "ads_insights_daily": RawStream(
        PLATFORM,
        "ads_insights_daily",
        (_ACCOUNT_KEY, KeyColumn("creative_id", "text", "_creative_id"), KeyColumn("report_date", "date", "_date")),
        "report_date",
        "adAnalytics pivot=CREATIVE, timeGranularity=DAILY (UTC days); money as decimal strings.",
        # by default yesterday and the restated days before it; a request LinkedIn finds too large is halved
        report_window=ReportWindow(
            default_days=DEFAULT_LOOKBACK_DAYS + 1,
            max_days_per_request=ANALYTICS_WINDOW_DAYS,
            restatement_days=DEFAULT_LOOKBACK_DAYS,
        ),
        paging=UNPAGED,
    ),
}  # fmt: skip

# entity stream -> (path under the account, finder)
_ENTITY_PATHS: dict[str, tuple[str, str]] = {
    "campaign_groups": ("adCampaignGroups", "search"),
    "campaigns": ("adCampaigns", "search"),
    "creatives": ("creatives", "criteria"),
}


def urn_id(urn: Any) -> str:
    """``urn:li:sponsoredCampaign:123`` -> ``123`` (a bare id stays as it is)."""
    return str(urn).rsplit(":", 1)[-1] if urn is not None else ""


def _restli_date(day: date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def _digits(value: str, what: str) -> str:
    text = urn_id(str(value).strip())
    if not text.isdigit():
        raise ValueError(f"a LinkedIn {what} is numeric (or its URN), got {value!r}")
    return text


class LinkedInConnector(HttpApiClient):
    """LinkedIn Marketing API connector: :class:`~pipeline.connectors.base.Connector` and ``CampaignWriter``."""

    platform = PLATFORM
    display_name = "LinkedIn"
    streams = LINKEDIN_STREAMS
    error_map = OAUTH_STATUS_ERROR_MAP
    production_base_url = PRODUCTION_BASE_URL
    production_token_url = PRODUCTION_TOKEN_URL
    restatement_lookback_days = restatement_days_of(LINKEDIN_STREAMS.values())

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        account_ids: Sequence[str] | None = None,
        on_token_refresh: TokenRefreshCallback | None = None,
        page_size: int = MAX_PAGE_SIZE,
        analytics_window_days: int = ANALYTICS_WINDOW_DAYS,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        if not credentials.access_token and not credentials.can_refresh:
            raise CredentialsError(
                "LinkedIn", "no access or refresh token is configured: connect the LinkedIn account first"
            )
        checked_page_size(LINKEDIN_STREAMS.values(), page_size, "page_size")
        super().__init__(
            base_url,
            credentials=credentials,
            on_token_refresh=on_token_refresh,
            headers={
                "Accept": "application/json",
                "LinkedIn-Version": API_VERSION,
                "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
            },
            retry=retry,
            sleep=sleep,
            transport=transport,
            timeout=timeout,
            clock=clock,
        )
        self.account_ids = [_digits(a, "ad account id") for a in account_ids] if account_ids else None
        self.page_size = page_size
        self.analytics_window_days = max(1, analytics_window_days)

    # -- Connector protocol ---------------------------------------------------------------------------

    def list_account_ids(self) -> list[str]:
        """Configured account ids, or every ACTIVE, non-test ad account the token can reach."""
        if self.account_ids is not None:
            return list(self.account_ids)
        ids = []
        for page in self._paged("/rest/adAccounts", {"q": "search"}):
            for account in page:
                status = str(account.get("status") or "")
                if status in INACTIVE_ACCOUNT_STATUSES or account.get("test"):
                    logger.info(
                        "LinkedIn ad account %s is %s; skipped", account.get("id"), status or "a test"
                    )
                    continue
                ids.append(urn_id(account.get("id")))
        return list(dict.fromkeys(ids))

    def read(
        self, stream: str, account_id: str, since: date | None = None, until: date | None = None
    ) -> Iterator[Page]:
        """Pages of records (module docstring). ``ads_insights_daily`` covers complete UTC days of
        ``since``..``until`` (default: the last ``DEFAULT_LOOKBACK_DAYS`` + 1 complete days)."""
        if stream not in self.streams:
            raise ValueError(f"unknown LinkedIn stream {stream!r}; known streams: {', '.join(self.streams)}")
        account = _digits(account_id, "ad account id")
        if stream == "ad_accounts":
            body = self.request_json("GET", f"/rest/adAccounts/{account}")
            yield [{**body, "_account_id": account}]
        elif stream in _ENTITY_PATHS:
            path, finder = _ENTITY_PATHS[stream]
            params = {"q": finder}
            if stream == "campaigns":
                params["search"] = f"(status:(values:List({','.join(CAMPAIGN_STATUSES)})))"
            for page in self._paged(f"/rest/adAccounts/{account}/{path}", params):
                yield [{**item, "_account_id": account, "_id": urn_id(item.get("id"))} for item in page]
        else:
            yield from self._read_analytics(account, since, until)

    # -- campaign writes ------------------------------------------------------------------------------

    def campaign_state(self, campaign_id: str, *, account_id: str | None = None) -> dict[str, Any]:
        """``{"campaign_id", "account_id", "status", "platform_status", "budget_type", "daily_budget"
        (major units or None), "currency"}`` of one campaign (LinkedIn reads a campaign under its account)."""
        if not account_id:
            raise ValueError("LinkedIn reads a campaign under its ad account: account_id is required")
        account, campaign_id = _digits(account_id, "ad account id"), _digits(campaign_id, "campaign id")
        campaign = self.request_json("GET", f"/rest/adAccounts/{account}/adCampaigns/{campaign_id}")
        platform_status = str(campaign.get("status") or "")
        daily = campaign.get("dailyBudget") if isinstance(campaign.get("dailyBudget"), dict) else None
        total = campaign.get("totalBudget") if isinstance(campaign.get("totalBudget"), dict) else None
        return {
            "campaign_id": campaign_id,
            "account_id": account,
            "status": {"ACTIVE": "ACTIVE", "PAUSED": "PAUSED", "ARCHIVED": "ARCHIVED"}.get(
                platform_status, "REMOVED" if platform_status in ("REMOVED", "PENDING_DELETION") else None
            ),
            "platform_status": platform_status,
            "budget_type": "DAILY" if daily else ("LIFETIME" if total else None),
            "daily_budget": round(float(daily["amount"]), 2) if daily else None,
            "currency": (daily or total or {}).get("currencyCode"),
        }

    def update_arguments(
        self, *, account_id: str, status: str | None, daily_budget: float | None, currency: str
    ) -> dict[str, Any]:
        """LinkedIn budgets are ``{amount, currencyCode}`` in major units: the account currency goes along."""
        arguments: dict[str, Any] = {"account_id": account_id}
        if status is not None:
            arguments["status"] = status
        if daily_budget is not None:
            arguments["daily_budget"] = round(float(daily_budget), 2)
            arguments["currency"] = currency
        return arguments

    def update_campaign(
        self,
        campaign_id: str,
        *,
        account_id: str,
        status: str | None = None,
        daily_budget: float | None = None,
        currency: str | None = None,
    ) -> dict[str, Any]:
        """A Rest.li PARTIAL_UPDATE of status and/or daily budget; the campaign as read back after it."""
        account, campaign_id = _digits(account_id, "ad account id"), _digits(campaign_id, "campaign id")
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = status
        if daily_budget is not None:
            if not currency:
                raise ValueError("a LinkedIn daily budget needs the account currency")
            changes["dailyBudget"] = {"amount": f"{float(daily_budget):.2f}", "currencyCode": currency}
        if not changes:
            raise ValueError("nothing to update: give a status or a daily budget")
        self.request_json(
            "POST",
            f"/rest/adAccounts/{account}/adCampaigns/{campaign_id}",
            json_body={"patch": {"$set": changes}},
            headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
        )
        return self.campaign_state(campaign_id, account_id=account)

    # -- LinkedIn specifics for the shared HTTP machinery ---------------------------------------------

    def classify_error(self, response: httpx.Response, body: Any, endpoint: str) -> ApiError | None:
        status = response.status_code
        if status < 400:
            return None
        code = body.get("code") if isinstance(body, dict) else None
        detail = f"HTTP {status}"
        if isinstance(body, dict):
            parts = [str(p) for p in (code, body.get("serviceErrorCode"), body.get("message")) if p]
            if parts:
                detail += ": " + " ".join(parts)
        # LinkedIn sends no Retry-After with a 429; one is honoured if it appears
        return self.mapped_error(response, endpoint, detail, code=code)

    # -- paging and analytics -------------------------------------------------------------------------

    def _paged(self, path: str, params: Mapping[str, str]) -> Iterator[list[dict[str, Any]]]:
        """Elements of a cursor-paged search, page by page (``pageToken`` = ``metadata.nextPageToken``)."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            query = {**params, "pageSize": str(self.page_size), **({"pageToken": token} if token else {})}
            body = self.request_json("GET", self._url(path, query))
            elements = body.get("elements") if isinstance(body, dict) else None
            if not isinstance(elements, list):
                raise ApiError(self.display_name, f"answer without an elements list from {path}")
            page = [e for e in elements if isinstance(e, dict)]
            if page:
                yield page
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            token = metadata.get("nextPageToken") or None
            if not token:
                return
            if token in seen:
                raise ApiError(self.display_name, f"paging loops back on {path}")
            seen.add(token)

    @staticmethod
    def _url(path: str, query: Mapping[str, str]) -> str:
        """A Rest.li 2.0 query string: values already in Rest.li syntax, so only URNs are encoded."""
        return path + "?" + "&".join(f"{key}={value}" for key, value in query.items())

    def _read_analytics(self, account: str, since: date | None, until: date | None) -> Iterator[Page]:
        last_complete = self.today() - timedelta(days=1)  # UTC days; today's is partial
        until = min(until or last_complete, last_complete)
        window = self.streams["ads_insights_daily"].window
        since = since or window.default_since(until)
        if since > until:
            return
        pending = list(window.steps(since, until, self.analytics_window_days))
        while pending:
            start, end = pending.pop(0)
            try:
                elements = self._analytics(account, start, end)
            except ApiError as error:
                if error.code != TOO_MANY_ELEMENTS or start == end:
                    raise
                middle = start + timedelta(days=(end - start).days // 2)
                logger.info("LinkedIn analytics %s..%s too large; halved", start, end)
                pending[:0] = [(start, middle), (middle + timedelta(days=1), end)]
                continue
            if elements:
                yield elements

    def _analytics(self, account: str, start: date, end: date) -> list[dict[str, Any]]:
        query = {
            "q": "analytics",
            "pivot": "CREATIVE",
            "timeGranularity": "DAILY",
            "dateRange": f"(start:{_restli_date(start)},end:{_restli_date(end)})",
            "accounts": f"List({quote(ACCOUNT_URN + account, safe='')})",
            "fields": ",".join(ANALYTICS_FIELDS),
        }
        body = self.request_json("GET", self._url("/rest/adAnalytics", query))
        elements = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(elements, list):
            raise ApiError(self.display_name, "adAnalytics answered without an elements list")
        records = []
        for element in elements:
            day = (element.get("dateRange") or {}).get("start") or {}
            pivots = element.get("pivotValues") or [None]
            try:
                record_day = date(int(day["year"]), int(day["month"]), int(day["day"]))
            except (KeyError, TypeError, ValueError):
                raise ApiError(self.display_name, f"adAnalytics element without a day: {day!r}") from None
            records.append(
                {**element, "_account_id": account, "_creative_id": urn_id(pivots[0]),
                 "_date": record_day.isoformat()}
            )  # fmt: skip
        return records


__all__ = ["API_VERSION", "LINKEDIN_STREAMS", "LinkedInConnector", "urn_id"]
