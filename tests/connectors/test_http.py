"""The shared HTTP machinery, platform-agnostic: policies, redaction, retries and bookkeeping.

These use ``httpx.MockTransport`` because they test the generic base class, not a platform
protocol; the Meta protocol is tested against the sandbox server in ``test_meta.py``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

import httpx
import pytest

from pipeline.connectors.http import (
    REDACTED,
    ApiError,
    CredentialsError,
    HttpApiClient,
    RateLimitedError,
    Redactor,
    RetryPolicy,
    TransientError,
    Usage,
    UsageThrottle,
    redact_text,
    without_query_params,
)

SECRET = "EAAB-very-secret/token+value=="


def test_redaction_covers_urls_json_headers_and_literal_secrets() -> None:
    text = (
        f"GET https://graph.example/v21.0/act_1/ads?limit=50&access_token={SECRET}&after=abc "
        f'body {{"access_token": "{SECRET}"}} Authorization: Bearer {SECRET} '
        f"quoted {httpx.URL('https://x/', params={'t': SECRET}).params['t']}"
    )
    redacted = Redactor([SECRET])(text)
    assert SECRET not in redacted
    assert "limit=50" in redacted and "after=abc" in redacted
    assert f"access_token={REDACTED}" in redacted
    # The URL-encoded form of the secret is caught too.
    assert (
        redact_text(f"next=https://x/?a=1&t={httpx.QueryParams({'t': SECRET})}", [SECRET]).count(
            "very-secret"
        )
        == 0
    )
    # Pattern-based redaction works without knowing the secret.
    assert "s3cr3t" not in redact_text("https://x/?refresh_token=s3cr3t&client_secret=s3cr3t")


def test_without_query_params_drops_only_the_named_ones() -> None:
    url = f"https://h/v21.0/act_1/ads?access_token={SECRET}&limit=25&after=QVFI"
    cleaned = without_query_params(url, ["access_token"])
    assert "access_token" not in cleaned
    assert httpx.URL(cleaned).params["limit"] == "25" and httpx.URL(cleaned).params["after"] == "QVFI"


def test_retry_policy_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    jittered = RetryPolicy(base_delay=4.0, max_delay=100.0, jitter=0.5)
    delays = [jittered.backoff(2, random.Random(seed)) for seed in range(50)]
    assert all(4.0 <= d <= 8.0 for d in delays) and len(set(delays)) > 1
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_usage_throttle_pauses_in_proportion_above_threshold() -> None:
    throttle = UsageThrottle(threshold=75.0, max_pause=60.0)
    assert throttle.pause_for(Usage({"a": 10.0, "b": 74.9})) == 0.0
    assert throttle.pause_for(Usage({"a": 87.5})) == pytest.approx(30.0)
    assert throttle.pause_for(Usage({"a": 100.0, "b": 3.0})) == pytest.approx(60.0)
    assert throttle.pause_for(Usage({"a": 250.0})) == pytest.approx(60.0)
    assert throttle.pause_for(Usage({"a": 0.0}, regain_after=120.0)) == 120.0


class _Client(HttpApiClient):
    platform = "demo"
    display_name = "Demo"

    def parse_usage(self, headers: httpx.Headers) -> Usage | None:
        raw = headers.get("x-usage")
        return Usage({"calls": float(raw)}) if raw else None


Handler = Callable[[httpx.Request], httpx.Response]


def _client(responses: Iterator[Handler | Exception], sleeps: list[float], **retry: float) -> _Client:
    def handle(request: httpx.Request) -> httpx.Response:
        step = next(responses)
        if isinstance(step, Exception):
            raise step
        return step(request)

    policy = RetryPolicy(**{"max_attempts": 4, "base_delay": 1.0, "jitter": 0.0, **retry})  # type: ignore[arg-type]
    return _Client(
        "https://api.example/base",
        secrets=[SECRET],
        retry=policy,
        sleep=sleeps.append,
        transport=httpx.MockTransport(handle),
    )


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def test_transient_failures_are_retried_with_backoff_and_counted() -> None:
    sleeps: list[float] = []
    steps: list[Handler | Exception] = [
        lambda r: httpx.Response(503, text="<html>busy</html>"),
        httpx.ReadTimeout("timed out"),
        lambda r: httpx.Response(200, content=b'{"data": [1, 2'),  # truncated JSON
        _ok,
    ]
    client = _client(iter(steps), sleeps)
    assert client.request_json("GET", "/v1/things/123") == {"ok": True}
    assert sleeps == [1.0, 2.0, 4.0]
    stats = client.stats["GET /things/{id}"]
    assert stats["requests"] == 4  # every attempt, including the one that timed out
    assert stats["errors"] == 3 and stats["retries"] == 3 and stats["backoff_sleep_s"] == 7.0


def test_gives_up_after_max_attempts_with_a_clear_message() -> None:
    sleeps: list[float] = []
    client = _client(iter([lambda r: httpx.Response(500)] * 4), sleeps)
    with pytest.raises(TransientError, match="gave up after 4 attempts"):
        client.request_json("GET", "/v1/things")
    assert len(sleeps) == 3


def test_unauthorised_fails_fast_without_the_token() -> None:
    sleeps: list[float] = []
    client = _client(iter([lambda r: httpx.Response(401, json={"error": f"bad token {SECRET}"})]), sleeps)
    with pytest.raises(CredentialsError) as caught:
        client.request_json("GET", f"/v1/things?access_token={SECRET}")
    assert sleeps == []
    assert "Reconnect the Demo account" in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.args)


def test_an_error_answer_cut_short_is_asked_again_not_taken_for_a_credentials_error() -> None:
    """A 403 whose JSON body broke on the way says nothing about the credentials (Google answers 403
    for a disabled account): asked again, the platform's own answer decides."""
    sleeps: list[float] = []
    broken = b'{"error": {"code": 403, "status": "PERMISSION_DE'
    steps: list[Handler | Exception] = [
        lambda r: httpx.Response(403, content=broken, headers={"content-type": "application/json"}),
        _ok,
    ]
    client = _client(iter(steps), sleeps)
    assert client.request_json("GET", "/v1/things") == {"ok": True}
    assert sleeps == [1.0]
    # A proxy's HTML 403 is still "not authorised": reconnect, no retry.
    html = _client(iter([lambda r: httpx.Response(403, text="<html>Forbidden</html>")]), sleeps)
    with pytest.raises(CredentialsError):
        html.request_json("GET", "/v1/things")
    assert sleeps == [1.0]


