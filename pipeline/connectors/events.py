"""First-party events in the Segment spec: parse, validate, hash PII. No database, no HTTP.

The spec (segment.com/docs/connections/spec): every call has a ``type`` (track, identify, page,
screen, group, alias), a ``messageId`` (the idempotency key), an ``anonymousId`` or a ``userId``,
``timestamp`` (when it happened; ``originalTimestamp`` from some exports), ``sentAt`` and ``receivedAt``,
``context`` (``campaign`` UTM fields, ``page``, ``ip``, ``userAgent``, ``traits``). ``track`` carries
``event`` and ``properties``; ``identify`` and ``group`` carry ``traits``; ``page``/``screen`` a
``name`` and ``properties``; ``alias`` a ``previousId``. Exports from Segment, RudderStack and most
trackers use the same shape, in camelCase; snake_case keys (``message_id``) are read too.

Email and phone found in traits, ``context.traits`` or properties are replaced by their SHA-256 (of
the normalized value: trimmed and lowercased email; phone as ``+`` and digits) unless PII storage is
on (``ADSIGNAL_STORE_PII=1``). The hashes are also lifted into columns for identity resolution.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EVENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")
MAX_EVENT_BYTES = 32 * 1024  # Segment's per-event limit
MAX_BATCH_BYTES = 500 * 1024  # Segment's per-request limit
MAX_ID_LENGTH = 512
EMAIL_KEYS = ("email", "Email", "EMAIL", "email_address", "emailAddress")
PHONE_KEYS = ("phone", "Phone", "PHONE", "phone_number", "phoneNumber", "mobile")
_CAMEL = {
    "message_id": "messageId",
    "anonymous_id": "anonymousId",
    "user_id": "userId",
    "received_at": "receivedAt",
    "sent_at": "sentAt",
    "original_timestamp": "originalTimestamp",
    "previous_id": "previousId",
    "group_id": "groupId",
}
# A timestamp outside these years is a broken clock or a typo, not an event.
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class EventError(ValueError):
    """Why an event was refused (the reason stored in the quarantine)."""


@dataclass(frozen=True)
class Event:
    message_id: str
    type: str
    event: str | None
    anonymous_id: str | None
    user_id: str | None
    previous_id: str | None
    group_id: str | None
    timestamp: datetime
    sent_at: datetime | None
    received_at: datetime
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    email_sha256: str | None = None
    phone_sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # integrations and any other top-level keys


def normalize_email(value: str) -> str:
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """``+`` and digits (E.164 shape): ``+1 (415) 555-0100`` → ``+14155550100``; a leading ``00`` is ``+``."""
    raw = value.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("00"):
        digits = digits[2:]
    return "+" + digits if digits else ""


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise EventError(f"{name}: expected an ISO 8601 time, got {json.dumps(value)[:60]}")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EventError(f"{name}: not an ISO 8601 time: {value[:60]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the spec's times are UTC when no offset is given
    if not EARLIEST <= moment < LATEST:
        raise EventError(f"{name}: {value[:40]!r} is outside 2000..2099")
    return moment.astimezone(UTC)


def _text(payload: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        if required:
            raise EventError(f"{key} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventError(f"{key}: expected a string, got {type(value).__name__}")
    text = str(value)
    if len(text) > MAX_ID_LENGTH:
        raise EventError(f"{key}: longer than {MAX_ID_LENGTH} characters")
    if "\x00" in text:
        raise EventError(f"{key}: contains a NUL character")
    return text


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError(f"{key}: expected an object, got {type(value).__name__}")
    return value


def _strip_nul(value: Any) -> Any:
    """PostgreSQL's jsonb refuses \\u0000 in strings: drop the character rather than the event."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k.replace("\x00", ""): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def _take_pii(bag: dict[str, Any], keys: tuple[str, ...], normalize, store_pii: bool) -> str | None:
    """The hash of the first non-empty value under ``keys``; the clear values are replaced by it unless PII
    is stored."""
    digest = None
    for key in keys:
        value = bag.get(key)
        if isinstance(value, str) and value.strip():
            normalized = normalize(value)
            if not normalized:
                continue
            hashed = sha256_hex(normalized)
            digest = digest or hashed
            if not store_pii:
                bag[key] = {"sha256": hashed}
    return digest


