"""Destinations from the environment; secrets never shown."""

from __future__ import annotations

import pytest

from pipeline.notifications import NotificationConfigError, redacted_target, settings_from_env
from pipeline.notifications.delivery import retry_after_seconds, sign, verify_signature

SLACK = "https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX"


def test_nothing_configured() -> None:
    settings = settings_from_env({})
    assert not settings.configured and settings.min_severity == "MEDIUM"


def test_both_channels_and_severity() -> None:
    settings = settings_from_env(
        {
            "ADSIGNAL_SLACK_WEBHOOK_URL": SLACK,
            "ADSIGNAL_WEBHOOK_URL": "https://example.org:8443/hook?token=abc123456",
            "ADSIGNAL_WEBHOOK_SECRET": "s3cret-signing",
            "ADSIGNAL_NOTIFY_MIN_SEVERITY": "high",
        }
    )
    assert [d.channel for d in settings.destinations] == ["slack", "webhook"]
    assert settings.min_severity == "HIGH"
    slack, webhook = settings.destinations
    assert slack.target == "https://hooks.slack.com" and webhook.target == "https://example.org:8443"
    assert webhook.signing_secret == "s3cret-signing"
    shown = f"{settings!r} {slack} {webhook}"
    assert "XXXXsecretXXXX" not in shown and "abc123456" not in shown and "s3cret" not in shown


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"ADSIGNAL_SLACK_WEBHOOK_URL": "hooks.slack.com/services/T/B/tokentoken"},
            "ADSIGNAL_SLACK_WEBHOOK_URL",
        ),
        ({"ADSIGNAL_WEBHOOK_URL": "ftp://host/tokentoken"}, "ADSIGNAL_WEBHOOK_URL"),
        ({"ADSIGNAL_WEBHOOK_SECRET": "tokentoken"}, "ADSIGNAL_WEBHOOK_SECRET"),
        ({"ADSIGNAL_NOTIFY_MIN_SEVERITY": "URGENT"}, "ADSIGNAL_NOTIFY_MIN_SEVERITY"),
    ],
)
def test_bad_settings_name_the_variable_not_the_secret(env: dict[str, str], named: str) -> None:
    with pytest.raises(NotificationConfigError, match=named) as error:
        settings_from_env(env)
    assert "tokentoken" not in str(error.value)


def test_redacted_target_drops_path_query_and_credentials() -> None:
    assert redacted_target("https://user:pw@hooks.example.com/a/b?token=x") == "https://hooks.example.com"


def test_signature_round_trip_and_replay_window() -> None:
    body = b'{"schema":"adsignal.digest"}'
    headers = {"X-Adsignal-Timestamp": "1700000000", "X-Adsignal-Signature": sign("k" * 16, 1700000000, body)}
    assert verify_signature("k" * 16, headers, body, now=1700000100)
    assert not verify_signature("k" * 16, headers, body + b" ", now=1700000100)  # tampered body
    assert not verify_signature("other-secret", headers, body, now=1700000100)
    assert not verify_signature("k" * 16, headers, body, now=1700001000)  # too old: replay
    assert verify_signature("k" * 16, headers, body, tolerance_seconds=None)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Adsignal-Timestamp": "²", "X-Adsignal-Signature": "sha256=00"},
        {"X-Adsignal-Timestamp": "9" * 5000, "X-Adsignal-Signature": "sha256=00"},
        {"X-Adsignal-Timestamp": "\u0661\u0667\u0660\u0660", "X-Adsignal-Signature": "sha256=00"},
        {"X-Adsignal-Timestamp": "-1700000000", "X-Adsignal-Signature": "sha256=00"},
        {"X-Adsignal-Timestamp": "1700000000", "X-Adsignal-Signature": "sha256=\u00e9\u00e9"},
        {"X-Adsignal-Timestamp": "1700000000", "X-Adsignal-Signature": "\ud800"},
        {"X-Adsignal-Timestamp": "", "X-Adsignal-Signature": ""},
        {"X-Adsignal-Timestamp": None, "X-Adsignal-Signature": None},
        {"X-Adsignal-Timestamp": 1700000000, "X-Adsignal-Signature": b"sha256=00"},
        {},
        None,
        "X-Adsignal-Timestamp: 1700000000",
    ],
)
@pytest.mark.parametrize("tolerance", [300.0, None])
def test_odd_signature_headers_are_refused_never_raised(headers: object, tolerance: float | None) -> None:
    assert verify_signature("k" * 16, headers, b"{}", now=1700000000, tolerance_seconds=tolerance) is False


def test_odd_secret_or_body_is_refused() -> None:
    body = b"{}"
    headers = {"X-Adsignal-Timestamp": "1700000000", "X-Adsignal-Signature": sign("k" * 16, 1700000000, body)}
    assert verify_signature("k" * 16, headers, body, now=1700000000)
    for secret, odd_body in ((None, body), ("", body), ("k" * 16, None), ("k" * 16, "{}")):
        assert verify_signature(secret, headers, odd_body, now=1700000000) is False  # type: ignore[arg-type]