def test_rate_limit_honours_retry_after_but_not_for_hours() -> None:
    sleeps: list[float] = []
    client = _client(
        iter([lambda r: httpx.Response(429, headers={"retry-after": "7"}), _ok]), sleeps, base_delay=0.5
    )
    assert client.request_json("GET", "/v1/x") == {"ok": True}
    assert sleeps == [7.0]
    assert client.stats["GET /x"]["throttled"] == 1

    client = _client(iter([lambda r: httpx.Response(429, headers={"retry-after": "36000"})]), sleeps)
    with pytest.raises(RateLimitedError, match="asks to wait 600 min"):
        client.request_json("GET", "/v1/x")
    assert sleeps == [7.0]


def test_high_usage_pauses_before_the_next_call() -> None:
    sleeps: list[float] = []
    usage_then_ok: list[Handler | Exception] = [
        lambda r: httpx.Response(200, json={}, headers={"x-usage": "100"}),
        lambda r: httpx.Response(200, json={}, headers={"x-usage": "10"}),
        _ok,
    ]
    client = _client(iter(usage_then_ok), sleeps)
    client.request_json("GET", "/v1/a")
    assert sleeps == []  # the pause is owed before the *next* call
    client.request_json("GET", "/v1/b")
    assert sleeps == [client.throttle.max_pause]
    client.request_json("GET", "/v1/c")
    assert sleeps == [client.throttle.max_pause]
    assert client.stats["GET /b"]["throttle_sleeps"] == 1
    assert client.stats["GET /a"]["last_usage"] == {"calls": 100.0}


def test_other_client_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    client = _client(iter([lambda r: httpx.Response(400, content=json.dumps({"e": 1}).encode())]), sleeps)
    with pytest.raises(ApiError) as caught:
        client.request_json("GET", "/v1/x")
    assert not isinstance(caught.value, TransientError)
    assert sleeps == []