def parse_event(
    raw: Any, *, received_at: datetime, store_pii: bool = False, default_type: str | None = None
) -> Event:
    """One Segment-spec call → ``Event``, or ``EventError`` naming what is wrong."""
    if not isinstance(raw, dict):
        raise EventError(f"expected a JSON object, got {type(raw).__name__}")
    payload = {_CAMEL.get(k, k): v for k, v in raw.items()}
    kind = payload.get("type") or default_type
    if kind not in EVENT_TYPES:
        raise EventError(f"type: {json.dumps(kind)[:40]} is not one of {', '.join(EVENT_TYPES)}")
    message_id = _text(payload, "messageId", required=True)
    anonymous_id = _text(payload, "anonymousId")
    user_id = _text(payload, "userId")
    if anonymous_id is None and user_id is None:
        raise EventError("neither anonymousId nor userId is set")
    event_name = _text(payload, "event")
    if kind == "track" and event_name is None:
        raise EventError("event is missing (a track call names its event)")
    previous_id = _text(payload, "previousId")
    if kind == "alias" and previous_id is None:
        raise EventError("previousId is missing (an alias call names the id it merges)")
    received = parse_time(payload["receivedAt"], "receivedAt") if payload.get("receivedAt") else received_at
    when = payload.get("timestamp") or payload.get("originalTimestamp")
    timestamp = parse_time(when, "timestamp") if when else received
    sent_at = parse_time(payload["sentAt"], "sentAt") if payload.get("sentAt") else None
    properties = _strip_nul(dict(_object(payload, "properties")))
    traits = _strip_nul(dict(_object(payload, "traits")))
    context = _strip_nul(dict(_object(payload, "context")))
    if kind == "page" and payload.get("name") and "name" not in properties:
        properties["name"] = payload["name"]
    context_traits = dict(context.get("traits") or {}) if isinstance(context.get("traits"), dict) else {}
    email = phone = None
    for bag in (traits, context_traits, properties):
        email = _take_pii(bag, EMAIL_KEYS, normalize_email, store_pii) or email
        phone = _take_pii(bag, PHONE_KEYS, normalize_phone, store_pii) or phone
    if context_traits:
        context["traits"] = context_traits
    if not store_pii and isinstance(context.get("ip"), str):
        context["ip"] = {"sha256": sha256_hex(context["ip"].strip())}
    known = {"type", "messageId", "anonymousId", "userId", "event", "previousId", "groupId", "receivedAt",
             "timestamp", "originalTimestamp", "sentAt", "properties", "traits", "context", "name"}  # fmt: skip
    extra = _strip_nul({k: v for k, v in payload.items() if k not in known})
    return Event(
        message_id=message_id,
        type=kind,
        event=event_name,
        anonymous_id=anonymous_id,
        user_id=user_id,
        previous_id=previous_id,
        group_id=_text(payload, "groupId"),
        timestamp=timestamp,
        sent_at=sent_at,
        received_at=received,
        properties=properties,
        traits=traits,
        context=context,
        email_sha256=email,
        phone_sha256=phone,
        extra=extra,
    )


def parse_line(line: bytes | str, *, received_at: datetime, store_pii: bool = False) -> Event:
    """One line of a JSON Lines export."""
    size = len(line if isinstance(line, bytes) else line.encode())
    if size > MAX_EVENT_BYTES:
        raise EventError(f"event is {size:,} bytes; the limit is {MAX_EVENT_BYTES:,}")
    try:
        raw = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EventError(f"not JSON: {exc}") from None
    return parse_event(raw, received_at=received_at, store_pii=store_pii)


def scrub_pii(value: Any) -> Any:
    """A refused event as the quarantine may keep it: every email, phone and ip value, at any depth,
    replaced by the hash of its normalized value (a refused line must not leak what a good one hides)."""
    if isinstance(value, dict):
        scrubbed: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str) and key in EMAIL_KEYS:
                scrubbed[key] = {"sha256": sha256_hex(normalize_email(item))}
            elif isinstance(item, str) and key in PHONE_KEYS:
                scrubbed[key] = {"sha256": sha256_hex(normalize_phone(item))}
            elif isinstance(item, str) and key == "ip":
                scrubbed[key] = {"sha256": sha256_hex(item.strip())}
            else:
                scrubbed[key] = scrub_pii(item)
        return scrubbed
    if isinstance(value, list):
        return [scrub_pii(item) for item in value]
    return value
