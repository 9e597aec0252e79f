"""Microsoft Advertising (Bing Ads) API v13 connector, REST/JSON flavour.

What it speaks (see docs platform-apis.md):

- accounts via Customer Management: ``User/Query`` for the user's customers (unless a customer id is
  configured), ``AccountsInfo/Query`` to list their accounts (inactive, draft and pending accounts are
  skipped) and ``Account/Query`` for an account's currency, time zone and owning customer;
- entities via Campaign Management: ``Campaigns/QueryByAccountId`` (every campaign type: the API
  returns Search campaigns only unless asked), ``AdGroups/QueryByCampaignId`` and
  ``Ads/QueryByAdGroupId`` (every ad type: ``AdTypes`` is required);
- performance via the Reporting service's async reports: ``GenerateReport/Submit`` an
  ``AdPerformanceReportRequest`` (Daily or Hourly aggregation, one account, a custom date range in the
  account's own time zone), ``GenerateReport/Poll`` until ``Success`` (``Pending`` → ``Success`` |
  ``Error``), then download the ZIP from ``ReportDownloadUrl`` — a short-lived signed blob URL that
  gets no API headers — and read the one CSV in it;
- write-back via ``PUT CampaignManagement/v13/Campaigns`` (``Status``, ``DailyBudget``), whose
  failures come back as ``PartialErrors`` in a 200 answer.

Every report is checked before a single row leaves the connector, because a retry after yielding would
load rows twice: the ZIP must open and pass its CRC, the CSV must have the requested column header,
every data row the right number of fields and a well-formed ``TimePeriod``, and the ``"Rows: N"``
line of a report header (present when the service ignored ``ExcludeReportHeader``) must match.
Reports that end ``Error`` or stay ``Pending`` past ``poll_timeout`` are split into halves of their
date range (a single day is resubmitted); an expired download URL (403/404) or a corrupt ZIP is
resubmitted; ``Success`` without a download URL means "no data" only once a second, identical report
confirms it (it can also be a service bug). A range whose end is not yet complete for the account
(2010 end after today, 2004 no complete data) is shortened a day at a time, so callers may pass UTC
days without knowing the account's time zone.

Records are yielded exactly as the API sent them, with two documented exceptions:

- report rows are ``{column name: raw CSV string}`` (``"1,234"``, ``"2.34%"``, ``"--"`` kept verbatim;
  staging parses them);
- entity payloads do not say which account (or campaign / ad group) they belong to, so the connector
  adds ``_account_id`` (and ``_campaign_id``, ``_ad_group_id``) — underscore-prefixed, never an API field.

Errors are classified from ``AdApiFaultDetail`` (``Errors``) and ``ApiFaultDetail`` / ``ApiFault``
(``OperationErrors``, ``BatchErrors``) bodies: 109 AuthenticationTokenExpired refreshes the OAuth
token and retries once, 105/106 and friends are credentials errors, 117 CallRateExceeded waits a
minute, 0 / 207 / 4204 are transient.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import time
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
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
    UNPAGED,
    ErrorMap,
    ErrorOutcome,
    ErrorRule,
    ReportWindow,
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
    TransientError,
)

logger = logging.getLogger(__name__)

PLATFORM = "microsoft_ads"
API_VERSION = "v13"
DEFAULT_LOOKBACK_DAYS = 30  # conversions restate for about 30 days
DEFAULT_HOURLY_DAYS = 2  # yesterday and today
OAUTH_SCOPE = "https://ads.microsoft.com/msads.manage offline_access"

# -- error codes (Bing Ads API operation error codes) ------------------------------------------------
TOKEN_EXPIRED_CODES = frozenset({109})  # AuthenticationTokenExpired
CREDENTIALS_CODES = frozenset({105, 106, 108, 120, 122, 123, 124, 125})  # invalid / not authorised / ...
RATE_LIMIT_CODES = frozenset({117})  # CallRateExceeded: "calls in a minute"
TRANSIENT_CODES = frozenset({0, 207, 4204})  # InternalError, ConcurrentRequestOverLimit, ...
END_AFTER_TODAY_CODES = frozenset({2010, 2004})  # InvalidCustomDateRangeEnd, NoCompleteDataAvaliable
VANISHED_ENTITY_CODES = frozenset({1100, 1201})  # invalid campaign / ad group id (deleted meanwhile)
# Tried in order on the codes of a fault's errors (every error of a batch must be transient to retry).
MICROSOFT_ADS_ERRORS = ErrorMap(
    (
        ErrorRule(ErrorOutcome.TOKEN_EXPIRED, codes=TOKEN_EXPIRED_CODES),
        ErrorRule(ErrorOutcome.CREDENTIALS, codes=CREDENTIALS_CODES),
        ErrorRule(ErrorOutcome.RATE_LIMITED, codes=RATE_LIMIT_CODES, prefix="throttled, "),
        ErrorRule(ErrorOutcome.TRANSIENT, codes=TRANSIENT_CODES, all_codes=True, http_statuses=SERVER_ERRORS),
    )
)
CALL_RATE_WAIT_SECONDS = 60.0  # the per-minute call quota refills within a minute

# Accounts that cannot have reportable data: closed, never finished, not yet approved.
SKIPPED_ACCOUNT_STATUSES = frozenset({"Inactive", "Draft", "Pending"})

CAMPAIGN_TYPES = "Search Shopping DynamicSearchAds Audience PerformanceMax"
AD_TYPES = (
    "AppInstall", "DynamicSearch", "ExpandedText", "Hotel", "Image", "Product", "ResponsiveAd",
    "ResponsiveSearch", "Text",
)  # fmt: skip

# AdPerformanceReportRequest columns; ConversionsQualified replaces the deprecated Conversions.
REPORT_COLUMNS = (
    "TimePeriod", "AccountId", "AccountName", "CurrencyCode", "CampaignId", "CampaignName",
    "CampaignType", "AdGroupId", "AdGroupName", "AdId", "AdTitle", "AdType", "Impressions", "Clicks",
    "Ctr", "AverageCpc", "Spend", "ConversionsQualified", "Revenue", "ConversionRate",
    "ReturnOnAdSpend",
)  # fmt: skip
REPORT_STATUS_SUCCESS = "Success"
REPORT_STATUS_ERROR = "Error"
# FormatVersion 2.0 writes hourly TimePeriods as "yyyy-mm-dd|h" (1.0: "m/d/yyyy 12:00:00 AM|h").
REPORT_FORMAT_VERSION = "2.0"
TIME_PERIOD_FORMATS = {
    "Daily": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "Hourly": re.compile(r"^\d{4}-\d{2}-\d{2}\|(?:[0-9]|1[0-9]|2[0-3])$"),
}
MAX_END_DATE_SHRINKS = 3  # account time zone (1 day) + complete data (1 day) + slack

# Hosts of the production (and Microsoft sandbox) services: one per service.
_SERVICE_HOSTS = {
    "Reporting": "reporting",
    "CampaignManagement": "campaign",
    "CustomerManagement": "clientcenter",
}
_MICROSOFT_API_HOST = re.compile(r"^[a-z]+\.api\.(sandbox\.)?bingads\.microsoft\.com$")

_ENTITY_ACCOUNT_KEY = KeyColumn("account_id", "text", "_account_id")
_REPORT_KEYS = (
    KeyColumn("account_id", "text", "AccountId"),
    KeyColumn("ad_id", "text", "AdId"),
    # "2026-11-17" (daily) or "2026-11-17|7" (hourly): the date is the first ten characters.
    KeyColumn("report_date", "date", "TimePeriod"),
)

MICROSOFT_ADS_STREAMS: dict[str, RawStream] = {
    "ad_accounts": RawStream(
        PLATFORM,
        "ad_accounts",
        (KeyColumn("account_id", "text", "Id"),),
        None,
        "Advertiser accounts (Account/Query): currency, Microsoft time zone name, lifecycle status.",
        paging=UNPAGED,
    ),
    "campaigns": RawStream(
        PLATFORM,
        "campaigns",
        (_ENTITY_ACCOUNT_KEY, KeyColumn("campaign_id", "text", "Id")),
        None,
        "Campaigns of every type (deleted ones are not listed); DailyBudget in major units. "
        "_account_id is added by the connector.",
        paging=UNPAGED,
    ),
    "ad_groups": RawStream(
        PLATFORM,
        "ad_groups",
        (_ENTITY_ACCOUNT_KEY, KeyColumn("ad_group_id", "text", "Id")),
        None,
        "Ad groups per campaign; _account_id and _campaign_id are added by the connector.",
        paging=UNPAGED,
    ),
    "ads": RawStream(
        PLATFORM,
        "ads",
        (_ENTITY_ACCOUNT_KEY, KeyColumn("ad_id", "text", "Id")),
        None,
        "Ads per ad group (every ad type); _account_id, _campaign_id and _ad_group_id are added.",
        paging=UNPAGED,
    ),
    "ads_insights_daily": RawStream(
        PLATFORM,
        "ads_insights_daily",
        _REPORT_KEYS,
        "report_date",
        "Ad performance report, Daily aggregation: one CSV row per ad and local day, raw strings.",
        report_window=ReportWindow(
            default_days=DEFAULT_LOOKBACK_DAYS,
            max_days_per_request=31,
            restatement_days=DEFAULT_LOOKBACK_DAYS,
        ),
        paging=UNPAGED,
    ),
    "ads_insights_hourly": RawStream(
        PLATFORM,
        "ads_insights_hourly",
        (*_REPORT_KEYS, KeyColumn("time_period", "text", "TimePeriod")),
        "report_date",
        "Ad performance report, Hourly aggregation: one CSV row per ad and local hour "
        '(TimePeriod "yyyy-mm-dd|h"), raw strings.',
        report_window=ReportWindow(default_days=DEFAULT_HOURLY_DAYS, max_days_per_request=7),
        paging=UNPAGED,
    ),
}
_REPORT_STREAMS = {"ads_insights_daily": "Daily", "ads_insights_hourly": "Hourly"}


class ReportFormatError(ValueError):
    """A downloaded report is not what was asked for (corrupt ZIP, truncated or malformed CSV)."""


def normalize_account_id(account_id: str | int, kind: str = "account") -> str:
    """Microsoft ids (accounts, customers, campaigns) are positive integers; keep them as text."""
    text = str(account_id).strip()
    if not text.isdigit():
        raise ValueError(f"not a Microsoft Advertising {kind} id: {account_id!r}")
    return text


# --------------------------------------------------------------------------------------------------
# Report files
# --------------------------------------------------------------------------------------------------


def read_report_zip(data: bytes, columns: Sequence[str], aggregation: str) -> list[dict[str, str]]:
    """The rows of the one CSV in a report ZIP, validated (ReportFormatError if anything is off)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [name for name in archive.namelist() if not name.endswith("/")]
            if len(names) != 1:
                raise ReportFormatError(f"expected one file in the report ZIP, found {len(names)}")
            raw = archive.read(names[0])  # checks the CRC
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ReportFormatError(f"corrupt report ZIP ({type(exc).__name__}: {exc})") from None
    try:
        text = raw.decode("utf-8-sig")  # Microsoft writes a byte order mark
    except UnicodeDecodeError as exc:
        raise ReportFormatError(f"report CSV is not UTF-8 (byte {exc.start})") from None
    return parse_report_csv(text, columns, aggregation)


