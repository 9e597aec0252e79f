"""A faithful fake of the Microsoft Advertising (Bing Ads) API v13, REST/JSON flavour.

What it speaks (see docs platform-apis.md), all ``POST`` with JSON bodies unless noted:

- Customer Management: ``/CustomerManagement/v13/User/Query`` (the user's customer roles),
  ``/AccountsInfo/Query`` (accounts of a customer, with ``AccountLifeCycleStatus``) and
  ``/Account/Query`` (one ``AdvertiserAccount``: currency, ``TimeZone`` as Microsoft's own zone names,
  ``ParentCustomerId``);
- Campaign Management: ``/CampaignManagement/v13/Campaigns/QueryByAccountId``,
  ``/AdGroups/QueryByCampaignId``, ``/Ads/QueryByAdGroupId`` and ``PUT /Campaigns`` (write-back of
  ``Status`` Active/Paused and ``DailyBudget``; failures come back as ``PartialErrors`` in a 200);
- Reporting: ``/Reporting/v13/GenerateReport/Submit`` (an ``AdPerformanceReportRequest``) →
  ``{"ReportRequestId"}``; ``/GenerateReport/Poll`` → ``{"ReportRequestStatus": {"Status",
  "ReportDownloadUrl"}}``; ``GET`` the download URL (a signed, expiring blob URL, no API headers) →
  a ZIP holding one CSV;
- OAuth: ``POST /oauth2/v2.0/token`` (Microsoft identity platform, refresh-token grant with scope).

Behaviour kept from the real API because connectors and staging depend on it:

- headers ``AuthenticationToken`` + ``DeveloperToken`` on every call, ``CustomerId`` and
  ``CustomerAccountId`` on campaign and reporting calls (checked against the account's customer);
- auth errors as ``AdApiFaultDetail`` (``Errors``; 105 InvalidCredentials, 109
  AuthenticationTokenExpired), the rest as ``ApiFaultDetail`` (``OperationErrors`` / ``BatchErrors``);
  Customer Management errors carry no ``ErrorCode`` (as documented);
- ``Campaigns/QueryByAccountId`` returns Search campaigns only unless ``CampaignType`` asks for
  more; deleted campaigns are never listed; ``Ads/QueryByAdGroupId`` needs ``AdTypes``;
- entity payloads do not say which account (or campaign / ad group) they belong to;
- the report CSV: UTF-8 with a BOM, every field quoted, a report header (``"Report Name: …"`` …
  ``"Rows: N"``) and a copyright footer unless ``ExcludeReportHeader`` / ``ExcludeReportFooter``,
  thousands separators (``"1,234"``, ``"1,234.56"``), percentages (``"2.34%"``), ``"--"`` where a
  value is undefined (ratios over zero, revenue of rows without conversions), ``ConversionsQualified``
  as a double (``"3.00"``) while the deprecated ``Conversions`` column reports ``"0"``;
- ``TimePeriod``: ``yyyy-mm-dd`` (Daily); Hourly ``m/d/yyyy 12:00:00 AM|h`` by default and
  ``yyyy-mm-dd|h`` with ``FormatVersion`` "2.0"; dates and hours are the account's local time (DST
  days have 23 or 25 real hours); no ``TimePeriod`` column means Summary aggregation;
- request validation: required ``TimePeriod`` semantics, duplicate / unknown columns, end date after
  today in ``ReportTimeZone`` (default PacificTimeUSCanadaTijuana) → 2010, end before start → 2011,
  ``ReturnOnlyCompleteData`` with today in range → 2004, retention (hourly 6, daily 36 months) → 2009;
- a report with no rows succeeds with ``ReportDownloadUrl`` null; download URLs expire after
  ``download_ttl_seconds`` of the world clock (403 AuthenticationFailed, Azure-style XML).

Faults (``FaultInjector``; kinds in ``FAULT_KINDS``): request faults hit the next API request whose
path contains the fault's ``path``; ``report_*`` faults are taken when a report is submitted and shape
that report; ``download_expired`` / ``corrupt_zip`` (and ``server_error`` / ``timeout`` with a ``path`` naming
the download, ``/reports/download/``) are taken on the download; ``invalid_grant`` on the token
endpoint.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import re
import secrets
import threading
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pipeline.sandbox.engine import (
    Job,
    JobBook,
    RouterState,
    day_block,
    days,
    gateway_page,
    make_router_factory,
    rollup,
    take_request_fault,
)
from pipeline.sandbox.engine import params as engine_params
from pipeline.sandbox.engine.rollups import AD
from pipeline.sandbox.oauth import OAuthIssuer
from pipeline.sandbox.responses import json_response
from pipeline.sandbox.simulator import Account, Ad, AdGroup, Campaign, World, stable_int

PLATFORM = "microsoft_ads"
API_VERSION = "v13"
TOKEN_PATH = "/oauth2/v2.0/token"  # under the router; connections.py builds the sandbox token URL from it
OAUTH_SCOPE = "https://ads.microsoft.com/msads.manage"

REQUEST_FAULTS = frozenset(
    {
        "throttle",  # 117 CallRateExceeded
        "server_error",  # 500 with code 0 InternalError (params.status=503: a proxy's HTML page)
        "transient_code",  # params.code: 0, 207 ConcurrentRequestOverLimit or 4204
        "timeout",
        "malformed_json",
        "truncated_json",
        "bad_token",  # 105 InvalidCredentials
        "token_expired",  # 109 AuthenticationTokenExpired
    }
)
TOKEN_FAULTS = frozenset({"invalid_grant"})
REPORT_FAULTS = frozenset({"report_error", "report_stuck", "report_no_url", "report_ignores_exclude"})
DOWNLOAD_FAULTS = frozenset({"download_expired", "corrupt_zip"})
# Where performance records are asked for (router contract): "mid-sync" faults of the fault matrix aim here.
REPORT_PATH = "GenerateReport"
FAULT_KINDS = REQUEST_FAULTS | TOKEN_FAULTS | REPORT_FAULTS | DOWNLOAD_FAULTS

TRANSIENT_CODES = {0: "InternalError", 207: "ConcurrentRequestOverLimit", 4204: "InternalError"}
_JSON = "application/json; charset=utf-8"
_DOWNLOAD_PREFIX = "/reports/download/"

# Microsoft's time zone names (ReportTimeZone / TimeZoneType) and the IANA zone each stands for.
TIME_ZONES: dict[str, str] = {
    "Nukualofa": "Pacific/Tongatapu",
    "FijiKamchatkaMarshallIsland": "Pacific/Fiji",
    "AucklandWellington": "Pacific/Auckland",
    "MagadanSolomonIslandNewCaledonia": "Asia/Magadan",
    "Vladivostok": "Asia/Vladivostok",
    "Hobart": "Australia/Hobart",
    "GuamPortMoresby": "Pacific/Port_Moresby",
    "CanberraMelbourneSydney": "Australia/Sydney",
    "Brisbane": "Australia/Brisbane",
    "Darwin": "Australia/Darwin",
    "Adelaide": "Australia/Adelaide",
    "Yakutsk": "Asia/Yakutsk",
    "Seoul": "Asia/Seoul",
    "OsakaSapporoTokyo": "Asia/Tokyo",
    "Taipei": "Asia/Taipei",
    "Perth": "Australia/Perth",
    "KualaLumpurSingapore": "Asia/Singapore",
    "IrkutskUlaanBataar": "Asia/Irkutsk",
    "BeijingChongqingHongKongUrumqi": "Asia/Shanghai",
    "Krasnoyarsk": "Asia/Krasnoyarsk",
    "BangkokHanoiJakarta": "Asia/Bangkok",
    "Rangoon": "Asia/Yangon",
    "SriJayawardenepura": "Asia/Colombo",
    "AstanaDhaka": "Asia/Dhaka",
    "AlmatyNovosibirsk": "Asia/Novosibirsk",
    "Kathmandu": "Asia/Kathmandu",
    "ChennaiKolkataMumbaiNewDelhi": "Asia/Kolkata",
    "IslandamabadKarachiTashkent": "Asia/Karachi",
    "Ekaterinburg": "Asia/Yekaterinburg",
    "Kabul": "Asia/Kabul",
    "BakuTbilisiYerevan": "Asia/Baku",
    "AbuDhabiMuscat": "Asia/Dubai",
    "Tehran": "Asia/Tehran",
    "Nairobi": "Africa/Nairobi",
    "MoscowStPetersburgVolgograd": "Europe/Moscow",
    "KuwaitRiyadh": "Asia/Riyadh",
    "Baghdad": "Asia/Baghdad",
    "Jerusalem": "Asia/Jerusalem",
    "HelsinkiKyivRigaSofiaTallinnVilnius": "Europe/Helsinki",
    "HararePretoria": "Africa/Johannesburg",
    "Cairo": "Africa/Cairo",
    "Bucharest": "Europe/Bucharest",
    "AthensIslandanbulMinsk": "Europe/Athens",
    "WestCentralAfrica": "Africa/Lagos",
    "SarajevoSkopjeWarsawZagreb": "Europe/Warsaw",
    "BrusselsCopenhagenMadridParis": "Europe/Paris",
    "BelgradeBratislavaBudapestLjubljanaPrague": "Europe/Budapest",
    "AmsterdamBerlinBernRomeStockholmVienna": "Europe/Berlin",
    "CasablancaMonrovia": "Africa/Casablanca",
    "GreenwichMeanTimeDublinEdinburghLisbonLondon": "Europe/London",
    "Azores": "Atlantic/Azores",
    "CapeVerdeIsland": "Atlantic/Cape_Verde",
    "MidAtlantic": "Atlantic/South_Georgia",
    "Brasilia": "America/Sao_Paulo",
    "BuenosAiresGeorgetown": "America/Argentina/Buenos_Aires",
    "Greenland": "America/Nuuk",
    "Newfoundland": "America/St_Johns",
    "AtlanticTimeCanada": "America/Halifax",
    "CaracasLaPaz": "America/Caracas",
    "Santiago": "America/Santiago",
    "BogotaLimaQuito": "America/Bogota",
    "EasternTimeUSCanada": "America/New_York",
    "IndianaEast": "America/Indiana/Indianapolis",
    "CentralAmerica": "America/Guatemala",
    "CentralTimeUSCanada": "America/Chicago",
    "GuadalajaraMexicoCityMonterrey": "America/Mexico_City",
    "Saskatchewan": "America/Regina",
    "Arizona": "America/Phoenix",
    "ChihuahuaLaPazMazatlan": "America/Mazatlan",
    "MountainTimeUSCanada": "America/Denver",
    "PacificTimeUSCanadaTijuana": "America/Los_Angeles",
    "Alaska": "America/Anchorage",
    "Hawaii": "Pacific/Honolulu",
    "MidwayIslandandSamoa": "Pacific/Pago_Pago",
    "InternationalDateLineWest": "Etc/GMT+12",
}
_MS_ZONE_OF_IANA = {iana: name for name, iana in TIME_ZONES.items()}
_ZONE_LABELS = {  # the "Time Zone:" line of a report header
    "EasternTimeUSCanada": "(GMT-05:00) Eastern Time (US & Canada)",
    "PacificTimeUSCanadaTijuana": "(GMT-08:00) Pacific Time (US & Canada); Tijuana",
    "AmsterdamBerlinBernRomeStockholmVienna": "(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
    "GreenwichMeanTimeDublinEdinburghLisbonLondon": "(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London",
}
DEFAULT_REPORT_TIME_ZONE = "PacificTimeUSCanadaTijuana"

CAMPAIGN_TYPES = frozenset(
    {"Search", "Shopping", "DynamicSearchAds", "Audience", "Hotel", "PerformanceMax", "App"}
)
AD_TYPES = frozenset(
    {"AppInstall", "DynamicSearch", "ExpandedText", "Hotel", "Image", "Product", "ResponsiveAd",
     "ResponsiveSearch", "Text"}
)  # fmt: skip
ACCOUNT_STATUSES = frozenset({"Active", "Draft", "Inactive", "Pause", "Pending", "Suspended"})

# AdPerformanceReportColumn values the sandbox serves (attributes, then measures).
ATTRIBUTE_COLUMNS = (
    "TimePeriod", "AccountId", "AccountName", "AccountNumber", "AccountStatus", "CustomerId",
    "CustomerName", "CampaignId", "CampaignName", "CampaignStatus", "CampaignType", "AdGroupId",
    "AdGroupName", "AdGroupStatus", "AdId", "AdTitle", "AdType", "AdStatus", "CurrencyCode",
)  # fmt: skip
MEASURE_COLUMNS = (
    "Impressions", "Clicks", "Ctr", "AverageCpc", "AverageCpm", "Spend", "Conversions",
    "ConversionsQualified", "AllConversionsQualified", "ConversionRate", "CostPerConversion",
    "Revenue", "AllRevenue", "ReturnOnAdSpend", "AbsoluteTopImpressionRatePercent",
    "TopImpressionRatePercent",
)  # fmt: skip
REPORT_COLUMNS = frozenset(ATTRIBUTE_COLUMNS) | frozenset(MEASURE_COLUMNS)
AGGREGATIONS = ("Summary", "Daily", "Hourly")
RETENTION_MONTHS = {"Hourly": 6, "Daily": 36, "Summary": 36}


@dataclass
class MicrosoftAdsApiSettings:
    """Knobs of the fake (defaults keep tests fast)."""

    polls_to_complete: int = 2  # Pending on earlier polls, then Success (or Error for faulted reports)
    download_ttl_seconds: float = 300.0  # of the world clock
    # Accounts the customer has besides the simulated ones: (name, AccountLifeCycleStatus).
    # An inactive account must be skipped by a connector (it has no campaigns and no data).
    extra_accounts: tuple[tuple[str, str], ...] = (("Legacy Storefront - USD", "Inactive"),)


# --------------------------------------------------------------------------------------------------
# Errors in Microsoft's shapes
# --------------------------------------------------------------------------------------------------


class MicrosoftError(Exception):
    """An error the fake answers in Microsoft's shape."""

    def __init__(
        self,
        code: int,
        error_code: str | None,
        message: str,
        *,
        status: int = 400,
        kind: str = "ApiFaultDetail",
        batch: bool = False,
        details: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error_code = error_code
        self.message = message
        self.status = status
        self.kind = kind
        self.batch = batch
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"Code": self.code, "Details": self.details, "Message": self.message}
        if self.error_code is not None:  # Customer Management errors have no ErrorCode element
            error["ErrorCode"] = self.error_code
        tracking = {"TrackingId": str(_uuid()), "Type": self.kind}
        if self.kind == "AdApiFaultDetail":
            return {**tracking, "Errors": [error]}
        if self.kind == "ApiFault":  # Customer Management
            return {**tracking, "OperationErrors": [error]}
        if self.batch:
            return {**tracking, "BatchErrors": [{**error, "Index": 0}], "OperationErrors": []}
        return {**tracking, "BatchErrors": [], "OperationErrors": [error]}


