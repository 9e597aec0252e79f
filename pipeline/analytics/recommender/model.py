"""The recommendation record both paths (Claude and the deterministic recommender) produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["PAUSE", "RESUME", "BUDGET_CHANGE", "REALLOCATE", "INVESTIGATE", "NO_ACTION"]
ACTIONS: tuple[str, ...] = ("PAUSE", "RESUME", "BUDGET_CHANGE", "REALLOCATE", "INVESTIGATE", "NO_ACTION")
# Actions that change a campaign on its platform: they go to the action queue, never straight out.
CAMPAIGN_CHANGING_ACTIONS: frozenset[str] = frozenset({"PAUSE", "RESUME", "BUDGET_CHANGE", "REALLOCATE"})
BUDGET_ACTIONS: frozenset[str] = frozenset({"BUDGET_CHANGE", "REALLOCATE"})

CITATION_SOURCES: tuple[str, ...] = ("alert", "metric", "allocation", "rule")
ENTITY_LEVELS: tuple[str, ...] = ("campaign", "account", "platform")


@dataclass(frozen=True)
class Citation:
    """One number a recommendation relies on: ``value`` of ``field`` of the context item ``id``."""

    source: str
    id: str
    field: str
    value: float

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "id": self.id, "field": self.field, "value": self.value}


@dataclass(frozen=True)
class Recommendation:
    """What to do about one campaign, account or platform, why, and the numbers it rests on.

    ``entity_id`` is the campaign id, account id or platform name for ``entity_level`` campaign,
    account or platform. ``new_daily_budget`` (account currency, major units) is set for
    BUDGET_CHANGE and REALLOCATE only.
    """

    action: str
    entity_level: str
    platform: str
    account_id: str | None
    campaign_id: str | None
    title: str
    rationale: str
    confidence: float
    citations: tuple[Citation, ...]
    new_daily_budget: float | None = None
    current_daily_budget: float | None = None
    entity_name: str | None = None
    currency: str | None = None
    expected_impact: dict[str, Any] | None = field(default=None, hash=False)

    @property
    def entity_id(self) -> str:
        if self.entity_level == "campaign":
            return str(self.campaign_id)
        if self.entity_level == "account":
            return str(self.account_id)
        return self.platform

    @property
    def entity_key(self) -> tuple[str, str, str, str]:
        """(level, platform, account, entity): at most one recommendation per entity per run."""
        return (self.entity_level, self.platform, self.account_id or "", self.entity_id)

    @property
    def changes_campaign(self) -> bool:
        return self.action in CAMPAIGN_CHANGING_ACTIONS

    @property
    def proposed_change(self) -> dict[str, Any] | None:
        if not self.changes_campaign:
            return None
        change: dict[str, Any] = {"action": self.action}
        if self.new_daily_budget is not None:
            change["new_daily_budget"] = round(self.new_daily_budget, 2)
            change["current_daily_budget"] = (
                None if self.current_daily_budget is None else round(self.current_daily_budget, 2)
            )
            change["currency"] = self.currency
        return change
