"""CSV file import: ad performance from any platform, in one documented generic format.

A file is either daily (a ``date`` column) or hourly (an ``hour`` column), with one row per ad and
day (or local hour) and these columns, in any order (header names are matched case-insensitively;
spaces and dashes count as underscores, so ``Account ID`` is ``account_id``)::

    date | hour, platform, account_id, account_name, currency, timezone, campaign_id, campaign_name,
    ad_group_id, ad_id, ad_name, spend, impressions, clicks, conversions, conversion_value

Every column must be in the header; cells of ``account_name``, ``campaign_name``, ``ad_group_id``,
``ad_name`` may be empty, and empty ``conversions`` / ``conversion_value`` mean zero. Other columns
are allowed, kept in the payload and ignored. Rules (each broken rule quarantines the row with a
reason naming the column):

- UTF-8 (a byte-order mark is fine); delimiter ``,`` (or ``;``, tab, ``|``, detected from the
  header); surrounding whitespace of a cell is not part of its value.
- ``date``: ISO ``YYYY-MM-DD``, the day in the account's timezone. ``hour``: ISO local date-time on
  the hour (``2026-05-01T13:00`` or ``2026-05-01 13:00:00``), without a UTC offset, existing in the
  account's timezone (the skipped hour of a DST change is rejected). Not before 2000, not after
  tomorrow (nor after 2099).
- ``platform``: a code such as ``linkedin``, ``pinterest`` or ``meta``; it is lower-cased, spaces
  and dashes become ``_`` and a few common names map to the connectors' codes (``Facebook`` ->
  ``meta``, ``Google Ads`` -> ``google_ads``, ``Bing`` -> ``microsoft_ads``). For ``meta`` an
  ``act_`` prefix and for ``google_ads`` the dashes of ``123-456-7890`` are dropped from
  ``account_id``, so file rows meet the connectors' ids.
- ``account_id``, ``campaign_id``, ``ad_id``: required. Ids at most 255 characters, names at most
  1000, neither with control characters (tabs, line breaks, ...). ``currency``: ISO 4217 (any
  case). ``timezone``: IANA name (``Europe/Berlin``) that the warehouse's PostgreSQL knows too. An
  account keeps one currency and one timezone per file.
- Metrics: plain non-negative numbers with a dot as decimal separator (``1234.5``, ``1.2e3``; ASCII
  digits, at most 40 characters; no thousands separators, currency signs, percent, ``NaN`` or
  ``Infinity``), below 10^15 once rounded to the 6 decimals the warehouse keeps, with at most 40
  decimal places however written (``1e-100000`` has 100,000). ``impressions`` and ``clicks`` are
  whole numbers.
  Clicks may exceed impressions and conversions may exceed clicks: platforms count clicks on
  impressions of earlier days, and view-through conversions, so such rows are real, not errors.
- One row per key (platform, account_id, ad_id, date | hour): a later row with the key of an
  earlier one is reported as a duplicate (identical or conflicting) and the first one is kept.

Every value accepted here survives the casts of the dbt staging models (see "Warehouse value
ranges" in ``dbt_project/README.md``); ``tests/connectors/test_csv_values_cast.py`` checks that
against PostgreSQL with generated values.

Good rows become records for ``raw.csv_ad_performance_daily`` / ``raw.csv_ad_performance_hourly``:
the row as written (column name -> cell string, trimmed; ``platform`` and ``account_id`` in the
canonical form above, because they are keys) plus ``_file_name`` and ``_line_number``. No Dagster,
no database here: ``pipeline.imports`` loads what this module yields.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pipeline.connectors.base import KeyColumn, RawStream
from pipeline.platforms import PLATFORM_NAMES, platform_aliases, platform_spec

SOURCE = "csv"  # raw tables are raw.csv_*; the marts' `source` column says 'csv' for these rows
FILE_NAME_KEY = "_file_name"
LINE_NUMBER_KEY = "_line_number"
CELLS_KEY = "_cells"  # quarantined rows whose cells cannot be matched to the header

_KEYS = (
    KeyColumn("account_id", "text", "account_id"),
    KeyColumn("platform", "text", "platform"),
    KeyColumn("ad_id", "text", "ad_id"),
)
DAILY_STREAM = RawStream(
    SOURCE,
    "ad_performance_daily",
    (*_KEYS, KeyColumn("date", "date", "date")),
    "date",
    "Daily ad performance imported from CSV files (generic format); payload = the file's row.",
)
# A timestamp key: the loader's window bound (`hour_start_local::date`) then selects local days.
HOURLY_STREAM = RawStream(
    SOURCE,
    "ad_performance_hourly",
    (*_KEYS, KeyColumn("hour_start_local", "timestamp", "hour")),
    "hour_start_local",
    "Hourly ad performance (account-local hours) imported from CSV files; payload = the file's row.",
)
CSV_STREAMS: dict[str, RawStream] = {s.name: s for s in (DAILY_STREAM, HOURLY_STREAM)}

COMMON_COLUMNS = (
    "platform",
    "account_id",
    "account_name",
    "currency",
    "timezone",
    "campaign_id",
    "campaign_name",
    "ad_group_id",
    "ad_id",
    "ad_name",
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
)
TIME_COLUMNS = ("date", "hour")
KNOWN_COLUMNS = frozenset((*TIME_COLUMNS, *COMMON_COLUMNS))
DELIMITERS = (",", ";", "\t", "|")
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)  # the warehouse's day range ends here
MAX_ID_LENGTH = 255
MAX_NAME_LENGTH = 1000
# Metrics must survive the staging casts (numeric(21,6), bigint, double precision):
MAX_METRIC = 10**15  # beyond any real ad account; 15 integer digits
AMOUNT_SCALE = Decimal("0.000001")  # amounts are kept to 6 decimals, rounded half away from zero
MAX_NUMBER_LENGTH = 40  # no real export writes longer numbers; bounds digits and exponents
MIN_NUMBER_EXPONENT = -40  # at most 40 decimal places, however written (1e-41 has 41)
NOT_TIMEZONES = frozenset({"localtime", "posixrules", "Factory"})  # files in zoneinfo, no IANA zones

# Circulating ISO 4217 currencies, plus a few withdrawn recently enough to appear in old exports
# (ANG, CUC, HRK, SLL, SVC, VED, ZWL). Funds, metals and test codes (XAU, XTS, ...) are no account
# currency.
ISO_4217_CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF
    KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR
    MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG
    SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD
    UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905 - a table to read, not 160 quoted strings
)

# Names people write for the platforms adsignal has connectors for -> the connectors' codes, so a
# file's rows land on the same platform as the API's.
PLATFORM_ALIASES = platform_aliases()  # "facebook" -> "meta", ... (each platform's registry entry)
_PLATFORM_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
# ASCII digits only ([0-9], not \d): Python reads "١٢" as 12, PostgreSQL refuses it.
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]+(?:\.(?P<fraction>[0-9]*))?|\.(?P<decimals>[0-9]+))(?:[eE](?P<exponent>[+-]?[0-9]+))?"
)
_NOT_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOCAL_HOUR = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
)
_UTC_OFFSET = re.compile(r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class CsvFormatError(ValueError):
    """The file as a whole cannot be imported (not UTF-8, no header, missing columns, ...)."""


# --- value parsers: cell string -> typed value, or a PydanticCustomError whose message names the
# problem without the value (so reasons can be counted); the value is added to the reason later.


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _no_control_characters(value: str) -> None:
    if _CONTROL_CHARACTER.search(value):
        raise _error("control_character", "contains a control character (tab, line break, ...)")


def _required_id(value: str) -> str:
    if not value:
        raise _error("required", "required, but empty")
    if len(value) > MAX_ID_LENGTH:
        raise _error("too_long", f"longer than {MAX_ID_LENGTH} characters")
    _no_control_characters(value)
    return value


def _optional_id(value: str) -> str | None:
    return _required_id(value) if value else None


def _optional_name(value: str) -> str | None:
    if len(value) > MAX_NAME_LENGTH:
        raise _error("too_long", f"longer than {MAX_NAME_LENGTH} characters")
    _no_control_characters(value)
    return value or None


def canonical_platform(value: str) -> str:
    """``"Google Ads"`` -> ``google_ads``, ``"Facebook"`` -> ``meta``; ValueError if not a code."""
    code = re.sub(r"[\s\-]+", "_", value.strip().lower())
    code = PLATFORM_ALIASES.get(code, code)
    if not _PLATFORM_CODE.fullmatch(code):
        raise ValueError("not a platform code such as linkedin: letters, digits and _")
    if code == SOURCE:
        raise ValueError("'csv' names where rows come from, not an ad platform such as linkedin")
    return code


def canonical_account_id(platform: str, account_id: str) -> str:
    """The id as the platform's connector writes it (Meta without ``act_``, Google Ads without dashes)."""
    return (
        platform_spec(platform).canonical_account_id(account_id) if platform in PLATFORM_NAMES else account_id
    )


