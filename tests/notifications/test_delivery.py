"""Delivery over real HTTP to a local receiver: retries, Retry-After, no retry on 4xx, signatures."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from pipeline.notifications import Destination, RetryPolicy, deliver, verify_signature
from tests.notifications.receiver import Receiver

SLACK_PATH = "/services/T0TEST/B0TEST/slacktokensecret42"
SIGNING_SECRET = "whsec-test-signing-secret"

# No jitter: the waits asked of ``sleep`` are exact (recorded, never actually slept).
POLICY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0, max_retry_after=30.0, jitter=0.0)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh(receiver: Receiver) -> None:
    receiver.clear()


def slack(receiver: Receiver) -> Destination:
    return Destination("slack", receiver.url + SLACK_PATH)


def webhook(receiver: Receiver, secret: str | None = SIGNING_SECRET) -> Destination:
    return Destination("webhook", receiver.url + "/hooks/adsignal?token=querytokensecret", secret)


def test_server_errors_are_retried_with_backoff(receiver: Receiver) -> None:
    receiver.respond(500, "rollup_error")
    receiver.respond(503)
    waits: list[float] = []
    result = deliver(webhook(receiver), {"n": 1}, delivery_id="d-1", policy=POLICY, sleep=waits.append)
    assert result.sent and result.attempts == 3 and result.status_code == 200
    assert waits == [1.0, 2.0]
    requests = receiver.on("/hooks")
    assert len(requests) == 3
    # one delivery id over every attempt: a receiver can drop duplicates
    assert {r.headers["x-adsignal-delivery"] for r in requests} == {"d-1"}


def test_rate_limit_honours_retry_after(receiver: Receiver) -> None:
    receiver.respond(429, "rate_limited", headers={"Retry-After": "5"})
    waits: list[float] = []
    result = deliver(slack(receiver), {"text": "x"}, delivery_id="d-2", policy=POLICY, sleep=waits.append)
    assert result.sent and result.attempts == 2 and waits == [5.0]


def test_rate_limit_beyond_the_cap_fails_without_waiting(receiver: Receiver) -> None:
    receiver.respond(429, "rate_limited", headers={"Retry-After": "3600"})
    waits: list[float] = []
    result = deliver(slack(receiver), {"text": "x"}, delivery_id="d-3", policy=POLICY, sleep=waits.append)
    assert result.status == "failed" and result.attempts == 1 and waits == []
    assert result.error is not None and "3600s" in result.error and "30s cap" in result.error


@pytest.mark.parametrize(
    ("status", "code"), [(400, "invalid_payload"), (404, "no_service"), (403, "invalid_token")]
)
def test_client_errors_are_not_retried(receiver: Receiver, status: int, code: str) -> None:
    receiver.respond(status, code)
    waits: list[float] = []
    result = deliver(slack(receiver), {"text": "x"}, delivery_id="d-4", policy=POLICY, sleep=waits.append)
    assert result.status == "failed" and result.attempts == 1 and waits == []
    assert result.error == f"HTTP {status}: {code}"
    assert len(receiver.on("/services")) == 1


def test_persistent_failure_gives_up_and_keeps_secrets_out(receiver: Receiver) -> None:
    for _ in range(4):
        receiver.respond(502, f"upstream said {SLACK_PATH}")  # even an echo of the secret is scrubbed
    waits: list[float] = []
    result = deliver(slack(receiver), {"text": "x"}, delivery_id="d-5", policy=POLICY, sleep=waits.append)
    assert result.status == "failed" and result.attempts == 4 and waits == [1.0, 2.0, 4.0]
    assert result.error is not None and result.error.startswith("gave up after 4 attempts; last: HTTP 502")
    assert "slacktokensecret42" not in result.error and "[REDACTED]" in result.error


def test_transport_errors_are_retried_and_name_no_url() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    destination = Destination("slack", f"http://127.0.0.1:{port}{SLACK_PATH}")
    waits: list[float] = []
    result = deliver(destination, {"text": "x"}, delivery_id="d-6", policy=POLICY, sleep=waits.append)
    assert result.status == "failed" and result.attempts == 4 and len(waits) == 3
    assert result.error is not None and "ConnectError" in result.error
    assert "slacktokensecret42" not in result.error


def test_signed_webhook_verifies_on_the_raw_body(receiver: Receiver) -> None:
    result = deliver(
        webhook(receiver), {"schema": "adsignal.digest", "ü": 1}, delivery_id="d-7", policy=POLICY
    )
    assert result.sent
    (request,) = receiver.on("/hooks")
    assert request.headers["content-type"].startswith("application/json")
    assert request.headers["x-adsignal-event"] == "digest"
    assert verify_signature(SIGNING_SECRET, request.headers, request.body)
    assert not verify_signature("wrong-secret-value", request.headers, request.body)
    assert request.json() == {"schema": "adsignal.digest", "ü": 1}


def test_unsigned_webhook_and_slack_carry_no_signature(receiver: Receiver) -> None:
    deliver(webhook(receiver, secret=None), {"a": 1}, delivery_id="d-8", policy=POLICY)
    deliver(slack(receiver), {"text": "x"}, delivery_id="d-9", policy=POLICY)
    assert all("x-adsignal-signature" not in r.headers for r in receiver.requests)
    assert "x-adsignal-delivery" not in receiver.on("/services")[0].headers


def test_httpx_request_log_lines_are_scrubbed(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        deliver(slack(receiver), {"text": "x"}, delivery_id="d-10", policy=POLICY)
        deliver(webhook(receiver), {"a": 1}, delivery_id="d-11", policy=POLICY)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request: POST" in logged  # httpx did log the requests...
    assert "slacktokensecret42" not in logged and "querytokensecret" not in logged  # ...without the secrets
