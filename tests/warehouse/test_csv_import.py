"""File imports against a real PostgreSQL: windows replaced per account, idempotent, corrected files
converge, an account with only bad rows keeps its data, and every bad row is in the quarantine."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from pipeline.connectors import CONNECTORS
from pipeline.connectors.csv_import import CsvFormatError
from pipeline.import_spool import ImportSpool, remove_stale_spools
from pipeline.imports import (
    KEPT_PREVIOUS_DATA,
    ImportFailed,
    UnknownTenant,
    import_file,
    import_folder,
    record_rebuild,
)
from pipeline.sandbox.sample_import import HEADER, write_sample_csv
from pipeline.warehouse.loader import replace_window

TODAY = date(2026, 6, 1)
START = date(2026, 5, 1)


@pytest.fixture(autouse=True)
def clean(warehouse: psycopg.Connection) -> None:
    warehouse.execute(
        "truncate raw.csv_ad_performance_daily, raw.csv_ad_performance_hourly, raw.file_imports"
    )
    warehouse.execute("delete from raw.quarantine where platform = 'csv'")


def row(
    day: date,
    ad_id: str = "a1",
    spend: str = "10.00",
    account_id: str = "508",
    platform: str = "linkedin",
    **overrides: str,
) -> dict[str, str]:
    values = {
        "date": day.isoformat(),
        "platform": platform,
        "account_id": account_id,
        "account_name": "Acme",
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "campaign_id": "c1",
        "campaign_name": "Lead gen",
        "ad_group_id": "g1",
        "ad_id": ad_id,
        "ad_name": f"Ad {ad_id}",
        "spend": spend,
        "impressions": "1000",
        "clicks": "12",
        "conversions": "1",
        "conversion_value": "50.00",
    }
    return values | overrides


def days(n: int, start: date = START, ads: tuple[str, ...] = ("a1", "a2"), **kw: str) -> list[dict[str, str]]:
    return [row(start + timedelta(d), ad, **kw) for d in range(n) for ad in ads]


def write(path: Path, rows: list[dict[str, str]], header: tuple[str, ...] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def totals(conn: psycopg.Connection, account_id: str | None = None, platform: str = "linkedin") -> tuple:
    where = "where platform = %s" + (" and account_id = %s" if account_id else "")
    args = (platform, account_id) if account_id else (platform,)
    return conn.execute(
        "select count(*), coalesce(sum((payload->>'spend')::numeric), 0), min(date), max(date)"
        f" from raw.csv_ad_performance_daily {where}",
        args,
    ).fetchone()


def test_sample_import_counts_and_quarantine(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    path = write_sample_csv(tmp_path / "sample.csv", TODAY)
    report = import_file(warehouse_url, path, today=TODAY)

    assert (report.status, report.stream) == ("loaded", "raw.csv_ad_performance_daily")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined, report.rows_duplicate) == (
        155,
        150,
        5,
        1,
    )
    assert [(p, a, s, e) for p, a, s, e in report.windows] == [
        ("linkedin", "508734112", TODAY - timedelta(30), TODAY - timedelta(1)),
        ("pinterest", "549762531188", TODAY - timedelta(30), TODAY - timedelta(1)),
    ]
    assert (report.window_start, report.window_end) == (TODAY - timedelta(30), TODAY - timedelta(1))
    assert report.accounts_kept == []
    assert sum(report.quarantine_reasons.values()) == 5
    assert report.quarantine_reasons["spend: must not be negative"] == 1

    assert warehouse.execute("select count(*) from raw.csv_ad_performance_daily").fetchone() == (150,)
    quarantined = warehouse.execute(
        "select source, line_number, reason, account_id, payload->>'_file_name' from raw.quarantine"
        " where platform = 'csv' order by line_number"
    ).fetchall()
    assert len(quarantined) == 5
    assert {q[0] for q in quarantined} == {str(path.resolve())}
    assert [q[1] for q in quarantined] == [152, 153, 154, 155, 156]
    assert "ad_id: required, but empty" in quarantined[0][2]
    assert "duplicate key" in quarantined[-1][2] and "identical to line" in quarantined[-1][2]
    assert quarantined[0][3] == "508734112" and quarantined[0][4] == "sample.csv"

    (status, loaded, bad, sha) = warehouse.execute(
        "select status, rows_loaded, rows_quarantined, sha256 from raw.file_imports"
    ).fetchone()
    assert (status, loaded, bad, sha) == ("loaded", 150, 5, report.sha256)


def test_reimport_changes_nothing(warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path) -> None:
    path = write_sample_csv(tmp_path / "sample.csv", TODAY)
    first = import_file(warehouse_url, path, today=TODAY)
    before = totals(warehouse, platform="pinterest"), totals(warehouse)
    quarantine = warehouse.execute("select line_number, reason from raw.quarantine order by 1").fetchall()

    second = import_file(warehouse_url, path, today=TODAY)
    assert first.summary() | {"path": None} == second.summary() | {"path": None}
    assert (totals(warehouse, platform="pinterest"), totals(warehouse)) == before
    # The quarantine shows the file's latest import, not one copy per import.
    assert (
        warehouse.execute("select line_number, reason from raw.quarantine order by 1").fetchall()
        == quarantine
    )


def test_corrected_file_replaces_its_account_window(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    import_file(warehouse_url, write(tmp_path / "v1.csv", days(5)), today=TODAY)
    import_file(warehouse_url, write(tmp_path / "other.csv", days(5, account_id="777")), today=TODAY)
    assert totals(warehouse, "508") == (10, 100, START, START + timedelta(4))

    # v2 covers days 2-4 only, restates spend and no longer has ad a2 on day 3.
    dropped = (str(START + timedelta(2)), "a2")
    corrected = [
        r for r in days(3, START + timedelta(1), spend="15.00") if (r["date"], r["ad_id"]) != dropped
    ]
    report = import_file(warehouse_url, write(tmp_path / "v2.csv", corrected), today=TODAY)

    assert report.windows == [("linkedin", "508", START + timedelta(1), START + timedelta(3))]
    # Days 1 and 5 untouched (2 rows each at 10), days 2-4 now 5 rows at 15; the other account unchanged.
    assert totals(warehouse, "508") == (9, 2 * 2 * 10 + 5 * 15, START, START + timedelta(4))
    assert totals(warehouse, "777") == (10, 100, START, START + timedelta(4))


def test_account_with_only_bad_rows_keeps_its_previous_data(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    import_file(warehouse_url, write(tmp_path / "good.csv", days(3) + days(3, account_id="777")), today=TODAY)
    before_508 = totals(warehouse, "508")

    broken_508 = [r | {"spend": "-1"} for r in days(2)]
    report = import_file(
        warehouse_url,
        write(tmp_path / "mixed.csv", broken_508 + days(2, account_id="777", spend="20")),
        today=TODAY,
    )

    assert totals(warehouse, "508") == before_508
    assert totals(warehouse, "777")[:2] == (6, 2 * 2 * 20 + 2 * 10)
    assert report.accounts_kept == ["linkedin:508"]
    kept = next(a for a in report.accounts if a.account_id == "508")
    assert (kept.replaced, kept.rows_quarantined, kept.note) == (False, 4, KEPT_PREVIOUS_DATA)
    assert report.summary()["accounts_kept"] == ["linkedin:508"]
    assert warehouse.execute(
        "select count(*) from raw.quarantine where platform = 'csv' and account_id = '508'"
    ).fetchone() == (4,)


def test_same_account_id_on_two_platforms_stays_apart(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    import_file(warehouse_url, write(tmp_path / "p.csv", days(3, platform="pinterest")), today=TODAY)
    import_file(warehouse_url, write(tmp_path / "l.csv", days(3, spend="30")), today=TODAY)
    assert totals(warehouse, "508", platform="pinterest")[:2] == (6, 60)
    assert totals(warehouse, "508", platform="linkedin")[:2] == (6, 180)


def test_hourly_files_replace_whole_local_days(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    header = ("hour", *HEADER[1:])

    def hours(day: date, first: int, last: int, spend: str) -> list[dict[str, str]]:
        rows = [row(day, "a1", spend) for _ in range(first, last + 1)]
        for hour, values in zip(range(first, last + 1), rows, strict=True):
            del values["date"]
            values["hour"] = f"{day.isoformat()}T{hour:02d}:00"
        return rows

    import_file(warehouse_url, write(tmp_path / "h1.csv", hours(START, 0, 23, "1"), header), today=TODAY)
    report = import_file(
        warehouse_url, write(tmp_path / "h2.csv", hours(START, 10, 11, "2"), header), today=TODAY
    )
    assert report.stream == "raw.csv_ad_performance_hourly"
    assert report.windows == [("linkedin", "508", START, START)]
    # The file is the truth for the whole local day: hours it lacks are gone.
    assert warehouse.execute(
        "select count(*), sum((payload->>'spend')::numeric) from raw.csv_ad_performance_hourly"
    ).fetchone() == (2, 4)


def test_rejected_files_change_nothing_and_are_recorded(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    import_file(warehouse_url, write(tmp_path / "good.csv", days(2)), today=TODAY)
    path = tmp_path / "bad.csv"
    path.write_text("date,platform,spend\n2026-05-01,linkedin,1\n")
    with pytest.raises(CsvFormatError, match="missing column"):
        import_file(warehouse_url, path, today=TODAY)
    assert totals(warehouse, "508")[0] == 4
    assert warehouse.execute(
        "select status, error like '%missing column%' from raw.file_imports where file_name = 'bad.csv'"
    ).fetchone() == ("rejected", True)


def test_import_folder_imports_each_content_once(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write(drop / "2026-05-01_linkedin.csv", days(2))
    write(drop / "2026-05-02_linkedin.CSV", days(2, START + timedelta(2)))
    (drop / "notes.txt").write_text("not a csv")

    first = import_folder(warehouse_url, drop, today=TODAY)
    assert [r.file_name for r in first.imported] == ["2026-05-01_linkedin.csv", "2026-05-02_linkedin.CSV"]
    assert (first.window_start, first.window_end) == (START, START + timedelta(3))

    write(drop / "copy_of_first.csv", days(2))  # same content, another name
    (drop / "broken.csv").write_text("no,header,here\n")
    with pytest.raises(ImportFailed) as failed:
        import_folder(warehouse_url, drop, today=TODAY)
    second = failed.value.report
    assert second.imported == []
    assert set(second.skipped) == {"2026-05-01_linkedin.csv", "2026-05-02_linkedin.CSV", "copy_of_first.csv"}
    assert "same content was imported" in second.skipped["copy_of_first.csv"]
    assert "exactly one of the columns 'date'" in second.rejected["broken.csv"]

    third = import_folder(warehouse_url, drop, today=TODAY)  # a rejected file is not retried
    assert "was rejected" in third.skipped["broken.csv"]
    assert totals(warehouse, "508")[:2] == (8, 80)


def test_a_poison_value_is_quarantined_and_the_rest_casts(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    poison = [row(START, "a1", spend="1e-100000"), row(START, "a2", spend="0." + "7" * 20_000)]
    report = import_file(
        warehouse_url, write(tmp_path / "poison.csv", days(3, ads=("a3",)) + poison), today=TODAY
    )

    assert (report.rows_loaded, report.rows_quarantined) == (3, 2)
    reasons = warehouse.execute(
        "select line_number, reason from raw.quarantine where platform = 'csv' order by line_number"
    ).fetchall()
    assert [(line, reason.split(" (")[0]) for line, reason in reasons] == [
        (5, "spend: too many decimal places"),
        (6, "spend: not a plain number: longer than 40 characters"),
    ]
    # What staging does with every loaded row: nothing overflows.
    assert warehouse.execute(
        "select sum((payload->>'spend')::numeric(21,6)), sum((payload->>'spend')::numeric::float8)::int"
        " from raw.csv_ad_performance_daily"
    ).fetchone() == (30, 30)


def test_ids_at_their_longest_load_and_key_the_raw_table(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    longest = "\U0001f600" * 255  # 255 characters of 4 bytes: the primary key's index still holds them
    rows = [row(START, longest, account_id=longest, campaign_id=longest, ad_name="\U0001f600" * 1000)]
    report = import_file(warehouse_url, write(tmp_path / "long.csv", rows), today=TODAY)
    assert report.rows_loaded == 1
    assert warehouse.execute("select length(ad_id) from raw.csv_ad_performance_daily").fetchone() == (255,)


def test_import_status_follows_the_rebuild(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    ok = import_file(warehouse_url, write(tmp_path / "ok.csv", days(2)), today=TODAY)
    broken = import_file(warehouse_url, write(tmp_path / "broken.csv", days(2, account_id="9")), today=TODAY)
    path = tmp_path / "bad.csv"
    path.write_text("no,header\n")
    with pytest.raises(CsvFormatError):
        import_file(warehouse_url, path, today=TODAY)

    def statuses() -> dict[str, tuple]:
        found = warehouse.execute("select file_name, status, rebuild_error from raw.file_imports").fetchall()
        return {name: (status, error) for name, status, error in found}

    assert statuses() == {
        "ok.csv": ("loaded", None),
        "broken.csv": ("loaded", None),
        "bad.csv": ("rejected", None),
    }
    assert record_rebuild(warehouse_url, import_ids=[ok.import_id], rebuild_run_id="r1") == 1
    assert record_rebuild(warehouse_url, import_ids=[broken.import_id], error="step dbt: boom") == 1
    assert statuses() == {
        "ok.csv": ("rebuilt", None),
        "broken.csv": ("rebuild_failed", "step dbt: boom"),
        "bad.csv": ("rejected", None),
    }
    # The folder import retries a file whose rebuild failed; one that was rebuilt is skipped.
    drop = tmp_path / "drop"
    drop.mkdir()
    for name in ("ok.csv", "broken.csv"):
        (drop / name).write_bytes((tmp_path / name).read_bytes())
    folder = import_folder(warehouse_url, drop, today=TODAY, run_id="import-run")
    assert [r.file_name for r in folder.imported] == ["broken.csv"] and list(folder.skipped) == ["ok.csv"]
    assert record_rebuild(warehouse_url, import_run_id="import-run", error="again") == 1
    assert warehouse.execute(
        "select status, rebuild_error from raw.file_imports where run_id = 'import-run'"
    ).fetchone() == ("rebuild_failed", "again")


def test_the_spool_is_under_the_given_directory_and_removed(warehouse_url: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    import_file(warehouse_url, write(tmp_path / "a.csv", days(2)), today=TODAY, spool_dir=spool)
    assert list(spool.iterdir()) == []


def test_a_killed_import_leaves_a_spool_the_next_import_removes(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    big = write(tmp_path / "big.csv", days(30, ads=tuple(f"a{i}" for i in range(1500))))  # 45,000 rows
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from datetime import date; from pathlib import Path;"
            " from pipeline.imports import import_file;"
            " import_file(sys.argv[1], sys.argv[2], today=date(2026, 6, 1), spool_dir=Path(sys.argv[3]))",
            warehouse_url,
            str(big),
            str(spool),
        ],
    )
    try:
        deadline = time.monotonic() + 120
        while not any(spool.glob("import-*/account-*.jsonl")):  # the child is spooling rows
            assert child.poll() is None, "the import finished before it could be killed"
            assert time.monotonic() < deadline, "the child never started spooling"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    (left,) = [p for p in spool.iterdir() if p.is_dir()]
    assert any(left.glob("account-*.jsonl")) and (spool / f"{left.name}.lock").exists()
    assert totals(warehouse)[0] == 0  # the killed import changed nothing

    import_file(warehouse_url, write(tmp_path / "next.csv", days(1)), today=TODAY, spool_dir=spool)
    assert list(spool.iterdir()) == []


def test_only_spools_of_gone_processes_are_removed(tmp_path: Path) -> None:
    with ImportSpool(tmp_path) as running:
        (running.path / "account-0.jsonl").write_text("{}\n")
        old_claim = tmp_path / ".import-1-dead.claim"  # a process killed while claiming its spool
        old_claim.touch()
        an_hour_ago = time.time() - 3600  # real clock ok: file ages are measured against it
        os.utime(old_claim, (an_hour_ago, an_hour_ago))
        young_claim = tmp_path / ".import-2-busy.claim"  # another import claiming right now
        young_claim.touch()
        (tmp_path / "import-3-dead").mkdir()
        (tmp_path / "import-3-dead.lock").touch()  # nobody holds its lock

        assert sorted(remove_stale_spools(tmp_path)) == ["import-1-dead", "import-3-dead"]
        assert running.path.exists() and running.lock_path.exists() and young_claim.exists()
        assert not old_claim.exists() and not (tmp_path / "import-3-dead").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".import-2-busy.claim"]


def test_days_a_platforms_own_connector_also_has_are_named(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    """A file's meta rows for days the Meta connector has: the import says those days lose to the connector."""
    stream = CONNECTORS["meta"].streams["ads_insights_daily"]
    connector_rows = [
        {"account_id": "9001", "ad_id": "x1", "date_start": (START + timedelta(d)).isoformat(), "spend": "1"}
        for d in range(2)
    ]
    replace_window(warehouse_url, stream, "9001", [connector_rows], since=START, until=START + timedelta(1))
    try:
        path = write(tmp_path / "meta.csv", days(3, platform="meta", account_id="act_9001") + days(3))
        report = import_file(warehouse_url, path, today=TODAY)
    finally:
        warehouse.execute(f"delete from raw.{stream.table} where account_id = '9001'")
    by_platform = {a.platform: a for a in report.accounts}
    assert by_platform["meta"].connector_days == 2  # act_9001 is the connector's 9001
    assert "2 day(s) of this window also come from the meta connector" in by_platform["meta"].connector_note
    assert by_platform["linkedin"].connector_days == 0 and by_platform["linkedin"].connector_note is None
    (meta,) = [a for a in report.summary()["accounts"] if a["platform"] == "meta"]
    assert meta["connector_note"] == by_platform["meta"].connector_note