def _platform(value: str) -> str:
    if not value:
        raise _error("required", "required, but empty")
    try:
        return canonical_platform(value)
    except ValueError as exc:
        raise _error("invalid", str(exc)) from None


def _currency(value: str) -> str:
    if not value:
        raise _error("required", "required, but empty")
    if value.upper() not in ISO_4217_CURRENCIES:
        raise _error("invalid", "not an ISO 4217 currency code such as USD or EUR")
    return value.upper()


@cache
def iana_timezones() -> frozenset[str]:
    """The IANA zone names Python knows (``timezones=`` narrows them to the warehouse's)."""
    return frozenset(available_timezones()) - NOT_TIMEZONES


def _timezone(value: str, info: ValidationInfo) -> str:
    if not value:
        raise _error("required", "required, but empty")
    if value not in ((info.context or {}).get("timezones") or iana_timezones()):
        raise _error("invalid", "not an IANA timezone name such as Europe/Berlin (or unknown to PostgreSQL)")
    return value


def _number(value: str, *, required: bool) -> Decimal:
    if not value:
        if required:
            raise _error("required", "required, but empty")
        return Decimal(0)
    if len(value) > MAX_NUMBER_LENGTH:
        raise _error("too_long", f"not a plain number: longer than {MAX_NUMBER_LENGTH} characters")
    match = _NUMBER.fullmatch(value)
    if not match:
        if re.fullmatch(r"[+-]?[0-9.,]+", value) and "," in value:
            raise _error(
                "not_a_number",
                "not a plain number: write 1234.5, without thousands separator or decimal comma",
            )
        if _NOT_FINITE.fullmatch(value):
            raise _error("not_a_number", "not a plain number: NaN and Infinity cannot be stored")
        raise _error("not_a_number", "not a plain number such as 1234.5")
    number = Decimal(value)
    if number < 0:
        raise _error("negative", "must not be negative")
    written_exponent = match["exponent"]
    if written_exponent:  # without one, the 40 characters bound the decimal places
        places = len(match["fraction"] or match["decimals"] or "") - int(written_exponent)
        if places > -MIN_NUMBER_EXPONENT:
            # 1e-100000, 0e-16384: PostgreSQL cannot read them; 1e-400 breaks a cast to double precision.
            raise _error(
                "too_small", f"too many decimal places (beyond {-MIN_NUMBER_EXPONENT}); write 0 for nothing"
            )
    # Rounding (to the warehouse's 6 decimals) can only reach 10^15 from just below it; checked
    # unrounded first, as quantize needs the digits to fit the decimal context.
    if number >= MAX_METRIC - 1 and (
        number >= MAX_METRIC or number.quantize(AMOUNT_SCALE, ROUND_HALF_UP) >= MAX_METRIC
    ):
        raise _error("too_large", f"implausibly large (>= {MAX_METRIC:.0e} once rounded to 6 decimals)")
    return number


