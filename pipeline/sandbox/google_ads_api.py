"""A faithful fake of the Google Ads API (REST), served from the simulator.

What it speaks (see docs platform-apis.md):

- ``GET  /v{N}/customers:listAccessibleCustomers`` → ``{"resourceNames": ["customers/…"]}``;
- ``POST /v{N}/customers/{cid}/googleAds:search`` ``{"query", "pageToken"?}`` → one page
  ``{results, nextPageToken?, fieldMask, requestId}``; pages are a fixed size (10,000 rows, as
  the real API since v17: ``pageSize`` is rejected with PAGE_SIZE_NOT_SUPPORTED); page tokens expire;
- ``POST /v{N}/customers/{cid}/googleAds:searchStream`` ``{"query"}`` → a JSON *array* of batches
  ``{results, fieldMask, requestId}`` (not paged);
- ``POST /v{N}/customers/{cid}/campaigns:mutate`` (status) and ``campaignBudgets:mutate``
  (``amountMicros``) write-back, with ``updateMask``;
- ``POST /token``: the OAuth 2.0 refresh-token grant (Google's is ``oauth2.googleapis.com/token``).

The account tree: the OAuth user can access a manager (MCC) account whose clients are the world's
google_ads accounts plus one cancelled client; the cancelled client is also directly accessible,
and any request to it answers 403 CUSTOMER_NOT_ENABLED. Client accounts are only reachable through
the manager: requests need ``login-customer-id: <manager id>``. Metrics on the manager itself are
refused (REQUESTED_METRICS_FOR_MANAGER), as on the real API.

Behaviour kept from the real API because connectors and staging depend on it:

- GAQL (the subset connectors send): ``SELECT fields FROM resource [WHERE cond AND …]
  [ORDER BY …] [LIMIT n]`` with ``=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, DURING, IS [NOT] NULL``;
  unknown fields → UNRECOGNIZED_FIELD, fields of a resource not reachable from the FROM resource →
  PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE, ``segments.date`` without a finite date filter →
  EXPECTED_FILTERS_ON_DATE_RANGE;
- REST JSON: camelCase keys, every selected resource with its ``resourceName``; int64 values
  (ids, ``costMicros``, ``impressions``, ``clicks``, ``amountMicros``, ``level``) as strings,
  doubles (``conversions``, ``conversionsValue``, ``ctr``) and int32 (``segments.hour``) as numbers;
  enums as names; money in micros of the account currency; ``segments.date`` / ``segments.hour``
  in the client account's timezone (DST days have 23 or 25 hours of delivery);
- rows only for objects that delivered when metrics are asked for; today's (partial) day is served;
  conversions restate for 30 days (the world's clock); campaigns without an end date report
  ``endDateTime`` ``2037-12-30 23:59:59``;
- errors in Google's shape ``{"error": {code, message, status, details: [GoogleAdsFailure]}}``;
  responses pretty-printed, as Google's are.

Faults (kinds in ``FAULT_KINDS``, injected through ``FaultInjector``): ``throttle`` (429
RESOURCE_EXHAUSTED with ``quotaErrorDetails.retryDelay``; param ``retry_seconds``),
``server_error`` (500 INTERNAL_ERROR; ``status=503`` → UNAVAILABLE), ``transient_error``,
``deadline_exceeded``, ``timeout`` (``seconds``), ``malformed_json``, ``truncated_json``,
``bad_token`` (401 OAUTH_TOKEN_INVALID), ``token_expired`` (401 OAUTH_TOKEN_EXPIRED),
``bad_developer_token`` (401 DEVELOPER_TOKEN_INVALID), ``permission_denied`` (403
USER_PERMISSION_DENIED), ``customer_not_enabled`` (403), ``expired_page_token`` (taken only by a
``:search`` request that carries a page token), ``stream_error`` (taken only by searchStream: a 200
whose array ends in an error element), ``invalid_grant`` (the token endpoint).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pipeline.sandbox.engine import (
    AccountView,
    RouterState,
    day_block,
    days,
    make_router_factory,
    rollup,
    take_request_fault,
)
from pipeline.sandbox.engine import params as engine_params
from pipeline.sandbox.engine.params import ParamError
from pipeline.sandbox.engine.rollups import ACCOUNT, AD, AD_GROUP, CAMPAIGN
from pipeline.sandbox.oauth import OAuthIssuer
from pipeline.sandbox.responses import json_response
from pipeline.sandbox.simulator import Account, Ad, AdGroup, Campaign, World, stable_int

PLATFORM = "google_ads"
TOKEN_PATH = "/token"  # served under the router: <sandbox>/google_ads/token
SANDBOX_DEVELOPER_TOKEN = f"sandbox-{PLATFORM}-developer-token"
OAUTH_SCOPE = "https://www.googleapis.com/auth/adwords"

REQUEST_FAULTS = frozenset(
    {
        "throttle",
        "server_error",
        "transient_error",
        "deadline_exceeded",
        "timeout",
        "malformed_json",
        "truncated_json",
        "bad_token",
        "token_expired",
        "bad_developer_token",
        "permission_denied",
        "customer_not_enabled",
    }
)
PAGING_FAULTS = frozenset({"expired_page_token"})
STREAM_FAULTS = frozenset({"stream_error"})
TOKEN_FAULTS = frozenset({"invalid_grant"})
# Where performance records are asked for (router contract): "mid-sync" faults of the fault matrix aim here.
REPORT_PATH = "searchStream"
FAULT_KINDS = REQUEST_FAULTS | PAGING_FAULTS | STREAM_FAULTS | TOKEN_FAULTS

FIXED_PAGE_SIZE = 10_000  # GoogleAdsService.Search pages since v17; searchStream batches likewise
NO_END_DATE_TIME = "2037-12-30 23:59:59"  # what Google reports for a campaign without an end date
_VERSION = re.compile(r"^v(\d+)$")
_CUSTOMER_ID = re.compile(r"^\d{10}$")
_JSON = "application/json; charset=UTF-8"

# Simulator status (Meta's vocabulary) -> Google's campaign status.
_GOOGLE_STATUS = {"ACTIVE": "ENABLED", "PAUSED": "PAUSED", "ARCHIVED": "REMOVED", "DELETED": "REMOVED"}
_WORLD_STATUS = {"ENABLED": "ACTIVE", "PAUSED": "PAUSED"}
# Simulator objective -> (advertising channel type, bidding strategy type, ad group type, ad type).
_CHANNELS = {
    "PERFORMANCE_MAX": (
        "PERFORMANCE_MAX",
        "MAXIMIZE_CONVERSION_VALUE",
        "SEARCH_STANDARD",
        "RESPONSIVE_SEARCH_AD",
    ),
    "DISPLAY": ("DISPLAY", "TARGET_SPEND", "DISPLAY_STANDARD", "RESPONSIVE_DISPLAY_AD"),
}
# Currencies whose minimum unit is 1 (budgets must be whole units); others step in cents.
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "COP", "HUF", "ISK", "IDR", "TWD", "VND", "PYG"})

_STATUS_MESSAGES = {
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "PERMISSION_DENIED": "The caller does not have permission",
    "UNAUTHENTICATED": (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
        "or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project."
    ),
    "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
    "INTERNAL": "Internal error encountered.",
    "UNAVAILABLE": "The service is currently unavailable.",
    "DEADLINE_EXCEEDED": "The request deadline was exceeded.",
}
_HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


@dataclass
class GoogleAdsApiSettings:
    """Knobs of the fake (defaults are the real API's; tests shrink pages to see several)."""

    page_size: int = FIXED_PAGE_SIZE  # rows per :search page (not settable by clients)
    stream_batch_size: int = FIXED_PAGE_SIZE  # rows per searchStream batch
    page_token_ttl_seconds: float = 3600.0  # a page token older than this (wall time) has expired
    min_api_version: int = 19  # older versions are sunset: their URLs answer 404


# --------------------------------------------------------------------------------------------------
# Errors in Google's shape
# --------------------------------------------------------------------------------------------------


class GoogleAdsError(Exception):
    """An error the fake answers as ``{"error": {code, message, status, details}}``."""

    def __init__(
        self,
        status: str,
        errors: Sequence[tuple[str, str, str]] = (),
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
        bad_request: str | None = None,
    ) -> None:
        self.status = status
        self.errors = list(errors)  # (error category, code, message)
        self.message = message or _STATUS_MESSAGES.get(status, status)
        self.details = dict(details) if details else None
        self.bad_request = bad_request  # a payload problem the front end rejects (no GoogleAdsFailure)
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.status, 500)

    def body(self, version: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.http_status, "message": self.message, "status": self.status}
        if self.bad_request is not None:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"description": self.bad_request}],
                }
            ]
        elif self.errors:
            failures = []
            for category, code, text in self.errors:
                entry: dict[str, Any] = {"errorCode": {category: code}, "message": text}
                if self.details:
                    entry["details"] = self.details
                failures.append(entry)
            error["details"] = [
                {
                    "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
                    "errors": failures,
                    "requestId": _request_id(),
                }
            ]
        return {"error": error}


