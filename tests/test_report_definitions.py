"""Report definitions: the YAML format, errors naming the field, periods resolved from a pinned as_of."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.config import PROJECT_ROOT
from pipeline.reports.definition import (
    Period,
    PeriodSpec,
    ReportFileError,
    load_reports_file,
    parse_reports,
    previous_period,
    resolve_period,
    with_period,
)
from pipeline.reports.schedule import cron_matches_day, is_due


def problems(text: str) -> list[str]:
    with pytest.raises(ReportFileError) as caught:
        parse_reports(text)
    return caught.value.errors


def test_the_example_file_is_valid() -> None:
    (report,) = load_reports_file(PROJECT_ROOT / "pipeline" / "examples" / "reports.yml")
    assert report.name == "weekly-performance"
    assert report.period.kind == "last_week"
    assert [s.type for s in report.sections] == [
        "kpis",
        "platform_table",
        "campaign_table",
        "trend",
        "top_movers",
        "alerts",
    ]
    assert report.formats == ("html", "pdf", "csv")
    assert [d.type for d in report.destinations] == ["folder"]


def test_defaults_and_custom_period() -> None:
    (report,) = parse_reports(
        "reports:\n  - name: nov\n    period: {from: 2026-11-01, to: 2026-11-30}\n    sections: [{type: kpis}]\n"
    )
    assert report.tenant == "default"
    assert report.compare_previous is True
    assert report.formats == ("html", "pdf", "csv")
    assert report.period == PeriodSpec(kind="custom", start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert report.display_title == "nov"


def test_every_problem_is_reported_with_its_field_path() -> None:
    errors = problems(
        """
reports:
  - name: Weekly Report
    period: last_weak
    currency: usd
    sections: [{type: trends}, {type: campaign_table, top: 0}, {type: kpis, colour: red}]
    formats: [pdf, xls]
    schedule: every monday
    branding: {primary_color: red}
    destinations: [{type: slack}, {type: s3}]
    color: blue
  - name: custom
    period: {from: 2026-01-05, to: 2026-01-01}
    compare_previous: false
    sections: [{type: top_movers}, {type: kpis}, {type: kpis}]
  - name: custom
    sections: []