def _amount(value: str) -> Decimal:
    return _number(value, required=True)


def _optional_amount(value: str) -> Decimal:
    return _number(value, required=False)


def _count(value: str) -> int:
    number = _number(value, required=True)
    if number != number.to_integral_value():
        raise _error("not_whole", "must be a whole number")
    return int(number)


def _bounded_day(day: dt.date, info: ValidationInfo) -> None:
    today: dt.date = (info.context or {}).get("today") or dt.date.today()
    if day < EARLIEST_DATE:
        raise _error("out_of_range", f"before {EARLIEST_DATE.isoformat()}")
    if day > today + dt.timedelta(days=1):
        raise _error("out_of_range", "in the future")
    if day > LATEST_DATE:
        raise _error("out_of_range", f"after {LATEST_DATE.isoformat()}")


def _report_date(value: str, info: ValidationInfo) -> dt.date:
    if not value:
        raise _error("required", "required, but empty")
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise _error("invalid", "not an ISO date YYYY-MM-DD") from None
    _bounded_day(day, info)
    return day


def _local_hour(value: str, info: ValidationInfo) -> dt.datetime:
    if not value:
        raise _error("required", "required, but empty")
    match = _LOCAL_HOUR.fullmatch(value)
    if not match:
        if _UTC_OFFSET.search(value) and _LOCAL_HOUR.match(value):
            raise _error("invalid", "must be the account's local time, without a UTC offset")
        raise _error("invalid", "not an ISO local date-time YYYY-MM-DDTHH:00")
    try:
        hour = dt.datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise _error("invalid", "not an ISO local date-time YYYY-MM-DDTHH:00") from None
    if (hour.minute, hour.second, hour.microsecond) != (0, 0, 0):
        raise _error("not_on_the_hour", "not on the hour: minutes and seconds must be 00")
    _bounded_day(hour.date(), info)
    return hour


