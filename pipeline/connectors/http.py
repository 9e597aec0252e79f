"""HTTP machinery every platform connector shares.

One small base class, :class:`HttpApiClient`, owns an ``httpx.Client`` and turns each platform's
responses into four kinds of error that decide what happens next:

- :class:`CredentialsError`: the token is invalid, expired or lacks permissions. Never retried: a
  person has to reconnect the account, and the message says so (without the token).
- :class:`RateLimitedError`: the platform asks us to slow down. Retried with backoff, honouring a
  server-suggested wait unless it is absurdly long (then we fail with a clear message instead of
  sleeping for hours).
- :class:`TransientError`: 5xx, timeouts, dropped connections, malformed or truncated JSON. Retried
  with exponential backoff and jitter.
- :class:`ApiError`: anything else (bad request, unknown field...). Not retried.

Besides retries, the client slows down *before* the platform throttles it: each response's usage
headers (parsed by the platform subclass) feed a :class:`UsageThrottle` that pauses the next call in
proportion to how close usage is to 100 %. All sleeping goes through an injectable ``sleep`` so
tests run in milliseconds and can assert on the delays.

Secrets never leave the process in a message: every error text and URL passes through a
:class:`Redactor` that knows the client's literal secrets and the usual secret-bearing parameter
names (Meta's ``paging.next`` URLs, for one, carry ``access_token``).

Per-endpoint bookkeeping (requests, errors, retries, throttling, sleeps, last usage figures) lives
in the plain dict :attr:`HttpApiClient.stats` so an orchestrator can log or persist it.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import httpx

from pipeline.connectors.base import Credentials, TokenGrant, TokenRefreshCallback
from pipeline.connectors.declarations import HTTP_ERROR_MAP, Code, ErrorMap, ErrorOutcome
from pipeline.retry import ExponentialBackoff

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# Timeouts: connecting should be quick; reading a big report page may legitimately take a while.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# Connection failures before any byte was sent are always safe to retry at the transport level.
TRANSPORT_CONNECT_RETRIES = 2

REDACTED = "[REDACTED]"

# Query/form parameters and headers that carry secrets on the platforms we speak to.
SECRET_PARAM_NAMES = (
    "access_token",
    "refresh_token",
    "client_secret",
    "secret",  # TikTok's app secret (advertiser listing)
    "sig",  # signed download URLs (Azure SAS, e.g. Microsoft Advertising report files)
    "appsecret_proof",
    "developer_token",
    "developer-token",
    "api_key",
    "apikey",
    "password",
    "token",
)
SECRET_HEADER_NAMES = ("authorization", "access-token", "authenticationtoken", "developer-token")

_SECRET_PARAM_RE = re.compile(
    r"(?i)(?<![\w-])(" + "|".join(re.escape(name) for name in SECRET_PARAM_NAMES) + r")=([^&\s\"'#<>]+)"
)
_SECRET_JSON_RE = re.compile(
    r"(?i)([\"'](?:" + "|".join(re.escape(name) for name in SECRET_PARAM_NAMES) + r")[\"']\s*:\s*[\"'])"
    r"([^\"']+)"
)
_SECRET_HEADER_RE = re.compile(
    r"(?i)\b(" + "|".join(re.escape(name) for name in SECRET_HEADER_NAMES) + r")(\s*[:=]\s*)"
    r"(?:(bearer|basic)\s+)?([^\s,;\"']+)"
)
_MIN_LITERAL_SECRET_LENGTH = 6  # shorter strings would garble unrelated text when replaced


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A platform API call failed in a way retrying will not fix (unless a subclass says so)."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        platform: str,
        message: str,
        *,
        status_code: int | None = None,
        code: int | str | None = None,
        endpoint: str | None = None,
    ) -> None:
        # Pattern-based redaction here too, so no construction path can smuggle a secret out.
        self.platform = platform
        self.message = redact_text(message)
        self.status_code = status_code
        self.code = code
        self.endpoint = endpoint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f" [{self.endpoint}]" if self.endpoint else ""
        return f"{self.platform}{where}: {self.message}"


class CredentialsError(ApiError):
    """The platform rejected our credentials; a person must reconnect the account. Never retried."""


class TokenExpiredError(ApiError):
    """The access token expired: refresh it (OAuth platforms) and send the request again, once."""


# OAuth token-endpoint errors that mean the grant itself is gone: a person must reconnect.
REVOKED_GRANT_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})
# Refresh a little before the platform's stated expiry, so a request never races it.
TOKEN_EXPIRY_MARGIN = timedelta(minutes=2)


class TransientError(ApiError):
    """A failure that usually goes away on its own: 5xx, timeouts, broken or malformed responses."""

    retryable = True


class RateLimitedError(TransientError):
    """The platform asked us to slow down; ``retry_after`` is its suggested wait in seconds, if any."""

    def __init__(self, platform: str, message: str, *, retry_after: float | None = None, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(platform, message, **kwargs)


class RequestTooLargeError(ApiError):
    """The platform wants a smaller request (e.g. Meta's "reduce the amount of data").

    Not retried as is: the caller that knows the page size retries with a smaller one.
    """


# --------------------------------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------------------------------


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secrets from ``text``: known literal values and anything in secret-named params/headers."""
    for secret in secrets:
        if not secret or len(secret) < _MIN_LITERAL_SECRET_LENGTH:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, REDACTED)
    text = _SECRET_PARAM_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _SECRET_JSON_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _SECRET_HEADER_RE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) + ' ' if m.group(3) else ''}{REDACTED}", text
    )
    return text


