"""Every value the CSV validator accepts survives the warehouse's casts (property-based, real PostgreSQL).

Hypothesis generates foreign cells — numbers in every notation, other scripts' digits, NaN and
Infinity, huge exponents, dates and hours out of range, control characters — and puts each in one
row of a file. A rejected cell must name its column; an accepted one is cast in PostgreSQL exactly
as the staging models and the marts do (``dbt_project/macros/csv/csv_helpers.sql``; the ranges in
"Warehouse value ranges" of ``dbt_project/README.md``), and the cast must succeed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.connectors.csv_import import BadRow, CsvRows, GoodRow
from pipeline.imports import warehouse_timezones

TODAY = date(2026, 6, 1)
GOOD = {
    "date": "2026-05-01",
    "platform": "linkedin",
    "account_id": "508",
    "account_name": "Acme",
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "campaign_id": "c1",
    "campaign_name": "Lead gen",
    "ad_group_id": "g1",
    "ad_id": "a1",
    "ad_name": "Ad",
    "spend": "12.50",
    "impressions": "1000",
    "clicks": "30",
    "conversions": "2",
    "conversion_value": "80.00",
}
# The casts a value of each kind goes through downstream: staging (numeric, then bigint for counts),
# the warehouse's ranges (numeric(21,6)), the marts' reporting-currency rounding, and float8 (pandas,
# the detectors and the allocation read money as doubles).
AMOUNT_CASTS = (
    "select %(v)s::numeric, %(v)s::numeric(21,6), round(%(v)s::numeric * 1.2345, 6),"
    " %(v)s::numeric::double precision, sum(%(v)s::numeric) over ()"
)
COUNT_CASTS = "select %(v)s::numeric::bigint, %(v)s::numeric(21,6), %(v)s::numeric::double precision"
ID_CASTS = "select jsonb_build_object('v', %(v)s::text) ->> 'v', left(%(v)s, 255)"
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

number_text = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.from_regex(r"[+-]?[0-9]{0,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,8})?", fullmatch=True),
    st.builds(lambda d, e: f"{d}e{e}", st.integers(0, 999), st.integers(-100_000, 100_000)),
    st.text(st.characters(categories=["Nd", "No", "Zs", "Pd", "Po"]), max_size=12),
    st.sampled_from(
        ["NaN", "-nan", "Infinity", "inf", "1e-100000", "0e-16384", "0." + "1" * 20_000, "1_000", "0x10"]
    ),
)
text_cell = st.text(st.characters(codec="utf-8"), max_size=300)


def parse(cells: dict[str, str], timezones: frozenset[str]) -> GoodRow | BadRow:
    """The one row of a file with these cells (its header: their keys, in order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # quotes cells holding \r or \n
    writer.writerow(cells)
    writer.writerow(cells.values())
    rows = list(
        CsvRows(io.StringIO(out.getvalue(), newline=""), file_name="x.csv", today=TODAY, timezones=timezones)
    )
    assert len(rows) == 1, rows  # a cell never spills into another row
    return rows[0]


@pytest.fixture(scope="module")
def conn(warehouse_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def timezones(warehouse_url: str) -> frozenset[str]:
    return warehouse_timezones(warehouse_url)


def check(conn: psycopg.Connection, timezones: frozenset[str], column: str, value: str, casts: str) -> None:
    row = parse(GOOD | {column: value}, timezones)
    if isinstance(row, BadRow):
        assert row.problems[0].column == column, row.reason
        return
    conn.execute(casts, {"v": row.record[column].strip() or "0"})


@SETTINGS
@given(value=number_text, column=st.sampled_from(["spend", "conversions", "conversion_value"]))
def test_accepted_amounts_survive_the_casts(
    conn: psycopg.Connection, timezones: frozenset[str], value: str, column: str
) -> None:
    check(conn, timezones, column, value, AMOUNT_CASTS)


@SETTINGS
@given(value=number_text, column=st.sampled_from(["impressions", "clicks"]))
def test_accepted_counts_survive_the_casts(
    conn: psycopg.Connection, timezones: frozenset[str], value: str, column: str
) -> None:
    check(conn, timezones, column, value, COUNT_CASTS)


@SETTINGS
@given(
    value=st.one_of(
        st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
        st.text(st.characters(categories=["Nd", "Pd"]), max_size=12),
    )
)
def test_accepted_days_cast_and_stay_in_the_warehouse_range(
    conn: psycopg.Connection, timezones: frozenset[str], value: str
) -> None:
    row = parse(GOOD | {"date": value}, timezones)
    if isinstance(row, BadRow):
        assert row.problems[0].column == "date", row.reason
        return
    (in_range,) = conn.execute(
        "select %(v)s::date between '2000-01-01' and '2099-12-31'", {"v": row.record["date"]}
    ).fetchone()
    assert in_range


@SETTINGS
@given(
    value=st.one_of(
        st.datetimes().map(lambda d: d.replace(minute=0, second=0, microsecond=0).isoformat(sep=" ")),
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:00(:00(\.[0-9]{1,9})?)?", fullmatch=True),
    ),
    timezone=st.sampled_from(["Europe/Berlin", "America/Los_Angeles", "Pacific/Kiritimati", "UTC"]),
)
def test_accepted_hours_cast_to_instants(
    conn: psycopg.Connection, timezones: frozenset[str], value: str, timezone: str
) -> None:
    cells = {("hour" if c == "date" else c): v for c, v in GOOD.items()} | {
        "hour": value,
        "timezone": timezone,
    }
    row = parse(cells, timezones)
    if isinstance(row, BadRow):
        assert row.problems[0].column == "hour", row.reason
        return
    conn.execute(
        "select (%(v)s::timestamp at time zone %(tz)s), extract(hour from %(v)s::timestamp)::integer,"
        " %(v)s::timestamp::date between '2000-01-01' and '2099-12-31'",
        {"v": row.record["hour"], "tz": timezone},
    )


@SETTINGS
@given(
    value=text_cell,
    column=st.sampled_from(["account_id", "campaign_id", "ad_id", "ad_group_id", "ad_name", "campaign_name"]),
)
def test_accepted_ids_and_names_are_storable_text(
    conn: psycopg.Connection, timezones: frozenset[str], value: str, column: str
) -> None:
    row = parse(GOOD | {column: value}, timezones)
    if isinstance(row, BadRow):
        assert row.problems[0].column == column, row.reason
        return
    (stored, _) = conn.execute(ID_CASTS, {"v": row.record[column]}).fetchone()
    assert stored == row.record[column]


def test_every_accepted_timezone_converts_local_hours(
    conn: psycopg.Connection, timezones: frozenset[str]
) -> None:
    assert "Europe/Berlin" in timezones and "localtime" not in timezones
    refused = []
    for name in sorted(timezones):
        try:
            conn.execute("select '2026-03-29 02:00'::timestamp at time zone %s", (name,))
        except psycopg.Error:
            refused.append(name)
    assert refused == []
