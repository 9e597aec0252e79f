"""AI recommendations, pure: the context with ids, the deterministic recommender, the tool schema, the
prompt, validation of a model's answer, and the measured effect of executed recommendations.

No Dagster, no database, no HTTP here: ``pipeline.llm`` calls Claude, ``pipeline.warehouse.
recommendations_store`` reads and writes, ``pipeline.defs.recommendations`` wires the asset.
"""

from __future__ import annotations

from pipeline.analytics.recommender.context import (
    AlertFacts,
    AllocationFacts,
    CampaignFacts,
    RecommendationContext,
    RecommenderConfig,
    RuleFacts,
    build_context,
    clean_text,
)
from pipeline.analytics.recommender.deterministic import recommend
from pipeline.analytics.recommender.model import (
    ACTIONS,
    CAMPAIGN_CHANGING_ACTIONS,
    Citation,
    Recommendation,
)
from pipeline.analytics.recommender.prompt import SYSTEM_PROMPT, context_data, user_prompt
from pipeline.analytics.recommender.results import measure_effect
from pipeline.analytics.recommender.schema import RECOMMENDATIONS_TOOL, TOOL_CHOICE, TOOL_NAME
from pipeline.analytics.recommender.validate import AnswerValidation, validate_answer

__all__ = [
    "ACTIONS",
    "CAMPAIGN_CHANGING_ACTIONS",
    "RECOMMENDATIONS_TOOL",
    "SYSTEM_PROMPT",
    "TOOL_CHOICE",
    "TOOL_NAME",
    "AlertFacts",
    "AllocationFacts",
    "AnswerValidation",
    "CampaignFacts",
    "Citation",
    "Recommendation",
    "RecommendationContext",
    "RecommenderConfig",
    "RuleFacts",
    "build_context",
    "clean_text",
    "context_data",
    "measure_effect",
    "recommend",
    "user_prompt",
    "validate_answer",
]
