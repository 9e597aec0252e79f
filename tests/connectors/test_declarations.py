"""Report windows, paging and error-code maps are data every connector declares, and the shared code that
reads them does what the declarations say."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.connectors.base import RawStream
from pipeline.connectors.declarations import (
    HTTP_ERROR_MAP,
    UNPAGED,
    ErrorMap,
    ErrorOutcome,
    ErrorRule,
    Paging,
    PagingStyle,
    ReportWindow,
    checked_page_size,
    date_steps,
    restatement_days_of,
)
from pipeline.connectors.http import (
    ApiError,
    CredentialsError,
    HttpApiClient,
    RateLimitedError,
    RequestTooLargeError,
    TokenExpiredError,
    TransientError,
)
from pipeline.defs.automation import lookback_days
from pipeline.platforms import PLATFORMS

CONNECTOR_CLASSES = {spec.name: spec.connector_class() for spec in PLATFORMS}


@pytest.mark.parametrize("platform", sorted(CONNECTOR_CLASSES))
def test_every_windowed_stream_declares_its_report_window(platform: str) -> None:
    connector = CONNECTOR_CLASSES[platform]
    for stream in connector.streams.values():
        if stream.window_column is None:
            assert stream.report_window is None, f"{stream.table} is a snapshot: it has no report window"
            with pytest.raises(ValueError, match="declares no report window"):
                _ = stream.window
        else:
            window = stream.window
            assert window.default_days >= 1 and window.max_days_per_request >= 1, stream.table
    daily = connector.streams["ads_insights_daily"].window
    assert daily.restatement_days, f"{platform}'s daily stream says how long the platform restates"
    # the scheduled restatement runs read the declaration, and the class attribute agrees with it
    assert connector.restatement_lookback_days == restatement_days_of(connector.streams.values())
    assert lookback_days(platform) == restatement_days_of(connector.streams.values())


@pytest.mark.parametrize("platform", sorted(CONNECTOR_CLASSES))
def test_every_stream_declares_its_paging(platform: str) -> None:
    for stream in CONNECTOR_CLASSES[platform].streams.values():
        assert isinstance(stream.paging, Paging), f"{stream.table} declares how its answers are paged"


def test_a_page_size_is_checked_against_the_smallest_declared_page() -> None:
    pages_of = {"wide": Paging(PagingStyle.NEXT_LINK, 5000), "narrow": Paging(PagingStyle.PAGE_TOKEN, 1000)}
    streams = [RawStream("example", name, (), paging=paging) for name, paging in pages_of.items()] + [
        RawStream("example", "report", (), paging=UNPAGED)
    ]
    assert checked_page_size(streams, 1000) == 1000
    with pytest.raises(ValueError, match="page_limit must be between 1 and 1000"):
        checked_page_size(streams, 1001, "page_limit")
    with pytest.raises(ValueError):
        checked_page_size(streams, 0)
    with pytest.raises(ValueError):
        Paging(PagingStyle.UNPAGED, 100)  # nothing to ask a page size of


@pytest.mark.parametrize("platform", sorted(CONNECTOR_CLASSES))
def test_every_connector_declares_an_error_map_of_its_own(platform: str) -> None:
    connector = CONNECTOR_CLASSES[platform]
    assert isinstance(connector.error_map, ErrorMap)
    assert connector.error_map is not HTTP_ERROR_MAP, f"{platform} declares what its error codes mean"


@given(
    since=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)),
    length=st.integers(min_value=0, max_value=800),
    max_days=st.integers(min_value=1, max_value=400),
)
def test_date_steps_cover_the_range_once_in_bounded_steps(since: date, length: int, max_days: int) -> None:
    until = since + timedelta(days=length)
    steps = list(date_steps(since, until, max_days))
    assert steps[0][0] == since and steps[-1][1] == until
    for (start, stop), following in zip(steps, [*steps[1:], None], strict=True):
        assert start <= stop and (stop - start).days < max_days
        if following is not None:
            assert following[0] == stop + timedelta(days=1)
    assert len(steps) == -(-(length + 1) // max_days)


def test_an_empty_range_has_no_steps_and_a_window_needs_days() -> None:
    assert list(date_steps(date(2026, 1, 2), date(2026, 1, 1), 7)) == []
    with pytest.raises(ValueError):
        ReportWindow(default_days=0, max_days_per_request=1)
    with pytest.raises(ValueError):
        list(date_steps(date(2026, 1, 1), date(2026, 1, 2), 0))
    window = ReportWindow(default_days=28, max_days_per_request=31)
    assert window.default_since(date(2026, 3, 28)) == date(2026, 3, 1)
    assert list(window.steps(date(2026, 1, 1), date(2026, 1, 3), max_days=2)) == [
        (date(2026, 1, 1), date(2026, 1, 2)),
        (date(2026, 1, 3), date(2026, 1, 3)),
    ]


class _Platform(HttpApiClient):
    display_name = "Example"
    error_map = ErrorMap(
        (
            ErrorRule(ErrorOutcome.CREDENTIALS, codes=frozenset({190}), prefix="reconnect, "),
            ErrorRule(ErrorOutcome.TOO_LARGE, codes=frozenset({1}), message_contains="Reduce the amount"),
            ErrorRule(ErrorOutcome.RATE_LIMITED, codes=frozenset({17}), http_statuses=frozenset({429})),
            ErrorRule(ErrorOutcome.TOKEN_EXPIRED, codes=frozenset({"EXPIRED"}), suffix=" (refreshing)"),
            ErrorRule(ErrorOutcome.TRANSIENT, codes=frozenset({2, 3}), all_codes=True),
        )
    )


def _error(
    client: HttpApiClient, status: int = 400, headers: dict[str, str] | None = None, **kwargs
) -> ApiError:
    response = httpx.Response(status, headers=headers or {}, request=httpx.Request("GET", "http://x/y"))
    return client.mapped_error(response, "GET /y", "detail", **kwargs)


def test_the_first_matching_rule_decides_the_error() -> None:
    client = _Platform("http://x")
    try:
        error = _error(client, codes=(190,), code=190)
        assert type(error) is CredentialsError and "reconnect, detail" in error.message and error.code == 190
        # a code alone is not enough where the rule also wants the message
        assert type(_error(client, codes=(1,), message="unknown error")) is ApiError
        assert (
            type(_error(client, codes=(1,), message="Please reduce the amount of data"))
            is RequestTooLargeError
        )
        # codes or the HTTP status; the wait comes from the platform's hint, else the Retry-After header
        limited = _error(client, codes=(17,), retry_after=60.0)
        assert isinstance(limited, RateLimitedError) and limited.retry_after == 60.0
        limited = _error(client, 429, headers={"Retry-After": "7"})
        assert isinstance(limited, RateLimitedError) and limited.retry_after == 7.0
        expired = _error(client, 401, codes=("EXPIRED",))
        assert type(expired) is TokenExpiredError and expired.message == "detail (refreshing)"
        # all_codes: a batch is retried only when every one of its errors is transient
        assert type(_error(client, codes=(2, 3))) is TransientError
        assert type(_error(client, codes=(2, 999))) is ApiError
        # a status the map does not list is a failure for good (no implicit HTTP fallback)
        assert type(_error(client, 503)) is ApiError
        assert _error(client, 503, status_code=429).status_code == 429
    finally:
        client.close()


def test_without_an_error_body_http_alone_decides() -> None:
    client = HttpApiClient("http://x")
    request = httpx.Request("GET", "http://x/y")
    try:
        assert client.classify_error(httpx.Response(200, request=request), None, "GET /y") is None
        expected = {
            401: (CredentialsError, "HTTP 401 (not authorised)"),
            403: (CredentialsError, "HTTP 403 (not authorised)"),
            429: (RateLimitedError, "HTTP 429: too many requests"),
            502: (TransientError, "HTTP 502: server error"),
            404: (ApiError, "HTTP 404: request rejected"),
        }
        for status, (kind, text) in expected.items():
            error = client.classify_error(httpx.Response(status, request=request), None, "GET /y")
            assert type(error) is kind and text in error.message, status
    finally:
        client.close()


def test_a_rule_must_say_what_it_matches() -> None:
    with pytest.raises(ValueError):
        ErrorRule(ErrorOutcome.TRANSIENT)