class PerformanceRow(BaseModel):
    """One validated row of the generic format (either granularity)."""

    model_config = ConfigDict(extra="ignore")

    platform: Annotated[str, BeforeValidator(_platform)]
    account_id: Annotated[str, BeforeValidator(_required_id)]
    account_name: Annotated[str | None, BeforeValidator(_optional_name)]
    currency: Annotated[str, BeforeValidator(_currency)]
    timezone: Annotated[str, BeforeValidator(_timezone)]
    campaign_id: Annotated[str, BeforeValidator(_required_id)]
    campaign_name: Annotated[str | None, BeforeValidator(_optional_name)]
    ad_group_id: Annotated[str | None, BeforeValidator(_optional_id)]
    ad_id: Annotated[str, BeforeValidator(_required_id)]
    ad_name: Annotated[str | None, BeforeValidator(_optional_name)]
    spend: Annotated[Decimal, BeforeValidator(_amount)]
    impressions: Annotated[int, BeforeValidator(_count)]
    clicks: Annotated[int, BeforeValidator(_count)]
    conversions: Annotated[Decimal, BeforeValidator(_optional_amount)]
    conversion_value: Annotated[Decimal, BeforeValidator(_optional_amount)]

    @model_validator(mode="after")
    def _connector_account_id(self) -> PerformanceRow:
        # A key: written the way the platform's connector writes it, so file and API rows meet.
        self.account_id = canonical_account_id(self.platform, self.account_id)
        return self


class DailyPerformanceRow(PerformanceRow):
    report_date: Annotated[dt.date, BeforeValidator(_report_date)] = Field(alias="date")

    @property
    def day(self) -> dt.date:
        return self.report_date

    @property
    def time_key(self) -> dt.date:
        return self.report_date


