"""Posting a digest to a destination over httpx: retries, backoff, signatures, no secrets in errors.

Retried: 5xx, 429 (honouring ``Retry-After`` up to :attr:`RetryPolicy.max_retry_after`; a longer
wait fails the delivery with a clear message rather than parking the run), timeouts and transport
errors. Not retried: any other status (Slack answers a bad request with 4xx and a plain-text code
such as ``invalid_payload`` or ``no_service``; retrying cannot fix those). Redirects are not
followed: a webhook that moved is a configuration problem, and its new location may carry secrets.

Signed webhook deliveries (when a signing secret is configured) carry::

    X-Adsignal-Timestamp: <unix seconds>
    X-Adsignal-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The timestamp is inside the signed text so a receiver can reject replays (:func:`verify_signature`
with a tolerance). Every webhook delivery also carries ``X-Adsignal-Delivery`` (a UUID, the same
on every attempt of one delivery: receivers can drop duplicates) and ``X-Adsignal-Event``: ``digest``
for notifications, ``report`` for scheduled reports (``pipeline.reports.delivery``).

Error texts and log lines never contain the destination URL or the signing secret: errors are
built from status codes and exception class names, then scrubbed of the literal secrets, and the
``httpx`` logger (which logs full request URLs at INFO) is filtered for every destination used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from pipeline.notifications.config import Destination
from pipeline.retry import ExponentialBackoff

Sleep = Callable[[float], None]

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "adsignal-notifications/1"
SIGNATURE_HEADER = "X-Adsignal-Signature"
TIMESTAMP_HEADER = "X-Adsignal-Timestamp"
_TIMESTAMP = re.compile(r"[0-9]{1,15}")  # Unix seconds; 15 digits reach far beyond year 9999
DELIVERY_HEADER = "X-Adsignal-Delivery"
EVENT_HEADER = "X-Adsignal-Event"
REDACTED = "[REDACTED]"
ERROR_BODY_CHARS = 200  # enough for Slack's error codes, not enough to echo a whole payload back


@dataclass(frozen=True)
class RetryPolicy(ExponentialBackoff):
    """Attempt ``n`` that failed waits ``min(max_delay, base_delay * 2**(n-1))`` less up to ``jitter``
    of it (so parallel senders do not retry in lockstep), or the server's ``Retry-After`` up to
    ``max_retry_after``."""

    max_attempts: int = 4
    max_delay: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 120.0


@dataclass(frozen=True)
class DeliveryResult:
    status: Literal["sent", "failed"]
    attempts: int
    status_code: int | None = None
    error: str | None = None
    waited_seconds: float = 0.0

    @property
    def sent(self) -> bool:
        return self.status == "sent"


# --------------------------------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------------------------------


def _secret_forms(destination: Destination) -> set[str]:
    forms: set[str] = set()
    for secret in destination.secrets:
        forms.add(secret)
    url = httpx.URL(destination.url)
    forms.add(str(url))
    # Slack's token is the path; a path or query seen without its host is still a secret.
    if len(url.raw_path) > 1:
        forms.add(url.raw_path.decode("ascii", "replace"))
        forms.add(url.path)
    # So is a token in the query (``?token=...``), which a receiver may echo back in its error alone.
    if url.query:
        forms.add(url.query.decode("ascii", "replace"))
        forms.update(value for _, value in url.params.multi_items())
    if url.password:
        forms.add(url.password)
    return {form for form in forms if len(form) >= 6}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of the given secrets replaced (longest first)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class _SecretLogFilter(logging.Filter):
    """Scrubs registered destination secrets from ``httpx`` log records (it logs full URLs at INFO)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def register(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._secrets.update(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = tuple(self._secrets)
        if not secrets:
            return True
        message = record.getMessage()
        redacted = redact(message, secrets)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_log_filter = _SecretLogFilter()
for _logger_name in ("httpx", "httpcore"):
    logging.getLogger(_logger_name).addFilter(_log_filter)


# --------------------------------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: float | None = 300.0,
    now: float | None = None,
) -> bool:
    """A receiver's check: the signature matches and (with a tolerance) the timestamp is recent.

    Anything else is False, never an exception: headers come from whoever sent the request, so a
    timestamp of ``'²'`` or 5,000 digits, a non-ASCII signature, missing or non-text values are just
    requests that fail the check.
    """
    if not isinstance(secret, str) or not secret or not isinstance(body, bytes | bytearray | memoryview):
        return False
    try:
        lowered = {str(k).lower(): v for k, v in headers.items()}
    except (AttributeError, TypeError):
        return False
    signature = lowered.get(SIGNATURE_HEADER.lower())
    timestamp = lowered.get(TIMESTAMP_HEADER.lower())
    if not isinstance(signature, str) or not signature.isascii() or not isinstance(timestamp, str):
        return False
    if not _TIMESTAMP.fullmatch(timestamp):  # ASCII digits only: int() reads "²" or "١٢" too
        return False
    if tolerance_seconds is not None and abs((now or time.time()) - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature, sign(secret, int(timestamp), bytes(body)))


# --------------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------------


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _headers(
    destination: Destination, body: bytes, delivery_id: str, clock: Callable[[], float], event: str
) -> dict[str, str]:
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    if destination.channel == "webhook":
        headers[EVENT_HEADER] = event
        headers[DELIVERY_HEADER] = delivery_id
        if destination.signing_secret:
            timestamp = int(clock())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(destination.signing_secret, timestamp, body)
    return headers


def deliver(
    destination: Destination,
    payload: Mapping[str, Any],
    *,
    delivery_id: str,
    client: httpx.Client | None = None,
    policy: RetryPolicy | None = None,
    sleep: Sleep = time.sleep,
    clock: Callable[[], float] = time.time,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    event: str = "digest",
) -> DeliveryResult:
    """POST ``payload`` to ``destination`` with retries; never raises for delivery problems."""
    policy = policy or RetryPolicy()
    secrets = _secret_forms(destination)
    _log_filter.register(secrets)
    body = encode_body(payload)
    owned = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    waited = 0.0
    status_code: int | None = None
    error = "not attempted"
    try:
        for attempt in range(1, policy.max_attempts + 1):
            delay: float | None = None
            try:
                # Re-signed per attempt: the timestamp must be fresh for the receiver's replay window.
                headers = _headers(destination, body, delivery_id, clock, event)
                response = http.post(destination.url, content=body, headers=headers)
            except httpx.TimeoutException as exc:
                status_code, error = None, f"timed out ({type(exc).__name__})"
                delay = policy.backoff(attempt)
            except httpx.TransportError as exc:
                status_code, error = None, f"transport error ({type(exc).__name__}): {exc}"
                delay = policy.backoff(attempt)
            else:
                status_code = response.status_code
                if response.is_success:
                    return DeliveryResult("sent", attempt, status_code, None, waited)
                detail = response.text.strip()[:ERROR_BODY_CHARS]
                error = f"HTTP {status_code}" + (f": {detail}" if detail else "")
                if status_code == 429:
                    suggested = retry_after_seconds(response.headers.get("Retry-After"), clock())
                    if suggested is not None and suggested > policy.max_retry_after:
                        error += f" (asked to retry after {suggested:.0f}s, over the {policy.max_retry_after:.0f}s cap)"
                        return DeliveryResult("failed", attempt, status_code, redact(error, secrets), waited)
                    delay = suggested if suggested is not None else policy.backoff(attempt)
                elif response.is_server_error:
                    delay = policy.backoff(attempt)
                elif response.is_redirect:
                    error = f"HTTP {status_code}: the webhook redirects (not followed; update the URL)"
                    return DeliveryResult("failed", attempt, status_code, error, waited)
                else:
                    return DeliveryResult("failed", attempt, status_code, redact(error, secrets), waited)
            if attempt < policy.max_attempts:
                sleep(delay)
                waited += delay
        error = f"gave up after {policy.max_attempts} attempts; last: {error}"
        return DeliveryResult("failed", policy.max_attempts, status_code, redact(error, secrets), waited)
    finally:
        if owned:
            http.close()