def _uuid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def _invalid(message: str, code: int = 201, error_code: str = "ApiInputValidationError") -> MicrosoftError:
    return MicrosoftError(code, error_code, message)


def _auth_error(code: int) -> MicrosoftError:
    if code == 109:
        return MicrosoftError(
            109,
            "AuthenticationTokenExpired",
            "Authentication token expired. Please renew it or obtain a new token.",
            status=401,
            kind="AdApiFaultDetail",
        )
    if code == 106:
        return MicrosoftError(
            106,
            "UserIsNotAuthorized",
            "The user is not authorized to perform this action.",
            status=401,
            kind="AdApiFaultDetail",
        )
    return MicrosoftError(
        105,
        "InvalidCredentials",
        "Authentication failed. Either supplied credentials are invalid or the account is inactive.",
        status=401,
        kind="AdApiFaultDetail",
    )


_json_response = partial(json_response, media_type=_JSON)


def _azure_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><Error>'
        f"<Code>{code}</Code><Message>{message}\nRequestId:{_uuid()}\nTime:"
        f"{datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z</Message></Error>"
    )
    return Response(body.encode(), status_code=status, media_type="application/xml")


# --------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportQuery:
    account_ids: tuple[str, ...]
    columns: tuple[str, ...]
    aggregation: str  # Summary | Daily | Hourly
    since: date
    until: date
    format_version: str | None
    exclude_header: bool
    exclude_footer: bool
    exclude_column_headers: bool
    report_name: str
    report_time_zone: str


