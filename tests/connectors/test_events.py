"""Segment-spec events: what is accepted, what is refused and why, and that PII never stays in clear."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.connectors.events import (
    MAX_EVENT_BYTES,
    EventError,
    normalize_phone,
    parse_event,
    parse_line,
    scrub_pii,
    sha256_hex,
)

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def track(**overrides: object) -> dict:
    return {
        "type": "track",
        "messageId": "m-1",
        "anonymousId": "anon-1",
        "event": "Order Completed",
        "properties": {"revenue": 42.5, "email": " Jane.Doe@Example.COM "},
        "timestamp": "2026-04-30T22:15:00.123Z",
        "context": {"ip": "203.0.113.9", "campaign": {"source": "facebook", "medium": "cpc"}},
        **overrides,
    }


def test_a_track_call_parses_with_pii_hashed():
    event = parse_event(track(), received_at=RECEIVED)
    assert (event.type, event.event, event.anonymous_id, event.user_id) == (
        "track",
        "Order Completed",
        "anon-1",
        None,
    )
    assert event.timestamp == datetime(2026, 4, 30, 22, 15, 0, 123000, tzinfo=UTC)
    assert event.received_at == RECEIVED
    digest = sha256_hex("jane.doe@example.com")
    assert event.email_sha256 == digest
    assert event.properties["email"] == {"sha256": digest}
    assert event.context["ip"] == {"sha256": sha256_hex("203.0.113.9")}
    assert event.context["campaign"] == {"source": "facebook", "medium": "cpc"}
    assert "jane" not in json.dumps([event.properties, event.traits, event.context]).lower()


def test_pii_is_kept_only_when_asked():
    event = parse_event(track(), received_at=RECEIVED, store_pii=True)
    assert event.properties["email"] == " Jane.Doe@Example.COM "
    assert event.email_sha256 == sha256_hex("jane.doe@example.com")


def test_identify_from_context_traits_and_snake_case_exports():
    raw = {
        "type": "identify",
        "message_id": "m-2",
        "user_id": 1234,
        "traits": {"phone": "+1 (415) 555-0100", "plan": "pro"},
        "original_timestamp": "2026-04-30T10:00:00",
    }
    event = parse_event(raw, received_at=RECEIVED)
    assert (event.message_id, event.user_id) == ("m-2", "1234")
    assert event.phone_sha256 == sha256_hex("+14155550100")
    assert event.traits == {"phone": {"sha256": sha256_hex("+14155550100")}, "plan": "pro"}
    assert event.timestamp == datetime(2026, 4, 30, 10, tzinfo=UTC)  # no offset: UTC, as the spec says


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (415) 555-0100", "+14155550100"),
        ("0044 20 7946 0018", "+442079460018"),
        ("  +33 6 12 34 56 78 ", "+33612345678"),
    ],
)
def test_phone_normalization(raw: str, expected: str):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"messageId": None}, "messageId is missing"),
        ({"anonymousId": None}, "neither anonymousId nor userId"),
        ({"type": "purchase"}, "type"),
        ({"event": ""}, "event is missing"),
        ({"timestamp": "yesterday"}, "timestamp: not an ISO 8601 time"),
        ({"timestamp": "1970-01-01T00:00:00Z"}, "outside 2000..2099"),
        ({"messageId": "x" * 600}, "longer than 512"),
        ({"userId": {"id": 1}}, "userId: expected a string"),
        ({"properties": [1, 2]}, "properties: expected an object"),
        ({"type": "alias"}, "previousId is missing"),
    ],
)
def test_a_broken_event_is_refused_with_its_reason(changes: dict, reason: str):
    with pytest.raises(EventError, match=reason):
        parse_event(track(**changes), received_at=RECEIVED)


def test_lines_that_are_not_json_or_too_big():
    with pytest.raises(EventError, match="not JSON"):
        parse_line(b'{"type": "track",', received_at=RECEIVED)
    big = json.dumps(track(properties={"blob": "x" * MAX_EVENT_BYTES}))
    with pytest.raises(EventError, match="limit is 32,768"):
        parse_line(big, received_at=RECEIVED)


def test_nul_characters_are_dropped_not_fatal():
    event = parse_event(track(properties={"name\x00": "a\x00b"}), received_at=RECEIVED)
    assert event.properties == {"name": "ab"}


def test_scrub_reaches_every_depth():
    scrubbed = scrub_pii(
        {"traits": {"email": "A@B.C"}, "list": [{"phone": "0044 1"}], "context": {"ip": "1.2.3.4"}}
    )
    assert scrubbed == {
        "traits": {"email": {"sha256": sha256_hex("a@b.c")}},
        "list": [{"phone": {"sha256": sha256_hex("+441")}}],
        "context": {"ip": {"sha256": sha256_hex("1.2.3.4")}},
    }
