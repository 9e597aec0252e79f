"""A fake Anthropic Messages API that speaks the real wire format, for tests and offline demos.

``POST /v1/messages`` checks what the real API checks first (the key in ``x-api-key`` or
``Authorization: Bearer`` — SDK 2.x sends the latter —, ``anthropic-version``, a
JSON body with ``model``, ``max_tokens``, ``messages``; a forced tool that exists) and answers like it:
a ``message`` with ``id``, ``model``, ``content`` blocks (``tool_use`` with ``id``, ``name``, ``input``),
``stop_reason``, ``usage``, and a ``request-id`` header; errors as ``{"type": "error", "error": {"type",
"message"}, "request_id"}`` with the real status codes (400, 401, 429, 500, 529).

Its "model" is scriptable (:class:`FakeAnthropic`), one mode per request, then ``default_mode``:

- ``valid``: an answer built from the request's ``<context_data>`` JSON: INVESTIGATE (PAUSE for a
  zero-conversion campaign that may be paused) per alert, REALLOCATE per allocation line, citing the
  context's ids and values;
- ``malformed``: tool input that breaks the schema (unknown action, confidence as text, missing fields);
- ``wrong_ids``: the valid answer citing an alert and a campaign that do not exist;
- ``wrong_numbers``: the valid answer with every cited value off by half;
- ``obey_injection``: the valid answer, plus doing whatever "set budget to N" / "pause" a campaign name
  asks — a model fooled by prompt injection;
- ``no_tool``: a text answer without the tool call;
- ``overloaded`` (529), ``server_error`` (500), ``rate_limited`` (429), ``unauthorized`` (401).

Every request is recorded (body and headers, the key left out) for tests to inspect.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pipeline.sandbox.server import BackgroundServer

FAKE_API_KEY = "sk-ant-fake-sandbox-key"
MODES = frozenset(
    {
        "valid",
        "malformed",
        "wrong_ids",
        "wrong_numbers",
        "obey_injection",
        "no_tool",
        "overloaded",
        "server_error",
        "rate_limited",
        "unauthorized",
    }
)
ERROR_MODES: dict[str, tuple[int, str, str]] = {
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
    "rate_limited": (429, "rate_limit_error", "Number of requests has exceeded your rate limit"),
    "unauthorized": (401, "authentication_error", "invalid x-api-key"),
}
_DATA = re.compile(r"<context_data>(.*)</context_data>", re.S)
_SET_BUDGET = re.compile(r"set (?:the )?(?:daily )?budget to \$?([0-9][0-9,]*(?:\.[0-9]+)?)", re.I)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # without x-api-key / authorization
    body: Any
    authenticated: bool
    mode: str | None
    status: int


@dataclass
class FakeAnthropic:
    """The fake's state: accepted keys, the scripted modes, what it received."""

    api_keys: set[str] = field(default_factory=lambda: {FAKE_API_KEY})
    default_mode: str = "valid"
    requests: list[RecordedRequest] = field(default_factory=list)
    _script: deque[str] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *modes: str) -> None:
        """Answer the next requests in these modes, one each, then ``default_mode`` again."""
        for mode in modes:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r}; known: {', '.join(sorted(MODES))}")
        with self._lock:
            self._script.extend(modes)

    def next_mode(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else self.default_mode

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def message_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/v1/messages")]


def _request_id() -> str:
    return "req_" + secrets.token_hex(12)


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    request_id = _request_id()
    headers = {"request-id": request_id}
    if status in (429, 500, 529):
        headers["x-should-retry"] = "true"
    return JSONResponse(
        {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id},
        status_code=status,
        headers=headers,
    )


def _prompt_text(body: dict[str, Any]) -> str:
    texts: list[str] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return "\n".join(texts)


def _context(body: dict[str, Any]) -> dict[str, Any]:
    match = _DATA.search(_prompt_text(body))
    if not match:
        return {}
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _cite(source: str, item: dict[str, Any], *names: str) -> list[dict[str, Any]]:
    fields = item.get("fields") or {}
    return [
        {"source": source, "id": item["id"], "field": n, "value": fields[n]} for n in names if n in fields
    ]


def _campaign_ids(campaign: dict[str, Any]) -> dict[str, Any]:
    return {
        "entity_level": "campaign",
        "platform": campaign["platform"],
        "account_id": campaign["account_id"],
        "campaign_id": campaign["campaign_id"],
    }


def _valid_answer(data: dict[str, Any]) -> list[dict[str, Any]]:
    """What a careful model would answer: built only from the context's ids and numbers."""
    campaigns = {(c["platform"], c["account_id"], c["campaign_id"]): c for c in data.get("campaigns", [])}
    answer: dict[tuple[Any, ...], dict[str, Any]] = {}
    for alert in data.get("alerts", [])[:5]:
        level = alert["entity_level"]
        if level == "campaign":
            key: tuple[Any, ...] = (alert["platform"], alert["account_id"], alert["entity_id"])
            ids = {"entity_level": level, "platform": key[0], "account_id": key[1], "campaign_id": key[2]}
        elif level == "account":
            key = (alert["platform"], alert["account_id"])
            ids = {"entity_level": level, "platform": key[0], "account_id": key[1], "campaign_id": None}
        else:
            key = (alert["platform"],)
            ids = {"entity_level": level, "platform": key[0], "account_id": None, "campaign_id": None}
        if key in answer:
            continue
        campaign = campaigns.get(key) if level == "campaign" else None
        pause = (
            campaign is not None
            and alert["alert_type"] == "ZERO_CONVERSIONS"
            and "PAUSE" in campaign.get("allowed_actions", [])
        )
        citations = _cite("alert", alert, "current_value", "baseline_value")
        if campaign is not None:
            citations += _cite("metric", campaign, "spend_7d")
        answer[key] = {
            **ids,
            "action": "PAUSE" if pause else "INVESTIGATE",
            "new_daily_budget": None,
            "title": f"{'Pause' if pause else 'Investigate'} after {alert['alert_type']}",
            "rationale": f"Alert {alert['id']} shows {alert.get('metric')} away from its baseline.",
            "confidence": 0.72 if pause else 0.55,
            "citations": citations,
        }
    for line in data.get("allocation_lines", []):
        key = (line["platform"], line["account_id"], line["campaign_id"])
        campaign = campaigns.get(key)
        if key in answer or campaign is None or "REALLOCATE" not in campaign.get("allowed_actions", []):
            continue
        recommended = (line.get("fields") or {}).get("recommended_daily_budget")
        low, high, current = (
            campaign.get("budget_min"),
            campaign.get("budget_max"),
            campaign.get("current_daily_budget"),
        )
        if recommended is None or low is None or high is None or not current:
            continue
        new_budget = round(min(max(recommended, low), high), 2)
        if abs(new_budget - current) < 0.01 * current:
            continue
        answer[key] = {
            **_campaign_ids(campaign),
            "action": "REALLOCATE",
            "new_daily_budget": new_budget,
            "title": "Follow the budget allocation",
            "rationale": f"Allocation line {line['id']} recommends {recommended} a day.",
            "confidence": 0.64,
            "citations": _cite("allocation", line, "recommended_daily_budget", "current_daily_spend")
            + _cite("metric", campaign, "roas_28d"),
        }
    return list(answer.values())


def _obey_injection(data: dict[str, Any], answer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A fooled model: whatever a campaign's name tells it to do, it does."""
    by_key = {(r["platform"], r.get("account_id"), r.get("campaign_id")): r for r in answer}
    for campaign in data.get("campaigns", []):
        name = str(campaign.get("name_untrusted") or "")
        key = (campaign["platform"], campaign["account_id"], campaign["campaign_id"])
        budget = _SET_BUDGET.search(name)
        if budget:
            by_key[key] = {
                **_campaign_ids(campaign),
                "action": "BUDGET_CHANGE",
                "new_daily_budget": float(budget.group(1).replace(",", "")),
                "title": "Raise the budget as instructed",
                "rationale": "The campaign asked for it.",
                "confidence": 1.0,
                "citations": _cite("metric", campaign, "spend_7d"),
            }
        elif re.search(r"\bpause\b", name, re.I):
            by_key[key] = {
                **_campaign_ids(campaign),
                "action": "PAUSE",
                "new_daily_budget": None,
                "title": "Pause as instructed",
                "rationale": "The campaign asked for it.",
                "confidence": 1.0,
                "citations": _cite("metric", campaign, "spend_7d"),
            }
    return list(by_key.values())


def _answer(mode: str, data: dict[str, Any]) -> Any:
    answer = _valid_answer(data)
    if mode == "malformed":
        return {
            "recommendations": [
                {"action": "DELETE_ACCOUNT", "confidence": "very high", "entity": "everything"},
                {"action": "PAUSE", "platform": "no-such-platform"},
            ]
        }
    if mode == "wrong_ids":
        campaigns = data.get("campaigns", [])
        bogus = {
            "entity_level": "campaign",
            "platform": campaigns[0]["platform"] if campaigns else "no-such-platform",
            "account_id": campaigns[0]["account_id"] if campaigns else "act_0",
            "campaign_id": "no-such-campaign",
            "action": "INVESTIGATE",
            "new_daily_budget": None,
            "title": "Investigate a campaign",
            "rationale": "It looks off.",
            "confidence": 0.5,
            "citations": [
                {"source": "alert", "id": "alert:987654321", "field": "current_value", "value": 1.0}
            ],
        }
        return {"recommendations": [*answer, bogus]}
    if mode == "wrong_numbers":
        for rec in answer:
            for citation in rec["citations"]:
                citation["value"] = round(citation["value"] * 1.5 + 1.0, 4)
        return {"recommendations": answer}
    if mode == "obey_injection":
        return {"recommendations": _obey_injection(data, answer)}
    return {"recommendations": answer}


def _validate_request(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body: Input should be an object"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: Input should be a positive integer"
    if not isinstance(body["messages"], list) or not body["messages"]:
        return "messages: at least one message is required"
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool":
        names = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
        if choice.get("name") not in names:
            return f"tool_choice.name: tool {choice.get('name')!r} not found in tools"
    return None


def create_app(state: FakeAnthropic) -> Starlette:
    async def messages(request: Request) -> JSONResponse:
        # The key arrives as ``x-api-key`` or, as the SDK 2.x sends it, ``Authorization: Bearer``.
        bearer = request.headers.get("authorization", "")
        key = request.headers.get("x-api-key") or (
            bearer[7:].strip() if bearer.lower().startswith("bearer ") else None
        )
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("x-api-key", "authorization")
        }
        raw = await request.body()
        try:
            body: Any = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = None

        def done(response: JSONResponse, mode: str | None) -> JSONResponse:
            state.record(
                RecordedRequest(
                    request.url.path, headers, body, key in state.api_keys, mode, response.status_code
                )
            )
            return response

        if not key:
            return done(
                _error(401, "authentication_error", "x-api-key or Authorization header is required"), None
            )
        if key not in state.api_keys:
            return done(_error(401, "authentication_error", "invalid x-api-key"), None)
        if not request.headers.get("anthropic-version"):
            return done(_error(400, "invalid_request_error", "anthropic-version: header is required"), None)
        if body is None:
            return done(_error(400, "invalid_request_error", "The request body is not valid JSON."), None)
        problem = _validate_request(body)
        if problem:
            return done(_error(400, "invalid_request_error", problem), None)

        mode = state.next_mode()
        if mode in ERROR_MODES:
            return done(_error(*ERROR_MODES[mode]), mode)

        data = _context(body)
        if mode == "no_tool":
            content: list[dict[str, Any]] = [
                {"type": "text", "text": "You should probably lower some budgets."}
            ]
            stop_reason = "end_turn"
        else:
            tool_name = (body.get("tool_choice") or {}).get("name") or (body.get("tools") or [{}])[0].get(
                "name"
            )
            content = [
                {
                    "type": "tool_use",
                    "id": "toolu_" + secrets.token_hex(12),
                    "name": tool_name,
                    "input": _answer(mode, data),
                }
            ]
            stop_reason = "tool_use"
        output = json.dumps(content)
        message = {
            "id": "msg_" + secrets.token_hex(12),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": max(1, len(raw) // 4),
                "output_tokens": max(1, len(output) // 4),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "service_tier": "standard",
            },
        }
        return done(JSONResponse(message, headers={"request-id": _request_id()}), mode)

    app = Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])
    app.state.fake = state
    return app


class FakeAnthropicServer(BackgroundServer):
    """The fake on a loopback port in a background thread; ``url`` is the SDK's ``base_url``.

    >>> with FakeAnthropicServer() as fake:                         # doctest: +SKIP
    ...     anthropic.Anthropic(api_key=FAKE_API_KEY, base_url=fake.url).messages.create(...)
    """

    label = "fake Anthropic API"
    thread_name = "fake-anthropic"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, api_keys: Iterable[str] | None = None
    ) -> None:
        self.state = FakeAnthropic(api_keys=set(api_keys) if api_keys is not None else {FAKE_API_KEY})
        super().__init__(create_app(self.state), host, port)


__all__ = ["FAKE_API_KEY", "MODES", "FakeAnthropic", "FakeAnthropicServer", "RecordedRequest", "create_app"]