"""
    )
    assert errors == [
        "reports[0].name: lowercase letters, digits, '-' and '_' (at most 64), starting with a letter or digit",
        "reports[0].period: unknown period 'last_weak' (did you mean 'last_week'? expected one of last_7_days,"
        " last_week, last_month, month_to_date, custom; custom as {from: DATE, to: DATE})",
        "reports[0].currency: a three-letter ISO code like 'USD', not 'usd'",
        "reports[0].sections[0].type: unknown section type 'trends' (did you mean 'trend'? expected one of kpis,"
        " platform_table, campaign_table, trend, top_movers, alerts)",
        "reports[0].sections[1].top: Input should be greater than or equal to 1",
        "reports[0].sections[2].colour: unknown field",
        "reports[0].formats: unknown format 'xls' (expected any of html, pdf, csv)",
        "reports[0].schedule: not a five-field cron expression like '0 7 * * 1': 'every monday'",
        "reports[0].branding.primary_color: a colour like '#1f4e79', not 'red'",
        "reports[0].destinations[0].type: 'slack' delivery is not built yet; only folder, webhook, email are (see docs/reports.md)",
        "reports[0].destinations[1].type: unknown destination type 's3' (expected one of folder, webhook, email)",
        "reports[0].color: unknown field",
        "reports[1].period.to: 2026-01-01 is before from (2026-01-05)",
        "reports[1].sections[0].type: top_movers compares with the previous period (compare_previous is off)",
        "reports[1].sections[2].type: kpis appears twice (also sections[1])",
        "reports[2].period: required field missing",
        "reports[2].sections: must not be empty",
    ]


def test_file_level_problems() -> None:
    assert problems("- a\n- b\n") == [
        "the file must be a mapping with a 'reports' list (see docs/reports.md)"
    ]
    assert problems("version: 2\nreport: []\n") == [
        "report: unknown field (expected one of version, reports)",
        "version: unsupported version 2 (supported: 1)",
        "reports: required, a non-empty list of reports",
    ]
    assert problems("reports: [\n")[0].startswith("line ")
    twice = "  - name: a\n    period: last_week\n    sections: [{type: kpis}]\n"
    assert problems("reports:\n" + twice + twice) == [
        "reports[1].name: duplicate report name 'a' (also reports[0])"
    ]


def test_custom_period_needs_both_ends_and_named_periods_take_none() -> None:
    base = "reports:\n  - name: a\n    sections: [{type: kpis}]\n    period: "
    assert problems(base + "{from: 2026-01-01}\n") == [
        "reports[0].period: a custom period needs both 'from' and 'to'"
    ]
    assert problems(base + "{kind: last_week, to: 2026-01-01}\n") == [
        "reports[0].period: 'from' / 'to' only go with a custom period, not last_week"
    ]
    assert problems(base + "{from: 2024-01-01, to: 2026-01-01}\n") == ["reports[0].period: at most 366 days"]


def spec(kind: str) -> PeriodSpec:
    return PeriodSpec(kind=kind)


# 2026-12-09 is a Wednesday.
@pytest.mark.parametrize(
    ("kind", "as_of", "expected", "previous"),
    [
        (
            "last_7_days",
            date(2026, 12, 9),
            Period(date(2026, 12, 3), date(2026, 12, 9)),
            Period(date(2026, 11, 26), date(2026, 12, 2)),
        ),
        (
            "last_week",
            date(2026, 12, 9),
            Period(date(2026, 11, 30), date(2026, 12, 6)),
            Period(date(2026, 11, 23), date(2026, 11, 29)),
        ),
        # A Sunday as_of: its own week is complete.
        (
            "last_week",
            date(2026, 12, 6),
            Period(date(2026, 11, 30), date(2026, 12, 6)),
            Period(date(2026, 11, 23), date(2026, 11, 29)),
        ),
        (
            "last_week",
            date(2026, 11, 30),
            Period(date(2026, 11, 23), date(2026, 11, 29)),
            Period(date(2026, 11, 16), date(2026, 11, 22)),
        ),
        (
            "last_month",
            date(2026, 12, 9),
            Period(date(2026, 11, 1), date(2026, 11, 30)),
            Period(date(2026, 10, 1), date(2026, 10, 31)),
        ),
        (
            "last_month",
            date(2026, 3, 31),
            Period(date(2026, 3, 1), date(2026, 3, 31)),
            Period(date(2026, 2, 1), date(2026, 2, 28)),
        ),
        (
            "last_month",
            date(2026, 1, 15),
            Period(date(2025, 12, 1), date(2025, 12, 31)),
            Period(date(2025, 11, 1), date(2025, 11, 30)),
        ),
        (
            "month_to_date",
            date(2026, 12, 9),
            Period(date(2026, 12, 1), date(2026, 12, 9)),
            Period(date(2026, 11, 1), date(2026, 11, 9)),
        ),
        # The same days of a shorter month before, clipped to its end.
        (
            "month_to_date",
            date(2026, 3, 31),
            Period(date(2026, 3, 1), date(2026, 3, 31)),
            Period(date(2026, 2, 1), date(2026, 2, 28)),
        ),
    ],
)
def test_periods_resolve_from_as_of(kind: str, as_of: date, expected: Period, previous: Period) -> None:
    period = resolve_period(spec(kind), as_of)
    assert period == expected
    assert previous_period(spec(kind), period) == previous


def test_custom_period_ignores_as_of_and_compares_with_as_many_days_before() -> None:
    custom = PeriodSpec(kind="custom", start=date(2026, 11, 10), end=date(2026, 11, 19))
    period = resolve_period(custom, date(2030, 1, 1))
    assert period == Period(date(2026, 11, 10), date(2026, 11, 19))
    assert (period.days, period.label) == (10, "2026-11-10_2026-11-19")
    assert previous_period(custom, period) == Period(date(2026, 10, 31), date(2026, 11, 9))


@pytest.mark.parametrize(
    ("cron", "day", "fires"),
    [
        ("0 7 * * 1", date(2026, 12, 7), True),  # a Monday
        ("0 7 * * mon", date(2026, 12, 8), False),
        ("0 7 * * 0", date(2026, 12, 6), True),
        ("0 7 * * 7", date(2026, 12, 6), True),  # 7 is Sunday too
        ("0 7 * * mon-fri", date(2026, 12, 5), False),
        ("0 7 1 * *", date(2026, 12, 1), True),
        ("0 7 1,15 * *", date(2026, 12, 15), True),
        ("0 7 */10 * *", date(2026, 12, 11), True),  # 1, 11, 21, 31
        ("0 7 1 jan *", date(2026, 12, 1), False),
        ("0 7 1 * 1", date(2026, 12, 7), True),  # both restricted: either matches
        ("0 7 1 * 1", date(2026, 12, 8), False),
    ],
)
def test_cron_day_fields(cron: str, day: date, fires: bool) -> None:
    assert cron_matches_day(cron, day) is fires


def test_a_report_is_due_with_the_partition_of_the_day_before_its_schedule() -> None:
    assert is_due("0 7 * * 1", date(2026, 12, 6))  # the Sunday partition runs Monday's report
    assert not is_due("0 7 * * 1", date(2026, 12, 7))
    assert not is_due(None, date(2026, 12, 6))


def test_another_period_for_one_run() -> None:
    (report,) = load_reports_file(PROJECT_ROOT / "pipeline" / "examples" / "reports.yml")
    assert with_period(report, "last_month").period == PeriodSpec(kind="last_month")
    custom = with_period(report, "2026-11-01:2026-11-07")
    assert custom.period == PeriodSpec(kind="custom", start=date(2026, 11, 1), end=date(2026, 11, 7))
    assert custom.model_copy(update={"period": report.period}) == report
    with pytest.raises(ReportFileError) as caught:
        with_period(report, "2026-11-07:2026-11-01")
    assert caught.value.errors == ["period.to: 2026-11-01 is before from (2026-11-07)"]