@dataclass
class _Report(Job):
    status: str = "Pending"
    zip_bytes: bytes | None = None
    row_count: int | None = None


@dataclass(frozen=True)
class _Row:
    """One report row before formatting: identity, local day (and hour), integer metrics."""

    account: Account
    ad: Ad | None
    day: date | None
    hour: int | None
    spend_cents: int
    impressions: int
    clicks: int
    conversions: int
    value_cents: int


class MicrosoftAdsApi(RouterState):
    """The Microsoft Advertising router's state: world, faults, tokens and submitted reports."""

    platform = PLATFORM
    settings_class: ClassVar[type] = MicrosoftAdsApiSettings
    settings: MicrosoftAdsApiSettings

    def __init__(self, world: World, *args: Any, **kwargs: Any) -> None:
        super().__init__(world, *args, **kwargs)
        self.oauth = OAuthIssuer(PLATFORM, world, self.tokens)  # type: ignore[arg-type]
        self.report_book: JobBook[_Report] = JobBook(self.faults, PLATFORM, REPORT_FAULTS)
        self.reports = self.report_book.jobs
        self._lock = threading.Lock()
        self._signing_key = secrets.token_bytes(32)
        seed = world.scenario.seed
        self.customer_id = str(100_000_000 + stable_int(seed, PLATFORM, "customer") % 900_000_000)
        self.user_id = str(100_000_000 + stable_int(seed, PLATFORM, "user") % 900_000_000)
        self.extra_accounts = [
            {
                "Id": 100_000_000 + stable_int(seed, PLATFORM, "extra-account", i) % 900_000_000,
                "Name": name,
                "AccountLifeCycleStatus": status,
            }
            for i, (name, status) in enumerate(self.settings.extra_accounts)
        ]

    # -- the ASGI app ---------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [Route("/{path:path}", self.handle, methods=["GET", "POST", "PUT"])]

    async def handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"].strip("/")
        if path == TOKEN_PATH:
            return await self._token(request)
        if path.startswith(_DOWNLOAD_PREFIX):
            return await self._download(request, path)
        fault = await take_request_fault(self.faults, PLATFORM, path, REQUEST_FAULTS)
        if fault.answer is not None:
            return self._fault_response(fault.answer.kind, fault.answer.params, path)
        try:
            request.state.router_path = path  # fault paths and links are relative to the router
            self._authenticate(request)
            body = await _json_body(request)
            response = self._route(request, path, body)
        except MicrosoftError as error:
            if path.startswith("/CustomerManagement/") and error.kind == "ApiFaultDetail":
                error.kind, error.error_code = "ApiFault", None
            response = _json_response(error.body(), error.status)
        response.headers["TrackingId"] = _uuid()
        return fault.finish(response)

    def _authenticate(self, request: Request) -> None:
        verdict = self.oauth.check(request.headers.get("authenticationtoken"))
        if verdict == "expired":
            raise _auth_error(109)
        if verdict != "valid":
            raise _auth_error(105)
        if not request.headers.get("developertoken"):
            raise _auth_error(105)

    def _fault_response(self, kind: str, params: Mapping[str, Any], path: str) -> Response:
        if kind == "throttle":
            error = MicrosoftError(
                117,
                "CallRateExceeded",
                "You have exceeded the number of calls that you are allowed to make in a minute. "
                "Please reduce the number of calls that you make per minute.",
            )
            return _json_response(error.body(), 400)
        if kind == "server_error":
            status = int(params.get("status", 500))
            if status != 500:  # what a gateway in front of the API answers: not JSON
                return gateway_page(status, b"<html><body>Service Unavailable</body></html>")
            error = MicrosoftError(0, "InternalError", "An internal error has occurred.", status=500)
            return _json_response(error.body(), 500)
        if kind == "transient_code":
            code = int(params.get("code", 207))
            message = (
                "You have already reached the maximum number of concurrent report requests."
                if code == 207
                else "An internal error has occurred."
            )
            error = MicrosoftError(code, TRANSIENT_CODES.get(code, "InternalError"), message)
            return _json_response(error.body(), 400 if code else 500)
        if kind in ("bad_token", "token_expired"):
            error = _auth_error(109 if kind == "token_expired" else 105)
            return _json_response(error.body(), error.status)
        raise AssertionError(kind)  # pragma: no cover - REQUEST_FAULTS is exhaustive

    async def _token(self, request: Request) -> Response:
        form = engine_params.form(await request.body())
        if self.faults.take(PLATFORM, TOKEN_PATH, TOKEN_FAULTS) is not None:
            return _json_response(
                {
                    "error": "invalid_grant",
                    "error_description": "AADSTS70000: The provided value for the 'refresh_token' is "
                    "not valid. The refresh token has expired or was revoked.",
                    "error_codes": [70000],
                },
                400,
            )
        scope = form.get("scope", "")
        if not scope:
            return _json_response(
                {"error": "invalid_request", "error_description": "AADSTS90014: 'scope' is missing."}, 400
            )
        if OAUTH_SCOPE not in scope.split():
            return _json_response(
                {
                    "error": "invalid_scope",
                    "error_description": f"AADSTS70011: scope must include {OAUTH_SCOPE}",
                },
                400,
            )
        status, body = self.oauth.grant(form)
        if status == 200:
            body = {**body, "scope": f"{OAUTH_SCOPE} offline_access", "ext_expires_in": body["expires_in"]}
        return _json_response(body, status)

    # -- routing --------------------------------------------------------------------------------------

    def _route(self, request: Request, path: str, body: dict[str, Any]) -> Response:
        method = request.method
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[1] != API_VERSION:
            raise MicrosoftError(205, "InvalidVersion", f"The specified version is not valid: {path}")
        service, operation = parts[0], "/".join(parts[2:])
        handlers: dict[tuple[str, str, str], Any] = {
            ("CustomerManagement", "User/Query", "POST"): self._get_user,
            ("CustomerManagement", "AccountsInfo/Query", "POST"): self._get_accounts_info,
            ("CustomerManagement", "Account/Query", "POST"): self._get_account,
            ("CampaignManagement", "Campaigns/QueryByAccountId", "POST"): self._get_campaigns,
            ("CampaignManagement", "AdGroups/QueryByCampaignId", "POST"): self._get_ad_groups,
            ("CampaignManagement", "Ads/QueryByAdGroupId", "POST"): self._get_ads,
            ("CampaignManagement", "Campaigns", "PUT"): self._update_campaigns,
            ("Reporting", "GenerateReport/Submit", "POST"): self._submit,
            ("Reporting", "GenerateReport/Poll", "POST"): self._poll,
        }
        handler = handlers.get((service, operation, method))
        if handler is None:
            raise MicrosoftError(204, "OperationNotSupported", f"{method} {path} is not supported")
        return _json_response(handler(request, body))

    # -- accounts -------------------------------------------------------------------------------------

    def _accounts(self) -> list[Account]:
        return self.world.accounts(PLATFORM)

    def _find_account(self, account_id: Any) -> Account | None:
        wanted = str(account_id)
        return next((a for a in self._accounts() if a.id == wanted), None)

    def _get_user(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("UserId") not in (None, "", self.user_id, int(self.user_id)):
            raise MicrosoftError(1001, None, "The user identifier is not valid.")
        return {
            "User": {
                "ContactInfo": {"Email": "sandbox.user@adsignal.test", "Phone1": None},
                "CustomerId": int(self.customer_id),
                "Id": int(self.user_id),
                "JobTitle": None,
                "LastModifiedByUserId": int(self.user_id),
                "LastModifiedTime": "2024-03-04T09:10:11.123",
                "Lcid": "EnglishUS",
                "Name": {"FirstName": "Sandbox", "LastName": "User", "MiddleInitial": None},
                "Password": None,
                "SecretAnswer": None,
                "SecretQuestion": "None",
                "UserLifeCycleStatus": "Active",
                "TimeStamp": "AAAAAAAaKQ8=",
                "UserName": "sandbox.user@adsignal.test",
                "ForwardCompatibilityMap": [],
                "AuthenticationToken": None,
            },
            "CustomerRoles": [
                {
                    "RoleId": 41,  # super admin
                    "CustomerId": int(self.customer_id),
                    "AccountIds": None,
                    "LinkedAccountIds": None,
                    "CustomerLinkPermission": None,
                }
            ],
        }

    def _get_accounts_info(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        customer = body.get("CustomerId")
        if customer not in (None, "") and str(customer) != self.customer_id:
            raise MicrosoftError(106, None, "The user is not authorized to perform this action.", status=400)
        infos = [
            {
                "Id": int(a.id),
                "Name": a.name,
                "Number": _account_number(a.id),
                "AccountLifeCycleStatus": "Active",
                "PauseReason": None,
            }
            for a in self._accounts()
        ]
        infos += [
            {**extra, "Number": _account_number(str(extra["Id"])), "PauseReason": None}
            for extra in self.extra_accounts
        ]
        return {"AccountsInfo": infos}

    def _get_account(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        account_id = body.get("AccountId")
        account = self._find_account(account_id)
        extra = next((e for e in self.extra_accounts if str(e["Id"]) == str(account_id)), None)
        if account is None and extra is None:
            raise MicrosoftError(1102, None, "The account identifier is not valid.")
        if account is not None:
            values = (int(account.id), account.name, account.currency, _ms_zone(account.timezone), "Active")
        else:
            assert extra is not None
            values = (
                extra["Id"],
                extra["Name"],
                "USD",
                "EasternTimeUSCanada",
                extra["AccountLifeCycleStatus"],
            )
        ident, name, currency, zone, status = values
        return {
            "Account": {
                "BillToCustomerId": int(self.customer_id),
                "CurrencyCode": currency,
                "AccountFinancialStatus": "ClearFinancialStatus",
                "Id": ident,
                "Language": "English",
                "LastModifiedByUserId": int(self.user_id),
                "LastModifiedTime": "2025-01-06T10:11:12.137",
                "Name": name,
                "Number": _account_number(str(ident)),
                "ParentCustomerId": int(self.customer_id),
                "PaymentMethodId": None,
                "PaymentMethodType": None,
                "PrimaryUserId": int(self.user_id),
                "AccountLifeCycleStatus": status,
                "TimeStamp": "AAAAAEHk3nE=",
                "TimeZone": zone,
                "PauseReason": None,
                "ForwardCompatibilityMap": [],
                "LinkedAgencies": [],
                "SalesHouseCustomerId": None,
                "TaxInformation": None,
                "BackUpPaymentInstrumentId": None,
                "BillingThresholdAmount": None,
                "BusinessAddress": None,
                "AutoTagType": "Inactive",
                "SoldToPaymentInstrumentId": None,
                "AccountMode": "Expert",
            }
        }

    def _scoped_account(self, request: Request, body_account: Any = None) -> Account:
        """The account named by the CustomerAccountId header (Campaign Management scopes by it)."""
        header = request.headers.get("customeraccountid")
        customer = request.headers.get("customerid")
        if not header:
            raise MicrosoftError(116, "RequestMissingHeaders", "CustomerAccountId header is required.")
        if customer and customer != self.customer_id:
            raise _auth_error(106)
        if body_account not in (None, "") and str(body_account) != header:
            raise MicrosoftError(
                1102, "CampaignServiceInvalidAccountId", "The AccountId does not match CustomerAccountId."
            )
        account = self._find_account(header)
        if account is None:
            raise MicrosoftError(1102, "CampaignServiceInvalidAccountId", "The account ID is invalid.")
        return account

    # -- entities -------------------------------------------------------------------------------------

    def _get_campaigns(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        account = self._scoped_account(request, body.get("AccountId"))
        types = _flags(body.get("CampaignType")) or {"Search"}  # the API's default: Search only
        unknown = types - CAMPAIGN_TYPES
        if unknown:
            raise MicrosoftError(
                1141, "CampaignServiceInvalidCampaignType", f"Invalid campaign type: {sorted(unknown)[0]}"
            )
        campaigns = []
        for campaign in self.world.campaigns(PLATFORM, account.id):
            status = self._campaign_status(campaign)
            if status == "Deleted" or _campaign_type(campaign) not in types:
                continue
            campaigns.append(self._campaign_record(account, campaign, status))
        return {"Campaigns": campaigns, "PartialErrors": []}

    def _campaign_status(self, campaign: Campaign) -> str:
        status = self.world.campaign_status(campaign)
        return {"ACTIVE": "Active", "PAUSED": "Paused"}.get(status, "Deleted")

    def _campaign_record(self, account: Account, campaign: Campaign, status: str) -> dict[str, Any]:
        audience = _campaign_type(campaign) == "Audience"
        return {
            "AudienceAdsBidAdjustment": None,
            "BiddingScheme": {"Type": "MaxClicks", "MaxCpc": None}
            if audience
            else {"Type": "MaxConversions", "MaxCpc": None, "TargetCpa": None},
            "BudgetType": "DailyBudgetStandard",
            "DailyBudget": round(self.world.campaign_daily_budget(campaign), 2),
            "ExperimentId": None,
            "FinalUrlSuffix": None,
            "ForwardCompatibilityMap": [],
            "Id": int(campaign.id),
            "MultimediaAdsBidAdjustment": None,
            "Name": campaign.name,
            "Status": status,
            "SubType": None,
            "TimeZone": _ms_zone(account.timezone),
            "TrackingUrlTemplate": None,
            "UrlCustomParameters": None,
            "CampaignType": _campaign_type(campaign),
            "Settings": None,
            "BudgetId": None,
            "Languages": ["All"],
            "AdScheduleUseSearcherTimeZone": False,
            "BidStrategyId": None,
        }

    def _owned_campaign(self, account: Account, campaign_id: Any) -> Campaign:
        try:
            campaign = self.world.campaign(PLATFORM, str(campaign_id))
        except KeyError:
            campaign = None
        if (
            campaign is None
            or campaign.account_id != account.id
            or self._campaign_status(campaign) == "Deleted"
        ):
            raise MicrosoftError(1100, "CampaignServiceInvalidCampaignId", "The campaign ID is invalid.")
        return campaign

    def _get_ad_groups(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        account = self._scoped_account(request)
        campaign = self._owned_campaign(account, body.get("CampaignId"))
        today = self.world.today_local(account)
        groups = [
            self._ad_group_record(campaign, group, today)
            for group in self.world.ad_groups(PLATFORM, account.id, campaign.id)
        ]
        return {"AdGroups": groups}

    def _ad_group_record(self, campaign: Campaign, group: AdGroup, today: date) -> dict[str, Any]:
        audience = _campaign_type(campaign) == "Audience"
        expired = campaign.end_date is not None and campaign.end_date < today
        return {
            "AdRotation": None
            if audience
            else {"EndDate": None, "StartDate": None, "Type": "OptimizeForClicks"},
            "AudienceAdsBidAdjustment": None,
            "BiddingScheme": {"Type": "InheritFromParent", "InheritedBidStrategyType": None},
            "CpcBid": {"Amount": round(0.4 + (stable_int("cpc", group.id) % 160) / 100, 2)},
            "EndDate": _ms_date(campaign.end_date) if campaign.end_date else None,
            "FinalUrlSuffix": None,
            "ForwardCompatibilityMap": [],
            "Id": int(group.id),
            "Language": None,
            "Name": group.name,
            "Network": None if audience else "OwnedAndOperatedAndSyndicatedSearch",
            "PrivacyStatus": "Active",
            "Settings": None,
            "StartDate": _ms_date(campaign.start_date),
            "Status": "Expired" if expired else ("Active" if group.status == "ACTIVE" else "Paused"),
            "TrackingUrlTemplate": None,
            "UrlCustomParameters": None,
            "AdScheduleUseSearcherTimeZone": False,
            "AdGroupType": None if audience else "SearchStandard",
            "MultimediaAdsBidAdjustment": None,
        }

    def _get_ads(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        account = self._scoped_account(request)
        types = body.get("AdTypes")
        if not types:
            raise MicrosoftError(
                1049, "CampaignServiceAdTypesNullOrEmpty", "AdTypes cannot be null or empty."
            )
        wanted = set(types if isinstance(types, list) else _flags(types))
        if wanted - AD_TYPES:
            raise MicrosoftError(
                1050, "CampaignServiceInvalidAdType", f"Invalid ad type: {sorted(wanted - AD_TYPES)[0]}"
            )
        try:
            group = self.world.ad_group(PLATFORM, str(body.get("AdGroupId")))
        except KeyError:
            group = None
        if group is None or group.account_id != account.id:
            raise MicrosoftError(1201, "CampaignServiceInvalidAdGroupId", "The ad group ID is invalid.")
        campaign = self.world.campaign(PLATFORM, group.campaign_id)
        ad_type = "ResponsiveAd" if _campaign_type(campaign) == "Audience" else "ResponsiveSearch"
        if ad_type not in wanted:
            return {"Ads": []}
        return {
            "Ads": [
                self._ad_record(account, campaign, ad, ad_type)
                for ad in self.world.ads(PLATFORM, ad_group_id=group.id)
            ]
        }

    def _ad_record(self, account: Account, campaign: Campaign, ad: Ad, ad_type: str) -> dict[str, Any]:
        brand = account.name.rsplit(" - ", 1)[0]
        theme = campaign.name.split(" | ")[2] if campaign.name.count(" | ") >= 2 else campaign.name

        def text_asset(text: str, salt: str) -> dict[str, Any]:
            return {
                "Asset": {"Id": int(10**11 + stable_int("asset", ad.id, salt) % (9 * 10**11)), "Name": None,
                          "Type": "TextAsset", "Text": text},
                "AssetPerformance": None,
                "EditorialStatus": "Active",
                "PinnedField": None,
            }  # fmt: skip

        record: dict[str, Any] = {
            "AdFormatPreference": "All",
            "DevicePreference": 0,
            "EditorialStatus": "Active",
            "FinalAppUrls": None,
            "FinalMobileUrls": None,
            "FinalUrlSuffix": None,
            "FinalUrls": [f"https://www.example.com/{theme.lower().replace(' ', '-')}"],
            "ForwardCompatibilityMap": [],
            "Id": int(ad.id),
            "Status": "Active" if ad.status == "ACTIVE" else "Paused",
            "TrackingUrlTemplate": None,
            "Type": ad_type,
            "UrlCustomParameters": None,
            "Headlines": [
                text_asset(ad_title(ad), "h1"),
                text_asset(f"{brand} {theme}", "h2"),
                text_asset("Free Shipping Over 50", "h3"),
            ],
            "Descriptions": [text_asset(f"Discover {theme.lower()} from {brand}. Order today.", "d1")],
        }
        if ad_type == "ResponsiveSearch":
            record.update({"Domain": None, "Path1": theme.split()[0].lower(), "Path2": None})
        else:
            record.update(
                {"BusinessName": brand, "CallToAction": "ShopNow", "LongHeadlineString": f"{brand}: {theme}"}
            )
        return record

    # -- write-back -----------------------------------------------------------------------------------

    def _update_campaigns(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        account = self._scoped_account(request, body.get("AccountId"))
        campaigns = body.get("Campaigns")
        if not isinstance(campaigns, list) or not campaigns:
            raise MicrosoftError(1015, "CampaignServiceNullCampaign", "Campaigns cannot be null or empty.")
        if len(campaigns) > 100:
            raise MicrosoftError(1014, "CampaignServiceCampaignsArrayExceedsLimit", "At most 100 campaigns.")
        partial: list[dict[str, Any]] = []

        def fail(index: int, code: int, error_code: str, message: str) -> None:
            partial.append(
                {"Code": code, "Details": None, "ErrorCode": error_code, "FieldPath": None,
                 "ForwardCompatibilityMap": None, "Index": index, "Message": message, "Type": "BatchError"}
            )  # fmt: skip

        for index, item in enumerate(campaigns):
            if not isinstance(item, dict):
                fail(index, 1015, "CampaignServiceNullCampaign", "The campaign cannot be null.")
                continue
            try:
                campaign = self._owned_campaign(account, item.get("Id"))
            except MicrosoftError as error:
                fail(index, error.code, str(error.error_code), error.message)
                continue
            status, budget = item.get("Status"), item.get("DailyBudget")
            if status is not None and status not in ("Active", "Paused"):
                fail(index, 1020, "CampaignServiceInvalidCampaignStatus", "The campaign status is invalid.")
                continue
            if budget is not None:
                try:
                    budget = float(budget)
                except (TypeError, ValueError):
                    budget = -1.0
                if not budget >= 1.0:  # the minimum daily budget in most currencies
                    fail(
                        index, 1136, "CampaignServiceInvalidDailyBudgetAmount", "The daily budget is too low."
                    )
                    continue
            if status is not None:
                self.world.set_campaign_status(PLATFORM, campaign.id, status.upper())
            if budget is not None:
                self.world.set_campaign_daily_budget(PLATFORM, campaign.id, budget)
        return {"PartialErrors": partial}

    # -- reporting ------------------------------------------------------------------------------------

    def _submit(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        scoped_customer = request.headers.get("customerid")
        if scoped_customer and scoped_customer != self.customer_id:
            raise _auth_error(106)
        report_request = body.get("ReportRequest")
        if not isinstance(report_request, dict):
            raise MicrosoftError(2001, "ReportingServiceNullReportRequest", "The report request is null.")
        query = self._parse_report(report_request)
        report_id = f"{30_000_000_000 + self.report_book.next_serial() * 7919}_{secrets.token_hex(4)}"
        report = _Report(report_id, query, as_of=self.world.clock())
        return {"ReportRequestId": self.report_book.create(report, request.state.router_path).id}

    def _parse_report(self, raw: dict[str, Any]) -> ReportQuery:
        report_type = raw.get("Type")
        if report_type != "AdPerformanceReportRequest":
            raise MicrosoftError(
                2002,
                "ReportingServiceUnknownReportType",
                f"The report request type is not valid (the sandbox serves AdPerformanceReportRequest): {report_type}",
            )
        if raw.get("Format", "Csv") != "Csv":
            raise _invalid(f"The sandbox serves Format Csv only, not {raw.get('Format')}")
        columns = raw.get("Columns")
        if not isinstance(columns, list) or not columns:
            raise MicrosoftError(
                2014, "ReportingServiceNullColumns", "The list of columns cannot be null or empty."
            )
        unknown = [c for c in columns if c not in REPORT_COLUMNS]
        if unknown:
            raise _invalid(f"Invalid AdPerformanceReportColumn value: {unknown[0]}")
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise MicrosoftError(
                2016, "ReportingServiceDuplicateColumns", "The list of columns contains duplicates.",
                details=",".join(duplicates),
            )  # fmt: skip
        if not any(c in MEASURE_COLUMNS for c in columns):
            raise MicrosoftError(
                2017, "ReportingServiceNoMeasureSelected", "Select at least one measure column."
            )
        aggregation = raw.get("Aggregation") or "Summary"
        if aggregation not in AGGREGATIONS:
            raise MicrosoftError(
                2007, "ReportingServiceInvalidReportAggregation",
                f"The sandbox serves Summary, Daily and Hourly aggregation, not {aggregation}.",
            )  # fmt: skip
        if "TimePeriod" not in columns:
            aggregation = "Summary"  # documented: without TimePeriod the aggregation is ignored
        elif aggregation == "Summary":
            raise MicrosoftError(
                2034, "ReportingServiceInvalidTimePeriodColumnForSummaryReport",
                "The TimePeriod column cannot be specified in a report request that has a summary aggregation.",
            )  # fmt: skip
        scope = raw.get("Scope") or {}
        account_ids = scope.get("AccountIds") if isinstance(scope, dict) else None
        if not account_ids:
            raise MicrosoftError(
                2026,
                "ReportingServiceInvalidAccountReportScope",
                "The report scope has no account identifiers.",
            )
        if len(account_ids) > 1000:
            raise MicrosoftError(
                2029, "ReportingServiceAccountsOverLimit", "The report scope contains too many accounts."
            )
        known = {a.id for a in self._accounts()} | {str(e["Id"]) for e in self.extra_accounts}
        invalid = [str(a) for a in account_ids if str(a) not in known]
        if invalid:
            raise MicrosoftError(
                2035, "ReportingServiceInvalidAccountIds", "The report request contains invalid account ids.",
                details=",".join(invalid[:20]),
            )  # fmt: skip
        since, until, zone = self._report_time(raw.get("Time"), aggregation)
        if raw.get("ReturnOnlyCompleteData"):
            for account_id in account_ids:
                account = self._find_account(account_id)
                if account is not None and until >= self.world.today_local(account):
                    raise MicrosoftError(
                        2004, "ReportingServiceNoCompleteDataAvaliable",
                        "You requested a report with complete data for all included campaigns. Currently "
                        "only partial data is available in the respective time zone of one or more campaigns.",
                    )  # fmt: skip
        return ReportQuery(
            account_ids=tuple(str(a) for a in account_ids),
            columns=tuple(columns),
            aggregation=aggregation,
            since=since,
            until=until,
            format_version=raw.get("FormatVersion"),
            exclude_header=bool(raw.get("ExcludeReportHeader")),
            exclude_footer=bool(raw.get("ExcludeReportFooter")),
            exclude_column_headers=bool(raw.get("ExcludeColumnHeaders")),
            report_name=str(raw.get("ReportName") or ""),
            report_time_zone=zone,
        )

    def _report_time(self, time: Any, aggregation: str) -> tuple[date, date, str]:
        if not isinstance(time, dict):
            raise MicrosoftError(
                2008, "ReportingServiceInvalidReportTimeSelection", "The report time is null."
            )
        zone = time.get("ReportTimeZone") or DEFAULT_REPORT_TIME_ZONE
        if zone not in TIME_ZONES:
            raise _invalid(f"Invalid ReportTimeZone value: {zone}")
        today = self.world.clock().astimezone(ZoneInfo(TIME_ZONES[zone])).date()
        start, end, preset = (
            time.get("CustomDateRangeStart"),
            time.get("CustomDateRangeEnd"),
            time.get("PredefinedTime"),
        )
        if preset and (start or end):
            raise MicrosoftError(
                2008, "ReportingServiceInvalidReportTimeSelection",
                "Specify either a predefined time or a custom date range, not both.",
            )  # fmt: skip
        if preset:
            presets = {
                "Today": (today, today),
                "Yesterday": (today - timedelta(1), today - timedelta(1)),
                "LastSevenDays": (today - timedelta(7), today - timedelta(1)),
            }
            if preset not in presets:
                raise _invalid(
                    f"The sandbox serves PredefinedTime Today, Yesterday and LastSevenDays, not {preset}"
                )
            since, until = presets[preset]
        else:
            since = _parse_ms_date(start, 2009, "ReportingServiceInvalidCustomDateRangeStart")
            until = _parse_ms_date(end, 2010, "ReportingServiceInvalidCustomDateRangeEnd")
            if until < since:
                raise MicrosoftError(
                    2011,
                    "ReportingServiceEndDateBeforeStartDate",
                    "The end date cannot be earlier than the start date.",
                )
            if until > today:
                raise MicrosoftError(
                    2010, "ReportingServiceInvalidCustomDateRangeEnd",
                    f"The custom date range end {until.isoformat()} is later than today in {zone}.",
                )  # fmt: skip
        earliest = _months_back(today, RETENTION_MONTHS[aggregation])
        if since < earliest:
            raise MicrosoftError(
                2009, "ReportingServiceInvalidCustomDateRangeStart",
                f"{aggregation} data is kept {RETENTION_MONTHS[aggregation]} months: start on or after {earliest}.",
            )  # fmt: skip
        return since, until, zone

    def _poll(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        report = self.reports.get(str(body.get("ReportRequestId") or ""))
        if report is None:
            raise MicrosoftError(
                2100, "ReportingServiceInvalidReportId", "The report identifier is not valid."
            )
        self.report_book.poll(report)
        with self._lock:
            if report.status == "Pending":
                report.status = self._progress(report)
        url = None
        if report.status == "Success" and report.fault != "report_no_url":
            _, rows = self._report_file(report)
            if rows > 0:  # no data: Success without a download URL
                url = self._signed_url(request, report.id)
        return {"ReportRequestStatus": {"ReportDownloadUrl": url, "Status": report.status}}

    def _progress(self, report: _Report) -> str:
        if report.fault == "report_stuck":
            return "Pending"
        if report.polls < max(1, int(report.fault_params.get("polls", self.settings.polls_to_complete))):
            return "Pending"
        return "Error" if report.fault == "report_error" else "Success"

    # -- download -------------------------------------------------------------------------------------

    def _signature(self, report_id: str, expires: str) -> str:
        digest = hmac.new(self._signing_key, f"{report_id}\n{expires}".encode(), hashlib.sha256).digest()
        return digest.hex()[:43]

    def _signed_url(self, request: Request, report_id: str) -> str:
        expires = (self.world.clock() + timedelta(seconds=self.settings.download_ttl_seconds)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        query = urlencode(
            {"sv": "2023-11-03", "st": self.world.clock().strftime("%Y-%m-%dT%H:%M:%SZ"), "se": expires,
             "sr": "b", "sp": "r", "sig": self._signature(report_id, expires)}
        )  # fmt: skip
        root = request.scope.get("root_path", "")
        return str(request.url.replace(path=f"{root}{_DOWNLOAD_PREFIX}{report_id}.zip", query=query))

    async def _download(self, request: Request, path: str) -> Response:
        if request.method != "GET":
            return _azure_error(
                405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb."
            )
        report_id = path.removeprefix(_DOWNLOAD_PREFIX).removesuffix(".zip")
        # Blob storage fails on its own too: a busy server or a stalled transfer.
        fault = self.faults.take(PLATFORM, path, DOWNLOAD_FAULTS | {"server_error", "timeout"})
        if fault is not None and fault.kind == "timeout":
            await asyncio.sleep(float(fault.params.get("seconds", 5.0)))
        if fault is not None and fault.kind == "server_error":
            return _azure_error(503, "ServerBusy", "The server is currently unable to receive requests.")
        if fault is not None and fault.kind == "download_expired":
            status = int(fault.params.get("status", 403))
            if status == 404:
                return _azure_error(404, "BlobNotFound", "The specified blob does not exist.")
            return _azure_error(
                403, "AuthenticationFailed", "Signed expiry time has to be after signed start time."
            )
        report = self.reports.get(report_id)
        if report is None or report.status != "Success":
            return _azure_error(404, "BlobNotFound", "The specified blob does not exist.")
        params = request.query_params
        expires = params.get("se", "")
        if not hmac.compare_digest(params.get("sig", ""), self._signature(report_id, expires)):
            return _azure_error(
                403, "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of Authorization header is "
                "formed correctly including the signature.",
            )  # fmt: skip
        try:
            expiry = datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            expiry = datetime.min.replace(tzinfo=UTC)
        if self.world.clock() > expiry:
            return _azure_error(
                403, "AuthenticationFailed", "Signed expiry time has to be after signed start time."
            )
        zip_bytes, _ = self._report_file(report)
        if fault is not None and fault.kind == "corrupt_zip":
            zip_bytes = _corrupt_zip(zip_bytes, str(fault.params.get("mode", "truncated")))
        return Response(
            zip_bytes, media_type="application/x-zip-compressed", headers={"x-ms-blob-type": "BlockBlob"}
        )

    # -- report content -------------------------------------------------------------------------------

    def _report_file(self, report: _Report) -> tuple[bytes, int]:
        """The report's ZIP (built once, from the world as it was when the report was submitted)."""
        with self._lock:
            if report.zip_bytes is not None and report.row_count is not None:
                return report.zip_bytes, report.row_count
        rows = self._report_rows(report.query, report.as_of)
        text = self._csv(report, rows)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{report.id.split('_')[0]}.csv", text.encode("utf-8-sig"))
        with self._lock:
            report.zip_bytes, report.row_count = buffer.getvalue(), len(rows)
        return report.zip_bytes, len(rows)

    def _report_rows(self, query: ReportQuery, as_of: datetime) -> list[_Row]:
        rows: list[_Row] = []
        hourly = query.aggregation == "Hourly"
        for account_id in query.account_ids:
            account = self._find_account(account_id)
            if account is None:  # an inactive extra account: no campaigns, no data
                continue
            view = self.views.get(account.id)
            blocks = [
                # today's partial day comes from its hours, as a daily row
                day_block(self.world, PLATFORM, account, d, as_of, hourly=hourly, today_from_hours=True)
                for d in days(query.since, query.until)
            ]
            summary = query.aggregation == "Summary"
            result = rollup(view, AD, [blocks] if summary else [[b] for b in blocks], hourly=hourly)
            for bucket, ad, hour, values in zip(
                result.bucket, result.group, result.hour, result.metrics.tolist(), strict=True
            ):
                day = None if summary else query.since + timedelta(days=int(bucket))
                rows.append(_Row(account, view.ads[ad], day, int(hour) if hourly else None, *values))
        return rows

    def _csv(self, report: _Report, rows: Sequence[_Row]) -> str:
        query = report.query
        ignore_exclude = report.fault == "report_ignores_exclude"
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        if not query.exclude_header or ignore_exclude:
            first = self._find_account(query.account_ids[0])
            zone = _ms_zone(first.timezone) if first else query.report_time_zone
            clock = self.world.clock()
            for line in (
                f"Report Name: {query.report_name}",
                f"Report Time: {_us_date(query.since)},{_us_date(query.until)}",
                f"Time Zone: {_ZONE_LABELS.get(zone, zone)}",
                f"Last Completed Available Day: {_us_datetime(clock.replace(hour=0, minute=0) - timedelta(minutes=1))} (GMT)",
                f"Last Completed Available Hour: {_us_datetime(clock.replace(minute=0) - timedelta(hours=1))} (GMT)",
                f"Report Aggregation: {query.aggregation}",
                "Report Filter: ",
                f"Potential Incomplete Data: {'true' if query.until >= clock.date() else 'false'}",
                f"Rows: {len(rows):,}",
            ):
                writer.writerow([line])
            buffer.write("\r\n")
        if not query.exclude_column_headers:
            writer.writerow(query.columns)
        for row in rows:
            writer.writerow([self._value(column, row, query) for column in query.columns])
        if not query.exclude_footer or ignore_exclude:
            buffer.write("\r\n")
            writer.writerow([f"©{self.world.clock().year} Microsoft Corporation. All rights reserved. "])
        return buffer.getvalue()

    def _value(self, column: str, row: _Row, query: ReportQuery) -> str:
        account, ad = row.account, row.ad
        spend = row.spend_cents / 100
        value = row.value_cents / 100
        if column == "TimePeriod":
            assert row.day is not None
            if row.hour is None:
                return row.day.isoformat()
            if query.format_version == "2.0":
                return f"{row.day.isoformat()}|{row.hour}"
            return f"{row.day.month}/{row.day.day}/{row.day.year} 12:00:00 AM|{row.hour}"
        if column in (
            "AccountId",
            "AccountName",
            "AccountNumber",
            "AccountStatus",
            "CustomerId",
            "CustomerName",
        ):
            return {
                "AccountId": account.id,
                "AccountName": account.name,
                "AccountNumber": _account_number(account.id),
                "AccountStatus": "Active",
                "CustomerId": self.customer_id,
                "CustomerName": "adsignal Sandbox Customer",
            }[column]
        if column == "CurrencyCode":
            return account.currency
        assert ad is not None
        campaign = self.world.campaign(PLATFORM, ad.campaign_id)
        group = self.world.ad_group(PLATFORM, ad.ad_group_id)
        audience = _campaign_type(campaign) == "Audience"
        attributes = {
            "CampaignId": campaign.id,
            "CampaignName": campaign.name,
            "CampaignStatus": self._campaign_status(campaign),
            "CampaignType": "Audience" if audience else "Search & content",
            "AdGroupId": group.id,
            "AdGroupName": group.name,
            "AdGroupStatus": "Active",
            "AdId": ad.id,
            "AdTitle": ad_title(ad),
            "AdType": "Responsive ad" if audience else "Responsive search ad",
            "AdStatus": "Active",
        }
        if column in attributes:
            return attributes[column]
        impressions, clicks, conversions = row.impressions, row.clicks, row.conversions
        hourly = row.hour is not None
        measures: dict[str, str] = {
            "Impressions": f"{impressions:,}",
            "Clicks": f"{clicks:,}",
            "Ctr": _percent(clicks, impressions),
            "AverageCpc": _money(spend / clicks) if clicks else "--",
            "AverageCpm": _money(spend / impressions * 1000) if impressions else "--",
            "Spend": _money(spend),
            "Conversions": "0",  # deprecated in 2022: reports return zero
            "ConversionsQualified": f"{conversions:,.2f}",
            "AllConversionsQualified": f"{conversions:,.2f}",
            "ConversionRate": _percent(conversions, clicks),
            "CostPerConversion": _money(spend / conversions) if conversions else "--",
            "Revenue": _money(value) if conversions else "--",
            "AllRevenue": _money(value) if conversions else "--",
            "ReturnOnAdSpend": f"{value / spend:,.2f}" if spend and conversions else "--",
            "AbsoluteTopImpressionRatePercent": "--"
            if hourly
            else f"{20 + stable_int('abs', ad.id) % 40:.2f}%",
            "TopImpressionRatePercent": "--" if hourly else f"{45 + stable_int('top', ad.id) % 50:.2f}%",
        }
        return measures[column]


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


async def _json_body(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return {}

    def null_request(_: Exception) -> MicrosoftError:
        return MicrosoftError(100, "NullRequest", "The request message is null.")

    return await engine_params.json_body(request, null_request)  # type: ignore[no-any-return]


def ad_title(ad: Ad) -> str:
    """The ad's first headline, which reports show as AdTitle (quotes and a comma included on purpose)."""
    return f'{ad.name}, "Official Site"'


def _campaign_type(campaign: Campaign) -> str:
    return "Audience" if campaign.objective == "AUDIENCE" else "Search"


def _ms_zone(iana: str) -> str:
    return _MS_ZONE_OF_IANA.get(iana, DEFAULT_REPORT_TIME_ZONE)


def _account_number(account_id: str) -> str:
    return f"F{stable_int('account-number', account_id) % 16**7:07X}"


def _flags(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, list):
        return {str(v) for v in value}
    return {part for part in re.split(r"[\s,]+", str(value)) if part}


def _ms_date(day: date) -> dict[str, int]:
    return {"Day": day.day, "Month": day.month, "Year": day.year}


def _parse_ms_date(value: Any, code: int, error_code: str) -> date:
    try:
        return date(int(value["Year"]), int(value["Month"]), int(value["Day"]))
    except (KeyError, TypeError, ValueError):
        raise MicrosoftError(code, error_code, f"The custom date is not valid: {value!r}") from None


def _months_back(today: date, months: int) -> date:
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def _us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _us_datetime(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{_us_date(moment.date())} {hour}:{moment.minute:02d}:00 {'AM' if moment.hour < 12 else 'PM'}"


def _money(amount: float) -> str:
    return f"{amount:,.2f}"


def _percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.2f}%" if whole else "--"


def _corrupt_zip(data: bytes, mode: str) -> bytes:
    if mode == "garbage":
        return b"<html><body>Error</body></html>"
    if mode == "bad_crc":  # flip bytes inside the compressed data: the CRC check fails on read
        middle = len(data) // 3
        return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 8]) + data[middle + 8 :]
    return data[: max(1, len(data) // 2)]  # truncated transfer


router_factory = make_router_factory(MicrosoftAdsApi)


__all__ = [
    "DOWNLOAD_FAULTS",
    "FAULT_KINDS",
    "OAUTH_SCOPE",
    "REPORT_FAULTS",
    "REQUEST_FAULTS",
    "TIME_ZONES",
    "TOKEN_FAULTS",
    "TOKEN_PATH",
    "MicrosoftAdsApi",
    "MicrosoftAdsApiSettings",
    "MicrosoftError",
    "ReportQuery",
    "ad_title",
    "router_factory",
]