class HourlyPerformanceRow(PerformanceRow):
    hour: Annotated[dt.datetime, BeforeValidator(_local_hour)]

    @property
    def day(self) -> dt.date:
        return self.hour.date()

    @property
    def time_key(self) -> dt.datetime:
        return self.hour


# --- rows out of the parser ---


@dataclass(frozen=True)
class RowProblem:
    """Why a row was not loaded: the column, what is wrong (value-free, so it can be counted)."""

    column: str
    problem: str
    value: str | None = None
    detail: str | None = None

    @property
    def category(self) -> str:
        return f"{self.column}: {self.problem}"

    def __str__(self) -> str:
        notes = ([f"got {self.value[:80]!r}"] if self.value else []) + ([self.detail] if self.detail else [])
        return f"{self.category} ({'; '.join(notes)})" if notes else self.category


@dataclass(frozen=True)
class GoodRow:
    line_number: int
    record: dict[str, Any]  # the raw payload: the row's cells + _file_name + _line_number
    row: DailyPerformanceRow | HourlyPerformanceRow

    @property
    def account(self) -> tuple[str, str]:
        return (self.row.platform, self.row.account_id)


@dataclass(frozen=True)
class BadRow:
    line_number: int
    problems: tuple[RowProblem, ...]
    payload: dict[str, Any]  # what raw.quarantine keeps: the cells as read
    account: tuple[str, str] | None  # (platform, account_id) when the row says so legibly
    duplicate_of: int | None = None  # line of the copy that is kept

    @property
    def reason(self) -> str:
        return "; ".join(str(p) for p in self.problems)

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of is not None


def _normalize_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip().lower())


def _choose_delimiter(first_line: str) -> str:
    """The delimiter that splits the header into the most known column names."""

    def known(delimiter: str) -> int:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        return len({_normalize_header(c) for c in cells} & KNOWN_COLUMNS)

    return max(DELIMITERS, key=known)  # ties keep the earlier, i.e. the comma


def _clean(value: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL: replaced in quarantined payloads, rejected in rows.
    return value.replace("\x00", "\ufffd")


class SeenKeys:
    """Line and content hash of the first row of every key read so far, for duplicate reports.

    Kept in SQLite on disk (``path``, or a private temporary file SQLite deletes itself), not in a
    dict: memory stays flat however many keys a file has (with a dict, an import peaked at 565 MB
    for 1 M rows, 169 MB for 200 k).
    """

    CHUNK = 500  # rows per statement: 1,500 parameters, well under SQLite's limit
    # One statement per chunk needs RETURNING (SQLite 3.35+); older SQLite inserts row by row.
    CHUNKED = sqlite3.sqlite_version_info >= (3, 35)

    def __init__(self, path: str | Path = "") -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None)
        for pragma in ("journal_mode = off", "synchronous = off", "cache_size = -8192"):  # 8 MB cache
            self._db.execute(f"pragma {pragma}")
        self._db.execute(
            "create table if not exists seen (key text primary key, line integer not null,"
            " content integer not null) without rowid"
        )

    def add_new(self, rows: list[tuple[str, int, int]]) -> set[str]:
        """Store (key, line, content) of each row whose key is new; return those keys.

        A key repeated within ``rows`` is stored for its first row only (rows are inserted in order).
        """
        new: set[str] = set()
        if not self.CHUNKED:
            for row in rows:
                if self._db.execute(
                    "insert or ignore into seen (key, line, content) values (?, ?, ?)", row
                ).rowcount:
                    new.add(row[0])
            return new
        for start in range(0, len(rows), self.CHUNK):  # five times cheaper than a statement per row
            chunk = rows[start : start + self.CHUNK]
            inserted = self._db.execute(
                "insert into seen (key, line, content) select * from (values"
                f" {', '.join(['(?, ?, ?)'] * len(chunk))}) where true on conflict do nothing returning key",
                [value for row in chunk for value in row],
            )
            new.update(key for (key,) in inserted)
        return new

    def find(self, keys: Iterable[str]) -> dict[str, tuple[int, int]]:
        """(line, content) of the first row of each of ``keys``."""
        found: dict[str, tuple[int, int]] = {}
        keys = list(keys)
        for start in range(0, len(keys), self.CHUNK):
            chunk = keys[start : start + self.CHUNK]
            rows = self._db.execute(
                f"select key, line, content from seen where key in ({', '.join('?' * len(chunk))})", chunk
            )
            found.update((key, (line, content)) for key, line, content in rows)
        return found

    def close(self) -> None:
        self._db.close()