class _RedactingLogFilter(logging.Filter):
    """Scrubs secret-named parameters from log records before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


# httpx logs every request's full URL at INFO, and some platforms take a secret as a query parameter
# (TikTok's advertiser listing wants the app secret): those log lines are scrubbed too.
logging.getLogger("httpx").addFilter(_RedactingLogFilter())


class Redactor:
    """Redacts a client's own secrets (literal values) plus the generic secret patterns."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        return redact_text(str(text), self._secrets)

    def url(self, url: str | httpx.URL) -> str:
        return self(str(url))


def without_query_params(url: str, names: Iterable[str]) -> str:
    """``url`` minus the given query parameters (used to drop tokens from server-built next links)."""
    parsed = httpx.URL(url)
    params = parsed.params
    for name in names:
        params = params.remove(name)
    return str(parsed.copy_with(params=params))


# --------------------------------------------------------------------------------------------------
# Retry and throttle policies
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy(ExponentialBackoff):
    """Exponential backoff with jitter for retryable errors (see ``ExponentialBackoff``).

    A server-suggested wait (``RateLimitedError.retry_after``) is honoured when longer, up to
    ``max_wait``; a platform asking for more than that fails the call with a clear message rather
    than parking a worker for hours.
    """

    max_wait: float = 900.0


@dataclass(frozen=True)
class Usage:
    """Usage figures a platform reported on one response.

    ``percent`` maps a name (e.g. ``"x-app-usage.call_count"``) to a 0-100 figure;
    ``regain_after`` is the platform's estimate, in seconds, until a throttled caller may call again.
    """

    percent: dict[str, float] = field(default_factory=dict)
    regain_after: float | None = None

    @property
    def max_percent(self) -> float:
        return max(self.percent.values(), default=0.0)


@dataclass(frozen=True)
class UsageThrottle:
    """Pause before the next call in proportion to usage above ``threshold`` percent.

    Linear from 0 s at ``threshold`` to ``max_pause`` at 100 %: a little slack early costs little
    and avoids hitting the wall, where the platform would block us for much longer.
    """

    threshold: float = 75.0
    max_pause: float = 60.0

    def pause_for(self, usage: Usage) -> float:
        pct = usage.max_percent
        pause = 0.0
        if pct >= self.threshold:
            span = max(100.0 - self.threshold, 1e-9)
            pause = self.max_pause * min(1.0, (pct - self.threshold) / span)
        if usage.regain_after:
            pause = max(pause, usage.regain_after)
        return pause


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------

