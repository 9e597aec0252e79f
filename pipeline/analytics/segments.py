"""Segments of profiles: what a segment is (validated YAML, like the rules) and who is in it. No database.

A segments file::

    version: 1
    segments:
      - name: engaged_buyers
        description: Bought twice in 90 days and came back this week
        match: all            # or any
        conditions:
          - computed: orders_90d
            op: gte
            value: 2
          - event: Product Viewed
            within_days: 7
            op: gte           # compared with the number of such events in the window
            value: 3
          - trait: plan       # the latest value an identify call gave
            op: in
            value: [pro, business]

Conditions: ``trait`` (the profile's latest traits; ops ``eq ne gt gte lt lte in exists contains``),
``computed`` (one of ``COMPUTED_TRAITS``, numbers; ``null`` when the profile has no value) and
``event`` (the count of events with that name within ``within_days``, 1-365).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from pipeline.analytics.rules.parsing import validation_messages

COMPUTED_TRAITS: tuple[str, ...] = (
    "events_7d", "events_30d", "events_90d",
    "orders_30d", "orders_90d", "orders_365d",
    "revenue_30d", "revenue_90d", "revenue_365d",
    "days_since_last_seen", "days_since_first_seen",
)  # fmt: skip
ORDER_EVENT = "Order Completed"  # the Segment e-commerce spec's order event; revenue from properties.revenue
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "exists", "contains")
NUMERIC_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_WINDOW = 365


class SegmentFileError(ValueError):
    """A segments file that cannot be used; ``errors`` lists every problem as ``path: message``."""

    def __init__(self, errors: Sequence[str], source: str | None = None) -> None:
        self.errors = list(errors)
        where = f"{source}: " if source else ""
        super().__init__(
            f"{where}{len(self.errors)} problem(s):\n" + "\n".join(f"  {e}" for e in self.errors)
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TraitCondition(_Strict):
    trait: Annotated[str, Field(min_length=1, max_length=200)]
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "exists", "contains"]
    value: Any = None


class ComputedCondition(_Strict):
    computed: Literal[COMPUTED_TRAITS]  # type: ignore[valid-type]
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte"]
    value: float


class EventCondition(_Strict):
    event: Annotated[str, Field(min_length=1, max_length=200)]
    within_days: Annotated[int, Field(ge=1, le=MAX_WINDOW)]
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte"] = "gte"
    value: Annotated[int, Field(ge=0)] = 1


def _kind(raw: Any) -> str | None:
    """Which condition this is: by its key in the YAML, by its class once validated (serializing)."""
    for key in ("trait", "computed", "event"):
        if (isinstance(raw, Mapping) and key in raw) or (not isinstance(raw, Mapping) and hasattr(raw, key)):
            return key
    return None


Condition = Annotated[
    Annotated[TraitCondition, Tag("trait")] | Annotated[ComputedCondition, Tag("computed")]
    | Annotated[EventCondition, Tag("event")],
    Discriminator(_kind, custom_error_type="condition", custom_error_message="a condition names one of trait, computed or event"),
]  # fmt: skip


class Segment(_Strict):
    name: Annotated[str, Field(pattern=NAME.pattern)]
    description: str = ""
    match: Literal["all", "any"] = "all"
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=50)]

    def event_windows(self) -> list[tuple[str, int]]:
        return sorted({(c.event, c.within_days) for c in self.conditions if isinstance(c, EventCondition)})


def event_column(event: str, days: int) -> str:
    """The features frame's column for an event count (stable and unique per (event, days))."""
    return f"event::{days}::{event}"