def parse_report_csv(text: str, columns: Sequence[str], aggregation: str) -> list[dict[str, str]]:
    """Data rows of a report CSV as ``{column: raw string}``.

    Robust to the report header (``"Report Name: …"`` … ``"Rows: N"``) and the copyright footer
    being present although excluded: data starts after the row that spells the requested columns and
    ends at the first blank row. ``Rows: N``, when present, must match.
    """
    expected = list(columns)
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    declared_rows: int | None = None
    for row in rows:
        if row == expected:
            break
        if len(row) == 1 and row[0].startswith("Rows: "):
            declared_rows = int(row[0].removeprefix("Rows: ").replace(",", "").strip() or 0)
    else:
        if declared_rows == 0 or not text.strip():
            return []  # an empty report may come without a column header
        raise ReportFormatError("report CSV has no header row with the requested columns")
    time_period = TIME_PERIOD_FORMATS.get(aggregation)
    records: list[dict[str, str]] = []
    for line_number, row in enumerate(rows, start=1):
        if not row or not any(field.strip() for field in row):
            break  # the blank line before the footer
        if len(row) != len(expected):
            if len(row) == 1 and "Microsoft Corporation" in row[0]:
                break  # footer without its blank line
            raise ReportFormatError(
                f"report row {line_number} has {len(row)} fields, expected {len(expected)} (truncated?)"
            )
        record = dict(zip(expected, row, strict=True))
        if time_period is not None and not time_period.match(record.get("TimePeriod", "")):
            raise ReportFormatError(
                f"report row {line_number} has TimePeriod {record.get('TimePeriod')!r}, not {aggregation} "
                f"format version {REPORT_FORMAT_VERSION}"
            )
        records.append(record)
    if declared_rows is not None and declared_rows != len(records):
        raise ReportFormatError(f"report declares {declared_rows} rows but holds {len(records)}")
    return records


