"""What a connector declares as data instead of code: report windows, paging and error-code maps.

Airbyte's declarative manifests are the model: a stream states its ``lookback_window``, ``step`` and
paginator, and an error handler is a list of response filters (codes, HTTP statuses, a message
fragment) each with an action. Here every ``RawStream`` of a connector carries its :class:`Paging`,
a windowed one its :class:`ReportWindow`, and a connector carries an :class:`ErrorMap`;
``HttpApiClient.mapped_error`` turns the first matching :class:`ErrorRule` into the error the retry
policy understands. Each connector keeps only its wire format: where the codes, message and retry
hint sit in a platform's error body, and where its next page is named.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class ReportWindow:
    """How a windowed stream's reports are requested.

    ``default_days``: the days read when a caller gives no window (ending at the platform's latest
    day, which the connector knows: today, the account's today, or the last complete day).
    ``restatement_days``: how long the platform keeps changing a day's figures (late conversions,
    attribution); scheduled runs re-read that many days (``restatement_days_of``).
    ``max_days_per_request``: the longest date range one request or report may span (the step).
    """

    default_days: int
    max_days_per_request: int
    restatement_days: int | None = None

    def __post_init__(self) -> None:
        if self.default_days < 1 or self.max_days_per_request < 1:
            raise ValueError("a report window needs at least one day by default and per request")
        if self.restatement_days is not None and self.restatement_days < 1:
            raise ValueError("restatement_days must be at least 1")

    def default_since(self, until: date) -> date:
        """The first day of the default window ending at ``until``."""
        return until - timedelta(days=self.default_days - 1)

    def steps(self, since: date, until: date, max_days: int | None = None) -> Iterator[tuple[date, date]]:
        """``since..until`` in consecutive inclusive ranges of at most ``max_days_per_request`` days
        (or ``max_days`` where a connection asks for shorter requests)."""
        return date_steps(since, until, max_days or self.max_days_per_request)


def date_steps(since: date, until: date, max_days: int) -> Iterator[tuple[date, date]]:
    """``since..until`` cut into consecutive inclusive ranges of at most ``max_days`` days."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    start = since
    while start <= until:
        stop = min(until, start + timedelta(days=max_days - 1))
        yield start, stop
        start = stop + timedelta(days=1)


def restatement_days_of(streams: Iterable[object]) -> int | None:
    """The longest restatement any of ``streams`` declares (``None`` when none declares one)."""
    declared = [
        window.restatement_days
        for stream in streams
        if (window := getattr(stream, "report_window", None)) is not None and window.restatement_days
    ]
    return max(declared, default=None)


class PagingStyle(StrEnum):
    """How a stream's answers come in pages."""

    NEXT_LINK = "next_link"  # each page names the next page's URL (a cursor in the link)
    PAGE_TOKEN = "page_token"  # each page returns an opaque token, sent back as a parameter
    PAGE_NUMBER = "page_number"  # pages numbered 1..n, the total repeated in every answer
    STREAM = "stream"  # one response streamed in batches (no page requests)
    UNPAGED = "unpaged"  # one answer: a single object, a full list, or a report file


@dataclass(frozen=True)
class Paging:
    """A stream's paging style and the platform's largest page (``None``: no page size to ask for)."""

    style: PagingStyle
    max_page_size: int | None = None

    def __post_init__(self) -> None:
        paged = self.style in (PagingStyle.NEXT_LINK, PagingStyle.PAGE_TOKEN, PagingStyle.PAGE_NUMBER)
        if self.max_page_size is not None and (not paged or self.max_page_size < 1):
            raise ValueError(f"a page size limit needs a paged style and at least 1, not {self}")


UNPAGED = Paging(PagingStyle.UNPAGED)