def _invalid(category: str, code: str, message: str) -> GoogleAdsError:
    return GoogleAdsError("INVALID_ARGUMENT", [(category, code, message)])


def _denied(category: str, code: str, message: str) -> GoogleAdsError:
    return GoogleAdsError("PERMISSION_DENIED", [(category, code, message)])


def _query_error(code: str, message: str) -> GoogleAdsError:
    return _invalid("queryError", code, message)


def _request_error(code: str, message: str) -> GoogleAdsError:
    return _invalid("requestError", code, message)


def _permission_denied() -> GoogleAdsError:
    return _denied(
        "authorizationError",
        "USER_PERMISSION_DENIED",
        "User doesn't have permission to access customer. Note: If you're accessing a client "
        "customer, the manager's customer id must be set in the 'login-customer-id' header. "
        "See https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid",
    )


def _not_enabled() -> GoogleAdsError:
    return _denied(
        "authorizationError",
        "CUSTOMER_NOT_ENABLED",
        "The customer account can't be accessed because it is not yet enabled or has been deactivated.",
    )


def _invalid_payload(detail: str) -> GoogleAdsError:
    return GoogleAdsError(
        "INVALID_ARGUMENT", message=f"Invalid JSON payload received. {detail}", bad_request=detail
    )


def _request_id() -> str:
    return secrets.token_urlsafe(16)[:22]


# --------------------------------------------------------------------------------------------------
# GAQL: tokens, parse tree, parser
# --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "ASC", "DESC", "LIMIT", "BETWEEN", "IN", "NOT",
     "DURING", "IS", "NULL", "LIKE", "CONTAINS", "PARAMETERS", "OR"}
)  # fmt: skip
_DURING_DAYS = {
    "TODAY": (0, 0),
    "YESTERDAY": (1, 1),
    "LAST_7_DAYS": (7, 1),
    "LAST_14_DAYS": (14, 1),
    "LAST_30_DAYS": (30, 1),
}


@dataclass(frozen=True)
class Token:
    kind: str  # string | number | op | punct | word | end
    text: str
    position: int

    @property
    def keyword(self) -> str | None:
        upper = self.text.upper()
        return upper if self.kind == "word" and upper in _KEYWORDS else None


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | word (enum constant, TRUE/FALSE, date range name)
    value: str


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str  # = != > >= < <= IN, NOT IN, BETWEEN, DURING, IS NULL, IS NOT NULL
    values: tuple[Literal, ...] = ()