@pytest.fixture
def acme(warehouse: psycopg.Connection) -> str:
    warehouse.execute(
        "insert into app.tenants (tenant_id, name) values ('acme', 'Acme Corp') on conflict do nothing"
    )
    return "acme"


def test_two_tenants_import_the_same_file_and_keep_their_own_rows(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path, acme: str
) -> None:
    path = write(tmp_path / "export.csv", days(3))
    import_file(warehouse_url, path, today=TODAY)
    report = import_file(warehouse_url, path, today=TODAY, tenant_id=acme)
    assert (report.rows_loaded, report.summary()["tenant_id"]) == (6, "acme")
    by_tenant = warehouse.execute(
        "select tenant_id, count(*) from raw.csv_ad_performance_daily group by tenant_id order by tenant_id"
    ).fetchall()
    assert by_tenant == [("acme", 6), ("default", 6)]
    # A corrected file for acme replaces acme's window only.
    import_file(
        warehouse_url, write(tmp_path / "fix.csv", days(3, spend="1.00")), today=TODAY, tenant_id=acme
    )
    spend = dict(
        warehouse.execute(
            "select tenant_id, sum((payload->>'spend')::numeric)::float from raw.csv_ad_performance_daily"
            " group by tenant_id"
        ).fetchall()
    )
    assert spend == {"acme": 6.0, "default": 60.0}


