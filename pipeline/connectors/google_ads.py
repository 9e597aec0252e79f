"""Google Ads API connector (REST + GAQL).

Speaks the API the way production connectors do:

- every read is one GAQL query sent to ``POST /v{N}/customers/{cid}/googleAds:searchStream``
  (``{"query": ...}`` → a JSON array of batches ``{results, fieldMask, requestId}``, not paged).
  ``use_search_stream=False`` uses ``googleAds:search`` instead, following ``nextPageToken``; an
  expired page token restarts the query and skips the rows already yielded (by natural key), so
  every row still arrives exactly once;
- accounts: ``customers:listAccessibleCustomers``, then a ``customer_client`` query under each
  accessible customer (sent with ``login-customer-id`` = that customer) lists the whole hierarchy;
  managers and clients that are not ENABLED are skipped, and each client is then read through the
  manager it was found under. A configured ``login_customer_id`` (the MCC) is used for every call;
- headers ``Authorization: Bearer``, ``developer-token``, ``login-customer-id``; an expired or
  invalid access token (401 UNAUTHENTICATED) is refreshed once at the OAuth token URL and the call
  retried; ``invalid_grant`` on refresh, a bad developer token or a permission error is a
  :class:`CredentialsError` (reconnect); 403 CUSTOMER_NOT_ENABLED is the account's own problem
  (:class:`AccountNotEnabledError`), not the connection's;
- quota: 429 RESOURCE_EXHAUSTED carries ``quotaErrorDetails.retryDelay``; a short delay is waited,
  one longer than the retry policy's ``max_wait`` (Google's daily caps ask for hours) fails the run
  with a clear message instead. INTERNAL_ERROR, TRANSIENT_ERROR, DEADLINE_EXCEEDED, 5xx, timeouts
  and broken JSON (including a searchStream array that ends in an error element) are retried;
- write-back: ``campaigns:mutate`` (status) and ``campaignBudgets:mutate`` (``amountMicros``).

Records are yielded exactly as the API sent them: camelCase, int64 as strings (``costMicros``,
``impressions``, ``clicks``), doubles as numbers (``conversions``, ``conversionsValue``), money in
micros of the account currency, ``segments.date`` / ``segments.hour`` in the account's timezone.
Every query selects ``customer.id``, so each record carries its account id at ``customer.id``.
Typing and units are staging's job (dbt).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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
    SERVER_ERRORS,
    ErrorMap,
    ErrorOutcome,
    ErrorRule,
    Paging,
    PagingStyle,
    ReportWindow,
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

PLATFORM = "google_ads"
API_VERSION = "v23"
PRODUCTION_BASE_URL = "https://googleads.googleapis.com"
PRODUCTION_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_LOOKBACK_DAYS = 30  # conversions restate within the conversion window (30 days by default)
DEFAULT_HOURLY_DAYS = 3  # hourly rows are read for today and the two days before
DEFAULT_DAYS_PER_QUERY = 7  # one daily report query covers at most this many days (bounded bodies)
# searchStream answers a query in one streamed response (use_search_stream=False pages by token)
SEARCH_STREAM = Paging(PagingStyle.STREAM)
MAX_PAGE_TOKEN_RESTARTS = 3  # a :search whose page tokens keep expiring gives up after this

# -- error codes (GoogleAdsFailure.errors[].errorCode values) -----------------------------------------
# The connection itself is unusable: a person must fix the developer token, OAuth grant or access.
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "DEVELOPER_TOKEN_INVALID",
        "DEVELOPER_TOKEN_NOT_APPROVED",
        "DEVELOPER_TOKEN_PROHIBITED",
        "USER_PERMISSION_DENIED",
        "ORGANIZATION_NOT_ASSOCIATED_WITH_DEVELOPER_TOKEN",
        "GOOGLE_ACCOUNT_DELETED",
        "TWO_STEP_VERIFICATION_NOT_ENROLLED",
        "ADVANCED_PROTECTION_NOT_ENROLLED",
        "ACTION_NOT_PERMITTED",
    }
)
ACCOUNT_NOT_ENABLED_CODES = frozenset({"CUSTOMER_NOT_ENABLED"})
QUOTA_ERROR_CODES = frozenset({"RESOURCE_EXHAUSTED", "RESOURCE_TEMPORARILY_EXHAUSTED"})
TRANSIENT_ERROR_CODES = frozenset({"INTERNAL_ERROR", "TRANSIENT_ERROR", "DEADLINE_EXCEEDED"})
TRANSIENT_STATUSES = frozenset({"INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN", "ABORTED"})
PAGE_TOKEN_EXPIRED_CODES = frozenset({"EXPIRED_PAGE_TOKEN"})

# Campaign statuses the write-back accepts (the house words) -> Google's.
_WRITE_STATUS = {"ACTIVE": "ENABLED", "PAUSED": "PAUSED"}
# Currencies whose minimum unit is a whole unit; budgets elsewhere step in hundredths.
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "COP", "HUF", "ISK", "IDR", "TWD", "VND", "PYG"})

# -- GAQL fields per stream (every query selects customer.id: it is the raw tables' account key) ------
ACCOUNT_FIELDS = (
    "customer.id",
    "customer.descriptive_name",
    "customer.currency_code",
    "customer.time_zone",
    "customer.status",
    "customer.manager",
    "customer.test_account",
    "customer.auto_tagging_enabled",
)
CAMPAIGN_FIELDS = (
    "customer.id",
    "customer.currency_code",
    "campaign.id",
    "campaign.name",
    "campaign.status",
    "campaign.serving_status",
    "campaign.advertising_channel_type",
    "campaign.bidding_strategy_type",
    "campaign.start_date_time",
    "campaign.end_date_time",
    "campaign.campaign_budget",
    "campaign_budget.amount_micros",
    "campaign_budget.total_amount_micros",
    "campaign_budget.period",
    "campaign_budget.explicitly_shared",
)
AD_GROUP_FIELDS = (
    "customer.id",
    "campaign.id",
    "ad_group.id",
    "ad_group.name",
    "ad_group.status",
    "ad_group.type",
    "ad_group.cpc_bid_micros",
)
AD_FIELDS = (
    "customer.id",
    "campaign.id",
    "ad_group.id",
    "ad_group_ad.ad.id",
    "ad_group_ad.ad.name",
    "ad_group_ad.ad.type",
    "ad_group_ad.status",
    "ad_group_ad.policy_summary.approval_status",
)
INSIGHTS_FIELDS = (
    "customer.id",
    "customer.descriptive_name",
    "customer.currency_code",
    "customer.time_zone",
    "campaign.id",
    "campaign.name",
    "ad_group.id",
    "ad_group.name",
    "ad_group_ad.ad.id",
    "ad_group_ad.ad.name",
    "segments.date",
    "metrics.cost_micros",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.conversions",
    "metrics.conversions_value",
)
HOURLY_INSIGHTS_FIELDS = (*INSIGHTS_FIELDS, "segments.hour")
CUSTOMER_CLIENT_FIELDS = (
    "customer_client.id",
    "customer_client.descriptive_name",
    "customer_client.manager",
    "customer_client.status",
    "customer_client.level",
)

_ACCOUNT_KEY = KeyColumn("account_id", "text", "customer.id")
_AD_KEY = KeyColumn("ad_id", "text", "adGroupAd.ad.id")
_DATE_KEY = KeyColumn("segments_date", "date", "segments.date")

GOOGLE_ADS_STREAMS: dict[str, RawStream] = {
    "ad_accounts": RawStream(
        PLATFORM,
        "ad_accounts",
        (_ACCOUNT_KEY,),
        None,
        "Client account (customer) settings: currency, time zone, status.",
        paging=SEARCH_STREAM,
    ),
    "campaigns": RawStream(
        PLATFORM,
        "campaigns",
        (_ACCOUNT_KEY, KeyColumn("campaign_id", "text", "campaign.id")),
        None,
        "Campaigns of every status (REMOVED included) with their budget (micros of the account currency).",
        paging=SEARCH_STREAM,
    ),
    "ad_groups": RawStream(
        PLATFORM,
        "ad_groups",
        (_ACCOUNT_KEY, KeyColumn("ad_group_id", "text", "adGroup.id")),
        None,
        "Ad groups of every status.",
        paging=SEARCH_STREAM,
    ),
    "ads": RawStream(
        PLATFORM,
        "ads",
        (_ACCOUNT_KEY, _AD_KEY),
        None,
        "Ads (ad_group_ad) and their parents.",
        paging=SEARCH_STREAM,
    ),
    "ads_insights_daily": RawStream(
        PLATFORM,
        "ads_insights_daily",
        (_ACCOUNT_KEY, _AD_KEY, _DATE_KEY),
        "segments_date",
        "Ad-level daily metrics (FROM ad_group_ad, segments.date) in the account's time zone and currency.",
        # a query's days are bounded so its searchStream body stays bounded too
        report_window=ReportWindow(
            default_days=DEFAULT_LOOKBACK_DAYS,
            max_days_per_request=DEFAULT_DAYS_PER_QUERY,
            restatement_days=DEFAULT_LOOKBACK_DAYS,
        ),
        paging=SEARCH_STREAM,
    ),
    "ads_insights_hourly": RawStream(
        PLATFORM,
        "ads_insights_hourly",
        (_ACCOUNT_KEY, _AD_KEY, _DATE_KEY, KeyColumn("segments_hour", "integer", "segments.hour")),
        "segments_date",
        "Ad-level hourly metrics (segments.date + segments.hour, both account-local) for recent days.",
        # hourly rows are 24x as many: one day per query keeps each response bounded
        report_window=ReportWindow(default_days=DEFAULT_HOURLY_DAYS, max_days_per_request=1),
        paging=SEARCH_STREAM,
    ),
}

# GAQL resource and fields of each entity snapshot stream.
_ENTITY_QUERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ad_accounts": ("customer", ACCOUNT_FIELDS),
    "campaigns": ("campaign", CAMPAIGN_FIELDS),
    "ad_groups": ("ad_group", AD_GROUP_FIELDS),
    "ads": ("ad_group_ad", AD_FIELDS),
}

_CUSTOMER_ID_RE = re.compile(r"^\d{10}$")
_RETRY_DELAY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class AccountNotEnabledError(ApiError):
    """The customer is cancelled, suspended or not yet enabled: it cannot be reported on.

    Not a credentials problem (the connection's other accounts are fine), and not retried.
    """


class ExpiredPageTokenError(ApiError):
    """A ``:search`` page token expired; the query must start over."""


# Tried in order: the codes are GoogleAdsFailure errorCode values and google.rpc status words.
GOOGLE_ADS_ERRORS = ErrorMap(
    (
        ErrorRule(
            ErrorOutcome.FAIL,
            codes=ACCOUNT_NOT_ENABLED_CODES,
            prefix="the customer account is not enabled (cancelled, suspended or closed) and cannot be "
            "reported on; remove it from the connection's accounts. ",
            error_class=AccountNotEnabledError,
        ),
        ErrorRule(
            ErrorOutcome.CREDENTIALS,
            codes=frozenset({"USER_PERMISSION_DENIED"}),
            suffix=" — check the login customer id (the manager account the client is reached through)",
        ),
        ErrorRule(ErrorOutcome.CREDENTIALS, codes=CREDENTIAL_ERROR_CODES | {"PERMISSION_DENIED"}),
        # OAuth access tokens live about an hour: refresh once and retry (the base class does).
        ErrorRule(
            ErrorOutcome.TOKEN_EXPIRED, codes=frozenset({"UNAUTHENTICATED"}), http_statuses=frozenset({401})
        ),
        ErrorRule(
            ErrorOutcome.RATE_LIMITED,
            codes=QUOTA_ERROR_CODES,
            http_statuses=frozenset({429}),
            prefix="quota exhausted, ",
        ),
        ErrorRule(ErrorOutcome.FAIL, codes=PAGE_TOKEN_EXPIRED_CODES, error_class=ExpiredPageTokenError),
        ErrorRule(
            ErrorOutcome.TRANSIENT,
            codes=TRANSIENT_ERROR_CODES | TRANSIENT_STATUSES,
            http_statuses=SERVER_ERRORS,
        ),
    )
)


def normalize_customer_id(customer_id: str | int) -> str:
    """Google Ads customer ids are 10 digits; accept the UI's ``123-456-7890`` too."""
    text = str(customer_id).strip().replace("-", "")
    if not _CUSTOMER_ID_RE.match(text):
        raise ValueError(f"not a Google Ads customer id (10 digits): {customer_id!r}")
    return text


def gaql(resource: str, fields: Sequence[str], where: Sequence[str] = ()) -> str:
    query = f"SELECT {', '.join(fields)} FROM {resource}"
    if where:
        query += " WHERE " + " AND ".join(where)
    return query


def _error_of(body: Any) -> dict[str, Any] | None:
    """Google's ``{"error": {...}}``: the whole body, or an element of a searchStream array."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    if isinstance(body, list):
        for item in body:
            if isinstance(item, dict) and isinstance(item.get("error"), dict):
                return item["error"]
    return None


def _failures(error: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, float | None]:
    """(GoogleAdsError entries, request id, retry delay in seconds) from an error's details."""
    entries: list[dict[str, Any]] = []
    request_id: str | None = None
    retry_delay: float | None = None
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("GoogleAdsFailure"):
            entries += [e for e in detail.get("errors") or [] if isinstance(e, dict)]
            request_id = detail.get("requestId") or request_id
        elif kind.endswith("RetryInfo"):
            retry_delay = _seconds(detail.get("retryDelay"))
    for entry in entries:
        quota = (entry.get("details") or {}).get("quotaErrorDetails") or {}
        delay = _seconds(quota.get("retryDelay"))
        if delay is not None:
            retry_delay = max(retry_delay or 0.0, delay)
    return entries, request_id, retry_delay


def _seconds(duration: Any) -> float | None:
    """A protobuf Duration in JSON (``"3600s"``, ``"1.5s"``) as seconds."""
    match = _RETRY_DELAY_RE.match(str(duration)) if duration is not None else None
    return float(match.group(1)) if match else None


def _error_codes(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    codes = []
    for entry in entries:
        code = entry.get("errorCode")
        if isinstance(code, dict):
            codes += [(str(category), str(value)) for category, value in code.items()]
    return codes


def _to_micros(amount: float, currency: str) -> int:
    """Major units → micros, rounded to the currency's minimum unit (the API rejects anything finer)."""
    decimals = 0 if currency.upper() in _ZERO_DECIMAL_CURRENCIES else 2
    step = Decimal(1).scaleb(-decimals)
    rounded = Decimal(str(amount)).quantize(step, rounding=ROUND_HALF_UP)
    return int(rounded * 1_000_000)


def canonical_account_id(account_id: str) -> str:
    """A customer id as the UI shows it (``123-456-7890``) in the form this connector writes (digits)."""
    return account_id.replace("-", "") if re.fullmatch(r"\d{3}-\d{3}-\d{4}", account_id) else account_id


class GoogleAdsConnector(MajorUnitCampaignWrites, HttpApiClient):
    """Google Ads API connector implementing :class:`pipeline.connectors.base.Connector`."""

    platform = PLATFORM
    display_name = "Google Ads"
    streams = GOOGLE_ADS_STREAMS
    error_map = GOOGLE_ADS_ERRORS
    production_base_url = PRODUCTION_BASE_URL
    production_token_url = PRODUCTION_TOKEN_URL
    restatement_lookback_days = restatement_days_of(GOOGLE_ADS_STREAMS.values())

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        account_ids: Sequence[str] | None = None,
        on_token_refresh: TokenRefreshCallback | None = None,
        api_version: str = API_VERSION,
        use_search_stream: bool = True,
        days_per_query: int = DEFAULT_DAYS_PER_QUERY,
        lookback_days: int = DEFAULT_LOOKBACK_DAYS,
        hourly_days: int = DEFAULT_HOURLY_DAYS,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        if not credentials.developer_token:
            raise CredentialsError(
                "Google Ads",
                "no developer token is configured: every Google Ads API call needs one (API Center of "
                "the manager account)",
            )
        if not credentials.access_token and not credentials.refresh_token:
            raise CredentialsError(
                "Google Ads", "no OAuth token is configured: connect the Google Ads account in adsignal first"
            )
        if credentials.refresh_token and not credentials.token_url:
            credentials = replace(credentials, token_url=PRODUCTION_TOKEN_URL)
        if credentials.login_customer_id:
            credentials = replace(
                credentials, login_customer_id=normalize_customer_id(credentials.login_customer_id)
            )
        if days_per_query < 1 or lookback_days < 1 or hourly_days < 1:
            raise ValueError("days_per_query, lookback_days and hourly_days must be at least 1")
        super().__init__(
            base_url,
            credentials=credentials,
            on_token_refresh=on_token_refresh,
            # Sent even before the first access token exists (a refresh comes first then).
            headers={"Accept": "application/json", **self._static_headers(credentials)},
            retry=retry,
            sleep=sleep,
            transport=transport,
            timeout=timeout,
            clock=clock,
        )
        self.account_ids = [normalize_customer_id(a) for a in account_ids] if account_ids else None
        self.api_version = api_version
        self.use_search_stream = use_search_stream
        self.days_per_query = days_per_query
        self.lookback_days = lookback_days
        self.hourly_days = hourly_days
        # client customer id -> the customer it is reached through (login-customer-id); None: direct
        self._routes: dict[str, str | None] | None = None

    # -- Connector protocol ---------------------------------------------------------------------------

    def list_account_ids(self) -> list[str]:
        """Configured customer ids, or every ENABLED non-manager client the user can reach."""
        if self.account_ids is not None:
            return list(self.account_ids)
        return list(self._discover())

    def read(
        self, stream: str, account_id: str, since: date | None = None, until: date | None = None
    ) -> Iterator[Page]:
        """Yield pages of result rows exactly as Google sent them.

        Entity streams are snapshots (``since``/``until`` ignored). ``ads_insights_daily`` covers
        ``since``..``until`` inclusive (account-local dates; default: the ``lookback_days`` days up
        to yesterday, UTC); ``ads_insights_hourly`` defaults to the last ``hourly_days`` days
        including today, whose current hour is partial.
        """
        if stream not in self.streams:
            raise ValueError(
                f"unknown Google Ads stream {stream!r}; known streams: {', '.join(self.streams)}"
            )
        customer_id = normalize_customer_id(account_id)
        spec = self.streams[stream]
        if spec.window_column is None:
            resource, fields = _ENTITY_QUERIES[stream]
            yield from self._query(customer_id, gaql(resource, fields), key=spec.key_values)
            return
        hourly = stream == "ads_insights_hourly"
        today = self.today()
        if until is None:
            until = today if hourly else today - timedelta(days=1)
        if since is None:
            since = until - timedelta(days=(self.hourly_days if hourly else self.lookback_days) - 1)
        if since > until:
            raise ValueError(f"since ({since}) is after until ({until})")
        fields = HOURLY_INSIGHTS_FIELDS if hourly else INSIGHTS_FIELDS
        # the stream's declared step; a connection may ask for shorter daily queries
        for start, stop in spec.window.steps(since, until, None if hourly else self.days_per_query):
            where = [f"segments.date BETWEEN '{start.isoformat()}' AND '{stop.isoformat()}'"]
            yield from self._query(customer_id, gaql("ad_group_ad", fields, where), key=spec.key_values)

    # -- write-back -------------------------------------------------------------------------------------

    def campaign_state(self, campaign_id: str, *, account_id: str | None = None) -> dict[str, Any]:
        """The campaign's current status and daily budget, as an action needs them before and after a write.

        ``{"campaign_id", "account_id", "status" (ACTIVE / PAUSED / REMOVED), "platform_status",
        "budget_type" (DAILY / LIFETIME / SHARED), "daily_budget" (major units or None), "currency"}``.
        """
        campaign = str(campaign_id).strip()
        if not campaign.isdigit():
            raise ValueError(f"not a Google Ads campaign id: {campaign_id!r}")
        customer_id = normalize_customer_id(account_id) if account_id else self._campaign_account(campaign)
        fields = (
            "customer.id",
            "customer.currency_code",
            "campaign.id",
            "campaign.status",
            "campaign_budget.amount_micros",
            "campaign_budget.period",
            "campaign_budget.explicitly_shared",
        )
        rows = self._rows(customer_id, gaql("campaign", fields, [f"campaign.id = {campaign}"]))
        if not rows:
            raise ApiError(self.display_name, f"campaign {campaign} not found in customer {customer_id}")
        row = rows[0]
        budget = row.get("campaignBudget") or {}
        platform_status = str((row.get("campaign") or {}).get("status") or "")
        if budget.get("explicitlyShared"):
            budget_type = "SHARED"
        elif budget.get("period", "DAILY") != "DAILY":
            budget_type = "LIFETIME"
        else:
            budget_type = "DAILY"
        micros = budget.get("amountMicros")
        return {
            "campaign_id": campaign,
            "account_id": customer_id,
            "status": {"ENABLED": "ACTIVE"}.get(platform_status, platform_status) or None,
            "platform_status": platform_status,
            "budget_type": budget_type,
            "daily_budget": round(int(micros) / 1_000_000, 2)
            if micros is not None and budget_type == "DAILY"
            else None,
            "currency": (row.get("customer") or {}).get("currencyCode"),
        }

    def update_campaign(
        self,
        campaign_id: str,
        *,
        status: str | None = None,
        daily_budget: float | None = None,
        account_id: str | None = None,
    ) -> dict[str, Any]:
        """Set a campaign's status (ACTIVE / PAUSED) and/or daily budget (major currency units).

        The budget is the campaign's campaign_budget (``amountMicros``, rounded to the currency's
        minimum unit); a shared budget or a custom-period (total) budget is refused rather than
        changed, since that would move other campaigns or a different amount.
        """
        if status is None and daily_budget is None:
            raise ValueError("nothing to update: pass status and/or daily_budget")
        if status is not None and status not in _WRITE_STATUS:
            raise ValueError(f"status must be ACTIVE or PAUSED, not {status!r}")
        if daily_budget is not None and (isinstance(daily_budget, bool) or not daily_budget > 0):
            raise ValueError("daily_budget is a positive amount in major units of the account currency")
        campaign = str(campaign_id).strip()
        if not campaign.isdigit():
            raise ValueError(f"not a Google Ads campaign id: {campaign_id!r}")
        customer_id = normalize_customer_id(account_id) if account_id else self._campaign_account(campaign)
        result: dict[str, Any] = {"account_id": customer_id, "campaign_id": campaign, "results": []}
        if daily_budget is not None:
            budget = self._campaign_budget(customer_id, campaign)
            micros = _to_micros(daily_budget, str(budget["currency"]))
            body = self._mutate(
                customer_id,
                "campaignBudgets",
                {"resourceName": budget["resource_name"], "amountMicros": str(micros)},
                "amountMicros",
            )
            result["results"] += body.get("results") or []
            result["amount_micros"] = str(micros)
        if status is not None:
            body = self._mutate(
                customer_id,
                "campaigns",
                {
                    "resourceName": f"customers/{customer_id}/campaigns/{campaign}",
                    "status": _WRITE_STATUS[status],
                },
                "status",
            )
            result["results"] += body.get("results") or []
            result["status"] = _WRITE_STATUS[status]
        return result

    def _mutate(
        self, customer_id: str, collection: str, update: dict[str, Any], update_mask: str
    ) -> dict[str, Any]:
        # Absolute values (a status, an amount): retrying a mutate whose answer was lost is safe.
        body = self.request_json(
            "POST",
            self._path(f"customers/{customer_id}/{collection}:mutate"),
            json_body={"operations": [{"update": update, "updateMask": update_mask}]},
            headers=self._account_headers(customer_id),
        )
        return body if isinstance(body, dict) else {}

    def _campaign_budget(self, customer_id: str, campaign_id: str) -> dict[str, Any]:
        fields = (
            "customer.id",
            "customer.currency_code",
            "campaign.id",
            "campaign.campaign_budget",
            "campaign_budget.period",
            "campaign_budget.explicitly_shared",
        )
        rows = self._rows(customer_id, gaql("campaign", fields, [f"campaign.id = {campaign_id}"]))
        if not rows:
            raise ApiError(self.display_name, f"campaign {campaign_id} not found in customer {customer_id}")
        row = rows[0]
        budget = row.get("campaignBudget") or {}
        if budget.get("explicitlyShared"):
            raise ApiError(
                self.display_name,
                f"campaign {campaign_id} uses a shared budget: changing it would change other campaigns' "
                "budgets too; edit it in Google Ads instead",
            )
        if budget.get("period", "DAILY") != "DAILY":
            raise ApiError(
                self.display_name,
                f"campaign {campaign_id} has a {budget.get('period')} (total) budget, not a daily one",
            )
        return {
            "resource_name": (row.get("campaign") or {}).get("campaignBudget") or budget.get("resourceName"),
            "currency": (row.get("customer") or {}).get("currencyCode", "USD"),
        }

    def _campaign_account(self, campaign_id: str) -> str:
        """The customer that owns ``campaign_id`` (asked of each account: ids are unique)."""
        for customer_id in self.list_account_ids():
            query = gaql("campaign", ("customer.id", "campaign.id"), [f"campaign.id = {campaign_id}"])
            if self._rows(customer_id, query):
                return customer_id
        raise ApiError(self.display_name, f"campaign {campaign_id} is in none of this connection's accounts")

    # -- Google Ads specifics for the shared HTTP machinery ----------------------------------------------

    @staticmethod
    def _static_headers(credentials: Credentials) -> dict[str, str]:
        headers = {"developer-token": str(credentials.developer_token)}
        if credentials.login_customer_id:
            headers["login-customer-id"] = str(credentials.login_customer_id)
        return headers

    def auth_headers(self, credentials: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.access_token}", **self._static_headers(credentials)}

    def classify_error(self, response: httpx.Response, body: Any, endpoint: str) -> ApiError | None:
        error = _error_of(body)
        if error is None:
            return super().classify_error(response, body, endpoint)
        state = str(error.get("status") or "")
        try:
            http_status = int(error.get("code") or response.status_code)
        except (TypeError, ValueError):
            http_status = response.status_code
        entries, request_id, retry_delay = _failures(error)
        codes = _error_codes(entries)
        names = {value for _, value in codes}
        messages = "; ".join(str(e.get("message") or "").strip() for e in entries if e.get("message"))
        described = (
            ", ".join(f"{category}.{value}" for category, value in codes) or state or f"HTTP {http_status}"
        )
        detail = f"{described}: {messages or error.get('message') or 'no message'}"
        if request_id:
            detail += f" (request id {request_id})"
        if response.status_code < 400:
            detail += " [error inside a searchStream response]"
        quota = next(
            (
                (e.get("details") or {}).get("quotaErrorDetails")
                for e in entries
                if (e.get("details") or {}).get("quotaErrorDetails")
            ),
            None,
        )
        if quota:  # only quota errors carry these
            detail += f" [quota {quota.get('rateScope', '?')}: {quota.get('rateName', '?')}]"
        return self.mapped_error(
            response,
            endpoint,
            detail,
            codes=(*names, state) if state else tuple(names),
            status_code=http_status,
            code=f"{codes[0][0]}.{codes[0][1]}" if codes else state or None,
            retry_after=retry_delay,
        )

    # -- accounts -----------------------------------------------------------------------------------------

    def _discover(self) -> dict[str, str | None]:
        """Every reachable ENABLED non-manager client and the customer it is reached through."""
        if self._routes is not None:
            return self._routes
        login = self.credentials.login_customer_id if self.credentials else None
        roots = [login] if login else self._accessible_customers()
        routes: dict[str, str | None] = {}
        query = gaql("customer_client", CUSTOMER_CLIENT_FIELDS)
        for root in roots:
            try:
                rows = self._rows(root, query, login_customer_id=root)
            except AccountNotEnabledError:
                logger.info("Google Ads customer %s is not enabled; skipping its hierarchy", root)
                continue
            for row in rows:
                client = row.get("customerClient") or {}
                client_id = str(client.get("id") or "")
                if not _CUSTOMER_ID_RE.match(client_id):
                    continue
                if client.get("manager"):
                    continue  # managers have no metrics of their own
                if client.get("status") != "ENABLED":
                    logger.info("Google Ads customer %s is %s; skipping it", client_id, client.get("status"))
                    continue
                routes.setdefault(client_id, root)
        self._routes = routes
        return routes

    def _accessible_customers(self) -> list[str]:
        body = self.request_json("GET", self._path("customers:listAccessibleCustomers"))
        names = body.get("resourceNames") if isinstance(body, dict) else None
        if not isinstance(names, list):
            raise TransientError(self.display_name, "listAccessibleCustomers answered without resourceNames")
        return [str(name).rsplit("/", 1)[-1] for name in names]

    def _account_headers(self, customer_id: str, login_customer_id: str | None = None) -> dict[str, str]:
        """The per-request ``login-customer-id`` (none when the connection's own is set, or direct)."""
        if login_customer_id is not None:
            return {"login-customer-id": login_customer_id}
        if self.credentials and self.credentials.login_customer_id:
            return {}  # already among the client's headers
        route = self._discover().get(customer_id)
        return {"login-customer-id": route} if route else {}

    # -- queries -------------------------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        return f"/{self.api_version}/{path}"

    def _rows(
        self, customer_id: str, query: str, *, login_customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            row
            for page in self._query(customer_id, query, login_customer_id=login_customer_id)
            for row in page
        ]

    def _query(
        self,
        customer_id: str,
        query: str,
        *,
        key: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None,
        login_customer_id: str | None = None,
    ) -> Iterator[Page]:
        headers = self._account_headers(customer_id, login_customer_id)
        if self.use_search_stream:
            yield from self._search_stream(customer_id, query, headers)
        else:
            yield from self._search(customer_id, query, headers, key)

    def _search_stream(self, customer_id: str, query: str, headers: dict[str, str]) -> Iterator[Page]:
        url = self._path(f"customers/{customer_id}/googleAds:searchStream")
        body = self.request_json("POST", url, json_body={"query": query}, headers=headers)
        if not isinstance(body, list):
            raise TransientError(
                self.display_name,
                "searchStream answered something other than a JSON array of batches",
                endpoint="POST /customers/{id}/googleAds:searchStream",
            )
        for batch in body:
            results = batch.get("results") if isinstance(batch, dict) else None
            if results:
                yield results

    def _search(
        self,
        customer_id: str,
        query: str,
        headers: dict[str, str],
        key: Callable[[dict[str, Any]], tuple[Any, ...]] | None,
    ) -> Iterator[Page]:
        """Follow ``nextPageToken``; when a token expires, start over and skip rows already yielded."""
        url = self._path(f"customers/{customer_id}/googleAds:search")
        seen: set[tuple[Any, ...]] = set()
        page_token: str | None = None
        restarts = 0
        followed: set[str] = set()
        while True:
            payload: dict[str, Any] = {"query": query}
            if page_token:
                payload["pageToken"] = page_token
            try:
                body = self.request_json("POST", url, json_body=payload, headers=headers)
            except ExpiredPageTokenError as exc:
                restarts += 1
                if restarts > MAX_PAGE_TOKEN_RESTARTS:
                    raise ApiError(
                        self.display_name,
                        f"page tokens kept expiring ({restarts} restarts): {exc.message}",
                        endpoint=exc.endpoint,
                    ) from None
                stats = self._endpoint_stats(exc.endpoint or "?")
                stats["page_token_restarts"] = stats.get("page_token_restarts", 0) + 1
                logger.info(
                    "Google Ads page token expired for customer %s; restarting the query", customer_id
                )
                page_token, followed = None, set()
                continue
            if not isinstance(body, dict):
                raise TransientError(self.display_name, "search answered something other than a JSON object")
            results = [r for r in body.get("results") or [] if isinstance(r, dict)]
            if key is not None:
                fresh = []
                for record in results:
                    record_key = key(record)
                    if record_key not in seen:
                        seen.add(record_key)
                        fresh.append(record)
                results = fresh
            if results:
                yield results
            page_token = body.get("nextPageToken") or None
            if not page_token:
                return
            if page_token in followed:
                raise ApiError(self.display_name, "search paging loops back to a page token already followed")
            followed.add(page_token)


__all__ = [
    "API_VERSION",
    "GOOGLE_ADS_STREAMS",
    "INSIGHTS_FIELDS",
    "AccountNotEnabledError",
    "ExpiredPageTokenError",
    "GoogleAdsConnector",
    "gaql",
    "normalize_customer_id",
]
