"""The raw loader's promises: idempotent, transactional, converging, nothing silently dropped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import pytest

from pipeline.connectors.base import KeyColumn, Page, RawStream
from pipeline.warehouse import loader
from pipeline.warehouse.loader import replace_window

DAILY = RawStream(
    platform="testplat",
    name="insights_daily",
    keys=(
        KeyColumn("account_id", "text", "account_id"),
        KeyColumn("ad_id", "text", "ad_id"),
        KeyColumn("date_start", "date", "date_start"),
    ),
    window_column="date_start",
    description="test stream",
)
ENTITIES = RawStream(
    platform="testplat",
    name="campaigns",
    keys=(KeyColumn("account_id", "text", "account_id"), KeyColumn("campaign_id", "text", "id")),
)
START = date(2026, 10, 1)
# DAILY's table as an older version created it: no window index, no tenant, no partitions.
OLD_DAILY_TABLE = (
    "create table raw.testplat_insights_daily (account_id text not null, ad_id text not null,"
    " date_start date not null, payload jsonb not null, _sync_id uuid not null,"
    " _extracted_at timestamptz not null default now(), primary key (account_id, ad_id, date_start))"
)


def rows(account: str, days: int, spend: float, ads: int = 3, start: date = START) -> list[dict]:
    return [
        {
            "account_id": account,
            "ad_id": f"ad{a}",
            "date_start": (start + timedelta(d)).isoformat(),
            "spend": f"{spend:.2f}",
        }
        for d in range(days)
        for a in range(ads)
    ]


def paged(records: list[dict], size: int = 4) -> Iterator[Page]:
    for i in range(0, len(records), size):
        yield records[i : i + size]


def totals(conn: psycopg.Connection, account: str | None = None) -> tuple[int, float]:
    where = "where account_id = %s" if account else ""
    args = (account,) if account else ()
    count, spend = conn.execute(
        f"select count(*), coalesce(sum((payload->>'spend')::numeric), 0) from raw.testplat_insights_daily {where}",
        args,
    ).fetchone()
    return count, float(spend)


@pytest.fixture(autouse=True)
def clean(warehouse: psycopg.Connection) -> None:
    warehouse.execute("drop table if exists raw.testplat_insights_daily, raw.testplat_campaigns")
    warehouse.execute("delete from raw.quarantine where platform = 'testplat'")


def load(url: str, account: str, records: list[dict], days: int = 5):
    return replace_window(url, DAILY, account, paged(records), since=START, until=START + timedelta(days - 1))


def test_reload_is_idempotent(warehouse_url: str, warehouse: psycopg.Connection) -> None:
    first = load(warehouse_url, "A", rows("A", 5, 10))
    once = totals(warehouse)
    second = load(warehouse_url, "A", rows("A", 5, 10))
    assert first.rows_loaded == second.rows_loaded == 15
    assert totals(warehouse) == once == (15, 150.0)


def test_restated_values_converge_without_duplicates(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    load(warehouse_url, "A", rows("A", 5, 10))
    load(warehouse_url, "B", rows("B", 5, 7))
    # Only the last two days are re-synced with restated spend; the rest of A and all of B stay.
    restated = rows("A", 2, 12, start=START + timedelta(3))
    replace_window(
        warehouse_url, DAILY, "A", paged(restated), since=START + timedelta(3), until=START + timedelta(4)
    )
    assert totals(warehouse, "A") == (15, 3 * 3 * 10 + 2 * 3 * 12)
    assert totals(warehouse, "B") == (15, 105.0)


def test_a_crash_mid_load_leaves_previous_data(warehouse_url: str, warehouse: psycopg.Connection) -> None:
    load(warehouse_url, "A", rows("A", 5, 10))
    before = totals(warehouse)

    def failing_pages() -> Iterator[Page]:
        pages = paged(rows("A", 5, 99))
        yield next(pages)
        yield next(pages)
        raise ConnectionError("connection reset after two pages")

    with pytest.raises(ConnectionError):
        replace_window(warehouse_url, DAILY, "A", failing_pages(), since=START, until=START + timedelta(4))
    assert totals(warehouse) == before
    status, error = warehouse.execute(
        "select status, error from raw.sync_runs where platform = 'testplat' order by started_at desc limit 1"
    ).fetchone()
    assert status == "failed"
    assert "connection reset" in error


def test_repeated_records_keep_the_last_copy(warehouse_url: str, warehouse: psycopg.Connection) -> None:
    records = rows("A", 1, 10, ads=2)
    records.append({**records[0], "spend": "11.00"})  # the API repeated a record on a later page
    result = replace_window(warehouse_url, DAILY, "A", paged(records), since=START, until=START)
    assert (result.rows_loaded, result.rows_deduplicated) == (2, 1)
    assert totals(warehouse) == (2, 21.0)


def test_bad_rows_are_quarantined_with_reasons(warehouse_url: str, warehouse: psycopg.Connection) -> None:
    good = rows("A", 2, 10, ads=1)
    bad = [
        {"account_id": "A", "date_start": START.isoformat(), "spend": "1"},  # no ad_id
        {"account_id": "A", "ad_id": "x", "date_start": "2026-13-45", "spend": "1"},  # impossible date
        {
            "account_id": "A",
            "ad_id": "x",
            "date_start": (START + timedelta(30)).isoformat(),
        },  # outside window
        {"account_id": "OTHER", "ad_id": "x", "date_start": START.isoformat()},  # another account's row
    ]
    result = replace_window(
        warehouse_url, DAILY, "A", paged(good + bad), since=START, until=START + timedelta(1)
    )
    assert (result.rows_loaded, result.rows_quarantined) == (2, 4)
    reasons = [
        r
        for (r,) in warehouse.execute(
            "select reason from raw.quarantine where platform = 'testplat' order by line_number"
        )
    ]
    assert len(reasons) == 4
    assert "missing key ad_id" in reasons[0]
    assert "month must be in 1..12" in reasons[1]
    assert "outside the requested window" in reasons[2]
    assert "belongs to account OTHER" in reasons[3]


def test_snapshot_streams_replace_one_account(warehouse_url: str, warehouse: psycopg.Connection) -> None:
    def campaigns(account: str, n: int) -> list[dict]:
        return [{"account_id": account, "id": f"{account}-c{i}"} for i in range(n)]

    replace_window(warehouse_url, ENTITIES, "A", [campaigns("A", 3)])
    replace_window(warehouse_url, ENTITIES, "B", [campaigns("B", 2)])
    replace_window(warehouse_url, ENTITIES, "A", [campaigns("A", 1)])  # two campaigns were deleted upstream
    counts = dict(
        warehouse.execute("select account_id, count(*) from raw.testplat_campaigns group by 1").fetchall()
    )
    assert counts == {"A": 1, "B": 2}


def test_windowed_streams_require_a_window(warehouse_url: str) -> None:
    with pytest.raises(ValueError, match="since and until are required"):
        replace_window(warehouse_url, DAILY, "A", [[]])


def test_a_reversed_window_is_refused_before_anything_is_written(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    before = warehouse.execute("select count(*) from raw.sync_runs").fetchone()
    with pytest.raises(ValueError, match="the window is reversed: 2026-12-05 is after 2026-12-01"):
        replace_window(warehouse_url, DAILY, "A", [[]], since=date(2026, 12, 5), until=date(2026, 12, 1))
    assert warehouse.execute("select count(*) from raw.sync_runs").fetchone() == before


def test_scope_narrows_the_replacement_to_other_key_values(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    # One raw table holding several platforms' accounts (file imports): replacing linkedin's
    # window of account A must leave pinterest's account A alone, and refuse pinterest rows.
    stream = RawStream(
        "testplat",
        "insights_daily",
        (*DAILY.keys[:2], KeyColumn("platform", "text", "platform"), DAILY.keys[2]),
        "date_start",
    )
    warehouse.execute("drop table if exists raw.testplat_insights_daily")
    window = {"since": START, "until": START + timedelta(4)}
    for platform in ("linkedin", "pinterest"):
        records = [r | {"platform": platform} for r in rows("A", 5, 10)]
        replace_window(warehouse_url, stream, "A", paged(records), scope={"platform": platform}, **window)
    restated = [r | {"platform": "linkedin"} for r in rows("A", 5, 20)] + [
        rows("A", 1, 1, ads=1)[0] | {"platform": "pinterest", "ad_id": "stray"}
    ]
    result = replace_window(
        warehouse_url, stream, "A", paged(restated), scope={"platform": "linkedin"}, **window
    )
    assert (result.rows_loaded, result.rows_quarantined) == (15, 1)
    by_platform = dict(
        warehouse.execute(
            "select platform, sum((payload->>'spend')::numeric) from raw.testplat_insights_daily group by 1"
        ).fetchall()
    )
    assert by_platform == {"linkedin": 300, "pinterest": 150}
    with pytest.raises(ValueError, match="non-key columns"):
        replace_window(warehouse_url, stream, "A", [[]], scope={"currency": "EUR"}, **window)


def table_rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select account_id, ad_id, date_start, payload from raw.testplat_insights_daily order by 1, 2, 3"
    ).fetchall()


def with_repeats(records: list[dict]) -> list[dict]:
    """``records`` where an API sent older copies of some keys first: on earlier pages and in-page."""
    stale = [{**r, "spend": "0.01"} for r in records[::3]]
    return stale + records[:5] + [{**records[4], "spend": "0.02"}, records[4]] + records[5:]


def test_repeats_give_the_table_a_load_without_them_gives(
    warehouse_url: str, warehouse: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = rows("A", 5, 10, ads=4)
    clean_load = load(warehouse_url, "A", records)
    expected = table_rows(warehouse)
    assert (clean_load.rows_loaded, clean_load.rows_deduplicated) == (20, 0)

    repeated = with_repeats(records)
    result = load(warehouse_url, "A", repeated)
    assert (result.rows_loaded, result.rows_deduplicated) == (20, len(repeated) - 20)
    assert table_rows(warehouse) == expected

    # Repeats flushed in several batches, the COPY into the raw table resumed between them.
    monkeypatch.setattr(loader, "REPEAT_BUFFER_ROWS", 2)
    result = load(warehouse_url, "A", repeated)
    assert (result.rows_loaded, result.rows_deduplicated) == (20, len(repeated) - 20)
    assert table_rows(warehouse) == expected


def test_keys_the_filter_falsely_claims_seen_are_loaded_all_the_same(
    warehouse_url: str, warehouse: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = rows("A", 5, 10, ads=4)
    load(warehouse_url, "A", records)
    expected = table_rows(warehouse)
    # Two slots: nearly every new key looks seen, so nearly every row takes the repeat path.
    monkeypatch.setattr(loader, "SEEN_KEY_SLOTS", 2)
    monkeypatch.setattr(loader, "REPEAT_BUFFER_ROWS", 3)
    result = load(warehouse_url, "A", records)
    assert (result.rows_loaded, result.rows_deduplicated) == (20, 0)
    assert table_rows(warehouse) == expected
    result = load(warehouse_url, "A", with_repeats(records))
    assert result.rows_loaded == 20
    assert table_rows(warehouse) == expected


def test_a_crash_after_repeats_were_flushed_leaves_previous_data(
    warehouse_url: str, warehouse: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(warehouse_url, "A", rows("A", 5, 10))
    before = table_rows(warehouse)
    monkeypatch.setattr(loader, "REPEAT_BUFFER_ROWS", 1)

    def failing_pages() -> Iterator[Page]:
        records = rows("A", 5, 99)
        yield records[:4]
        yield records[:4]  # repeated page: flushed to the temporary table
        yield records[4:8]
        raise ConnectionError("connection reset after three pages")

    with pytest.raises(ConnectionError):
        replace_window(warehouse_url, DAILY, "A", failing_pages(), since=START, until=START + timedelta(4))
    assert table_rows(warehouse) == before


def test_records_that_are_not_objects_are_quarantined(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    records: list = [*rows("A", 1, 10, ads=2), ["not", "an", "object"]]
    result = replace_window(warehouse_url, DAILY, "A", paged(records), since=START, until=START)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    (reason,) = warehouse.execute("select reason from raw.quarantine where platform = 'testplat'").fetchone()
    assert "missing key account_id" in reason


def test_windowed_tables_get_a_window_index_even_when_created_without_it(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    warehouse.execute(OLD_DAILY_TABLE)
    load(warehouse_url, "A", rows("A", 5, 10))
    load(warehouse_url, "A", rows("A", 5, 10))  # the index exists now: nothing to create
    (definition,) = warehouse.execute(
        "select indexdef from pg_indexes where schemaname = 'raw' and tablename = 'testplat_insights_daily'"
        " and indexname = 'testplat_insights_daily_window_idx'"
    ).fetchone()
    assert "(date_start, account_id)" in definition
    replace_window(warehouse_url, ENTITIES, "A", [[{"account_id": "A", "id": "c1"}]])
    assert not warehouse.execute(
        "select 1 from pg_indexes where tablename = 'testplat_campaigns' and indexname like '%window%'"
    ).fetchone()


def test_hourly_windows_replace_whole_local_days(warehouse_url: str, warehouse: psycopg.Connection) -> None:
    hourly = RawStream(
        "testplat",
        "insights_hourly",
        (DAILY.keys[0], DAILY.keys[1], KeyColumn("hour", "timestamp", "hour")),
        "hour",
    )
    warehouse.execute("drop table if exists raw.testplat_insights_hourly")

    def hours(day: date, spend: float) -> list[dict]:
        return [
            {"account_id": "A", "ad_id": "ad1", "hour": f"{day.isoformat()}T{h:02d}:00:00", "spend": spend}
            for h in range(24)
        ]

    day1, day2, day3 = START, START + timedelta(1), START + timedelta(2)
    replace_window(
        warehouse_url, hourly, "A", [hours(day1, 1) + hours(day2, 1) + hours(day3, 1)], since=day1, until=day3
    )
    result = replace_window(warehouse_url, hourly, "A", [hours(day2, 5)[:10]], since=day2, until=day2)
    assert result.rows_loaded == 10
    by_day = warehouse.execute(
        "select hour::date, count(*), sum((payload->>'spend')::numeric) from raw.testplat_insights_hourly"
        " group by 1 order by 1"
    ).fetchall()
    assert by_day == [(day1, 24, 24), (day2, 10, 50), (day3, 24, 24)]
    warehouse.execute("drop table raw.testplat_insights_hourly")


def spend_by_tenant(conn: psycopg.Connection) -> dict[str, float]:
    return dict(
        conn.execute(
            "select tenant_id, sum((payload->>'spend')::numeric)::float from raw.testplat_insights_daily"
            " group by tenant_id"
        ).fetchall()
    )


def test_two_tenants_hold_the_same_keys_and_replace_only_their_own_window(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    window = {"since": START, "until": START + timedelta(4)}
    replace_window(warehouse_url, DAILY, "A", paged(rows("A", 5, 10)), **window)
    replace_window(warehouse_url, DAILY, "A", paged(rows("A", 5, 7)), tenant_id="acme", **window)
    assert spend_by_tenant(warehouse) == {"default": 150.0, "acme": 105.0}
    # acme restates its window: the default tenant's identical keys are not touched.
    result = replace_window(warehouse_url, DAILY, "A", paged(rows("A", 5, 1)), tenant_id="acme", **window)
    assert (result.rows_loaded, result.tenant_id) == (15, "acme")
    assert spend_by_tenant(warehouse) == {"default": 150.0, "acme": 15.0}
    synced = warehouse.execute(
        "select tenant_id, count(*) from raw.sync_runs where sync_id = %s group by tenant_id",
        (result.sync_id,),
    ).fetchall()
    assert synced == [("acme", 1)]


def test_repeated_keys_of_one_tenant_never_replace_another_tenants_row(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    window = {"since": START, "until": START}
    replace_window(warehouse_url, DAILY, "A", [rows("A", 1, 10, ads=1)], **window)
    # The API repeats a record across pages: its last copy wins, within acme only.
    pages = [rows("A", 1, 2, ads=1), rows("A", 1, 3, ads=1)]
    result = replace_window(warehouse_url, DAILY, "A", pages, tenant_id="acme", **window)
    assert (result.rows_loaded, result.rows_deduplicated) == (1, 1)
    assert warehouse.execute(
        "select tenant_id, (payload->>'spend')::float from raw.testplat_insights_daily order by tenant_id"
    ).fetchall() == [("acme", 3.0), ("default", 10.0)]


def test_a_raw_table_from_before_tenants_gets_the_column_and_the_wider_key(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    warehouse.execute(OLD_DAILY_TABLE)
    warehouse.execute(
        "insert into raw.testplat_insights_daily (account_id, ad_id, date_start, payload, _sync_id)"
        " values ('A', 'ad0', %s, '{\"spend\": \"4.00\"}', gen_random_uuid())",
        (START,),
    )
    replace_window(
        warehouse_url, DAILY, "A", [rows("A", 1, 9, ads=1)], tenant_id="acme", since=START, until=START
    )
    assert warehouse.execute(
        "select tenant_id, (payload->>'spend')::float from raw.testplat_insights_daily order by tenant_id"
    ).fetchall() == [("acme", 9.0), ("default", 4.0)]
    (key,) = warehouse.execute(
        "select pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = 'raw.testplat_insights_daily'::regclass and contype = 'p'"
    ).fetchone()
    assert key == "PRIMARY KEY (tenant_id, account_id, ad_id, date_start)"


def test_a_window_across_months_lands_in_each_months_partition(
    warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    since = date(2026, 10, 30)
    window = {"since": since, "until": since + timedelta(3)}  # Oct 30 .. Nov 2
    replace_window(warehouse_url, DAILY, "A", paged(rows("A", 4, 10, start=since)), **window)
    replace_window(warehouse_url, DAILY, "A", paged(rows("A", 4, 10, start=since)), **window)  # idempotent
    by_partition = warehouse.execute(
        "select tableoid::regclass::text, count(*) from raw.testplat_insights_daily group by 1 order by 1"
    ).fetchall()
    assert by_partition == [
        ("raw.testplat_insights_daily_p2026_10", 6),
        ("raw.testplat_insights_daily_p2026_11", 6),
    ]
    # A day outside the window has no partition to fall into: it is quarantined, as before.
    stray = [*rows("A", 1, 10, start=since), {"account_id": "A", "ad_id": "x", "date_start": "2027-03-01"}]
    result = replace_window(warehouse_url, DAILY, "A", [stray], **window)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 1)
