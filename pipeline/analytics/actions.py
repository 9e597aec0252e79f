"""What a rule, a recommendation or an allocation may propose to change on a platform.

A proposal is only a wish: ``pipeline.warehouse.actions_store.propose_actions`` runs the guardrails on it
and queues it as ``proposed`` (awaiting a person) or ``blocked`` (with the guardrail's reason). Nothing
reaches a platform before someone approves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ActionType = Literal["PAUSE", "RESUME", "BUDGET_CHANGE", "REALLOCATE", "BUDGET_EXPERIMENT"]
ActionSource = Literal["rule", "recommendation", "allocation", "manual", "experiment"]
ACTION_TYPES: tuple[str, ...] = ("PAUSE", "RESUME", "BUDGET_CHANGE", "REALLOCATE", "BUDGET_EXPERIMENT")
# A BUDGET_EXPERIMENT is one step of a budget experiment's schedule (app.budget_experiments): a budget
# change like any other (guardrails, approval, audit), flagged so that it is read as deliberate variation.


@dataclass(frozen=True)
class ActionProposal:
    """One change to one campaign. Budgets are daily, in the account currency's major units."""

    action_type: ActionType
    source: ActionSource
    source_ref: str  # e.g. "rule:3", "recommendation:12", "allocation:5"
    platform: str
    account_id: str
    campaign_id: str
    reason: str
    new_daily_budget: float | None = None  # BUDGET_CHANGE, REALLOCATE and BUDGET_EXPERIMENT
    campaign_name: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action_type not in ACTION_TYPES:
            raise ValueError(
                f"action_type must be one of {', '.join(ACTION_TYPES)}, not {self.action_type!r}"
            )
        needs_budget = self.action_type in ("BUDGET_CHANGE", "REALLOCATE", "BUDGET_EXPERIMENT")
        if needs_budget and (self.new_daily_budget is None or self.new_daily_budget <= 0):
            raise ValueError(f"{self.action_type} needs a positive new_daily_budget")
        if not needs_budget and self.new_daily_budget is not None:
            raise ValueError(f"{self.action_type} takes no new_daily_budget")

    @property
    def params(self) -> dict[str, Any]:
        return {} if self.new_daily_budget is None else {"new_daily_budget": round(self.new_daily_budget, 2)}

    @property
    def idempotency_key(self) -> str:
        """Same source, campaign and change → same key: re-proposing updates, never stacks."""
        parts = (self.source_ref, self.platform, self.account_id, self.campaign_id, self.action_type)
        budget = "" if self.new_daily_budget is None else f"{self.new_daily_budget:.2f}"
        return hashlib.sha256("|".join((*parts, budget)).encode()).hexdigest()[:32]
