"""Which stored reports are due on a day: the day fields of their cron, matched against a date.

The daily asset runs for a partition day (the run's last complete day, the reports' ``as_of``) once
that day is over, so a report is due when its cron fires on the day after: ``0 7 * * 1`` (Mondays)
runs with the Sunday partition, whose ``last_week`` is the week that just ended. Hour and minute are
not used (the asset runs once a day).
"""

from __future__ import annotations

from datetime import date, timedelta

DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}


def _values(field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    """The numbers a cron field matches (``*``, ``5``, ``1-5``, ``*/2``, ``mon-fri``, lists of those)."""

    def number(text: str) -> int:
        return names[text.lower()] if text.lower() in names else int(text)

    matched: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = number(first_text), number(last_text)
        else:
            first = number(span)
            last = high if step_text else first
        matched.update(range(first, last + 1, step))
    return matched


def cron_matches_day(cron: str, day: date) -> bool:
    """Whether ``cron`` fires at some time of ``day`` (standard cron: when both day-of-month and
    day-of-week are restricted, either one matching is enough)."""
    _, _, day_of_month, month, day_of_week = cron.split()
    if day.month not in _values(month, 1, 12, MONTH_NAMES):
        return False
    weekdays = {d % 7 for d in _values(day_of_week, 0, 7, DAY_NAMES)}  # 7 is Sunday too
    in_month = day.day in _values(day_of_month, 1, 31, {})
    in_week = (day.isoweekday() % 7) in weekdays
    if day_of_month != "*" and day_of_week != "*":
        return in_month or in_week
    return in_month and in_week


def is_due(cron: str | None, as_of: date) -> bool:
    """A report with this schedule runs with the ``as_of`` partition (never without a schedule)."""
    return cron is not None and cron_matches_day(cron, as_of + timedelta(days=1))