class CsvRows:
    """The validated rows of one CSV file, read lazily: iterate to get GoodRow / BadRow in file order.

    The header is read at construction (raising CsvFormatError when the file cannot be imported at
    all); ``stream`` then says which raw table the rows belong to. Memory stays flat: rows are
    checked in batches of ``DEDUPE_BATCH`` against ``seen_keys`` (on disk); only per-account
    settings (currency, timezone) are kept, so memory grows with the accounts, never with the rows.
    ``timezones`` narrows the accepted zone names (to those the warehouse knows).
    """

    DEDUPE_BATCH = 1_000

    def __init__(
        self,
        lines: Iterable[str],
        *,
        file_name: str,
        today: dt.date | None = None,
        seen_keys: SeenKeys | None = None,
        timezones: frozenset[str] | None = None,
    ) -> None:
        self.file_name = file_name
        self.today = today or dt.date.today()
        self.blank_lines = 0
        self.rows_read = 0
        self._context = {"today": self.today, "timezones": timezones}
        self._lines = iter(lines)
        first_line = self._read(lambda: next(self._lines, ""), 1)
        if not first_line.strip():
            raise CsvFormatError(
                f"{file_name}: empty file or empty first line; the first line must be the header"
            )
        self.delimiter = _choose_delimiter(first_line)
        self._reader = csv.reader(chain([first_line], self._lines), delimiter=self.delimiter)
        header = [_normalize_header(c) for c in next(self._reader)]
        self.columns = tuple(header)
        duplicated = sorted({c for c in header if header.count(c) > 1 and c})
        if duplicated:
            raise CsvFormatError(f"{file_name}: header repeats column(s) {', '.join(duplicated)}")
        time_columns = [c for c in TIME_COLUMNS if c in header]
        if len(time_columns) != 1:
            raise CsvFormatError(
                f"{file_name}: the header needs exactly one of the columns 'date' (daily rows) or 'hour'"
                f" (hourly rows); found {time_columns or 'neither'}"
            )
        self.time_column = time_columns[0]
        missing = [c for c in COMMON_COLUMNS if c not in header]
        if missing:
            raise CsvFormatError(
                f"{file_name}: missing column(s) {', '.join(missing)} (header read with delimiter"
                f" {self.delimiter!r}: {', '.join(header)})"
            )
        self.ignored_columns = tuple(c for c in header if c not in KNOWN_COLUMNS)
        self.stream = DAILY_STREAM if self.time_column == "date" else HOURLY_STREAM
        self._model = DailyPerformanceRow if self.time_column == "date" else HourlyPerformanceRow
        self._seen_keys = seen_keys
        self._account_settings: dict[tuple[str, str], tuple[str, str, int]] = {}  # currency, tz, line

    def _read(self, step: Any, line_number: int) -> Any:
        try:
            return step()
        except UnicodeDecodeError as exc:
            raise CsvFormatError(
                f"{self.file_name}: not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} near"
                f" line {line_number}); save the file as UTF-8 (CSV UTF-8 in Excel)"
            ) from None

    def __iter__(self) -> Iterator[GoodRow | BadRow]:
        own_keys = self._seen_keys is None
        seen = SeenKeys() if own_keys else self._seen_keys
        assert seen is not None
        try:
            batch: list[GoodRow | BadRow] = []
            for item in self._validated_rows():
                batch.append(item)
                if len(batch) >= self.DEDUPE_BATCH:
                    yield from self._first_rows_kept(batch, seen)
                    batch = []
            yield from self._first_rows_kept(batch, seen)
        finally:
            if own_keys:
                seen.close()

    def _validated_rows(self) -> Iterator[GoodRow | BadRow]:
        while True:
            line_number = self._reader.line_num + 1
            try:
                cells = self._read(lambda: next(self._reader), line_number)
            except StopIteration:
                return
            except csv.Error as exc:
                self.rows_read += 1
                problem = RowProblem("row", "unreadable CSV", detail=str(exc))
                yield BadRow(line_number, (problem,), {CELLS_KEY: [], **self._provenance(line_number)}, None)
                continue
            if not any(cell.strip() for cell in cells):
                self.blank_lines += 1  # blank lines and rows of empty cells (spreadsheet leftovers)
                continue
            self.rows_read += 1
            yield self._validate(cells, line_number, last_line=self._reader.line_num)

    def _first_rows_kept(self, batch: list[GoodRow | BadRow], seen: SeenKeys) -> Iterator[GoodRow | BadRow]:
        """The batch in order, a good row whose key an earlier row had turned into a duplicate."""
        # Typed values: "EUR" and "eur" are the same content.
        good = [
            (_key_text(item.row), item.line_number, hash(tuple(item.row.__dict__.values())))
            for item in batch
            if isinstance(item, GoodRow)
        ]
        new = seen.add_new(good)
        first_rows = seen.find({key for key, _, _ in good if key not in new})
        rows = iter(good)
        for item in batch:
            if isinstance(item, BadRow):
                yield item
                continue
            key, line, content = next(rows)
            if key in new:
                new.discard(key)  # the first row of its key: later ones in this batch are duplicates
                first_rows[key] = (line, content)
                yield item
                continue
            first_line, first_content = first_rows[key]
            same = "identical to" if content == first_content else "different values than"
            problem = RowProblem(
                f"platform, account_id, ad_id, {self.time_column}",
                "duplicate key, the first row is kept",
                detail=f"{same} line {first_line}",
            )
            yield BadRow(item.line_number, (problem,), item.record, item.account, duplicate_of=first_line)

    def _provenance(self, line_number: int) -> dict[str, Any]:
        return {FILE_NAME_KEY: self.file_name, LINE_NUMBER_KEY: line_number}

    def _validate(self, cells: list[str], line_number: int, last_line: int) -> GoodRow | BadRow:
        if len(cells) != len(self.columns):
            detail = f"header has {len(self.columns)}"
            if last_line > line_number:  # an unclosed quote swallows the lines after it
                detail += f"; the row spans lines {line_number}-{last_line}, check for an unclosed quote"
            problem = RowProblem("row", f"has {len(cells)} columns", detail=detail)
            payload = {CELLS_KEY: [_clean(c) for c in cells], **self._provenance(line_number)}
            return BadRow(line_number, (problem,), payload, None)

        values = {column: cell.strip() for column, cell in zip(self.columns, cells, strict=True)}
        account = _legible_account(values)
        nul_columns = [column for column, value in values.items() if "\x00" in value]
        if nul_columns:
            problems = tuple(RowProblem(c, "contains a NUL character") for c in nul_columns)
            payload = {c: _clean(v) for c, v in values.items()} | self._provenance(line_number)
            return BadRow(line_number, problems, payload, account)

        record = values | self._provenance(line_number)
        try:
            row = self._model.model_validate(values, context=self._context)
        except ValidationError as exc:
            return BadRow(line_number, _problems(exc, values), record, account)

        record["platform"], record["account_id"] = row.platform, row.account_id
        problems = self._cross_row_problems(row, line_number)
        if problems:
            return BadRow(line_number, problems, record, row_account(row))
        return GoodRow(line_number, record, row)

    def _cross_row_problems(
        self, row: DailyPerformanceRow | HourlyPerformanceRow, line_number: int
    ) -> tuple[RowProblem, ...]:
        problems: list[RowProblem] = []
        if isinstance(row, HourlyPerformanceRow) and not _exists_locally(row.hour, row.timezone):
            problems.append(
                RowProblem(
                    "hour",
                    "does not exist in the account's timezone",
                    value=row.hour.isoformat(timespec="minutes"),
                    detail=f"skipped by the daylight-saving change in {row.timezone}",
                )
            )
        account = row_account(row)
        settings = self._account_settings.setdefault(account, (row.currency, row.timezone, line_number))
        for column, expected, actual in (
            ("currency", settings[0], row.currency),
            ("timezone", settings[1], row.timezone),
        ):
            if actual != expected:
                problems.append(
                    RowProblem(
                        column,
                        "differs from the account's earlier rows",
                        value=actual,
                        detail=f"account {account[0]}:{account[1]} uses {expected} since line {settings[2]}",
                    )
                )
        return tuple(problems)