@dataclass(frozen=True)
class GaqlQuery:
    fields: tuple[str, ...]
    resource: str
    conditions: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int | None = None

    @property
    def metrics(self) -> bool:
        return any(f.startswith("metrics.") for f in self.fields) or any(
            c.field.startswith("metrics.") for c in self.conditions
        )

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f.startswith("segments."))


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position] in "'\"":
                raise _query_error(
                    "STRING_NOT_TERMINATED", f"Error in query: unterminated string at {position}."
                )
            raise _query_error("UNEXPECTED_INPUT", f"Error in query: unexpected input {text[position]}.")
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect_keyword(self, keyword: str, code: str) -> None:
        token = self.take()
        if token.keyword != keyword:
            if token.kind == "end":
                raise _query_error("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
            raise _query_error(code, f"Error in query: expected {keyword}, found '{token.text}'.")

    def field_name(self, clause: str) -> str:
        token = self.take()
        if token.kind != "word" or token.keyword is not None:
            if token.kind == "end":
                raise _query_error("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
            raise _query_error(
                "BAD_FIELD_NAME", f"Error in {clause} clause: invalid field name '{token.text}'."
            )
        return token.text

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            body = token.text[1:-1]
            return Literal("string", re.sub(r"\\(.)", r"\1", body))
        if token.kind == "number":
            return Literal("number", token.text)
        if token.kind == "word" and token.keyword is None:
            return Literal("word", token.text)
        if token.kind == "end":
            raise _query_error("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        raise _query_error("BAD_VALUE", f"Error in WHERE clause: invalid value '{token.text}'.")

    def parse(self) -> GaqlQuery:
        self.expect_keyword("SELECT", "EXPECTED_SELECT")
        fields = [self.field_name("SELECT")]
        while self.peek().text == ",":
            self.take()
            fields.append(self.field_name("SELECT"))
        self.expect_keyword("FROM", "EXPECTED_FROM")
        resource = self.field_name("FROM")
        conditions: list[Condition] = []
        order_by: list[tuple[str, bool]] = []
        limit: int | None = None
        if self.peek().keyword == "WHERE":
            self.take()
            conditions.append(self.condition())
            while self.peek().keyword in ("AND", "OR"):
                if self.take().keyword == "OR":
                    raise _query_error("UNEXPECTED_INPUT", "Error in WHERE clause: OR is not supported.")
                conditions.append(self.condition())
        if self.peek().keyword == "ORDER":
            self.take()
            self.expect_keyword("BY", "EXPECTED_BY")
            while True:
                name = self.field_name("ORDER BY")
                descending = False
                if self.peek().keyword in ("ASC", "DESC"):
                    descending = self.take().keyword == "DESC"
                order_by.append((name, descending))
                if self.peek().text != ",":
                    break
                self.take()
        if self.peek().keyword == "LIMIT":
            self.take()
            token = self.take()
            if token.kind != "number" or not token.text.isdigit() or int(token.text) < 1:
                raise _query_error("BAD_LIMIT_VALUE", f"Error in LIMIT clause: invalid limit '{token.text}'.")
            limit = int(token.text)
        if self.peek().keyword == "PARAMETERS":
            raise _query_error("BAD_PARAMETER_NAME", "The sandbox does not support PARAMETERS.")
        trailing = self.peek()
        if trailing.kind != "end":
            raise _query_error("UNEXPECTED_INPUT", f"Error in query: unexpected input {trailing.text}.")
        return GaqlQuery(tuple(fields), resource, tuple(conditions), tuple(order_by), limit)

    def condition(self) -> Condition:
        name = self.field_name("WHERE")
        token = self.take()
        if token.kind == "op":
            return Condition(name, token.text, (self.literal(),))
        keyword = token.keyword
        if keyword == "BETWEEN":
            low = self.literal()
            self.expect_keyword("AND", "EXPECTED_AND")
            return Condition(name, "BETWEEN", (low, self.literal()))
        if keyword == "DURING":
            return Condition(name, "DURING", (self.literal(),))
        if keyword == "NOT":
            self.expect_keyword("IN", "BAD_OPERATOR")
            return Condition(name, "NOT IN", self.value_list())
        if keyword == "IN":
            return Condition(name, "IN", self.value_list())
        if keyword == "IS":
            negated = self.peek().keyword == "NOT"
            if negated:
                self.take()
            self.expect_keyword("NULL", "BAD_OPERATOR")
            return Condition(name, "IS NOT NULL" if negated else "IS NULL")
        if token.kind == "end":
            raise _query_error("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        raise _query_error("BAD_OPERATOR", f"Error in WHERE clause: invalid operator '{token.text}'.")

    def value_list(self) -> tuple[Literal, ...]:
        if self.take().text != "(":
            raise _query_error("EXPECTED_LIST", "Error in WHERE clause: expected a list of values.")
        if self.peek().text == ")":
            raise _query_error(
                "PROHIBITED_EMPTY_LIST_IN_CONDITION", "Error in WHERE clause: empty lists are not allowed."
            )
        values = [self.literal()]
        while self.peek().text == ",":
            self.take()
            values.append(self.literal())
        if self.take().text != ")":
            raise _query_error("EXPECTED_LIST", "Error in WHERE clause: expected ')'.")
        return tuple(values)


def parse_gaql(text: str) -> GaqlQuery:
    """Parse the GAQL subset the sandbox serves (raises GoogleAdsError with a query error)."""
    if not text or not text.strip():
        raise _query_error("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
    return _Parser(text).parse()


# --------------------------------------------------------------------------------------------------
# Rows and fields
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    """A Google Ads customer: a world account, the manager, or the cancelled client."""

    id: str
    name: str
    currency: str
    timezone: str
    status: str = "ENABLED"  # ENABLED | CANCELED | SUSPENDED | CLOSED
    manager: bool = False
    account: Account | None = None


@dataclass
class Row:
    """The objects one result row is about (a field getter reads what it needs)."""

    customer: Customer
    campaign: Campaign | None = None
    ad_group: AdGroup | None = None
    ad: Ad | None = None
    client: tuple[Customer, int] | None = None  # customer_client rows: (client, level)
    day: date | None = None
    hour: int | None = None
    metrics: tuple[int, int, int, int, int] | None = None  # spend cents, impr, clicks, conv, value cents


Getter = Callable[["GoogleAdsApi", Row], Any]

# Which resources' fields each FROM resource can select (besides metrics and segments).
_SELECTABLE: dict[str, frozenset[str]] = {
    "customer": frozenset({"customer"}),
    "customer_client": frozenset({"customer_client", "customer"}),
    "campaign": frozenset({"campaign", "campaign_budget", "customer"}),
    "campaign_budget": frozenset({"campaign_budget", "customer"}),
    "ad_group": frozenset({"ad_group", "campaign", "customer"}),
    "ad_group_ad": frozenset({"ad_group_ad", "ad_group", "campaign", "customer"}),
}
_METRIC_RESOURCES = frozenset({"customer", "campaign", "ad_group", "ad_group_ad"})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _micros_from_cents(cents: int) -> str:
    return str(cents * 10_000)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _budget_micros(api: GoogleAdsApi, row: Row) -> str | None:
    campaign = row.campaign
    if campaign is None or campaign.lifetime_budget is not None:
        return None
    return str(round(api.world.campaign_daily_budget(campaign) * 1_000_000))


def _campaign_field(getter: Callable[[GoogleAdsApi, Campaign], Any]) -> Getter:
    return lambda api, row: getter(api, row.campaign) if row.campaign is not None else None


def _double(value: float) -> float | int:
    """A proto ``double`` as Google's JSON writes it: ``3`` for 3.0, ``2.5`` for 2.5."""
    return int(value) if float(value).is_integer() else float(value)


def _metric(index: int, convert: Callable[[int], Any]) -> Getter:
    return lambda api, row: convert(row.metrics[index]) if row.metrics is not None else None


def _derived(compute: Callable[[tuple[int, int, int, int, int]], Any]) -> Getter:
    return lambda api, row: compute(row.metrics) if row.metrics is not None else None


FIELDS: dict[str, Getter] = {
    # customer
    "customer.resource_name": lambda api, row: f"customers/{row.customer.id}",
    "customer.id": lambda api, row: row.customer.id,
    "customer.descriptive_name": lambda api, row: row.customer.name,
    "customer.currency_code": lambda api, row: row.customer.currency,
    "customer.time_zone": lambda api, row: row.customer.timezone,
    "customer.status": lambda api, row: row.customer.status,
    "customer.manager": lambda api, row: row.customer.manager,
    "customer.test_account": lambda api, row: False,
    "customer.auto_tagging_enabled": lambda api, row: not row.customer.manager,
    # customer_client (rows listed under a manager: the manager itself at level 0, clients at 1)
    "customer_client.resource_name": lambda api, row: (
        f"customers/{row.customer.id}/customerClients/{row.client[0].id}" if row.client else None
    ),
    "customer_client.client_customer": lambda api, row: (
        f"customers/{row.client[0].id}" if row.client else None
    ),
    "customer_client.id": lambda api, row: row.client[0].id if row.client else None,
    "customer_client.descriptive_name": lambda api, row: row.client[0].name if row.client else None,
    "customer_client.currency_code": lambda api, row: row.client[0].currency if row.client else None,
    "customer_client.time_zone": lambda api, row: row.client[0].timezone if row.client else None,
    "customer_client.status": lambda api, row: row.client[0].status if row.client else None,
    "customer_client.manager": lambda api, row: row.client[0].manager if row.client else None,
    "customer_client.level": lambda api, row: str(row.client[1]) if row.client else None,
    "customer_client.hidden": lambda api, row: False if row.client else None,
    "customer_client.test_account": lambda api, row: False if row.client else None,
    # campaign
    "campaign.resource_name": _campaign_field(lambda api, c: f"customers/{c.account_id}/campaigns/{c.id}"),
    "campaign.id": _campaign_field(lambda api, c: c.id),
    "campaign.name": _campaign_field(lambda api, c: c.name),
    "campaign.status": _campaign_field(lambda api, c: _GOOGLE_STATUS[api.world.campaign_status(c)]),
    "campaign.serving_status": _campaign_field(lambda api, c: api.serving_status(c)),
    "campaign.advertising_channel_type": _campaign_field(lambda api, c: _channel(c)[0]),
    "campaign.bidding_strategy_type": _campaign_field(lambda api, c: _channel(c)[1]),
    "campaign.campaign_budget": _campaign_field(
        lambda api, c: f"customers/{c.account_id}/campaignBudgets/{budget_id(c)}"
    ),
    "campaign.start_date_time": _campaign_field(lambda api, c: f"{c.start_date.isoformat()} 00:00:00"),
    "campaign.end_date_time": _campaign_field(
        lambda api, c: f"{c.end_date.isoformat()} 23:59:59" if c.end_date else NO_END_DATE_TIME
    ),
    # campaign_budget (one per campaign in the sandbox, never shared)
    "campaign_budget.resource_name": _campaign_field(
        lambda api, c: f"customers/{c.account_id}/campaignBudgets/{budget_id(c)}"
    ),
    "campaign_budget.id": _campaign_field(lambda api, c: budget_id(c)),
    "campaign_budget.name": _campaign_field(lambda api, c: f"Budget - {c.name}"),
    "campaign_budget.status": _campaign_field(lambda api, c: "ENABLED"),
    "campaign_budget.amount_micros": _budget_micros,
    "campaign_budget.total_amount_micros": _campaign_field(
        lambda api, c: str(round(c.lifetime_budget * 1_000_000)) if c.lifetime_budget is not None else None
    ),
    "campaign_budget.period": _campaign_field(
        lambda api, c: "CUSTOM_PERIOD" if c.lifetime_budget is not None else "DAILY"
    ),
    "campaign_budget.delivery_method": _campaign_field(lambda api, c: "STANDARD"),
    "campaign_budget.explicitly_shared": _campaign_field(lambda api, c: False),
    # ad_group
    "ad_group.resource_name": lambda api, row: (
        f"customers/{row.ad_group.account_id}/adGroups/{row.ad_group.id}" if row.ad_group else None
    ),
    "ad_group.id": lambda api, row: row.ad_group.id if row.ad_group else None,
    "ad_group.name": lambda api, row: row.ad_group.name if row.ad_group else None,
    "ad_group.status": lambda api, row: _GOOGLE_STATUS.get(row.ad_group.status) if row.ad_group else None,
    "ad_group.type": lambda api, row: _channel(row.campaign)[2] if row.ad_group and row.campaign else None,
    "ad_group.campaign": lambda api, row: (
        f"customers/{row.ad_group.account_id}/campaigns/{row.ad_group.campaign_id}" if row.ad_group else None
    ),
    "ad_group.cpc_bid_micros": lambda api, row: (
        str(10_000 * (50 + stable_int("cpc", row.ad_group.id) % 150)) if row.ad_group else None
    ),
    # ad_group_ad (the ad and its link to the ad group)
    "ad_group_ad.resource_name": lambda api, row: (
        f"customers/{row.ad.account_id}/adGroupAds/{row.ad.ad_group_id}~{row.ad.id}" if row.ad else None
    ),
    "ad_group_ad.status": lambda api, row: _GOOGLE_STATUS.get(row.ad.status) if row.ad else None,
    "ad_group_ad.ad_group": lambda api, row: (
        f"customers/{row.ad.account_id}/adGroups/{row.ad.ad_group_id}" if row.ad else None
    ),
    "ad_group_ad.ad.resource_name": lambda api, row: (
        f"customers/{row.ad.account_id}/ads/{row.ad.id}" if row.ad else None
    ),
    "ad_group_ad.ad.id": lambda api, row: row.ad.id if row.ad else None,
    "ad_group_ad.ad.name": lambda api, row: row.ad.name if row.ad else None,
    "ad_group_ad.ad.type": lambda api, row: _channel(row.campaign)[3] if row.ad and row.campaign else None,
    "ad_group_ad.ad.final_urls": lambda api, row: (
        [f"https://www.example.com/{row.ad.ad_group_id}/{row.ad.id}"] if row.ad else None
    ),
    "ad_group_ad.policy_summary.approval_status": lambda api, row: "APPROVED" if row.ad else None,
    # segments
    "segments.date": lambda api, row: row.day.isoformat() if row.day else None,
    "segments.hour": lambda api, row: row.hour,
    "segments.day_of_week": lambda api, row: row.day.strftime("%A").upper() if row.day else None,
    # metrics: int64 as strings, doubles as numbers, money in micros
    "metrics.cost_micros": _metric(0, _micros_from_cents),
    "metrics.impressions": _metric(1, str),
    "metrics.clicks": _metric(2, str),
    "metrics.conversions": _metric(3, _double),
    "metrics.conversions_value": _metric(4, lambda cents: _double(cents / 100)),
    "metrics.all_conversions": _metric(3, _double),
    "metrics.all_conversions_value": _metric(4, lambda cents: _double(cents / 100)),
    "metrics.view_through_conversions": _metric(3, lambda n: "0"),
    "metrics.ctr": _derived(lambda m: _ratio(m[2], m[1])),
    "metrics.average_cpc": _derived(lambda m: _ratio(m[0] * 10_000, m[2])),
    "metrics.average_cpm": _derived(lambda m: _ratio(m[0] * 10_000 * 1000, m[1])),
    "metrics.cost_per_conversion": _derived(lambda m: _ratio(m[0] * 10_000, m[3])),
}
# Nested message fields that carry their own resource name in REST output.
_NESTED_RESOURCES = {("ad_group_ad", "ad"): "ad_group_ad.ad.resource_name"}
_DATE_SEGMENTS = frozenset({"segments.date", "segments.day_of_week"})
_LEVELS = {"campaign": CAMPAIGN, "ad_group": AD_GROUP, "ad_group_ad": AD}  # else the customer's


def _channel(campaign: Campaign | None) -> tuple[str, str, str, str]:
    if campaign is None:
        return _CHANNELS["PERFORMANCE_MAX"]
    return _CHANNELS.get(campaign.objective, _CHANNELS["PERFORMANCE_MAX"])


def budget_id(campaign: Campaign) -> str:
    """The campaign's budget id (one unshared budget per campaign in the sandbox)."""
    return "1" + str(stable_int("campaign_budget", campaign.id) % 10**10).zfill(10)


def _resource_of(field_name: str) -> str:
    return field_name.split(".", 1)[0]


# --------------------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------------------


@dataclass
class _IssuedToken:
    serial: int
    query_hash: str
    customer_id: str
    offset: int
    issued: float


class GoogleAdsApi(RouterState):
    """The Google Ads router's state: world, faults, tokens, customers, page tokens."""

    platform = PLATFORM
    settings_class: ClassVar[type] = GoogleAdsApiSettings
    settings: GoogleAdsApiSettings

    def __init__(self, world: World, *args: Any, **kwargs: Any) -> None:
        super().__init__(world, *args, **kwargs)
        self.oauth = OAuthIssuer(PLATFORM, self.world, self.tokens)  # type: ignore[arg-type]
        seed = self.world.scenario.seed
        self.manager = Customer(
            id="8" + str(stable_int(seed, PLATFORM, "manager") % 10**9).zfill(9),
            name="Sandbox Agency MCC",
            currency="USD",
            timezone="America/New_York",
            manager=True,
        )
        self.cancelled = Customer(
            id="5" + str(stable_int(seed, PLATFORM, "cancelled-client") % 10**9).zfill(9),
            name="Closed Brand - USD",
            currency="USD",
            timezone="America/Chicago",
            status="CANCELED",
        )
        self.clients: list[Customer] = [
            Customer(a.id, a.name, a.currency, a.timezone, account=a) for a in self.world.accounts(PLATFORM)
        ]
        self._budgets: dict[str, Campaign] = {}
        self._tokens: dict[int, _IssuedToken] = {}
        self._serial = 0
        self._lock = threading.Lock()

    # -- the ASGI app ---------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route("/{version}/{rest:path}", self.handle, methods=["GET", "POST"]),
        ]

    async def token(self, request: Request) -> Response:
        fault = self.faults.take(PLATFORM, TOKEN_PATH, TOKEN_FAULTS)
        if fault is not None:
            body = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            return _json_response(body, 400)
        status, body = self.oauth.grant(engine_params.form(await request.body()))
        if status == 200:
            body = {**body, "scope": OAUTH_SCOPE}
        return _json_response(body, status)

    async def handle(self, request: Request) -> Response:
        version = request.path_params["version"]
        rest = request.path_params["rest"].strip("/")
        path = f"/{version}/{rest}"
        version_match = _VERSION.match(version)
        if version_match is None:
            return _not_found(path)
        fault = await take_request_fault(self.faults, PLATFORM, path, REQUEST_FAULTS)
        try:
            if fault.answer is not None:
                raise _fault_error(fault.answer.kind, fault.answer.params)
            self._authenticate(request)
            if int(version_match.group(1)) < self.settings.min_api_version:
                raise _NotFound  # a sunset version is simply gone
            response = await self._route(request, version, path, rest)
        except GoogleAdsError as error:
            response = _json_response(error.body(version), error.http_status)
        except _NotFound:
            return _not_found(path)
        return fault.finish(response)

    def _authenticate(self, request: Request) -> None:
        verdict = self.oauth.check(engine_params.bearer(request))
        if verdict == "missing":
            # Google's front end refuses it before the Ads API sees it: no GoogleAdsFailure.
            raise GoogleAdsError(
                "UNAUTHENTICATED",
                message=(
                    "Request is missing required authentication credential. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project."
                ),
            )
        if verdict == "expired":
            raise _fault_error("token_expired", {})
        if verdict == "invalid":
            raise _fault_error("bad_token", {})
        if request.headers.get("developer-token") != SANDBOX_DEVELOPER_TOKEN:
            raise _fault_error("bad_developer_token", {})

    async def _route(self, request: Request, version: str, path: str, rest: str) -> Response:
        method = request.method
        if rest == "customers:listAccessibleCustomers" and method == "GET":
            names = [f"customers/{self.manager.id}", f"customers/{self.cancelled.id}"]
            return _json_response({"resourceNames": names})
        match = re.fullmatch(
            r"customers/([^/]+)/(googleAds:search|googleAds:searchStream|campaigns:mutate|campaignBudgets:mutate)",
            rest,
        )
        if match is None or method != "POST":
            raise _NotFound
        customer = self._customer(match.group(1), request.headers.get("login-customer-id"))
        body = await _json_body(request)
        operation = match.group(2)
        if operation == "googleAds:search":
            return self._search(customer, body, path)
        if operation == "googleAds:searchStream":
            return self._search_stream(customer, body, path, version)
        if operation == "campaigns:mutate":
            return _json_response(self._mutate_campaigns(customer, body))
        return _json_response(self._mutate_budgets(customer, body))

    # -- customers and access -------------------------------------------------------------------------

    def _customer(self, customer_id: str, login_customer_id: str | None) -> Customer:
        if not _CUSTOMER_ID.match(customer_id):
            raise _request_error(
                "INVALID_CUSTOMER_ID",
                f"Invalid customer ID '{customer_id}'. Customer IDs are 10 digits, no dashes.",
            )
        if login_customer_id is not None and not _CUSTOMER_ID.match(login_customer_id.strip()):
            raise _invalid(
                "headerError", "INVALID_LOGIN_CUSTOMER_ID", "The login customer ID could not be validated."
            )
        login = login_customer_id.strip() if login_customer_id else None
        if customer_id == self.cancelled.id:
            raise _not_enabled()
        if customer_id == self.manager.id:
            if login not in (None, self.manager.id):
                raise _permission_denied()
            return self.manager
        client = next((c for c in self.clients if c.id == customer_id), None)
        # Clients are reached through the manager only: the user has no direct access to them.
        if client is None or login != self.manager.id:
            raise _permission_denied()
        return client

    def _view(self, customer: Customer) -> AccountView:
        view = self.views.get(customer.id)
        for campaign in view.campaigns:
            self._budgets.setdefault(budget_id(campaign), campaign)
        return view

    def serving_status(self, campaign: Campaign) -> str:
        if _GOOGLE_STATUS[self.world.campaign_status(campaign)] == "REMOVED":
            return "NONE"
        today = self.world.today_local(self.world.account(PLATFORM, campaign.account_id))
        if campaign.end_date is not None and campaign.end_date < today:
            return "ENDED"
        if campaign.start_date > today:
            return "PENDING"
        return "SERVING"

    # -- search ---------------------------------------------------------------------------------------

    def _search(self, customer: Customer, body: Mapping[str, Any], path: str) -> Response:
        known = {
            "query",
            "pageToken",
            "pageSize",
            "validateOnly",
            "returnTotalResultsCount",
            "summaryRowSetting",
        }
        _reject_unknown(body, known)
        if "pageSize" in body:
            raise _request_error(
                "PAGE_SIZE_NOT_SUPPORTED",
                f"Setting the page size is not supported. Search Responses will have fixed page size of "
                f"'{FIXED_PAGE_SIZE}' rows.",
            )
        query_text = _query_text(body)
        query = self._validate(parse_gaql(query_text), customer)
        query_hash = hashlib.sha1(f"{customer.id}\x1f{query_text}".encode()).hexdigest()[:16]
        offset = 0
        page_token = body.get("pageToken")
        if page_token:
            if self.faults.take(PLATFORM, path, PAGING_FAULTS) is not None:
                raise _request_error("EXPIRED_PAGE_TOKEN", "Page token has expired.")
            offset = self._redeem(str(page_token), query_hash, customer.id)
        # Each page is computed afresh: data that changes between pages shows, as on the real API.
        rows = self._rows(query, customer)
        size = max(1, self.settings.page_size)
        page = rows[offset : offset + size]
        response: dict[str, Any] = {}
        if page:
            response["results"] = [self._render(query, row) for row in page]
        if offset + size < len(rows):
            response["nextPageToken"] = self._issue(query_hash, customer.id, offset + size)
        if body.get("returnTotalResultsCount"):
            response["totalResultsCount"] = str(len(rows))
        response["fieldMask"] = _field_mask(query)
        response["requestId"] = _request_id()
        if body.get("validateOnly"):
            response = {"fieldMask": response["fieldMask"], "requestId": response["requestId"]}
        return _json_response(response)

    def _search_stream(
        self, customer: Customer, body: Mapping[str, Any], path: str, version: str
    ) -> Response:
        _reject_unknown(body, {"query", "summaryRowSetting"})
        query = self._validate(parse_gaql(_query_text(body)), customer)
        rows = self._rows(query, customer)
        mask = _field_mask(query)
        request_id = _request_id()
        size = max(1, self.settings.stream_batch_size)
        batches: list[dict[str, Any]] = []
        for start in range(0, len(rows), size):
            results = [self._render(query, row) for row in rows[start : start + size]]
            batches.append({"results": results, "fieldMask": mask, "requestId": request_id})
        if not batches:
            batches.append({"fieldMask": mask, "requestId": request_id})
        fault = self.faults.take(PLATFORM, path, STREAM_FAULTS)
        if fault is not None:
            # The stream broke after the headers (HTTP 200) went out: the array ends in an error.
            kind = str(fault.params.get("error", "transient_error"))
            cut = max(1, len(batches) // 2)
            return _json_response([*batches[:cut], _fault_error(kind, fault.params).body(version)])
        return _json_response(batches)

    def _issue(self, query_hash: str, customer_id: str, offset: int) -> str:
        with self._lock:
            self._serial += 1
            serial = self._serial
            self._tokens[serial] = _IssuedToken(serial, query_hash, customer_id, offset, time.monotonic())
        raw = json.dumps({"s": serial, "q": query_hash, "o": offset}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _redeem(self, token: str, query_hash: str, customer_id: str) -> int:
        invalid = _request_error("INVALID_PAGE_TOKEN", "Page token is invalid.")
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            serial = int(decoded["s"])
        except (ValueError, KeyError, TypeError):
            raise invalid from None
        issued = self._tokens.get(serial)
        if issued is None or issued.query_hash != query_hash or issued.customer_id != customer_id:
            raise invalid
        if time.monotonic() - issued.issued > self.settings.page_token_ttl_seconds:
            raise _request_error("EXPIRED_PAGE_TOKEN", "Page token has expired.")
        return issued.offset

    def _validate(self, query: GaqlQuery, customer: Customer) -> GaqlQuery:
        resource = query.resource
        if resource not in _SELECTABLE:
            raise _query_error(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                f"Error in FROM clause: invalid resource name '{resource}' (the sandbox serves "
                f"{', '.join(sorted(_SELECTABLE))}).",
            )
        referenced = [*query.fields, *(c.field for c in query.conditions), *(f for f, _ in query.order_by)]
        for name in referenced:
            if name not in FIELDS:
                raise _query_error("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.")
            owner = _resource_of(name)
            if owner in ("metrics", "segments"):
                if resource not in _METRIC_RESOURCES:
                    raise _query_error(
                        "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"
                        if owner == "metrics"
                        else "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE",
                        f"Cannot select or filter on the following {owner} field: '{name}' (could not "
                        f"support requested resources: '{resource}').",
                    )
            elif owner not in _SELECTABLE[resource]:
                raise _query_error(
                    "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                    f"Cannot select fields from the following resource: '{owner}', since the resource is "
                    f"not segmentable by the resource in the FROM clause '{resource}'.",
                )
        for name, _ in query.order_by:
            if name not in query.fields:
                raise _query_error(
                    "EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE",
                    f"Fields in ORDER BY must be selected: '{name}'.",
                )
        if any(f in _DATE_SEGMENTS for f in query.fields) and self._date_range(query, customer) is None:
            raise _query_error(
                "EXPECTED_FILTERS_ON_DATE_RANGE",
                "Filters on date range are expected when segments.date (or another date segment) is in "
                "the SELECT clause: add WHERE segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD' or "
                "DURING.",
            )
        if customer.manager and (query.metrics or query.segments):
            raise _query_error(
                "REQUESTED_METRICS_FOR_MANAGER",
                "Metrics cannot be requested for a manager account. To retrieve metrics, issue separate "
                "requests against each client account under the manager account.",
            )
        return query

    def _date_range(self, query: GaqlQuery, customer: Customer) -> tuple[date, date] | None:
        """The finite segments.date window the WHERE clause gives (None: no date filter)."""
        low: date | None = None
        high: date | None = None
        today = self.world.clock().astimezone(ZoneInfo(customer.timezone)).date()
        for condition in query.conditions:
            if condition.field != "segments.date":
                continue
            if condition.operator == "DURING":
                name = condition.values[0].value.upper()
                if name not in _DURING_DAYS:
                    raise _query_error(
                        "INVALID_VALUE_WITH_DURING_OPERATOR",
                        f"Error in WHERE clause: invalid date range name '{condition.values[0].value}'.",
                    )
                back, end = _DURING_DAYS[name]
                candidates = [(today - timedelta(days=back), today - timedelta(days=end))]
            elif condition.operator in ("BETWEEN", "=", ">=", ">", "<=", "<"):
                dates = [_parse_date(v) for v in condition.values]
                candidates = {
                    "BETWEEN": [(dates[0], dates[-1])],
                    "=": [(dates[0], dates[0])],
                    ">=": [(dates[0], None)],
                    ">": [(dates[0] + timedelta(days=1), None)],
                    "<=": [(None, dates[0])],
                    "<": [(None, dates[0] - timedelta(days=1))],
                }[condition.operator]
            elif condition.operator == "IN":
                dates = [_parse_date(v) for v in condition.values]
                candidates = [(min(dates), max(dates))]
            else:
                continue
            for start, stop in candidates:
                if start is not None:
                    low = start if low is None else max(low, start)
                if stop is not None:
                    high = stop if high is None else min(high, stop)
        if low is None or high is None:
            return None
        if low > high and any(
            c.operator == "BETWEEN" for c in query.conditions if c.field == "segments.date"
        ):
            raise _invalid(
                "dateRangeError", "START_DATE_AFTER_END_DATE", "The start date was after the end date."
            )
        return low, high

    # -- rows -----------------------------------------------------------------------------------------

    def _rows(self, query: GaqlQuery, customer: Customer) -> list[Row]:
        if query.resource == "customer_client":
            rows = [Row(customer, client=(customer, 0))]
            if customer.manager:
                rows += [Row(customer, client=(c, 1)) for c in [*self.clients, self.cancelled]]
        elif query.resource == "customer":
            rows = (
                [Row(customer)]
                if not (query.metrics or query.segments)
                else self._metric_rows(query, customer)
            )
        elif query.metrics or query.segments:
            rows = self._metric_rows(query, customer)
        else:
            rows = self._entity_rows(query.resource, customer)
        # Date conditions chose the days already (rows need not carry segments.date).
        other = [c for c in query.conditions if c.field != "segments.date"]
        rows = [row for row in rows if all(self._matches(c, row) for c in other)]
        for name, descending in reversed(query.order_by):
            rows.sort(key=lambda row, n=name: _sort_key(FIELDS[n](self, row)), reverse=descending)
        if query.limit is not None:
            rows = rows[: query.limit]
        return rows

    def _entity_rows(self, resource: str, customer: Customer) -> list[Row]:
        if customer.manager:
            return []  # a manager has no campaigns of its own
        view = self._view(customer)
        if resource in ("campaign", "campaign_budget"):
            return [Row(customer, campaign=c) for c in view.campaigns]
        if resource == "ad_group":
            return [
                Row(customer, campaign=view.campaigns[view.group_campaign[i]], ad_group=g)
                for i, g in enumerate(view.ad_groups)
            ]
        return [
            Row(
                customer,
                campaign=view.campaigns[view.ad_campaign[i]],
                ad_group=view.ad_groups[view.ad_group[i]],
                ad=ad,
            )
            for i, ad in enumerate(view.ads)
        ]

    def _metric_rows(self, query: GaqlQuery, customer: Customer) -> list[Row]:
        """Rows of delivering objects at the FROM resource's level, segmented as selected."""
        view = self._view(customer)
        window = self._date_range(query, customer)
        if window is None:  # metrics without a date filter cover all time
            earliest = min((c.start_date for c in view.campaigns), default=self.world.today)
            window = (
                earliest,
                self.world.today_local(customer.account) if customer.account else self.world.today,
            )
        by_day = any(f in _DATE_SEGMENTS for f in query.fields)
        by_hour = "segments.hour" in query.fields or any(c.field == "segments.hour" for c in query.conditions)
        level = _LEVELS.get(query.resource, ACCOUNT)
        date_conditions = [c for c in query.conditions if c.field == "segments.date"]
        chosen = [
            d for d in days(*window) if all(self._matches(c, Row(customer, day=d)) for c in date_conditions)
        ]
        blocks = [
            # Today is served too (partial, up to the current local hour), built from its hours.
            day_block(self.world, PLATFORM, view.account, d, hourly=by_hour, today_from_hours=True)
            for d in chosen
        ]
        buckets = [[b] for b in blocks] if by_day else [blocks]
        result = rollup(view, level, buckets, hourly=by_hour, hour_major=True)
        rows: list[Row] = []
        for bucket, group, hour, values in zip(
            result.bucket, result.group, result.hour, result.metrics.tolist(), strict=True
        ):
            campaign, ad_group, ad = view.parents(level, int(group))
            rows.append(
                Row(
                    customer,
                    campaign=campaign,
                    ad_group=ad_group,
                    ad=ad,
                    day=chosen[int(bucket)] if by_day else None,
                    hour=int(hour) if by_hour else None,
                    metrics=tuple(values),  # type: ignore[arg-type]
                )
            )
        return rows

    def _matches(self, condition: Condition, row: Row) -> bool:
        actual = FIELDS[condition.field](self, row)
        operator = condition.operator
        if operator == "IS NULL":
            return actual is None
        if operator == "IS NOT NULL":
            return actual is not None
        if condition.field == "segments.date" and operator == "DURING":
            return True  # already bounded the window
        if actual is None:
            return False
        values = condition.values
        if operator == "BETWEEN":
            return _compare(actual, values[0]) >= 0 and _compare(actual, values[1]) <= 0
        if operator in ("IN", "NOT IN"):
            hit = any(_compare(actual, v) == 0 for v in values)
            return hit if operator == "IN" else not hit
        outcome = _compare(actual, values[0])
        return {
            "=": outcome == 0,
            "!=": outcome != 0,
            ">": outcome > 0,
            ">=": outcome >= 0,
            "<": outcome < 0,
            "<=": outcome <= 0,
        }[operator]

    def _render(self, query: GaqlQuery, row: Row) -> dict[str, Any]:
        """One result row in REST JSON: nested camelCase objects, resource names included."""
        record: dict[str, Any] = {}
        for name in query.fields:
            value = FIELDS[name](self, row)
            parts = name.split(".")
            owner = parts[0]
            if owner not in ("metrics", "segments"):
                container = record.setdefault(_camel(owner), {})
                resource_name = FIELDS.get(f"{owner}.resource_name")
                if "resourceName" not in container and resource_name is not None:
                    container["resourceName"] = resource_name(self, row)
            else:
                container = record.setdefault(_camel(owner), {})
            for depth, part in enumerate(parts[1:-1], start=1):
                nested = container.setdefault(_camel(part), {})
                nested_name = _NESTED_RESOURCES.get(tuple(parts[: depth + 1]))  # type: ignore[arg-type]
                if nested_name and "resourceName" not in nested:
                    nested["resourceName"] = FIELDS[nested_name](self, row)
                container = nested
            if value is not None and parts[-1] != "resource_name":
                container[_camel(parts[-1])] = value
        return record

    # -- write-back -----------------------------------------------------------------------------------

    def _operations(
        self, customer: Customer, body: Mapping[str, Any], collection: str
    ) -> list[tuple[str, dict[str, Any], set[str]]]:
        _reject_unknown(body, {"operations", "partialFailure", "validateOnly", "responseContentType"})
        if customer.manager:
            raise _permission_denied()
        operations = body.get("operations")
        if not isinstance(operations, list) or not operations:
            raise _request_error("REQUIRED_FIELD_MISSING", "Required field was not specified: operations.")
        parsed = []
        for operation in operations:
            if not isinstance(operation, dict) or not isinstance(operation.get("update"), dict):
                raise _invalid(
                    "requestError", "OPERATION_REQUIRED", "The sandbox supports update operations only."
                )
            update = operation["update"]
            mask = operation.get("updateMask")
            if not mask:
                raise _invalid(
                    "fieldMaskError",
                    "FIELD_MASK_MISSING",
                    "The field mask must be specified for an update operation.",
                )
            fields = {_camel(p.strip()) for p in str(mask).split(",") if p.strip()}
            resource_name = str(update.get("resourceName") or "")
            prefix = f"customers/{customer.id}/{collection}/"
            if not resource_name.startswith(prefix) or not resource_name[len(prefix) :].isdigit():
                raise _invalid(
                    "mutateError", "RESOURCE_NOT_FOUND", f"Resource was not found: '{resource_name}'."
                )
            parsed.append((resource_name[len(prefix) :], update, fields))
        return parsed

    def _mutate_campaigns(self, customer: Customer, body: Mapping[str, Any]) -> dict[str, Any]:
        view = self._view(customer)
        changes: list[tuple[Campaign, str | None]] = []
        for campaign_id, update, fields in self._operations(customer, body, "campaigns"):
            campaign = next((c for c in view.campaigns if c.id == campaign_id), None)
            if campaign is None:
                raise _invalid(
                    "mutateError", "RESOURCE_NOT_FOUND", f"Resource was not found: campaign {campaign_id}."
                )
            unsupported = fields - {"status"}
            if unsupported:
                raise _invalid(
                    "fieldMaskError",
                    "FIELD_NOT_FOUND",
                    f"The sandbox cannot update campaign field(s): {sorted(unsupported)}.",
                )
            status = update.get("status")
            if status not in _WORLD_STATUS:
                raise _invalid(
                    "fieldError",
                    "INVALID_VALUE",
                    f"Invalid campaign status {status!r}: use ENABLED or PAUSED (REMOVED needs a remove operation).",
                )
            changes.append((campaign, str(status)))
        if body.get("validateOnly"):
            return {}
        for campaign, status in changes:
            self.world.set_campaign_status(PLATFORM, campaign.id, _WORLD_STATUS[str(status)])
        return {
            "results": [{"resourceName": f"customers/{customer.id}/campaigns/{c.id}"} for c, _ in changes]
        }

    def _mutate_budgets(self, customer: Customer, body: Mapping[str, Any]) -> dict[str, Any]:
        self._view(customer)
        changes: list[tuple[str, Campaign, int]] = []
        for budget, update, fields in self._operations(customer, body, "campaignBudgets"):
            campaign = self._budgets.get(budget)
            if campaign is None or campaign.account_id != customer.id:
                raise _invalid(
                    "mutateError", "RESOURCE_NOT_FOUND", f"Resource was not found: campaign budget {budget}."
                )
            unsupported = fields - {"amountMicros"}
            if unsupported or not fields:
                raise _invalid(
                    "fieldMaskError",
                    "FIELD_NOT_FOUND",
                    f"The sandbox cannot update budget field(s): {sorted(unsupported)}.",
                )
            if campaign.lifetime_budget is not None:
                raise _invalid(
                    "mutateError",
                    "MUTATE_NOT_ALLOWED",
                    "amount_micros cannot be set on a CUSTOM_PERIOD budget; set total_amount_micros.",
                )
            try:
                micros = int(str(update.get("amountMicros")))
            except ValueError:
                raise _invalid_payload(
                    f"Invalid value at 'operations[0].update.amount_micros' (TYPE_INT64), \"{update.get('amountMicros')}\""
                ) from None
            if micros <= 0:
                raise _invalid(
                    "campaignBudgetError", "NEGATIVE_MONEY_AMOUNT", "Budget amount must be positive."
                )
            currency = self.world.account(PLATFORM, customer.id).currency
            unit = 1_000_000 if currency in _ZERO_DECIMAL_CURRENCIES else 10_000
            if micros % unit:
                raise _invalid(
                    "campaignBudgetError",
                    "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT",
                    "Money amount is not a multiple of the minimum currency unit.",
                )
            changes.append((budget, campaign, micros))
        if body.get("validateOnly"):
            return {}
        for _, campaign, micros in changes:
            self.world.set_campaign_daily_budget(PLATFORM, campaign.id, micros / 1_000_000)
        return {
            "results": [
                {"resourceName": f"customers/{customer.id}/campaignBudgets/{b}"} for b, _, _ in changes
            ]
        }


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


class _NotFound(Exception):
    pass


# Request faults as Google answers them: gRPC status and (error category, code, message).
_FAULT_ERRORS: dict[str, tuple[str, tuple[str, str, str]]] = {
    "transient_error": (
        "UNAVAILABLE",
        ("internalError", "TRANSIENT_ERROR", "The data is temporarily unavailable. Please retry."),
    ),
    "deadline_exceeded": (
        "DEADLINE_EXCEEDED",
        ("internalError", "DEADLINE_EXCEEDED", "The request took longer than a deadline."),
    ),
    "bad_token": (
        "UNAUTHENTICATED",
        ("authenticationError", "OAUTH_TOKEN_INVALID", "Oauth token in the header is not valid."),
    ),
    "token_expired": (
        "UNAUTHENTICATED",
        ("authenticationError", "OAUTH_TOKEN_EXPIRED", "Oauth token in the header has expired."),
    ),
    "bad_developer_token": (
        "UNAUTHENTICATED",
        ("authenticationError", "DEVELOPER_TOKEN_INVALID", "The developer token is not valid."),
    ),
}


def _fault_error(kind: str, params: Mapping[str, Any]) -> GoogleAdsError:
    """The error a request fault answers, in Google's shape."""
    if kind == "throttle":
        seconds = int(params.get("retry_seconds", 30))
        return GoogleAdsError(
            "RESOURCE_EXHAUSTED",
            [("quotaError", "RESOURCE_EXHAUSTED", f"Too many requests. Retry in {seconds} seconds.")],
            details={
                "quotaErrorDetails": {
                    "rateScope": str(params.get("rate_scope", "DEVELOPER")),
                    "rateName": str(params.get("rate_name", "Number of operations for basic access")),
                    "retryDelay": f"{seconds}s",
                }
            },
        )
    if kind == "server_error":
        if int(params.get("status", 500)) == 503:
            return GoogleAdsError("UNAVAILABLE")
        return GoogleAdsError(
            "INTERNAL", [("internalError", "INTERNAL_ERROR", "An internal error has occurred.")]
        )
    if kind == "permission_denied":
        return _permission_denied()
    if kind == "customer_not_enabled":
        return _not_enabled()
    if kind in _FAULT_ERRORS:
        status, error = _FAULT_ERRORS[kind]
        return GoogleAdsError(status, [error])
    raise AssertionError(f"not a request fault: {kind}")


_PAYLOAD_MESSAGES = {
    "body_not_json": "Unexpected token.",
    "body_not_object": "Root element must be a message.",
}


def _payload_error(error: ParamError) -> GoogleAdsError:
    return _invalid_payload(_PAYLOAD_MESSAGES[error.problem])


async def _json_body(request: Request) -> dict[str, Any]:
    return await engine_params.json_body(request, _payload_error, empty={})  # type: ignore[no-any-return]


def _reject_unknown(body: Mapping[str, Any], known: Iterable[str]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise _invalid_payload(f'Unknown name "{unknown[0]}": Cannot find field.')


def _query_text(body: Mapping[str, Any]) -> str:
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _request_error("REQUIRED_FIELD_MISSING", "Required field was not specified: query.")
    return query


def _field_mask(query: GaqlQuery) -> str:
    return ",".join(".".join(_camel(p) for p in name.split(".")) for name in query.fields)


def _parse_date(literal: Literal) -> date:
    try:
        return date.fromisoformat(literal.value)
    except ValueError:
        raise _invalid("dateRangeError", "INVALID_DATE", f"Invalid date: '{literal.value}'.") from None


def _compare(actual: Any, literal: Literal) -> int:
    """-1 / 0 / 1 comparing a field value with a GAQL literal (numbers numerically, else as text)."""
    if isinstance(actual, bool):
        expected = literal.value.upper() == "TRUE"
        return (actual > expected) - (actual < expected)
    try:
        left, right = float(actual), float(literal.value)
        return (left > right) - (left < right)
    except (TypeError, ValueError):
        text = str(actual)
        return (text > literal.value) - (text < literal.value)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    try:
        return (1, float(value))
    except (TypeError, ValueError):
        return (2, str(value))


# Google's REST front end pretty-prints its JSON.
_json_response = partial(json_response, media_type=_JSON, indent=2)


def _not_found(path: str) -> Response:
    html = (
        "<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title>"
        f"<p><b>404.</b> <ins>That's an error.</ins><p>The requested URL <code>{path}</code> was not "
        "found on this server. <ins>That's all we know.</ins></html>"
    )
    return Response(html.encode(), status_code=404, media_type="text/html; charset=UTF-8")


router_factory = make_router_factory(GoogleAdsApi)


__all__ = [
    "FAULT_KINDS",
    "FIELDS",
    "NO_END_DATE_TIME",
    "SANDBOX_DEVELOPER_TOKEN",
    "TOKEN_PATH",
    "Customer",
    "GaqlQuery",
    "GoogleAdsApi",
    "GoogleAdsApiSettings",
    "GoogleAdsError",
    "budget_id",
    "parse_gaql",
    "router_factory",
]