def parse_segments(text: str, source: str | None = None) -> list[Segment]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SegmentFileError([f"not valid YAML: {getattr(exc, 'problem', None) or exc}"], source) from exc
    if (
        not isinstance(document, Mapping)
        or not isinstance(document.get("segments"), list)
        or not document["segments"]
    ):
        raise SegmentFileError(["segments: required, a non-empty list of segments"], source)
    errors = [
        f"{k}: unknown field (expected version, segments)"
        for k in document
        if k not in ("version", "segments")
    ]
    if document.get("version", 1) != 1:
        errors.append(f"version: unsupported version {document.get('version')!r} (supported: 1)")
    segments, seen = [], {}
    for index, entry in enumerate(document["segments"]):
        try:
            segment = Segment.model_validate(entry)
        except ValidationError as exc:
            errors += [f"segments[{index}]{line}" for line in validation_messages(exc, entry)]
            continue
        for position, condition in enumerate(segment.conditions):
            problem = _condition_problem(condition)
            if problem:
                errors.append(f"segments[{index}].conditions[{position}].value: {problem}")
        if segment.name in seen:
            errors.append(
                f"segments[{index}].name: duplicate segment name '{segment.name}' (also segments[{seen[segment.name]}])"
            )
        seen.setdefault(segment.name, index)
        segments.append(segment)
    if errors:
        raise SegmentFileError(errors, source)
    return segments


def segment_from_definition(definition: Mapping[str, Any]) -> Segment:
    try:
        return Segment.model_validate(definition)
    except ValidationError as exc:
        raise SegmentFileError(validation_messages(exc, definition)) from exc


def _condition_problem(condition: Any) -> str | None:
    if isinstance(condition, TraitCondition):
        if condition.op == "in" and not isinstance(condition.value, list):
            return "op 'in' needs a list of values"
        if condition.op in ("gt", "gte", "lt", "lte") and not isinstance(condition.value, int | float):
            return f"op '{condition.op}' compares numbers; got {condition.value!r}"
        if condition.op not in ("exists",) and condition.value is None:
            return f"op '{condition.op}' needs a value"
    return None


# --- membership ------------------------------------------------------------------------------------


def _compare(series: pd.Series, op: str, value: Any) -> pd.Series:
    if op == "eq":
        return series == value
    if op == "ne":
        return series != value
    if op == "gt":
        return series > value
    if op == "gte":
        return series >= value
    if op == "lt":
        return series < value
    if op == "lte":
        return series <= value
    raise ValueError(op)


def _trait_mask(traits: pd.Series, condition: TraitCondition) -> pd.Series:
    def test(bag: Any) -> bool:
        if not isinstance(bag, Mapping) or condition.trait not in bag:
            return False
        got = bag[condition.trait]
        if condition.op == "exists":
            return got is not None
        if condition.op == "in":
            return got in condition.value
        if condition.op == "contains":
            return isinstance(got, str | list) and str(condition.value) in got
        if condition.op in NUMERIC_OPS[2:]:
            return (
                isinstance(got, int | float)
                and not isinstance(got, bool)
                and bool(_compare(pd.Series([got]), condition.op, condition.value).iloc[0])
            )
        return bool(_compare(pd.Series([got], dtype=object), condition.op, condition.value).iloc[0])

    return traits.map(test).astype(bool)


def members(segment: Segment, features: pd.DataFrame) -> set[str]:
    """The canonical ids in ``features`` (one row per live profile: ``canonical_id``, ``traits`` and the
    computed and event-count columns) that the segment's conditions select. A missing value never
    matches (``null`` compared with anything is false, as in SQL)."""
    if features.empty:
        return set()
    masks = []
    for condition in segment.conditions:
        if isinstance(condition, TraitCondition):
            masks.append(_trait_mask(features["traits"], condition))
        elif isinstance(condition, ComputedCondition):
            column = pd.to_numeric(features[condition.computed], errors="coerce")
            masks.append(_compare(column, condition.op, condition.value).fillna(False).astype(bool))
        else:
            column = features[event_column(condition.event, condition.within_days)].fillna(0)
            masks.append(_compare(column, condition.op, condition.value).astype(bool))
    combined = masks[0]
    for mask in masks[1:]:
        combined = (combined & mask) if segment.match == "all" else (combined | mask)
    return set(features.loc[combined, "canonical_id"])


def event_windows(segments: Iterable[Segment]) -> list[tuple[str, int]]:
    return sorted({window for segment in segments for window in segment.event_windows()})
