"""The CSV format's promises: good rows become records, every bad row is reported with its line and
the column at fault, duplicates are not loaded twice, and whole-file problems refuse the file."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from pipeline.connectors.csv_import import (
    DAILY_STREAM,
    FILE_NAME_KEY,
    HOURLY_STREAM,
    LINE_NUMBER_KEY,
    BadRow,
    CsvFormatError,
    CsvRows,
    GoodRow,
    SeenKeys,
    open_csv,
    summarize,
)
from pipeline.sandbox.sample_import import BROKEN_ROWS, write_sample_csv
from pipeline.warehouse.loader import validate_record

TODAY = date(2026, 6, 1)
HEADER = (
    "date,platform,account_id,account_name,currency,timezone,campaign_id,campaign_name,ad_group_id,"
    "ad_id,ad_name,spend,impressions,clicks,conversions,conversion_value"
)
GOOD = "2026-05-01,linkedin,508,Acme,EUR,Europe/Berlin,c1,Lead gen,g1,a1,Whitepaper,12.50,1000,30,2,80.00"


def parse(*lines: str, header: str = HEADER) -> list[GoodRow | BadRow]:
    text = "\n".join((header, *lines)) + "\n"
    return list(CsvRows(io.StringIO(text, newline=""), file_name="export.csv", today=TODAY))


def only_bad(*lines: str, header: str = HEADER) -> BadRow:
    (row,) = parse(*lines, header=header)
    assert isinstance(row, BadRow), row
    return row


def with_cell(column: str, value: str, line: str = GOOD, header: str = HEADER) -> str:
    cells = line.split(",")
    cells[header.split(",").index(column)] = f'"{value}"' if "," in value else value
    return ",".join(cells)


def test_good_row_becomes_a_record_the_loader_accepts() -> None:
    (row,) = parse(GOOD)
    assert isinstance(row, GoodRow)
    assert row.line_number == 2  # the header is line 1, as in a spreadsheet
    assert row.record == {
        **dict(zip(HEADER.split(","), GOOD.split(","), strict=True)),
        FILE_NAME_KEY: "export.csv",
        LINE_NUMBER_KEY: 2,
    }
    assert (row.row.spend, row.row.impressions, row.row.day) == (pytest.approx(12.5), 1000, date(2026, 5, 1))
    keys = validate_record(DAILY_STREAM, row.record, "508", date(2026, 5, 1), date(2026, 5, 1))
    assert keys == ("508", "linkedin", "a1", date(2026, 5, 1))


def test_bom_whitespace_semicolons_and_loose_header_names_are_tolerated(tmp_path: Path) -> None:
    header = (
        HEADER.replace("account_id", "Account ID").replace("ad_group_id", "Ad-Group-ID").replace(",", ";")
    )
    line = GOOD.replace(",", " ; ").replace("linkedin", "LinkedIn")
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + header + "\r\n" + line + "\r\n").encode())
    with open_csv(path, today=TODAY) as rows:
        assert rows.delimiter == ";"
        (row,) = list(rows)
    assert isinstance(row, GoodRow)
    assert row.record["date"] == "2026-05-01"  # no BOM glued to the first column name
    assert row.record["platform"] == "linkedin"  # keys are canonical
    assert row.record["spend"] == "12.50"  # cells trimmed


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("ad_id", "", "ad_id: required, but empty"),
        ("account_id", "", "account_id: required, but empty"),
        ("campaign_id", "", "campaign_id: required, but empty"),
        ("spend", "-3.10", "spend: must not be negative (got '-3.10')"),
        ("spend", "1,234.50", "spend: not a plain number: write 1234.5"),
        ("spend", "12,50", "spend: not a plain number: write 1234.5"),
        ("spend", "€12", "spend: not a plain number such as 1234.5 (got '€12')"),
        ("spend", "NaN", "spend: not a plain number"),
        ("spend", "", "spend: required, but empty"),
        ("impressions", "10.5", "impressions: must be a whole number (got '10.5')"),
        ("clicks", "many", "clicks: not a plain number"),
        ("conversions", "-1", "conversions: must not be negative"),
        ("currency", "EURO", "currency: not an ISO 4217 currency code such as USD or EUR (got 'EURO')"),
        ("currency", "XAU", "currency: not an ISO 4217 currency code"),
        ("timezone", "CET+1", "timezone: not an IANA timezone name"),
        ("timezone", "europe/berlin", "timezone: not an IANA timezone name"),
        ("date", "01/05/2026", "date: not an ISO date YYYY-MM-DD (got '01/05/2026')"),
        ("date", "2026-02-30", "date: not an ISO date YYYY-MM-DD"),
        ("date", "2099-01-01", "date: in the future"),
        ("date", "1999-12-31", "date: before 2000-01-01"),
        ("platform", "csv", "platform: 'csv' names where rows come from"),
        ("platform", "linked.in", "platform: not a platform code"),
    ],
)
def test_each_bad_value_is_reported_naming_its_column(column: str, value: str, reason: str) -> None:
    row = only_bad(with_cell(column, value))
    assert row.line_number == 2
    assert reason in row.reason
    assert row.problems[0].column == column


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        # Values Python reads but a warehouse cast does not survive (numeric, numeric(21,6), float8, bigint).
        ("spend", "1e-100000", "spend: too many decimal places"),
        ("spend", "0e-16384", "spend: too many decimal places"),
        ("spend", "1e-41", "spend: too many decimal places"),
        ("spend", "0." + "1" * 20_000, "spend: not a plain number: longer than 40 characters"),
        ("spend", "999999999999999.9999995", "spend: implausibly large"),  # rounds to 10^15
        ("conversion_value", "1e15", "conversion_value: implausibly large"),
        ("spend", "Infinity", "spend: not a plain number: NaN and Infinity cannot be stored"),
        ("conversions", "-inf", "conversions: not a plain number: NaN and Infinity"),
        ("spend", "nan", "spend: not a plain number: NaN and Infinity"),
        (
            "spend",
            "\u0661\u0662",
            "spend: not a plain number",
        ),  # Arabic-Indic digits: PostgreSQL refuses them
        ("impressions", "\uff11\uff12", "impressions: not a plain number"),  # fullwidth digits
        ("clicks", "1e999999999", "clicks: implausibly large"),
        ("date", "2026-0\u0665-01", "date: not an ISO date"),
        ("hour", "2026-05-01T13:00:00.0000000", "hour: not an ISO local date-time"),
        ("ad_id", "a\tb", "ad_id: contains a control character"),
        ("campaign_id", "c\x7f1", "campaign_id: contains a control character"),
        ("ad_name", "line\nbreak", "ad_name: contains a control character"),
        ("account_name", "bell\x07", "account_name: contains a control character"),
        ("ad_id", "x" * 256, "ad_id: longer than 255 characters"),
        ("timezone", "localtime", "timezone: not an IANA timezone name"),
    ],
)
def test_values_no_warehouse_cast_survives_are_reported_naming_their_column(
    column: str, value: str, reason: str
) -> None:
    header = HEADER.replace("date,", "hour,") if column == "hour" else HEADER
    line = GOOD.replace("2026-05-01,", "2026-05-01T13:00,") if column == "hour" else GOOD
    cells = next(csv.reader([line]))
    cells[header.split(",").index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    row = only_bad(out.getvalue().rstrip("\n"), header=header)
    assert reason in row.reason
    assert row.problems[0].column == column


def test_days_after_2099_are_refused_whatever_today_is() -> None:
    text = "\n".join((HEADER, with_cell("date", "2100-01-01"))) + "\n"
    (row,) = CsvRows(io.StringIO(text, newline=""), file_name="export.csv", today=date(2100, 1, 5))
    assert isinstance(row, BadRow) and "date: after 2099-12-31" in row.reason


def test_timezones_unknown_to_the_warehouse_are_refused() -> None:
    text = "\n".join((HEADER, GOOD, with_cell("account_id", "509"))) + "\n"
    known = frozenset({"UTC", "America/New_York"})  # a warehouse whose PostgreSQL lacks Europe/Berlin
    rows = list(CsvRows(io.StringIO(text, newline=""), file_name="e.csv", today=TODAY, timezones=known))
    assert all(isinstance(r, BadRow) and "timezone: not an IANA timezone name" in r.reason for r in rows)


def test_amounts_with_many_decimals_are_kept_as_written() -> None:
    (row,) = parse(with_cell("spend", "0.30000000000000004"))  # a float written by a script
    assert isinstance(row, GoodRow) and row.record["spend"] == "0.30000000000000004"


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    line = with_cell("spend", "-1", with_cell("ad_id", "", with_cell("currency", "EURO")))
    row = only_bad(line)
    assert [p.column for p in row.problems] == ["currency", "ad_id", "spend"]
    assert row.account == ("linkedin", "508")  # still attributed, for per-account reporting


def test_clicks_above_impressions_and_empty_optional_cells_are_valid() -> None:
    line = with_cell("clicks", "40", with_cell("impressions", "10"))
    for column in ("conversions", "conversion_value", "ad_group_id", "ad_name", "account_name"):
        line = with_cell(column, "", line)
    (row,) = parse(line)
    assert isinstance(row, GoodRow)
    assert (row.row.clicks, row.row.conversions, row.row.ad_group_id) == (40, 0, None)


def test_malformed_rows_are_reported_and_parsing_goes_on() -> None:
    rows = parse(
        "2026-05-01,linkedin,508",  # too few columns
        GOOD + ",surplus",  # too many
        '2026-05-02,linkedin,508,"Acme, unclosed',  # an unclosed quote swallows what follows
        with_cell("ad_id", "a2"),
    )
    first, second, third = rows
    assert isinstance(first, BadRow) and first.line_number == 2
    assert first.reason == "row: has 3 columns (header has 16)"
    assert isinstance(second, BadRow) and "has 17 columns" in second.reason
    assert isinstance(third, BadRow) and third.line_number == 4
    assert "spans lines 4-5, check for an unclosed quote" in third.reason
    assert third.payload["_cells"][:3] == ["2026-05-02", "linkedin", "508"]


def test_nul_characters_are_rejected_not_loaded() -> None:
    row = only_bad(with_cell("ad_name", "bad\x00name"))
    assert row.reason == "ad_name: contains a NUL character"
    assert "\x00" not in str(row.payload)  # PostgreSQL jsonb cannot store it, even in quarantine


def test_blank_lines_and_empty_rows_are_skipped_silently() -> None:
    text = "\n".join((HEADER, GOOD, "", ",,,,,,,,,,,,,,,", with_cell("ad_id", "a2"))) + "\n"
    rows = CsvRows(io.StringIO(text, newline=""), file_name="x.csv", today=TODAY)
    assert [r.line_number for r in rows if isinstance(r, GoodRow)] == [2, 5]
    assert (rows.blank_lines, rows.rows_read) == (2, 2)


def test_duplicates_keep_the_first_row_and_say_which() -> None:
    restated = with_cell("spend", "99.00")
    rows = parse(GOOD, GOOD, restated, GOOD.replace("linkedin", "LinkedIn"))
    assert isinstance(rows[0], GoodRow)
    duplicates = rows[1:]
    assert all(isinstance(r, BadRow) and r.duplicate_of == 2 for r in duplicates)
    assert "identical to line 2" in duplicates[0].reason
    assert "different values than line 2" in duplicates[1].reason
    assert "identical to line 2" in duplicates[2].reason  # the same key once canonical
    assert duplicates[0].problems[0].column == "platform, account_id, ad_id, date"


@pytest.mark.parametrize("chunked", [True, False], ids=["sqlite-returning", "sqlite-before-3.35"])
def test_duplicates_far_apart_are_found_with_the_line_kept(
    monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    # Keys are checked in batches against an on-disk index: a repeat thousands of rows later is found.
    monkeypatch.setattr(SeenKeys, "CHUNKED", chunked)
    lines = [with_cell("ad_id", f"a{i}") for i in range(2500)]
    rows = parse(*lines, with_cell("spend", "1.00", lines[3]), with_cell("ad_id", "a2499"))
    assert all(isinstance(r, GoodRow) for r in rows[:2500])
    first, second = rows[2500:]
    assert isinstance(first, BadRow) and first.duplicate_of == 5
    assert "different values than line 5" in first.reason
    assert isinstance(second, BadRow) and second.duplicate_of == 2501
    assert "identical to line 2501" in second.reason


def test_an_account_keeps_one_currency_and_timezone_per_file() -> None:
    rows = parse(
        GOOD,
        with_cell("currency", "usd", with_cell("ad_id", "a2")),
        with_cell("timezone", "Europe/Paris", with_cell("ad_id", "a3")),
        with_cell("currency", "usd", with_cell("account_id", "509")),  # another account may differ
    )
    assert [type(r).__name__ for r in rows] == ["GoodRow", "BadRow", "BadRow", "GoodRow"]
    assert "currency: differs from the account's earlier rows (got 'USD'; account linkedin:508 uses EUR" in (
        rows[1].reason
    )
    assert "timezone: differs from the account's earlier rows" in rows[2].reason


def test_platform_aliases_and_connector_account_ids() -> None:
    meta = with_cell("account_id", "act_123", with_cell("platform", "Facebook"))
    google = with_cell("account_id", "123-456-7890", with_cell("platform", "Google Ads"))
    rows = parse(meta, google)
    assert [r.account for r in rows] == [("meta", "123"), ("google_ads", "1234567890")]
    assert rows[0].record["account_id"] == "123"


HOURLY_HEADER = HEADER.replace("date,", "hour,", 1)


def hourly(hour: str, timezone: str = "Europe/Berlin", ad_id: str = "a1") -> str:
    line = with_cell("timezone", timezone, with_cell("ad_id", ad_id))
    return line.replace("2026-05-01", hour, 1)


def test_hourly_files_validate_the_hour() -> None:
    rows = parse(
        hourly("2026-05-01T13:00"),
        hourly("2026-05-01 14:00:00"),
        hourly("2026-05-01T13:30", ad_id="a2"),
        hourly("2026-05-01T13:00+02:00", ad_id="a3"),
        hourly("2026-03-29T02:00", ad_id="a4"),  # skipped by the spring DST change in Berlin
        hourly("2025-10-26T02:00", ad_id="a5"),  # the repeated autumn hour exists (once per key)
        header=HOURLY_HEADER,
    )
    good = [r for r in rows if isinstance(r, GoodRow)]
    bad = {r.line_number: r.reason for r in rows if isinstance(r, BadRow)}
    assert [r.line_number for r in good] == [2, 3, 7]
    assert "hour: not on the hour" in bad[4]
    assert "hour: must be the account's local time, without a UTC offset" in bad[5]
    assert "hour: does not exist in the account's timezone" in bad[6]
    keys = validate_record(HOURLY_STREAM, good[1].record, "508", date(2026, 5, 1), date(2026, 5, 1))
    assert keys[-1].isoformat() == "2026-05-01T14:00:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        (HEADER.replace("date,", "day,") + "\n", "exactly one of the columns 'date'"),
        (HEADER + ",hour\n", "exactly one of the columns 'date'"),
        (HEADER.replace(",spend", "") + "\n", "missing column(s) spend"),
        (HEADER.replace("ad_name", "ad_id") + "\n", "header repeats column(s) ad_id"),
    ],
)
def test_whole_file_problems_refuse_the_file(text: str, message: str) -> None:
    with pytest.raises(CsvFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(CsvRows(io.StringIO(text), file_name="x.csv", today=TODAY))


def test_files_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n" + with_cell("account_name", "Société") + "\n").encode("latin-1"))
    with pytest.raises(CsvFormatError, match="not UTF-8"), open_csv(path, today=TODAY) as rows:
        list(rows)


def test_unknown_columns_are_kept_and_listed() -> None:
    text = HEADER + ",Notes\n" + GOOD + ",promo week\n"
    rows = CsvRows(io.StringIO(text), file_name="x.csv", today=TODAY)
    (row,) = list(rows)
    assert rows.ignored_columns == ("notes",)
    assert isinstance(row, GoodRow) and row.record["notes"] == "promo week"


def test_the_demo_sample_shows_each_kind_of_bad_row(tmp_path: Path) -> None:
    path = write_sample_csv(tmp_path / "sample.csv", TODAY)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # like Excel's "CSV UTF-8"
    with open_csv(path, today=TODAY) as rows:
        summary = summarize(rows)
    assert (summary.good_rows, summary.bad_rows, summary.duplicate_rows) == (150, 5, 1)
    reasons = " | ".join(summary.reasons)
    for expected in BROKEN_ROWS.values():
        assert expected in reasons