def _key_text(row: DailyPerformanceRow | HourlyPerformanceRow) -> str:
    """The row's key as one string; ids hold no control characters, so \\x1f cannot be in them."""
    return "\x1f".join((row.platform, row.account_id, row.ad_id, row.time_key.isoformat()))


def row_account(row: PerformanceRow) -> tuple[str, str]:
    return (row.platform, row.account_id)


def _legible_account(values: dict[str, str]) -> tuple[str, str] | None:
    """(platform, account_id) of a row that may be invalid otherwise, for per-account reporting."""
    try:
        platform = canonical_platform(values.get("platform", ""))
    except ValueError:
        return None
    account_id = values.get("account_id", "")
    return (platform, canonical_account_id(platform, account_id)) if account_id else None


def _problems(exc: ValidationError, values: dict[str, str]) -> tuple[RowProblem, ...]:
    problems = []
    for error in exc.errors(include_url=False):
        column = str(error["loc"][0]) if error["loc"] else "row"
        value = values.get(column)
        problems.append(RowProblem(column, error["msg"], value=value or None))
    return tuple(problems)


def _exists_locally(local: dt.datetime, timezone: str) -> bool:
    """False for wall-clock times skipped by a DST change (they round-trip to another hour)."""
    zone = ZoneInfo(timezone)
    round_trip = local.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    return round_trip == local


