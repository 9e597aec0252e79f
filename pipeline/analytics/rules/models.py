"""What a rule is: validated pydantic models of the YAML format (``extra='forbid'`` everywhere).

A rule has a scope (which platforms, accounts, campaigns it looks at), conditions over windowed metrics
combined with ``all`` / ``any`` (nested as deep as needed), and actions to take on every match.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pipeline.platforms import PLATFORM_NAMES

# Sums over the window, then ratios of the sums (never averages of daily ratios).
BASE_METRICS: tuple[str, ...] = ("spend", "impressions", "clicks", "conversions", "conversion_value")
RATIO_METRICS: tuple[str, ...] = ("cpc", "cpm", "ctr", "cpa", "roas")
METRICS: tuple[str, ...] = BASE_METRICS + RATIO_METRICS
# Metrics in money: compared in the rule's currency (the reporting currency unless the rule says account).
MONEY_METRICS: frozenset[str] = frozenset({"spend", "conversion_value", "cpc", "cpm", "cpa"})

OPERATORS: dict[str, str] = {
    ">": ">",
    ">=": ">=",
    "<": "<",
    "<=": "<=",
    "==": "==",
    "!=": "!=",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "eq": "==",
    "ne": "!=",
}

# The connectors' platforms (pipeline.connectors.CONNECTORS). CSV imports may name others, so an unknown
# platform is only refused when it looks like a typo of a known one.
KNOWN_PLATFORMS: tuple[str, ...] = tuple(sorted(PLATFORM_NAMES))
SEVERITIES: tuple[str, ...] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
MAX_WINDOW_DAYS = 90
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,99}$")


def _did_you_mean(value: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


class _Strict(BaseModel):
    # allow_inf_nan=False: `.nan` / `.inf` are valid YAML floats but no threshold or budget.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MetricCondition(_Strict):
    """``metric`` summed (or its ratio computed) over ``window_days`` ending at the as-of day, compared.

    With ``change_vs_previous_window`` the compared number is the percent change against the
    ``window_days`` before the window (e.g. -50 = halved).
    """

    metric: str
    window_days: int = Field(default=7, ge=1, le=MAX_WINDOW_DAYS)
    operator: str
    value: float
    change_vs_previous_window: bool = False

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        if metric not in METRICS:
            raise PydanticCustomError(
                "unknown_metric",
                "unknown metric '{metric}' ({hint}expected one of {expected})",
                {"metric": metric, "hint": _did_you_mean(metric, METRICS), "expected": ", ".join(METRICS)},
            )
        return metric

    @field_validator("operator", mode="before")
    @classmethod
    def _known_operator(cls, operator: Any) -> str:
        if not isinstance(operator, str) or operator.strip().lower() not in OPERATORS:
            raise PydanticCustomError(
                "unknown_operator",
                "unknown operator '{operator}' (expected one of {expected})",
                {"operator": str(operator), "expected": ", ".join(OPERATORS)},
            )
        return OPERATORS[operator.strip().lower()]

    def describe(self) -> str:
        subject = f"{self.metric} over {self.window_days}d"
        if self.change_vs_previous_window:
            return f"{subject} change vs previous {self.window_days}d {self.operator} {self.value:g}%"
        return f"{subject} {self.operator} {self.value:g}"

    @property
    def key(self) -> str:
        """The name of the value this condition reads, e.g. ``roas_7d`` or ``conversions_3d_change_pct``."""
        suffix = "_change_pct" if self.change_vs_previous_window else ""
        return f"{self.metric}_{self.window_days}d{suffix}"

    @property
    def lookback_days(self) -> int:
        return self.window_days * (2 if self.change_vs_previous_window else 1)


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {MetricCondition: "metric_condition", AllOf: "all_of", AnyOf: "any_of"}.get(type(value))
    if isinstance(value, dict):
        if "metric" in value:
            return "metric_condition"
        if "all" in value and "any" not in value:
            return "all_of"
        if "any" in value and "all" not in value:
            return "any_of"
    return None


Condition = Annotated[
    Annotated[MetricCondition, Tag("metric_condition")]
    | Annotated[AllOf, Tag("all_of")]
    | Annotated[AnyOf, Tag("any_of")],
    Discriminator(
        _condition_kind,
        custom_error_type="invalid_condition",
        custom_error_message=(
            "a condition is a mapping with 'metric' (and window_days, operator, value),"
            " or exactly one of 'all' / 'any' holding a list of conditions"
        ),
    ),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()


def _platform_name(platform: str) -> str:
    if platform in KNOWN_PLATFORMS:
        return platform
    hint = _did_you_mean(platform.lower(), KNOWN_PLATFORMS)
    if hint or not re.fullmatch(r"[a-z][a-z0-9_]*", platform):
        raise PydanticCustomError(
            "unknown_platform",
            "unknown platform '{platform}' ({hint}known: {known})",
            {"platform": platform, "hint": hint, "known": ", ".join(KNOWN_PLATFORMS)},
        )
    return platform


PlatformName = Annotated[str, AfterValidator(_platform_name)]


class Scope(_Strict):
    """Which entities a rule looks at; every given filter must hold. Name patterns are shell-style globs
    (``*`` and ``?``), case-insensitive."""

    platforms: list[PlatformName] | None = None
    account_ids: list[str] | None = None
    campaign_ids: list[str] | None = None
    campaign_names: list[str] | None = None
    exclude_campaign_names: list[str] | None = None
    statuses: list[str] | None = None

    @field_validator("statuses")
    @classmethod
    def _upper_statuses(cls, statuses: list[str] | None) -> list[str] | None:
        return [s.upper() for s in statuses] if statuses is not None else None


class ApplyLabel(_Strict):
    """Label the matched campaign in app.campaign_labels; by default the label goes when the rule stops
    matching (it describes the campaign's current state)."""

    type: Literal["apply_label"]
    label: str = Field(min_length=1, max_length=100)
    remove_when_unmatched: bool = True


class SendAlert(_Strict):
    """An alert in app.alerts (type ``RULE_<rule id>``) per matched entity, resolved when it stops matching."""

    type: Literal["send_alert"]
    severity: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"] = "MEDIUM"
    title: str | None = Field(default=None, max_length=200)


class PauseCampaign(_Strict):
    """Propose pausing the campaign (the action queue; a person approves)."""

    type: Literal["pause_campaign"]


class AdjustBudget(_Strict):
    """Propose a new daily budget: ``percent`` change or ``to`` an amount, then bounded by
    ``min_daily_budget`` / ``max_daily_budget``. Amounts are in the campaign's account currency."""

    type: Literal["adjust_budget"]
    percent: float | None = Field(default=None, ge=-90, le=200)
    to: float | None = Field(default=None, gt=0)
    min_daily_budget: float | None = Field(default=None, gt=0)
    max_daily_budget: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_change(self) -> AdjustBudget:
        if (self.percent is None) == (self.to is None):
            raise PydanticCustomError("budget_change", "give exactly one of 'percent' or 'to'")
        if self.percent == 0:
            raise PydanticCustomError("budget_change", "'percent' must not be 0")
        if (
            self.min_daily_budget is not None
            and self.max_daily_budget is not None
            and self.min_daily_budget > self.max_daily_budget
        ):
            raise PydanticCustomError("budget_bounds", "'min_daily_budget' is above 'max_daily_budget'")
        return self

    def describe(self) -> str:
        change = f"{self.percent:+g}%" if self.percent is not None else f"to {self.to:g}"
        bounds = [
            f"{label} {value:g}"
            for label, value in (("min", self.min_daily_budget), ("max", self.max_daily_budget))
            if value is not None
        ]
        return f"daily budget {change}" + (f" ({', '.join(bounds)})" if bounds else "")


# A destination *name* (e.g. "#paid-media", "ops"): webhook URLs carry secrets and live in the environment,
# never in rules, which are stored and echoed in run records and digests.
def _destination_name(value: str) -> str:
    if any(c in value for c in ":/") or any(c.isspace() for c in value):
        raise ValueError(
            "a destination name, not a URL: webhook URLs are secrets and belong in ADSIGNAL_SLACK_WEBHOOK_URL"
            " / ADSIGNAL_WEBHOOK_URL"
        )
    return value


DestinationName = Annotated[str, Field(max_length=200), AfterValidator(_destination_name)]


class NotifySlack(_Strict):
    """Queue a Slack message (the notification digest of the run delivers it)."""

    type: Literal["notify_slack"]
    target: DestinationName | None = None
    message: str | None = Field(default=None, max_length=500)


class NotifyWebhook(_Strict):
    """Queue a webhook notification (the notification digest of the run delivers it)."""

    type: Literal["notify_webhook"]
    target: DestinationName | None = None
    message: str | None = Field(default=None, max_length=500)


Action = Annotated[
    ApplyLabel | SendAlert | PauseCampaign | AdjustBudget | NotifySlack | NotifyWebhook,
    Field(discriminator="type"),
]
ACTION_TYPES: tuple[str, ...] = (
    "apply_label",
    "send_alert",
    "pause_campaign",
    "adjust_budget",
    "notify_slack",
    "notify_webhook",
)
CAMPAIGN_ONLY_ACTIONS: frozenset[str] = frozenset({"apply_label", "pause_campaign", "adjust_budget"})


class Rule(_Strict):
    """One rule. ``enabled`` left out keeps the stored state on re-import (new rules start enabled)."""

    name: str
    description: str | None = None
    enabled: bool | None = None
    level: Literal["campaign", "account"] = "campaign"
    currency: Literal["reporting", "account"] = "reporting"
    scope: Scope = Field(default_factory=Scope)
    conditions: Condition
    actions: list[Action] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name_shape(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name):
            raise PydanticCustomError(
                "rule_name",
                "invalid rule name '{name}' (1-100 characters: letters, digits, space, '_', '.', ':', '-';"
                " starting with a letter or digit)",
                {"name": name},
            )
        return name

    def metric_conditions(self) -> list[MetricCondition]:
        """Every leaf condition, depth first."""
        leaves: list[MetricCondition] = []

        def walk(node: MetricCondition | AllOf | AnyOf) -> None:
            if isinstance(node, MetricCondition):
                leaves.append(node)
            else:
                for child in node.all if isinstance(node, AllOf) else node.any:
                    walk(child)

        walk(self.conditions)
        return leaves

    @property
    def lookback_days(self) -> int:
        return max(c.lookback_days for c in self.metric_conditions())

    def definition(self) -> dict[str, Any]:
        """The JSON stored in app.rules.definition (``enabled`` lives in its own column)."""
        return self.model_dump(mode="json", exclude={"enabled"}, exclude_none=True)
