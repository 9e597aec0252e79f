"""The one tool Claude must answer through, and the strict model its input is parsed with.

The JSON schema is sent with ``strict: true`` (every object closed, every property required, nullable
where a value may be absent). Ranges the schema language of strict tools cannot express (confidence in
[0, 1], budgets within bounds, ids that exist) are checked by :mod:`pipeline.analytics.recommender.validate`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.analytics.recommender.model import ACTIONS, CITATION_SOURCES, ENTITY_LEVELS

TOOL_NAME = "submit_recommendations"
MAX_TITLE_CHARS = 160
MAX_RATIONALE_CHARS = 1500

_CITATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "source": {"type": "string", "enum": list(CITATION_SOURCES)},
        "id": {"type": "string", "description": "The cited item's id exactly as given in the context."},
        "field": {"type": "string", "description": "A key of that item's fields."},
        "value": {"type": "number", "description": "That field's value exactly as given."},
    },
    "required": ["source", "id", "field", "value"],
}

RECOMMENDATIONS_TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": (
        "Submit the recommendations for the account data in the context. Each one names one entity by"
        " its ids, one action from that campaign's allowed_actions, and cites the context numbers it"
        " relies on by id, field and value."
    ),
    "strict": True,
    "input_schema": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "recommendations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "action": {"type": "string", "enum": list(ACTIONS)},
                        "entity_level": {"type": "string", "enum": list(ENTITY_LEVELS)},
                        "platform": {"type": "string"},
                        "account_id": {"type": ["string", "null"]},
                        "campaign_id": {"type": ["string", "null"]},
                        "new_daily_budget": {
                            "type": ["number", "null"],
                            "description": (
                                "BUDGET_CHANGE and REALLOCATE only: the new daily budget in the account"
                                " currency, within the campaign's budget_min..budget_max; null otherwise."
                            ),
                        },
                        "title": {"type": "string", "description": "One line, at most 160 characters."},
                        "rationale": {"type": "string", "description": "Why, with the numbers cited."},
                        "confidence": {"type": "number", "description": "From 0 to 1."},
                        "citations": {"type": "array", "items": _CITATION_SCHEMA},
                    },
                    "required": [
                        "action",
                        "entity_level",
                        "platform",
                        "account_id",
                        "campaign_id",
                        "new_daily_budget",
                        "title",
                        "rationale",
                        "confidence",
                        "citations",
                    ],
                },
            }
        },
        "required": ["recommendations"],
    },
}

TOOL_CHOICE: dict[str, str] = {"type": "tool", "name": TOOL_NAME}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CitationInput(_Strict):
    source: Literal["alert", "metric", "allocation", "rule"]
    id: str = Field(min_length=1, max_length=300)
    field: str = Field(min_length=1, max_length=100)
    value: float


class RecommendationInput(_Strict):
    action: Literal["PAUSE", "RESUME", "BUDGET_CHANGE", "REALLOCATE", "INVESTIGATE", "NO_ACTION"]
    entity_level: Literal["campaign", "account", "platform"]
    platform: str = Field(min_length=1, max_length=100)
    account_id: str | None = Field(max_length=200)
    campaign_id: str | None = Field(max_length=200)
    new_daily_budget: float | None
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    rationale: str = Field(min_length=1, max_length=MAX_RATIONALE_CHARS)
    confidence: float
    citations: list[CitationInput]


class AnswerInput(_Strict):
    recommendations: list[RecommendationInput]
