"""`adsignal alerts backtest` through click: what would have fired, from the marts, writing nothing.

The marts are written directly (as in tests/test_alerts_history.py: two steady campaigns, tracking
breaks on C1) into a private database the command reaches through DATABASE_URL.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from pipeline import config
from pipeline.analytics.rules import parse_rules
from pipeline.cli import main
from pipeline.config import DEFAULT_TENANT
from pipeline.warehouse import db as warehouse_db
from pipeline.warehouse.rules_store import import_rules
from tests.analytics.test_alerts_replay import NO_CONVERSIONS_RULE
from tests.test_alerts_assets import MARTS
from tests.test_alerts_history import FIRST_BREAK, SECOND_BREAK, load

RANGE = ("--from", "2026-11-01", "--to", "2026-11-29")


@pytest.fixture(scope="module")
def backtest_url(database_factory: Callable[[str], str]) -> str:
    url = database_factory("alerts_backtest")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MARTS)
        conn.execute(
            "alter table marts.fct_campaign_performance_daily add column reporting_currency text,"
            " add column spend_reporting numeric, add column conversion_value_reporting numeric"
        )
        conn.execute("alter table marts.dim_campaigns add column campaign_name text, add column budget_type text,"
                     " add column currency text")  # fmt: skip
        load(conn, FIRST_BREAK | SECOND_BREAK)
    return url


@pytest.fixture
def db(backtest_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[psycopg.Connection]:
    monkeypatch.setenv("DATABASE_URL", backtest_url)
    config.settings.cache_clear()
    warehouse_db.database_url.cache_clear()
    with psycopg.connect(backtest_url, autocommit=True) as conn:
        yield conn
    config.settings.cache_clear()
    warehouse_db.database_url.cache_clear()


def backtest(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["alerts", "backtest", *args])
    return result.exit_code, result.output


def written(conn: psycopg.Connection) -> tuple[int, int, int]:
    return conn.execute(
        "select (select count(*) from app.alerts), (select count(*) from app.alert_watermarks),"
        " (select count(*) from app.rule_runs)"
    ).fetchone()


def test_backtest_prints_what_would_have_fired_and_writes_nothing(db: psycopg.Connection) -> None:
    code, out = backtest(*RANGE)
    assert code == 0, out
    assert "Backtest of 29 mornings, 2026-11-02 to 2026-11-30" in out
    assert "Would have fired, per type and severity" in out
    lines = [line for line in out.splitlines() if "│ ZERO_CONVERSIONS │ meta campaign Campaign C1" in line]
    # One line per alert: first day, last day, day resolved, days detected, status, evidence.
    assert len(lines) == 2, out
    assert all(word in lines[0] for word in ("2026-11-10", "2026-11-12", "2026-11-13", "resolved"))
    assert all(word in lines[1] for word in ("2026-11-25", "2026-11-26", "2026-11-27", "resolved"))
    assert "conversions 0.0 vs 10.0 expected" in lines[0]
    assert written(db) == (0, 0, 0)


def test_backtest_writes_json_and_csv(db: psycopg.Connection, tmp_path: Path) -> None:
    out_json = tmp_path / "backtest.json"
    code, out = backtest(*RANGE, "--out", str(out_json))
    assert code == 0, out
    document = json.loads(out_json.read_text())
    breaks = [
        a for a in document["alerts"] if a["alert_type"] == "ZERO_CONVERSIONS" and a["entity_id"] == "C1"
    ]
    assert [(a["first_day"], a["last_day"], a["resolved_day"], a["days_detected"]) for a in breaks] == [
        ("2026-11-10", "2026-11-12", "2026-11-13", 3),
        ("2026-11-25", "2026-11-26", "2026-11-27", 2),
    ]
    assert breaks[0]["evidence"]["window_start"] == "2026-11-10"
    assert {"alert_type": "ZERO_CONVERSIONS", "severity": breaks[0]["severity"]}.items() <= next(
        s for s in document["summary"] if s["alert_type"] == "ZERO_CONVERSIONS"
    ).items()

    out_csv = tmp_path / "backtest.csv"
    assert backtest(*RANGE, "--out", str(out_csv))[0] == 0
    with out_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(document["alerts"])
    assert json.loads(rows[0]["evidence"])  # evidence as JSON in its cell
    assert backtest(*RANGE, "--out", str(tmp_path / "x.xlsx"))[0] != 0
    assert written(db) == (0, 0, 0)


def test_backtest_takes_a_config_of_overrides_and_a_platform(db: psycopg.Connection, tmp_path: Path) -> None:
    strict = tmp_path / "strict.yml"
    # No campaign is that large: not even a held, inconclusive ZERO_CONVERSIONS.
    strict.write_text("zero_min_expected: 1000\nzero_inconclusive_min_expected: 1000\n", encoding="utf-8")
    code, out = backtest(*RANGE, "--config", str(strict))
    assert code == 0, out
    assert "zero_min_expected=1000" in out and "ZERO_CONVERSIONS" not in out

    typo = tmp_path / "typo.yml"
    typo.write_text("zero_min_expectd: 3\n", encoding="utf-8")
    code, out = backtest(*RANGE, "--config", str(typo))
    assert code != 0
    assert "unknown AlertConfig field 'zero_min_expectd' (did you mean 'zero_min_expected'?)" in out
    wrong = tmp_path / "wrong.yml"
    wrong.write_text("roas_windows: [1, 9]\n", encoding="utf-8")
    code, out = backtest(*RANGE, "--config", str(wrong))
    assert code != 0 and "roas_windows must be non-empty lengths between 1 and scored_days" in out

    code, out = backtest(*RANGE, "--platform", "tiktok")
    assert code == 0 and "Nothing would have fired." in out


def test_backtest_replays_the_rules_day_by_day(db: psycopg.Connection) -> None:
    rules = parse_rules(NO_CONVERSIONS_RULE)
    with psycopg.connect(db.info.dsn) as conn:
        import_rules(conn, rules, tenant_id=DEFAULT_TENANT)
    try:
        code, out = backtest(*RANGE, "--rules")
        assert code == 0, out
        rule_lines = [line for line in out.splitlines() if "│ RULE_" in line and "meta campaign" in line]
        assert len(rule_lines) == 2 and "2026-11-10" in rule_lines[0] and "2026-11-25" in rule_lines[1]
        assert written(db)[2] == 0  # the rules were evaluated, not run
    finally:
        db.execute("delete from app.rules")


# --- on an imported CSV history ------------------------------------------------------------------

CSV_HEADER = (
    "date,platform,account_id,account_name,currency,timezone,campaign_id,campaign_name,ad_group_id,ad_id,"
    "ad_name,spend,impressions,clicks,conversions,conversion_value"
)
CSV_BREAK = ("2025-05-10", "2025-05-12")  # LinkedIn campaign L1 records no conversions


def write_history_csv(path: Path) -> Path:
    """Three months of a LinkedIn account no connection syncs (its rows come from the file only), three campaigns."""
    rng = np.random.default_rng(5)
    lines = [CSV_HEADER]
    day = date(2025, 3, 1)
    while day <= date(2025, 5, 31):
        for campaign, daily_spend, rate in (("L1", 300, 0.05), ("L2", 200, 0.05), ("L3", 150, 0.04)):
            spend = round(daily_spend * float(rng.lognormal(0, 0.08)), 2)
            clicks, conversions = int(rng.poisson(spend / 0.9)), int(rng.poisson(spend * rate))
            if campaign == "L1" and CSV_BREAK[0] <= day.isoformat() <= CSV_BREAK[1]:
                conversions = 0
            lines.append(
                f"{day},linkedin,5001,Acme LinkedIn,EUR,Europe/Berlin,{campaign},Campaign {campaign},G{campaign},"
                f"A{campaign},Ad {campaign},{spend},{clicks * 50},{clicks},{conversions},{conversions * 55.0:.2f}"
            )
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# A CSV-only warehouse builds its marts (issue 10): the import's rebuild gives the backtest its marts.
@pytest.mark.slow
def test_backtest_of_an_imported_csv_history(
    database_factory: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = database_factory("alerts_backtest_csv")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("ADSIGNAL_IMPORT_DIR", str(tmp_path / "imports"))
    config.settings.cache_clear()
    warehouse_db.database_url.cache_clear()
    try:
        imported = CliRunner().invoke(main, ["import", str(write_history_csv(tmp_path / "history.csv"))])
        assert imported.exit_code == 0, imported.output
        code, out = backtest("--from", "2025-04-15", "--to", "2025-05-30", "--platform", "linkedin")
        assert code == 0, out
        [line] = [line for line in out.splitlines() if "│ ZERO_CONVERSIONS │ linkedin campaign" in line]
        assert all(day in line for day in (*CSV_BREAK, "2025-05-13", "resolved"))
        with psycopg.connect(url) as conn:  # the import's own run replayed every morning it rebuilt
            mornings = conn.execute(
                "select detection_mornings from app.alerts where alert_type = 'ZERO_CONVERSIONS'"
                " and entity_id = 'L1'"
            ).fetchall()
        assert mornings == [([date(2025, 5, 11), date(2025, 5, 12), date(2025, 5, 13)],)]
    finally:
        config.settings.cache_clear()
        warehouse_db.database_url.cache_clear()