def test_an_unknown_tenant_imports_nothing(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    with pytest.raises(UnknownTenant, match="no tenant 'nobody'"):
        import_file(warehouse_url, write(tmp_path / "export.csv", days(2)), today=TODAY, tenant_id="nobody")
    assert warehouse.execute("select count(*) from raw.csv_ad_performance_daily").fetchone() == (0,)


def test_a_folder_holds_each_tenants_files_in_its_subfolder(
    warehouse_url: str, warehouse: psycopg.Connection, tmp_path: Path, acme: str
) -> None:
    (tmp_path / acme).mkdir()
    (tmp_path / "stranger").mkdir()
    write(tmp_path / "export.csv", days(2))
    write(tmp_path / acme / "export.csv", days(2))  # same content: acme's own import, not a repeat
    write(tmp_path / "stranger" / "export.csv", days(2))
    with pytest.raises(ImportFailed) as failed:
        import_folder(warehouse_url, tmp_path, today=TODAY)
    report = failed.value.report
    assert sorted(r.tenant_id for r in report.imported) == ["acme", "default"]
    assert list(report.rejected) == ["stranger/"]
    assert warehouse.execute(
        "select tenant_id, count(*) from raw.csv_ad_performance_daily group by tenant_id order by tenant_id"
    ).fetchall() == [("acme", 4), ("default", 4)]
    # A second scan skips both tenants' files.
    with pytest.raises(ImportFailed) as again:
        import_folder(warehouse_url, tmp_path, today=TODAY)
    assert sorted(again.value.report.skipped) == ["acme/export.csv", "export.csv"]