_ID_SEGMENT_RE = re.compile(r"^(?:[A-Za-z]+_)?\d+$")
_VERSION_SEGMENT_RE = re.compile(r"^v\d+(?:\.\d+)?$")
# Snapchat (and others) name objects by UUID.
_UUID_SEGMENT_RE = re.compile(r"^[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")


def _new_endpoint_stats() -> dict[str, Any]:
    return {
        "requests": 0,
        "errors": 0,
        "retries": 0,
        "throttled": 0,
        "backoff_sleep_s": 0.0,
        "throttle_sleeps": 0,
        "throttle_sleep_s": 0.0,
        "last_status": None,
        "last_usage": {},
        "max_usage_pct": 0.0,
    }


class HttpApiClient:
    """Base class for a platform's HTTP client: retries, throttling, redaction and bookkeeping.

    Subclasses set :attr:`platform` / :attr:`display_name` and :attr:`error_map` (their error codes
    as data), override :meth:`classify_error` to read their error bodies (wire format only) and
    :meth:`parse_usage` (usage headers → percentages).
    """

    platform: str = "platform"
    display_name: str = "the platform"
    throttle: UsageThrottle = UsageThrottle()
    # The platform's error codes as data (``pipeline.connectors.declarations``): what each means.
    error_map: ErrorMap = HTTP_ERROR_MAP
    # OAuth scope sent with refresh-token grants, for identity providers that want it on every
    # refresh (Microsoft identity platform); None sends no scope.
    token_scope: str | None = None

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        on_token_refresh: TokenRefreshCallback | None = None,
        secrets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        # "Now" decides default report windows (which days are complete, the current hour) and token
        # expiry; injectable so tests against a sandbox on a pinned clock never read the real date.
        self.clock: Clock = clock or utc_now
        self.credentials = credentials
        self.on_token_refresh = on_token_refresh
        self.redact = Redactor([*secrets, *(credentials.secrets() if credentials else [])])
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._pending_pause = 0.0
        self.stats: dict[str, dict[str, Any]] = {}
        auth = self.auth_headers(credentials) if credentials and credentials.access_token else {}
        self._client = httpx.Client(
            base_url=base_url,
            headers={**dict(headers or {}), **auth},
            timeout=timeout,
            transport=transport or httpx.HTTPTransport(retries=TRANSPORT_CONNECT_RETRIES),
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
            follow_redirects=False,
        )

    # -- platform hooks -----------------------------------------------------------------------------

    def classify_error(self, response: httpx.Response, body: Any, endpoint: str) -> ApiError | None:
        """Map a platform error response to an error; ``None`` means the response is a success.

        The default understands HTTP alone (``HTTP_ERROR_MAP``); subclasses read their error body's
        codes and message, then let their declared :attr:`error_map` decide (:meth:`mapped_error`).
        """
        status = response.status_code
        if status < 400:
            return None
        detail = f"HTTP {status}"
        if HTTP_ERROR_MAP.match((), status) is None:
            detail += ": request rejected"
        return self.mapped_error(response, endpoint, detail, error_map=HTTP_ERROR_MAP)

    def mapped_error(
        self,
        response: httpx.Response,
        endpoint: str,
        detail: str,
        *,
        codes: Collection[Code] = (),
        message: str = "",
        status_code: int | None = None,
        code: Code | None = None,
        retry_after: float | None = None,
        error_map: ErrorMap | None = None,
    ) -> ApiError:
        """The error the first matching rule of the error map declares (``ApiError`` when none matches).

        ``codes``: every code the body carries (platform codes, status words); ``message`` is what a
        rule's ``message_contains`` looks in; ``status_code`` overrides the response's where the body
        states its own; ``retry_after`` is the platform's wait hint, else the Retry-After header's.
        """
        status = response.status_code if status_code is None else status_code
        rule = (error_map or self.error_map).match(codes, status, message)
        kwargs: dict[str, Any] = {"status_code": status, "code": code, "endpoint": endpoint}
        if rule is None:
            return ApiError(self.display_name, detail, **kwargs)
        text = f"{rule.prefix}{detail}{rule.suffix}"
        if rule.error_class is not None:
            return rule.error_class(self.display_name, text, **kwargs)
        match rule.outcome:
            case ErrorOutcome.CREDENTIALS:
                return self.credentials_error(text, **kwargs)
            case ErrorOutcome.TOKEN_EXPIRED:
                return TokenExpiredError(self.display_name, text, **kwargs)
            case ErrorOutcome.RATE_LIMITED:
                wait = retry_after if retry_after is not None else _retry_after_seconds(response)
                return RateLimitedError(self.display_name, text, retry_after=wait, **kwargs)
            case ErrorOutcome.TRANSIENT:
                return TransientError(self.display_name, text, **kwargs)
            case ErrorOutcome.TOO_LARGE:
                return RequestTooLargeError(self.display_name, text, **kwargs)
        return ApiError(self.display_name, text, **kwargs)

    def parse_usage(self, headers: httpx.Headers) -> Usage | None:
        """Usage figures from a response's headers; ``None`` when the platform sent none."""
        return None

    def auth_headers(self, credentials: Credentials) -> dict[str, str]:
        """Headers that authenticate a request (OAuth bearer by default; platforms override)."""
        return {"Authorization": f"Bearer {credentials.access_token}"}

    # -- OAuth ----------------------------------------------------------------------------------------

    def _token_is_stale(self) -> bool:
        creds = self.credentials
        if creds is None or not creds.can_refresh:
            return False
        if not creds.access_token:
            return True
        return creds.expires_at is not None and creds.expires_at - TOKEN_EXPIRY_MARGIN <= self.clock()

    def refresh_access_token(self) -> TokenGrant:
        """Trade the refresh token for a new access token; ``invalid_grant`` means reconnect."""
        creds = self.credentials
        if creds is None or not creds.can_refresh:
            raise self.credentials_error("the access token expired and no refresh token is stored")
        form = {"grant_type": "refresh_token", "refresh_token": creds.refresh_token}
        if creds.client_id:
            form["client_id"] = creds.client_id
        if creds.client_secret:
            form["client_secret"] = creds.client_secret
        if self.token_scope:
            form["scope"] = self.token_scope
        try:
            response = self._client.post(str(creds.token_url), data=form)
        except httpx.HTTPError as exc:
            raise TransientError(
                self.display_name, f"token refresh failed ({type(exc).__name__})", endpoint="token refresh"
            ) from None
        body, _ = _decode_json(response)
        if response.status_code >= 400 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, dict) else None
            if error in REVOKED_GRANT_ERRORS or response.status_code in (400, 401):
                raise self.credentials_error(
                    f"token refresh refused: {error or f'HTTP {response.status_code}'}"
                )
            raise TransientError(
                self.display_name,
                f"token refresh failed: HTTP {response.status_code}",
                status_code=response.status_code,
                endpoint="token refresh",
            )
        expires_in = body.get("expires_in")
        grant = TokenGrant(
            access_token=str(body["access_token"]),
            expires_at=self.clock() + timedelta(seconds=float(expires_in)) if expires_in else None,
            refresh_token=body.get("refresh_token") or None,
        )
        self.credentials = replace(
            creds,
            access_token=grant.access_token,
            expires_at=grant.expires_at,
            refresh_token=grant.refresh_token or creds.refresh_token,
        )
        self.redact.add(grant.access_token)
        self.redact.add(grant.refresh_token)
        self._client.headers.update(self.auth_headers(self.credentials))
        logger.info("%s access token refreshed", self.display_name)
        if self.on_token_refresh is not None:
            self.on_token_refresh(grant)
        return grant

    def endpoint_name(self, request: httpx.Request) -> str:
        """A stable, secret-free name for bookkeeping: method + path with ids and version masked."""
        path = request.url.path
        base_path = self._client.base_url.path.rstrip("/")
        if base_path and path.startswith(base_path):
            path = path[len(base_path) :]
        parts = []
        for segment in path.strip("/").split("/"):
            if _VERSION_SEGMENT_RE.match(segment):
                continue
            match = _ID_SEGMENT_RE.match(segment)
            if match:
                prefix = segment.rsplit("_", 1)[0] + "_" if "_" in segment else ""
                segment = prefix + "{id}"
            elif _UUID_SEGMENT_RE.match(segment):
                segment = "{id}"
            parts.append(segment)
        return f"{request.method} /" + "/".join(parts)

    def credentials_error(self, detail: str, **kwargs: Any) -> CredentialsError:
        """The one message people see when a connection needs to be re-established."""
        message = (
            f"{self.display_name} rejected the stored credentials ({self.redact(detail)}). "
            f"Reconnect the {self.display_name} account in adsignal to grant a fresh token; "
            "retrying will not help."
        )
        return CredentialsError(self.display_name, message, **kwargs)

    # -- requests -----------------------------------------------------------------------------------

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request with retries; return the decoded JSON body or raise a classified error.

        ``headers`` are added to this request only (e.g. Google Ads' per-account ``login-customer-id``).
        """
        if self._token_is_stale():
            self.refresh_access_token()
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            # Built per attempt: a token refresh changes the headers.
            request = self._client.build_request(
                method, url, params=params, data=data, json=json_body, headers=headers
            )
            endpoint = self.endpoint_name(request)
            stats = self._endpoint_stats(endpoint)
            self._pause_if_throttled(endpoint)
            outcome = self._attempt(request, endpoint)
            if isinstance(outcome, _Decoded):
                return outcome.body
            error = outcome
            stats["errors"] += 1
            if isinstance(error, TokenExpiredError):
                if refreshed or self.credentials is None or not self.credentials.can_refresh:
                    raise self.credentials_error(error.message)
                self.refresh_access_token()
                refreshed = True
                attempt -= 1  # the refresh, not the platform, decides this attempt
                continue
            if isinstance(error, RateLimitedError):
                stats["throttled"] += 1
            if not error.retryable:
                raise error
            if attempt >= self.retry.max_attempts:
                raise type(error)(
                    error.platform,
                    f"{error.message} (gave up after {attempt} attempts)",
                    status_code=error.status_code,
                    code=error.code,
                    endpoint=endpoint,
                )
            delay = self._retry_delay(error, attempt, endpoint)
            stats["retries"] += 1
            stats["backoff_sleep_s"] += delay
            logger.info(
                "%s %s failed (%s); retry %d/%d in %.1fs",
                self.display_name,
                endpoint,
                error.message,
                attempt,
                self.retry.max_attempts - 1,
                delay,
            )
            self._sleep(delay)

    def _attempt(self, request: httpx.Request, endpoint: str) -> _Decoded | ApiError:
        try:
            response = self._client.send(request)
        except httpx.TimeoutException as exc:
            return TransientError(self.display_name, f"timed out ({type(exc).__name__})", endpoint=endpoint)
        except httpx.TransportError as exc:
            # e.g. connection reset, or a body cut short of its Content-Length.
            return TransientError(
                self.display_name,
                f"connection failed ({type(exc).__name__}: {self.redact(str(exc))})",
                endpoint=endpoint,
            )
        if response.status_code == 204:  # No Content: a success that says nothing (Rest.li updates)
            return _Decoded(None)
        body, decode_problem = _decode_json(response)
        if decode_problem is not None and response.status_code >= 400 and _looks_like_json(response):
            # An error answer cut short or garbled on the way: what it said (a disabled account, an
            # expired token, a quota) is unknown, and HTTP alone would call a 403 "reconnect" and stop
            # the whole sync. Ask again: the retry reads the platform's actual error.
            return TransientError(
                self.display_name,
                f"HTTP {response.status_code} with an unreadable error body ({decode_problem})",
                status_code=response.status_code,
                endpoint=endpoint,
            )
        error = self.classify_error(response, body, endpoint)
        if error is not None:
            # Platform error messages can echo request parameters: scrub our own secrets too.
            error.message = self.redact(error.message)
            error.args = (str(error),)
            return error
        if decode_problem is not None:
            return TransientError(
                self.display_name,
                f"HTTP {response.status_code} with an unreadable body ({decode_problem})",
                status_code=response.status_code,
                endpoint=endpoint,
            )
        return _Decoded(body)

    def _retry_delay(self, error: ApiError, attempt: int, endpoint: str) -> float:
        delay = self.retry.backoff(attempt, self._rng)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.retry.max_wait:
                self._pending_pause = 0.0  # we give up instead of waiting: owe no pause either
                raise RateLimitedError(
                    self.display_name,
                    f"{error.message}; the platform asks to wait {retry_after / 60:.0f} min, longer than "
                    f"the {self.retry.max_wait / 60:.0f} min we are willing to wait. Try again later "
                    "or request a higher rate limit.",
                    retry_after=retry_after,
                    status_code=error.status_code,
                    code=error.code,
                    endpoint=endpoint,
                )
            delay = max(delay, retry_after)
        # A throttle pause pending from this response's usage headers is served by this one sleep.
        delay = max(delay, self._pending_pause)
        self._pending_pause = 0.0
        return delay

    def _pause_if_throttled(self, endpoint: str) -> None:
        pause, self._pending_pause = min(self._pending_pause, self.retry.max_wait), 0.0
        if pause > 0:
            stats = self._endpoint_stats(endpoint)
            stats["throttle_sleeps"] += 1
            stats["throttle_sleep_s"] += pause
            logger.info("%s usage is high; pausing %.1fs before %s", self.display_name, pause, endpoint)
            self._sleep(pause)

    def today(self, zone: tzinfo = UTC) -> date:
        """The current day on the client's clock in ``zone`` (an account's timezone; UTC by default)."""
        return self.clock().astimezone(zone).date()

    def sleep(self, seconds: float) -> None:
        """Sleep through the injected ``sleep`` (subclasses use it for polling)."""
        if seconds > 0:
            self._sleep(seconds)

    # -- httpx event hooks: bookkeeping and usage -----------------------------------------------------

    def _endpoint_stats(self, endpoint: str) -> dict[str, Any]:
        stats = self.stats.get(endpoint)
        if stats is None:
            stats = self.stats[endpoint] = _new_endpoint_stats()
        return stats

    def _on_request(self, request: httpx.Request) -> None:
        self._endpoint_stats(self.endpoint_name(request))["requests"] += 1

    def _on_response(self, response: httpx.Response) -> None:
        stats = self._endpoint_stats(self.endpoint_name(response.request))
        stats["last_status"] = response.status_code
        try:
            usage = self.parse_usage(response.headers)
        except Exception:  # usage headers are advisory: never fail a call over them
            logger.debug("unparseable usage headers from %s", self.display_name, exc_info=True)
            usage = None
        if usage is None:
            return
        stats["last_usage"] = dict(usage.percent)
        stats["max_usage_pct"] = usage.max_percent
        if usage.regain_after:
            stats["last_usage"]["regain_after_s"] = usage.regain_after
        self._pending_pause = max(self._pending_pause, self.throttle.pause_for(usage))

    # -- lifecycle ------------------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Decoded:
    body: Any


def _decode_json(response: httpx.Response) -> tuple[Any, str | None]:
    """The JSON body, or ``(None, problem)`` when it is empty, malformed or truncated."""
    content = response.content
    if not content.strip():
        return None, "empty body"
    try:
        return json.loads(content), None
    except (ValueError, UnicodeDecodeError) as exc:
        # Only the parser's position, never the body: bodies can echo request parameters.
        return None, f"malformed JSON at char {getattr(exc, 'pos', '?')} of {len(content)}"


def _looks_like_json(response: httpx.Response) -> bool:
    """A body meant as JSON (its type, or its first character), not a proxy's HTML page."""
    if "json" in response.headers.get("content-type", "").lower():
        return True
    return response.content.lstrip()[:1] in (b"{", b"[")


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
