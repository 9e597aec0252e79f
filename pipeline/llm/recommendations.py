"""Recommendations from Claude when it can be trusted, from the deterministic recommender otherwise.

``produce_recommendations`` asks Claude (when a key is configured) through the strict tool, validates the
answer against the context, and falls back to :func:`pipeline.analytics.recommender.recommend` on no key,
an API error or a failed validation, saying why. The call record it returns (model, tokens, latency,
status, validation errors, request id) is what ``app.llm_calls`` keeps; it never holds the key or the
prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pipeline.analytics.recommender import (
    RECOMMENDATIONS_TOOL,
    SYSTEM_PROMPT,
    TOOL_CHOICE,
    Recommendation,
    RecommendationContext,
    recommend,
    user_prompt,
    validate_answer,
)
from pipeline.llm.claude import PROVIDER, ClaudeCallError, ClaudeSettings, call_tool

PURPOSE = "recommendations"


@dataclass(frozen=True)
class LLMCallRecord:
    """One model call as ``app.llm_calls`` keeps it."""

    provider: str
    model: str
    purpose: str
    started_at: datetime
    latency_ms: float | None
    status: Literal["ok", "error", "invalid"]
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None
    validation_errors: tuple[str, ...] = ()
    request_id: str | None = None
    message_id: str | None = None
    stop_reason: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class RecommenderOutcome:
    produced_by: Literal["claude", "fallback"]
    model: str | None
    recommendations: list[Recommendation]
    fallback_reason: str | None = None
    llm_call: LLMCallRecord | None = None
    # Claude's NO_ACTION answers: counted, not stored (nothing for anyone to act on).
    no_action: list[Recommendation] = field(default_factory=list)

    @property
    def metadata(self) -> dict[str, Any]:
        call = self.llm_call
        return {
            "produced_by": self.produced_by,
            "model": self.model,
            "fallback_reason": self.fallback_reason,
            "llm_status": call.status if call else None,
            "llm_latency_ms": call.latency_ms if call else None,
            "llm_input_tokens": call.input_tokens if call else None,
            "llm_output_tokens": call.output_tokens if call else None,
            "validation_errors": list(call.validation_errors[:5]) if call else [],
        }


def _fallback(
    ctx: RecommendationContext, reason: str, call: LLMCallRecord | None = None
) -> RecommenderOutcome:
    return RecommenderOutcome("fallback", None, recommend(ctx), fallback_reason=reason, llm_call=call)


def produce_recommendations(
    ctx: RecommendationContext, settings: ClaudeSettings | None
) -> RecommenderOutcome:
    """Claude's validated recommendations, or the deterministic ones with the reason Claude's were not used."""
    if settings is None:
        return _fallback(ctx, "no ANTHROPIC_API_KEY configured")
    if ctx.is_empty:
        return _fallback(ctx, "nothing to recommend on: no campaigns, alerts, allocation or rule matches")

    started_at = datetime.now(UTC)
    try:
        result = call_tool(
            settings,
            system=SYSTEM_PROMPT,
            user=user_prompt(ctx),
            tool=RECOMMENDATIONS_TOOL,
            tool_choice=TOOL_CHOICE,
        )
    except ClaudeCallError as exc:
        call = LLMCallRecord(
            provider=PROVIDER,
            model=settings.model,
            purpose=PURPOSE,
            started_at=started_at,
            latency_ms=exc.latency_ms,
            status="error",
            error=str(exc),
            request_id=exc.request_id,
            http_status=exc.status_code,
        )
        return _fallback(ctx, f"Claude API error: {exc}", call)

    validation = validate_answer(result.tool_input, ctx)
    call = LLMCallRecord(
        provider=PROVIDER,
        model=result.model,
        purpose=PURPOSE,
        started_at=started_at,
        latency_ms=result.latency_ms,
        status="ok" if validation.ok else "invalid",
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        validation_errors=validation.errors,
        request_id=result.request_id,
        message_id=result.message_id,
        stop_reason=result.stop_reason,
        http_status=200,
    )
    if not validation.ok:
        first = settings.redact(validation.errors[0])
        count = len(validation.errors)
        return _fallback(
            ctx,
            f"Claude's answer failed validation ({count} problem{'s' if count > 1 else ''}; first: {first})",
            call,
        )
    kept = [r for r in validation.recommendations if r.action != "NO_ACTION"]
    skipped = [r for r in validation.recommendations if r.action == "NO_ACTION"]
    return RecommenderOutcome("claude", result.model, kept, llm_call=call, no_action=skipped)