# --------------------------------------------------------------------------------------------------
# Accounts and report jobs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountContext:
    """What calls for one account need: its owning customer and its time zone (Microsoft's name)."""

    account_id: str
    customer_id: str | None
    time_zone: str | None
    currency: str | None
    status: str | None


@dataclass(frozen=True)
class ReportJob:
    """One report to produce: an account, an aggregation and a date range (account-local days)."""

    account_id: str
    aggregation: str  # Daily | Hourly
    since: date
    until: date
    attempt: int = 1
    confirming_empty: bool = False  # resubmitted because Success came without a download URL
    shrinks: int = 0  # days taken off the end because they were not complete yet

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def describe(self) -> str:
        return f"{self.aggregation} report of account {self.account_id} {self.since}..{self.until}"


@dataclass
class _Submitted:
    job: ReportJob
    request_id: str
    submitted_at: float  # seconds on the connector's polling clock
    started: float  # time.monotonic()
    due: float
    polls: int = 0


class MicrosoftAdsConnector(MajorUnitCampaignWrites, HttpApiClient):
    """Microsoft Advertising connector implementing :class:`pipeline.connectors.base.Connector`."""

    platform = PLATFORM
    display_name = "Microsoft Advertising"
    streams = MICROSOFT_ADS_STREAMS
    error_map = MICROSOFT_ADS_ERRORS
    production_base_url = "https://campaign.api.bingads.microsoft.com"
    production_token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    restatement_lookback_days = restatement_days_of(MICROSOFT_ADS_STREAMS.values())
    token_scope = OAUTH_SCOPE

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        account_ids: Sequence[str] | None = None,
        on_token_refresh: TokenRefreshCallback | None = None,
        poll_interval: float = 15.0,
        first_poll_delay: float = 1.0,
        poll_timeout: float = 1800.0,
        page_size: int = 1000,
        days_per_report: int | None = None,  # default: the stream's declared step (31 days)
        hourly_days_per_report: int | None = None,  # default: 7 days
        max_reports_in_flight: int = 4,
        max_report_attempts: int = 3,
        confirm_empty_reports: bool = True,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        if not credentials.access_token and not credentials.can_refresh:
            raise CredentialsError(
                "Microsoft Advertising",
                "no access or refresh token is configured: connect the Microsoft Advertising account first",
            )
        if not credentials.developer_token:
            raise CredentialsError(
                "Microsoft Advertising", "no developer token is configured (Microsoft requires one per app)"
            )
        declared = {name: MICROSOFT_ADS_STREAMS[name].window.max_days_per_request for name in _REPORT_STREAMS}
        if days_per_report is None:
            days_per_report = declared["ads_insights_daily"]
        if hourly_days_per_report is None:
            hourly_days_per_report = declared["ads_insights_hourly"]
        if page_size < 1 or days_per_report < 1 or hourly_days_per_report < 1 or max_reports_in_flight < 1:
            raise ValueError("page_size, days per report and reports in flight must be positive")
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
        self.poll_interval = poll_interval
        self.first_poll_delay = min(first_poll_delay, poll_interval)
        self.poll_timeout = poll_timeout
        self.page_size = page_size
        self.days_per_report = {"Daily": days_per_report, "Hourly": hourly_days_per_report}
        self.max_reports_in_flight = max_reports_in_flight
        self.max_report_attempts = max_report_attempts
        self.confirm_empty_reports = confirm_empty_reports
        self._service_roots = _service_roots(base_url)
        self._accounts: dict[str, tuple[AccountContext, dict[str, Any]]] = {}
        self._customers: list[str] | None = None
        self._listed_accounts: list[str] | None = None

    # -- Connector protocol ---------------------------------------------------------------------------

    def list_account_ids(self) -> list[str]:
        """Configured account ids, or every account of the user's customers that can have data."""
        if self.account_ids is not None:
            return list(self.account_ids)
        if self._listed_accounts is not None:  # one listing per connector: syncs ask once per stream
            return list(self._listed_accounts)
        ids: dict[str, None] = {}
        for customer_id in self._customer_ids():
            body = self.request_json(
                "POST",
                self._url("CustomerManagement", "AccountsInfo/Query"),
                json_body={"CustomerId": int(customer_id), "OnlyParentAccounts": False},
            )
            for info in _list(body, "AccountsInfo"):
                status = info.get("AccountLifeCycleStatus")
                if status in SKIPPED_ACCOUNT_STATUSES:
                    logger.info("Microsoft Advertising account %s is %s: skipped", info.get("Id"), status)
                    continue
                ids[normalize_account_id(info["Id"])] = None
        self._listed_accounts = list(ids)
        return list(ids)

    def read(
        self, stream: str, account_id: str, since: date | None = None, until: date | None = None
    ) -> Iterator[Page]:
        """Yield pages of records (see the module docstring for what "verbatim" means here).

        Entity streams are snapshots (``since``/``until`` ignored). Report streams cover
        ``since``..``until`` inclusive in the account's time zone — by default the last
        ``DEFAULT_LOOKBACK_DAYS`` days up to yesterday (daily) or yesterday and today (hourly); days
        not yet complete (daily) or not yet begun (hourly) for the account are left out.
        """
        if stream not in self.streams:
            raise ValueError(
                f"unknown Microsoft Advertising stream {stream!r}; known streams: {', '.join(self.streams)}"
            )
        account = normalize_account_id(account_id)
        if stream == "ad_accounts":
            yield [self._account(account, refresh=True)[1]]
        elif stream == "campaigns":
            page = [{**c, "_account_id": account} for c in self._campaigns(account)]
            if page:
                yield page
        elif stream in ("ad_groups", "ads"):
            for campaign in self._campaigns(account):
                campaign_id = str(campaign["Id"])
                groups = self._ad_groups(account, campaign_id)
                if stream == "ad_groups":
                    page = [{**g, "_account_id": account, "_campaign_id": campaign_id} for g in groups]
                    if page:
                        yield page
                    continue
                for group in groups:
                    ids = {
                        "_account_id": account,
                        "_campaign_id": campaign_id,
                        "_ad_group_id": str(group["Id"]),
                    }
                    page = [{**ad, **ids} for ad in self._ads(account, ids["_ad_group_id"])]
                    if page:
                        yield page
        else:
            aggregation = _REPORT_STREAMS[stream]
            if since is not None and until is not None and since > until:
                raise ValueError(f"since ({since}) is after until ({until})")
            today = self.today()
            # daily: complete days up to yesterday; hourly: up to today's current hour
            until = until or (today - timedelta(days=1) if aggregation == "Daily" else today)
            since = since or self.streams[stream].window.default_since(until)
            if since > until:
                raise ValueError(f"since ({since}) is after until ({until})")
            yield from self._read_reports(account, aggregation, since, until)

    # -- write-back -------------------------------------------------------------------------------------

    def campaign_state(self, campaign_id: str, *, account_id: str | None = None) -> dict[str, Any]:
        """The campaign's current status and daily budget, as an action needs them before and after a write.

        ``{"campaign_id", "account_id", "status" (ACTIVE / PAUSED / REMOVED), "platform_status",
        "budget_type" (DAILY / SHARED / None), "daily_budget" (major units or None), "currency"}``.
        """
        campaign = normalize_account_id(campaign_id, "campaign")
        account = normalize_account_id(account_id) if account_id else self._account_of_campaign(campaign)
        record = next((c for c in self._campaigns(account) if str(c.get("Id")) == campaign), None)
        if record is None:
            raise ApiError(self.display_name, f"campaign {campaign} not found in account {account}")
        platform_status = str(record.get("Status") or "")
        status = {"Active": "ACTIVE", "Deleted": "REMOVED"}.get(
            platform_status, "PAUSED" if platform_status else None
        )
        if record.get("BudgetId"):
            budget_type: str | None = "SHARED"
        elif str(record.get("BudgetType") or "").startswith("DailyBudget"):
            budget_type = "DAILY"
        else:
            budget_type = None
        daily = record.get("DailyBudget")
        return {
            "campaign_id": campaign,
            "account_id": account,
            "status": status,
            "platform_status": platform_status,
            "budget_type": budget_type,
            "daily_budget": round(float(daily), 2) if budget_type == "DAILY" and daily is not None else None,
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
        """Set a campaign's status (ACTIVE / PAUSED) and/or daily budget (major currency units).

        Microsoft takes budgets in major units of the account currency, as the contract does. The
        campaign's account is looked up when ``account_id`` is not given. Returns the API's answer;
        a ``PartialErrors`` entry (HTTP 200) raises :class:`ApiError`.
        """
        if status is None and daily_budget is None:
            raise ValueError("nothing to update: pass status and/or daily_budget")
        campaign: dict[str, Any] = {"Id": int(normalize_account_id(campaign_id, "campaign"))}
        if status is not None:
            if status not in ("ACTIVE", "PAUSED"):
                raise ValueError(f"status must be ACTIVE or PAUSED, not {status!r}")
            campaign["Status"] = status.title()
        if daily_budget is not None:
            if isinstance(daily_budget, bool) or not isinstance(daily_budget, int | float):
                raise ValueError("daily_budget is an amount in major units of the account currency")
            if not math.isfinite(daily_budget) or daily_budget <= 0:
                raise ValueError("daily_budget must be a positive amount in major units")
            campaign["DailyBudget"] = round(float(daily_budget), 2)
        account = (
            normalize_account_id(account_id) if account_id else self._account_of_campaign(str(campaign["Id"]))
        )
        body = self.request_json(
            "PUT",
            self._url("CampaignManagement", "Campaigns"),
            json_body={"AccountId": int(account), "Campaigns": [campaign]},
            headers=self._scope_headers(account),
        )
        errors = [e for e in _list(body, "PartialErrors") if e]
        if errors:
            first = errors[0]
            raise ApiError(
                self.display_name,
                f"campaign {campaign['Id']} not updated: {first.get('Code')} {first.get('ErrorCode')}: "
                f"{first.get('Message')}",
                code=first.get("Code"),
                endpoint="PUT /CampaignManagement/Campaigns",
            )
        return body

    # -- Microsoft specifics for the shared HTTP machinery ----------------------------------------------

    def auth_headers(self, credentials: Credentials) -> dict[str, str]:
        return {
            "AuthenticationToken": credentials.access_token,
            "DeveloperToken": credentials.developer_token or "",
        }

    def classify_error(self, response: httpx.Response, body: Any, endpoint: str) -> ApiError | None:
        errors = _fault_errors(body)
        status = response.status_code
        if not errors:
            return super().classify_error(response, body, endpoint)
        if status < 400 and not (isinstance(body, dict) and body.get("OperationErrors")):
            return None  # BatchErrors / PartialErrors of a successful call: the caller judges them
        codes = [_int(e.get("Code")) for e in errors]
        detail = "; ".join(
            f"{e.get('Code')}{' ' + str(e['ErrorCode']) if e.get('ErrorCode') else ''}: {e.get('Message') or ''}".strip()
            for e in errors
        )
        if isinstance(body, dict) and body.get("TrackingId"):
            detail += f" (TrackingId {body['TrackingId']})"
        code = next((c for c in codes if c is not None), None)
        return self.mapped_error(
            response, endpoint, detail, codes=codes, code=code, retry_after=CALL_RATE_WAIT_SECONDS
        )

    def endpoint_name(self, request: httpx.Request) -> str:
        # Every API call is a POST or PUT; GETs are report downloads from per-report signed URLs.
        if request.method == "GET":
            return "GET report download"
        return super().endpoint_name(request)

    # -- URLs, customers, accounts ----------------------------------------------------------------------

    def _url(self, service: str, operation: str) -> str:
        return f"{self._service_roots.get(service, '')}/{service}/{API_VERSION}/{operation}"

    def _customer_ids(self) -> list[str]:
        if self.credentials and self.credentials.customer_id:
            return [normalize_account_id(self.credentials.customer_id, "customer")]
        if self._customers is None:
            body = self.request_json(
                "POST", self._url("CustomerManagement", "User/Query"), json_body={"UserId": None}
            )
            roles = _list(body, "CustomerRoles")
            self._customers = list(dict.fromkeys(str(r["CustomerId"]) for r in roles if r.get("CustomerId")))
            if not self._customers:
                raise ApiError(self.display_name, "the user has no customer role: no accounts to read")
        return list(self._customers)

    def _account(self, account_id: str, refresh: bool = False) -> tuple[AccountContext, dict[str, Any]]:
        cached = self._accounts.get(account_id)
        if cached is not None and not refresh:
            return cached
        body = self.request_json(
            "POST", self._url("CustomerManagement", "Account/Query"), json_body={"AccountId": int(account_id)}
        )
        account = body.get("Account") if isinstance(body, dict) else None
        if not isinstance(account, dict) or str(account.get("Id")) != account_id:
            raise ApiError(self.display_name, f"Account/Query did not return account {account_id}")
        parent = account.get("ParentCustomerId")
        context = AccountContext(
            account_id=account_id,
            customer_id=str(parent)
            if parent
            else (self.credentials.customer_id if self.credentials else None),
            time_zone=account.get("TimeZone"),
            currency=account.get("CurrencyCode"),
            status=account.get("AccountLifeCycleStatus"),
        )
        self._accounts[account_id] = (context, account)
        return context, account

    def _scope_headers(self, account_id: str) -> dict[str, str]:
        context, _ = self._account(account_id)
        headers = {"CustomerAccountId": account_id}
        if context.customer_id:
            headers["CustomerId"] = context.customer_id
        return headers

    def _account_of_campaign(self, campaign_id: str) -> str:
        for account in self.list_account_ids():
            if any(str(c.get("Id")) == campaign_id for c in self._campaigns(account)):
                return account
        raise ApiError(self.display_name, f"campaign {campaign_id} is not in any account of this connection")

    # -- entities ---------------------------------------------------------------------------------------

    def _campaigns(self, account_id: str) -> list[dict[str, Any]]:
        body = self.request_json(
            "POST",
            self._url("CampaignManagement", "Campaigns/QueryByAccountId"),
            json_body={"AccountId": int(account_id), "CampaignType": CAMPAIGN_TYPES},
            headers=self._scope_headers(account_id),
        )
        return _list(body, "Campaigns")

    def _ad_groups(self, account_id: str, campaign_id: str) -> list[dict[str, Any]]:
        try:
            body = self.request_json(
                "POST",
                self._url("CampaignManagement", "AdGroups/QueryByCampaignId"),
                json_body={"CampaignId": int(campaign_id)},
                headers=self._scope_headers(account_id),
            )
        except ApiError as exc:
            if exc.code in VANISHED_ENTITY_CODES:  # deleted between the listing and now
                logger.info("Microsoft Advertising campaign %s vanished while listing: %s", campaign_id, exc)
                return []
            raise
        return _list(body, "AdGroups")

    def _ads(self, account_id: str, ad_group_id: str) -> list[dict[str, Any]]:
        try:
            body = self.request_json(
                "POST",
                self._url("CampaignManagement", "Ads/QueryByAdGroupId"),
                json_body={"AdGroupId": int(ad_group_id), "AdTypes": list(AD_TYPES)},
                headers=self._scope_headers(account_id),
            )
        except ApiError as exc:
            if exc.code in VANISHED_ENTITY_CODES:
                logger.info("Microsoft Advertising ad group %s vanished while listing: %s", ad_group_id, exc)
                return []
            raise
        return _list(body, "Ads")

    # -- reports ----------------------------------------------------------------------------------------

    def _read_reports(self, account_id: str, aggregation: str, since: date, until: date) -> Iterator[Page]:
        queue: deque[ReportJob] = deque(
            ReportJob(account_id, aggregation, start, end)
            for start, end in date_steps(since, until, self.days_per_report[aggregation])
        )
        clock = 0.0  # seconds slept while polling (an injected sleep does not move time.monotonic)
        running: list[_Submitted] = []
        while queue or running:
            while queue and len(running) < self.max_reports_in_flight:
                submitted = self._submit(queue.popleft(), clock)
                if submitted is not None:
                    running.append(submitted)
            if not running:
                continue
            next_due = min(run.due for run in running)
            if next_due > clock:
                self.sleep(next_due - clock)
                clock = next_due
            still_running: list[_Submitted] = []
            for run in running:
                if run.due > clock:
                    still_running.append(run)
                    continue
                status, url = self._poll(run)
                elapsed = max(clock - run.submitted_at, time.monotonic() - run.started)
                if status == REPORT_STATUS_SUCCESS:
                    outcome = self._collect(run.job, url)
                    if isinstance(outcome, ReportJob):
                        queue.append(outcome)
                    else:
                        for offset in range(0, len(outcome), self.page_size):
                            yield outcome[offset : offset + self.page_size]
                elif status == REPORT_STATUS_ERROR:
                    queue.extend(self._after_failure(run.job, "ended with status Error"))
                elif elapsed >= self.poll_timeout:
                    queue.extend(
                        self._after_failure(run.job, f"still {status or 'Pending'} after {elapsed:.0f}s")
                    )
                else:
                    run.due = clock + min(self.poll_interval, self.first_poll_delay * 2**run.polls)
                    still_running.append(run)
            running = still_running

    def _report_request(self, job: ReportJob) -> dict[str, Any]:
        context, _ = self._account(job.account_id)
        time_range: dict[str, Any] = {
            "CustomDateRangeStart": _ms_date(job.since),
            "CustomDateRangeEnd": _ms_date(job.until),
            "PredefinedTime": None,
            # The account's own zone decides which day is "today" (report days are account-local).
            "ReportTimeZone": context.time_zone,
        }
        return {
            "Type": "AdPerformanceReportRequest",
            "ReportName": f"adsignal {job.describe()}",
            "Format": "Csv",
            "FormatVersion": REPORT_FORMAT_VERSION,
            "ExcludeColumnHeaders": False,
            "ExcludeReportHeader": True,
            "ExcludeReportFooter": True,
            # Daily rows are complete days only; hourly reads today's hours as they come in.
            "ReturnOnlyCompleteData": job.aggregation == "Daily",
            "Aggregation": job.aggregation,
            "Columns": list(REPORT_COLUMNS),
            "Scope": {"AccountIds": [int(job.account_id)], "AdGroups": None, "Campaigns": None},
            "Time": time_range,
            "Filter": None,
        }

    def _submit(self, job: ReportJob, clock: float) -> _Submitted | None:
        """Submit ``job``; ``None`` when none of its days is complete for the account yet."""
        try:
            body = self.request_json(
                "POST",
                self._url("Reporting", "GenerateReport/Submit"),
                json_body={"ReportRequest": self._report_request(job)},
                headers=self._scope_headers(job.account_id),
            )
        except ApiError as exc:
            if exc.code not in END_AFTER_TODAY_CODES or job.shrinks >= MAX_END_DATE_SHRINKS:
                raise
            if job.until <= job.since:
                logger.info("%s: no complete day for the account yet (%s)", job.describe(), exc.code)
                return None
            # The end is not over in the account's time zone yet: the caller's days may be UTC days.
            logger.info(
                "%s: end date not complete for the account (%s); one day less", job.describe(), exc.code
            )
            return self._submit(
                replace(job, until=job.until - timedelta(days=1), shrinks=job.shrinks + 1), clock
            )
        request_id = body.get("ReportRequestId") if isinstance(body, dict) else None
        if not request_id:
            raise TransientError(self.display_name, f"no ReportRequestId for {job.describe()}")
        logger.debug("Microsoft Advertising report %s submitted: %s", request_id, job.describe())
        return _Submitted(job, str(request_id), clock, time.monotonic(), due=clock + self.first_poll_delay)

    def _poll(self, run: _Submitted) -> tuple[str, str | None]:
        body = self.request_json(
            "POST",
            self._url("Reporting", "GenerateReport/Poll"),
            json_body={"ReportRequestId": run.request_id},
            headers=self._scope_headers(run.job.account_id),
        )
        run.polls += 1
        status = body.get("ReportRequestStatus") if isinstance(body, dict) else None
        if not isinstance(status, dict):
            return "", None
        return str(status.get("Status") or ""), status.get("ReportDownloadUrl") or None

    def _collect(self, job: ReportJob, url: str | None) -> list[dict[str, str]] | ReportJob:
        """The validated rows of a successful report, or the job to submit instead."""
        if url is None:
            if job.confirming_empty or not self.confirm_empty_reports:
                return []  # no data: Microsoft omits the download URL
            # Also seen when the service loses the file: ask once more before believing "no data".
            logger.info(
                "%s succeeded without a download URL; confirming with a second report", job.describe()
            )
            return replace(job, confirming_empty=True)
        data = self._download(url)
        if data is None:
            return self._retry(job, "download URL expired or unreadable")
        try:
            return read_report_zip(data, REPORT_COLUMNS, job.aggregation)
        except ReportFormatError as exc:
            return self._retry(job, str(exc))

    def _download(self, url: str) -> bytes | None:
        """The report file, or ``None`` when the URL expired (or kept failing): resubmit then.

        The signed URL is the credential for the file: it gets none of our API headers, and it is
        never logged (its ``sig`` is a secret).
        """
        attempt = 0
        while True:
            attempt += 1
            request = self._client.build_request("GET", url)
            for name in ("AuthenticationToken", "DeveloperToken", "Accept"):
                request.headers.pop(name, None)
            endpoint = self.endpoint_name(request)
            stats = self._endpoint_stats(endpoint)
            problem: str
            try:
                response = self._client.send(request)
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code == 200:
                    return response.content
                if response.status_code in (403, 404):  # expired signature or file gone
                    stats["errors"] += 1
                    logger.info(
                        "Microsoft Advertising report download refused: HTTP %d", response.status_code
                    )
                    return None
                if response.status_code < 500 and response.status_code != 429:
                    stats["errors"] += 1
                    raise ApiError(
                        self.display_name,
                        f"report download failed: HTTP {response.status_code}",
                        status_code=response.status_code,
                        endpoint=endpoint,
                    )
                problem = f"HTTP {response.status_code}"
            stats["errors"] += 1
            if attempt >= self.retry.max_attempts:
                logger.info("Microsoft Advertising report download keeps failing (%s): resubmitting", problem)
                return None
            delay = self.retry.backoff(attempt, self._rng)
            stats["retries"] += 1
            stats["backoff_sleep_s"] += delay
            logger.info("Microsoft Advertising report download failed (%s); retry in %.1fs", problem, delay)
            self.sleep(delay)

    def _retry(self, job: ReportJob, reason: str) -> ReportJob:
        if job.attempt >= self.max_report_attempts:
            raise ApiError(
                self.display_name,
                f"{job.describe()}: {reason}, on {job.attempt} attempts; giving up",
                endpoint="POST /Reporting/GenerateReport/Submit",
            )
        logger.info("%s: %s; resubmitting (attempt %d)", job.describe(), reason, job.attempt + 1)
        return replace(job, attempt=job.attempt + 1, confirming_empty=False)

    def _after_failure(self, job: ReportJob, reason: str) -> list[ReportJob]:
        """A failed or stuck report: halves of its range (smaller reports finish), or a retry."""
        if job.days > 1:
            middle = job.since + timedelta(days=job.days // 2 - 1)
            logger.info("%s %s; split at %s", job.describe(), reason, middle)
            first = ReportJob(job.account_id, job.aggregation, job.since, middle)
            return [first, replace(first, since=middle + timedelta(days=1), until=job.until)]
        return [self._retry(job, reason)]


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _service_roots(base_url: str) -> dict[str, str]:
    """Per-service roots: Microsoft's own hosts have one host per service; anything else is one root."""
    url = httpx.URL(base_url)
    if url.host and _MICROSOFT_API_HOST.match(url.host):
        suffix = url.host.split(".", 1)[1]  # api.bingads.microsoft.com or api.sandbox.bingads...
        return {service: f"{url.scheme}://{label}.{suffix}" for service, label in _SERVICE_HOSTS.items()}
    return {}


def _fault_errors(body: Any) -> list[dict[str, Any]]:
    """Errors of an AdApiFaultDetail (``Errors``) or ApiFaultDetail / ApiFault (operation, batch)."""
    if not isinstance(body, dict):
        return []
    errors: list[dict[str, Any]] = []
    for key in ("Errors", "OperationErrors", "BatchErrors"):
        value = body.get(key)
        if isinstance(value, list):
            errors += [e for e in value if isinstance(e, dict)]
    return errors


def _list(body: Any, key: str) -> list[dict[str, Any]]:
    value = body.get(key) if isinstance(body, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ms_date(day: date) -> dict[str, int]:
    return {"Day": day.day, "Month": day.month, "Year": day.year}


__all__ = [
    "MICROSOFT_ADS_STREAMS",
    "REPORT_COLUMNS",
    "AccountContext",
    "MicrosoftAdsConnector",
    "ReportFormatError",
    "ReportJob",
    "parse_report_csv",
    "read_report_zip",
]
