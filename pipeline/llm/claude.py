"""Claude through the ``anthropic`` SDK: one forced tool call, its usage and request id, errors made safe.

Settings come from the environment: ``ANTHROPIC_API_KEY`` (no key → no call), ``ANTHROPIC_BASE_URL``
(optional: a proxy, or the local fake in tests), ``ADSIGNAL_CLAUDE_MODEL`` (default
:data:`DEFAULT_MODEL`), ``ADSIGNAL_CLAUDE_TIMEOUT_S``, ``ADSIGNAL_CLAUDE_MAX_RETRIES`` and
``ADSIGNAL_CLAUDE_MAX_TOKENS``. The key is kept out of ``repr`` and scrubbed from every error text this
module produces, so it cannot reach logs, run metadata or the database through it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anthropic

DEFAULT_MODEL = "claude-sonnet-5-5"  # the newest Sonnet the installed SDK (2.12) names
PROVIDER = "anthropic"
REDACTED = "[redacted]"


def _env_number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


@dataclass(frozen=True)
class ClaudeSettings:
    api_key: str = field(repr=False)
    model: str = DEFAULT_MODEL
    base_url: str | None = field(default=None, repr=False)  # may carry a proxy's credentials
    timeout_s: float = 60.0
    max_retries: int = 2
    max_tokens: int = 4096

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClaudeSettings | None:
        """Settings from the environment, or None when ``ANTHROPIC_API_KEY`` is unset or empty."""
        environ = os.environ if environ is None else environ
        api_key = environ.get("ANTHROPIC_API_KEY", "").strip()
        if not api_key:
            return None
        return cls(
            api_key=api_key,
            model=environ.get("ADSIGNAL_CLAUDE_MODEL", "").strip() or DEFAULT_MODEL,
            base_url=environ.get("ANTHROPIC_BASE_URL", "").strip() or None,
            timeout_s=_env_number(environ, "ADSIGNAL_CLAUDE_TIMEOUT_S", 60.0),
            max_retries=int(_env_number(environ, "ADSIGNAL_CLAUDE_MAX_RETRIES", 2)),
            max_tokens=int(_env_number(environ, "ADSIGNAL_CLAUDE_MAX_TOKENS", 4096)),
        )

    def redact(self, text: str) -> str:
        """``text`` with the key (and a base URL that may embed credentials) replaced."""
        for secret in (self.api_key, self.base_url):
            if secret:
                text = text.replace(secret, REDACTED)
        return text


@dataclass(frozen=True)
class ToolCallResult:
    """What came back: the tool's input (None if the model did not call it) and the call's cost."""

    tool_input: Any
    model: str
    request_id: str | None
    message_id: str | None
    stop_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float


class ClaudeCallError(Exception):
    """A call that produced no answer: HTTP error status, connection failure or timeout (after retries)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None,
        error_type: str | None,
        request_id: str | None,
        latency_ms: float,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.request_id = request_id
        self.latency_ms = latency_ms


def call_tool(
    settings: ClaudeSettings,
    *,
    system: str,
    user: str,
    tool: Mapping[str, Any],
    tool_choice: Mapping[str, Any],
) -> ToolCallResult:
    """One Messages API request that forces ``tool``; the SDK retries 429/5xx/529 up to ``max_retries``."""
    client = anthropic.Anthropic(
        api_key=settings.api_key,
        base_url=settings.base_url,
        max_retries=settings.max_retries,
        timeout=settings.timeout_s,
    )
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000.0, 1)

    try:
        message = client.messages.create(
            model=settings.model,
            max_tokens=settings.max_tokens,
            system=system,
            messages=[{"role": "user", "content": user}],
            tools=[dict(tool)],  # type: ignore[list-item]
            tool_choice=dict(tool_choice),  # type: ignore[arg-type]
        )
    except anthropic.APIStatusError as exc:
        detail = exc.api_message or exc.message
        raise ClaudeCallError(
            settings.redact(f"HTTP {exc.status_code} {exc.type or 'error'}: {detail}"),
            status_code=exc.status_code,
            error_type=exc.type,
            request_id=exc.request_id,
            latency_ms=elapsed(),
        ) from None
    except anthropic.APIConnectionError as exc:  # includes timeouts
        raise ClaudeCallError(
            settings.redact(f"{type(exc).__name__}: {exc}"),
            status_code=None,
            error_type="timeout" if isinstance(exc, anthropic.APITimeoutError) else "connection_error",
            request_id=None,
            latency_ms=elapsed(),
        ) from None
    except anthropic.APIError as exc:  # any other SDK failure (e.g. an unreadable response): fall back too
        raise ClaudeCallError(
            settings.redact(f"{type(exc).__name__}: {exc}"),
            status_code=None,
            error_type="api_error",
            request_id=None,
            latency_ms=elapsed(),
        ) from None
    finally:
        client.close()

    latency = elapsed()
    tool_input = next(
        (block.input for block in message.content if block.type == "tool_use" and block.name == tool["name"]),
        None,
    )
    usage = message.usage
    return ToolCallResult(
        tool_input=tool_input,
        model=message.model or settings.model,
        request_id=message._request_id,
        message_id=message.id,
        stop_reason=message.stop_reason,
        input_tokens=usage.input_tokens if usage else None,
        output_tokens=usage.output_tokens if usage else None,
        latency_ms=latency,
    )