@contextmanager
def open_csv(
    path: str | Path,
    *,
    today: dt.date | None = None,
    seen_keys: SeenKeys | None = None,
    timezones: frozenset[str] | None = None,
) -> Iterator[CsvRows]:
    """Open a CSV file of the generic format; the context's value yields its validated rows."""
    path = Path(path)
    # utf-8-sig: Excel's "CSV UTF-8" writes a byte-order mark; newline="" lets csv handle quoted newlines.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield CsvRows(handle, file_name=path.name, today=today, seen_keys=seen_keys, timezones=timezones)


@dataclass
class ParseSummary:
    """Counts of one pass over a file (handy for a dry run: ``summarize(open_csv(...))``)."""

    stream: str
    good_rows: int = 0
    bad_rows: int = 0
    duplicate_rows: int = 0
    blank_lines: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def summarize(rows: CsvRows) -> ParseSummary:
    summary = ParseSummary(rows.stream.table)
    for item in rows:
        if isinstance(item, GoodRow):
            summary.good_rows += 1
            continue
        summary.bad_rows += 1
        summary.duplicate_rows += item.is_duplicate
        for problem in item.problems:
            summary.reasons[problem.category] = summary.reasons.get(problem.category, 0) + 1
    summary.blank_lines = rows.blank_lines
    return summary
