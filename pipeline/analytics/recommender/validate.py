"""Check a model's answer against the context it was given before anything of it is kept.

Everything the model says that matters is checked: the shape (strict schema), that every entity and
cited item exists, that every cited number is the context's number, that the action is one this
campaign allows (nothing that changes a campaign on unhealthy data, no PAUSE of a paused campaign), that
a new budget stays within the campaign's bounds, and that confidence is in [0, 1]. One failed check
rejects the whole answer: a half-trusted answer is not trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pipeline.analytics.recommender.context import CampaignFacts, RecommendationContext, clean_text
from pipeline.analytics.recommender.model import (
    BUDGET_ACTIONS,
    CAMPAIGN_CHANGING_ACTIONS,
    Citation,
    Recommendation,
)
from pipeline.analytics.recommender.schema import (
    MAX_RATIONALE_CHARS,
    MAX_TITLE_CHARS,
    AnswerInput,
    RecommendationInput,
)

MAX_ERRORS = 50


@dataclass(frozen=True)
class AnswerValidation:
    recommendations: tuple[Recommendation, ...]
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _normalise_id(source: str, item_id: str) -> str:
    """Accept ``42`` for ``alert:42``: the prefix is redundant with ``source``, the rest must match."""
    item_id = item_id.strip()
    return item_id if item_id.startswith(f"{source}:") else f"{source}:{item_id}"


def _close(cited: float, actual: float, ctx: RecommendationContext) -> bool:
    tolerance = max(ctx.config.cite_abs_tolerance, ctx.config.cite_rel_tolerance * abs(actual))
    return abs(cited - actual) <= tolerance


def _cites_entity(citations: list[Citation], ctx: RecommendationContext, campaign: CampaignFacts) -> bool:
    key = (campaign.platform, campaign.account_id, campaign.campaign_id)
    for citation in citations:
        item = ctx.item(citation.source, citation.id)
        if item is None:
            continue
        item_key = (item.platform, item.account_id, getattr(item, "campaign_id", None))
        if item_key == key:
            return True
    return False


def _check_one(
    index: int, rec: RecommendationInput, ctx: RecommendationContext
) -> tuple[Recommendation | None, list[str]]:
    where = f"recommendations[{index}]"
    errors: list[str] = []

    # The entity must be one the context knows, named at the level the recommendation says.
    campaign: CampaignFacts | None = None
    entity_name: str | None = None
    if rec.entity_level == "campaign":
        campaign = ctx.campaign(rec.platform, rec.account_id, rec.campaign_id)
        if campaign is None:
            errors.append(
                f"{where}: unknown campaign {rec.platform}/{rec.account_id}/{rec.campaign_id} (not in the context)"
            )
        else:
            entity_name = campaign.name
    elif rec.entity_level == "account":
        if rec.campaign_id is not None:
            errors.append(f"{where}: an account-level recommendation takes no campaign_id")
        if (rec.platform, rec.account_id or "") not in ctx.accounts:
            errors.append(f"{where}: unknown account {rec.platform}/{rec.account_id} (not in the context)")
    else:
        if rec.account_id is not None or rec.campaign_id is not None:
            errors.append(f"{where}: a platform-level recommendation takes no account_id or campaign_id")
        if rec.platform not in ctx.platforms:
            errors.append(f"{where}: unknown platform {rec.platform!r} (not in the context)")

    # The action must be allowed for this entity; campaign changes only on campaigns.
    if rec.action in CAMPAIGN_CHANGING_ACTIONS and rec.entity_level != "campaign":
        errors.append(f"{where}: {rec.action} applies to campaigns only, not to a {rec.entity_level}")
    if campaign is not None and rec.action not in campaign.allowed_actions:
        errors.append(
            f"{where}: {rec.action} is not allowed for campaign {campaign.id}"
            f" (allowed: {', '.join(campaign.allowed_actions)})"
        )

    # A new budget only where the action needs one, and within the campaign's bounds.
    budget = rec.new_daily_budget
    if rec.action in BUDGET_ACTIONS:
        if budget is None or not math.isfinite(budget) or budget <= 0:
            errors.append(f"{where}: {rec.action} needs a positive new_daily_budget")
        elif campaign is not None and (campaign.budget_min is None or campaign.budget_max is None):
            errors.append(f"{where}: campaign {campaign.id} has no budget to change")
        elif campaign is not None:
            assert campaign.budget_min is not None and campaign.budget_max is not None
            if not campaign.budget_min - 0.01 <= budget <= campaign.budget_max + 0.01:
                errors.append(
                    f"{where}: new_daily_budget {budget:,.2f} is outside the allowed"
                    f" {campaign.budget_min:,.2f}..{campaign.budget_max:,.2f} for campaign {campaign.id}"
                )
    elif budget is not None:
        errors.append(f"{where}: {rec.action} takes no new_daily_budget")

    if not (math.isfinite(rec.confidence) and 0.0 <= rec.confidence <= 1.0):
        errors.append(f"{where}: confidence {rec.confidence} is not in [0, 1]")

    # Every cited number must be the context's number.
    citations: list[Citation] = []
    if not rec.citations:
        errors.append(f"{where}: cites nothing (every recommendation must cite the numbers it relies on)")
    for j, raw in enumerate(rec.citations):
        at = f"{where}.citations[{j}]"
        item_id = _normalise_id(raw.source, raw.id)
        item = ctx.item(raw.source, item_id)
        if item is None:
            errors.append(f"{at}: unknown {raw.source} id {raw.id!r}")
            continue
        if raw.field not in item.fields:
            errors.append(f"{at}: {item_id} has no field {raw.field!r}")
            continue
        actual = item.fields[raw.field]
        if not math.isfinite(raw.value) or not _close(raw.value, actual, ctx):
            errors.append(f"{at}: {item_id}.{raw.field} is {actual}, not {raw.value}")
            continue
        citations.append(Citation(raw.source, item_id, raw.field, actual))
    if rec.action == "REALLOCATE" and campaign is not None:
        line = ctx.allocation_for(campaign)
        if line is None or not any(c.source == "allocation" and c.id == line.id for c in citations):
            errors.append(f"{where}: REALLOCATE must cite the allocation line of campaign {campaign.id}")
    if (
        rec.action in CAMPAIGN_CHANGING_ACTIONS
        and campaign is not None
        and citations
        and not _cites_entity(citations, ctx, campaign)
    ):
        errors.append(f"{where}: {rec.action} of {campaign.id} cites nothing about that campaign")

    if errors:
        return None, errors
    return (
        Recommendation(
            action=rec.action,
            entity_level=rec.entity_level,
            platform=rec.platform,
            account_id=rec.account_id,
            campaign_id=rec.campaign_id if rec.entity_level == "campaign" else None,
            # Model text is shown in terminals and UIs: one clean line each, no control characters.
            title=clean_text(rec.title, MAX_TITLE_CHARS) or rec.action,
            rationale=clean_text(rec.rationale, MAX_RATIONALE_CHARS) or rec.action,
            confidence=float(rec.confidence),
            citations=tuple(citations),
            new_daily_budget=None if budget is None else round(budget, 2),
            current_daily_budget=campaign.current_daily_budget if campaign is not None else None,
            entity_name=entity_name,
            currency=campaign.currency if campaign is not None else None,
        ),
        [],
    )


def validate_answer(tool_input: Any, ctx: RecommendationContext) -> AnswerValidation:
    """Parse and check the tool input a model returned; errors name the recommendation and the problem."""
    if tool_input is None:
        return AnswerValidation((), ("the model did not call the submit_recommendations tool",))
    try:
        answer = AnswerInput.model_validate(tool_input)
    except ValidationError as exc:
        errors = [
            f"schema: {'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return AnswerValidation((), tuple(errors[:MAX_ERRORS]))

    errors: list[str] = []
    if len(answer.recommendations) > ctx.config.max_recommendations:
        errors.append(
            f"{len(answer.recommendations)} recommendations, more than the {ctx.config.max_recommendations} allowed"
        )
    accepted: list[Recommendation] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for index, rec in enumerate(answer.recommendations):
        recommendation, problems = _check_one(index, rec, ctx)
        errors += problems
        if recommendation is None:
            continue
        if recommendation.entity_key in seen:
            errors.append(
                f"recommendations[{index}]: a second recommendation for the entity of"
                f" recommendations[{seen[recommendation.entity_key]}]"
            )
            continue
        seen[recommendation.entity_key] = index
        accepted.append(recommendation)
    if errors:
        return AnswerValidation((), tuple(errors[:MAX_ERRORS]))
    return AnswerValidation(tuple(accepted), ())
