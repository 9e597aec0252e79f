"""From an allocation plan to budget experiments and their action-queue steps (pure).

:func:`attach_experiments` assesses every fitted campaign of an :class:`AllocationPlan`
(:func:`.experiments.assess_experiments`) and, for the ones worth an experiment, turns the design
into account-currency daily budgets around the campaign's *recommended* budget. Such a campaign's
REALLOCATE is not proposed: the experiment's steps carry it to its new level and vary it there.

Each step is a ``BUDGET_EXPERIMENT`` :class:`ActionProposal` (source ``experiment``, source_ref
``experiment:<id>``): the first waits for a person's approval like any action, which approves the
experiment; the store (``pipeline.warehouse.experiments_store``) queues the later steps day by day,
each through the guardrails again, approved on the strength of that first approval.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from pipeline.analytics.actions import ActionProposal
from pipeline.analytics.budget.curves import CampaignKey
from pipeline.analytics.budget.experiments import (
    ExperimentAssessment,
    ExperimentConfig,
    assess_experiments,
    experiment_budgets,
)
from pipeline.analytics.budget.plan import AllocationPlan
from pipeline.analytics.budget.uncertainty import curve_pool


@dataclass(frozen=True)
class ExperimentSettings:
    """``ADSIGNAL_EXPERIMENTS`` (1/0, default 1), ``ADSIGNAL_EXPERIMENT_AMPLITUDE`` (0.15),
    ``ADSIGNAL_EXPERIMENT_DAYS`` (14), ``ADSIGNAL_EXPERIMENT_HORIZON_DAYS`` (84)."""

    enabled: bool = True
    amplitude: float = 0.15
    duration_days: int = 14
    horizon_days: int = 84
    max_change_pct: float = 30.0  # the guardrail's per-action limit (steps are sized within it)

    def config(self) -> ExperimentConfig:
        return ExperimentConfig(
            amplitude=self.amplitude, duration_days=self.duration_days, horizon_days=self.horizon_days,
            max_change_pct=self.max_change_pct,
        )  # fmt: skip

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, max_change_pct: float = 30.0
    ) -> ExperimentSettings:
        env = os.environ if env is None else env
        defaults = cls()

        def read(name: str, kind: type, default: Any) -> Any:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return kind(raw)
            except ValueError:
                raise ValueError(f"{name} must be a {kind.__name__}, not {raw!r}") from None

        enabled = env.get("ADSIGNAL_EXPERIMENTS", "1").strip().lower() not in ("0", "false", "no", "off")
        settings = cls(
            enabled=enabled,
            amplitude=read("ADSIGNAL_EXPERIMENT_AMPLITUDE", float, defaults.amplitude),
            duration_days=read("ADSIGNAL_EXPERIMENT_DAYS", int, defaults.duration_days),
            horizon_days=read("ADSIGNAL_EXPERIMENT_HORIZON_DAYS", int, defaults.horizon_days),
            max_change_pct=max_change_pct,
        )
        settings.config()  # validates (amplitude within the guardrail, days a multiple of 14)
        return settings


@dataclass(frozen=True)
class PlannedExperiment:
    """One proposed experiment in the campaign's account currency."""

    assessment: ExperimentAssessment
    currency: str | None
    current_daily_budget: float
    baseline_daily_budget: float
    daily_budgets: tuple[float, ...]
    planned_start: date
    amplitude: float

    @property
    def key(self) -> CampaignKey:
        return self.assessment.key

    def evidence(self) -> dict[str, Any]:
        a = self.assessment
        return {
            "design": "ABBA",
            "amplitude": self.amplitude,
            "multipliers": list(a.schedule),
            "daily_budgets": list(self.daily_budgets),
            "current_daily_budget": self.current_daily_budget,
            "baseline_daily_budget": self.baseline_daily_budget,
            "planned_start": self.planned_start.isoformat(),
            **{k: v for k, v in a.to_dict().items() if k not in ("schedule",)},
        }

    def step(self, experiment_id: int, day_index: int, budget: float) -> ActionProposal:
        """The action that sets day ``day_index``'s budget (``len(daily_budgets)``: back to the baseline)."""
        a = self.assessment
        last = day_index >= len(self.daily_budgets)
        what = "return to the baseline" if last else f"day {day_index + 1} of {len(self.daily_budgets)}"
        return ActionProposal(
            action_type="BUDGET_EXPERIMENT",
            source="experiment",
            source_ref=f"experiment:{experiment_id}",
            platform=a.key[0],
            account_id=a.key[1],
            campaign_id=a.key[2],
            campaign_name=a.campaign_name,
            new_daily_budget=round(budget, 2),
            reason=(
                f"Budget experiment {experiment_id} ({what}): daily budget {budget:,.2f} {self.currency or ''}"
                f" around {self.baseline_daily_budget:,.2f}; {a.reason}"
            ),
            evidence={"experiment_id": experiment_id, "day_index": day_index, **self.evidence()},
        )


def attach_experiments(
    plan: AllocationPlan, settings: ExperimentSettings, *, exclude: Collection[CampaignKey] = ()
) -> tuple[AllocationPlan, list[ExperimentAssessment], list[PlannedExperiment]]:
    """Assess the plan's campaigns; the proposed ones get a schedule and lose their REALLOCATE.

    ``exclude``: campaigns already running an experiment (never proposed twice)."""
    if not settings.enabled or plan.allocation is None:
        return plan, [], []
    lines = {line.key: line for line in plan.lines}
    eligible = {
        key: line.current_daily_budget is not None and line.treatment == "fitted" and key not in exclude
        for key, line in lines.items()
    }
    config = settings.config()
    assessments = assess_experiments(plan.curves, plan.allocation, config, pool=curve_pool(plan.curves),
                                     eligible=eligible)  # fmt: skip
    planned: list[PlannedExperiment] = []
    new_lines = []
    chosen = {a.key: a for a in assessments if a.propose}
    for line in plan.lines:
        a = chosen.get(line.key)
        if a is None or line.current_daily_budget is None:
            new_lines.append(line)
            continue
        budgets = experiment_budgets(line.current_daily_budget, line.recommended_daily_budget, a.schedule,
                                     settings.max_change_pct)  # fmt: skip
        baseline = round(line.recommended_daily_budget, 2)
        planned.append(
            PlannedExperiment(
                a,
                line.currency,
                line.current_daily_budget,
                baseline,
                budgets,
                plan.period_start,
                settings.amplitude,
            )
        )
        why = "budget experiment proposed instead: " + a.reason
        new_lines.append(replace(line, propose=False, not_proposed_reason=why))
    return replace(plan, lines=tuple(new_lines)), assessments, planned


__all__ = ["ExperimentSettings", "PlannedExperiment", "attach_experiments"]