def checked_page_size(streams: Iterable[object], size: int, option: str = "page_size") -> int:
    """``size`` if every stream that asks for a page size accepts it (the smallest declared limit)."""
    limits = [
        paging.max_page_size
        for stream in streams
        if (paging := getattr(stream, "paging", None)) is not None and paging.max_page_size
    ]
    if limits and not 1 <= size <= min(limits):
        raise ValueError(f"{option} must be between 1 and {min(limits)}")
    return size


class ErrorOutcome(StrEnum):
    """What an error response means to the retry policy and to the person reading the error."""

    CREDENTIALS = "credentials"  # the connection is unusable until a person fixes it
    TOKEN_EXPIRED = "token_expired"  # refresh the access token once, then retry
    RATE_LIMITED = "rate_limited"  # wait (the platform's hint, else back off), then retry
    TRANSIENT = "transient"  # retry with backoff
    TOO_LARGE = "too_large"  # ask for less data (smaller pages, shorter ranges)
    FAIL = "fail"  # retrying will not help


Code = int | str


@dataclass(frozen=True)
class ErrorRule:
    """One response filter: matches when a platform code or the HTTP status is listed (either) and,
    if given, the message contains ``message_contains``; ``all_codes`` asks that every code the
    response carries be listed (a batch of errors that are all transient).

    ``prefix`` and ``suffix`` frame the error's detail for the person reading it; ``error_class``
    names a platform's own ``ApiError`` subclass where callers catch it (e.g. an expired page token).
    """

    outcome: ErrorOutcome
    codes: frozenset[Code] = frozenset()
    http_statuses: frozenset[int] = frozenset()
    message_contains: str | None = None
    all_codes: bool = False
    prefix: str = ""
    suffix: str = ""
    error_class: type | None = None

    def __post_init__(self) -> None:
        if not self.codes and not self.http_statuses:
            raise ValueError("an error rule needs codes or HTTP statuses to match")

    def matches(self, codes: Collection[Code], http_status: int, message: str) -> bool:
        if self.all_codes:
            hit = bool(codes) and all(code in self.codes for code in codes)
        else:
            hit = any(code in self.codes for code in codes)
        hit = hit or http_status in self.http_statuses
        if hit and self.message_contains is not None:
            return self.message_contains.lower() in message.lower()
        return hit


@dataclass(frozen=True)
class ErrorMap:
    """A platform's error handling as data: rules tried in order; no match means the request failed
    for good (``ErrorOutcome.FAIL``)."""

    rules: tuple[ErrorRule, ...]

    def match(self, codes: Collection[Code], http_status: int, message: str = "") -> ErrorRule | None:
        return next((rule for rule in self.rules if rule.matches(codes, http_status, message)), None)


SERVER_ERRORS = frozenset(range(500, 600))

# What HTTP alone says: for error responses without a body the platform's own rules understand.
HTTP_ERROR_MAP = ErrorMap(
    (
        ErrorRule(ErrorOutcome.CREDENTIALS, http_statuses=frozenset({401, 403}), suffix=" (not authorised)"),
        ErrorRule(ErrorOutcome.RATE_LIMITED, http_statuses=frozenset({429}), suffix=": too many requests"),
        ErrorRule(ErrorOutcome.TRANSIENT, http_statuses=SERVER_ERRORS, suffix=": server error"),
    )
)

# For platforms whose error bodies describe but do not classify (Snapchat, LinkedIn): the status
# decides. 401 is an expired short-lived OAuth token (refresh once), 403 a missing permission.
OAUTH_STATUS_ERROR_MAP = ErrorMap(
    (
        ErrorRule(ErrorOutcome.TOKEN_EXPIRED, http_statuses=frozenset({401})),
        ErrorRule(ErrorOutcome.CREDENTIALS, http_statuses=frozenset({403}), prefix="missing permission, "),
        ErrorRule(ErrorOutcome.RATE_LIMITED, http_statuses=frozenset({429}), prefix="throttled, "),
        ErrorRule(ErrorOutcome.TRANSIENT, http_statuses=SERVER_ERRORS),
    )
)
