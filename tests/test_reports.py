"""Scheduled reports end to end: hand-written marts, one report rendered to HTML, PDF and CSV for a pinned
as_of, its files and its ``app.report_instances`` row checked against the marts' own sums."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from pipeline.reports.definition import ReportFileError, parse_reports
from pipeline.reports.run import ReportRunError, run_report
from pipeline.warehouse import reports_store as store

AS_OF = date(2026, 12, 9)  # a Wednesday: last_week is Mon 2026-11-30 to Sun 2026-12-06
PERIOD = (date(2026, 11, 30), date(2026, 12, 6))
PREVIOUS = (date(2026, 11, 23), date(2026, 11, 29))
NOW = datetime(2026, 12, 10, 7, 0, tzinfo=UTC)

# The columns of marts.fct_campaign_performance_daily that reports read (dbt builds the real one).
MARTS = """
create schema if not exists marts;
create table marts.fct_campaign_performance_daily (
    tenant_id text not null, date_day date not null, platform text not null, source text not null,
    account_id text not null, campaign_id text not null, campaign_name text, currency text not null,
    spend numeric not null, impressions bigint not null, clicks bigint not null, conversions numeric not null,
    conversion_value numeric not null, reporting_currency text not null, fx_rate numeric not null,
    spend_reporting numeric not null, conversion_value_reporting numeric not null);
"""

CAMPAIGNS = (
    # platform, account, campaign, name, daily spend, growth per day
    ("google_ads", "g-1", "c-search", "Brand | Search", Decimal("120.25"), Decimal("1.5")),
    ("google_ads", "g-1", "c-pmax", "PMax | Shopping", Decimal("80.10"), Decimal("-2.25")),
    ("meta_ads", "m-7", "c-prospect", "Prospecting | Video", Decimal("60.33"), Decimal("4.75")),
    ("tiktok_ads", "t-3", "c-launch", "Launch | Traffic", Decimal("50.00"), Decimal("0")),
)

REPORTS_YAML = """
reports:
  - name: weekly
    title: Weekly performance
    period: last_week
    sections:
      - {type: kpis}
      - {type: platform_table}
      - {type: campaign_table, top: 3}
      - {type: trend}
      - {type: top_movers, top: 2}
      - {type: alerts}
    branding: {company_name: Acme Marketing, primary_color: "#224466"}
"""


def seed_marts(conn: psycopg.Connection) -> None:
    conn.execute(MARTS)
    start = PREVIOUS[0] - timedelta(days=3)
    for offset in range((PERIOD[1] - start).days + 4):
        day = start + timedelta(days=offset)
        for index, (platform, account, campaign, name, spend, growth) in enumerate(CAMPAIGNS):
            if campaign == "c-launch" and day < PERIOD[0]:
                continue  # launched with the period: a mover from nothing
            amount = spend + growth * offset
            conversions = Decimal(offset % 4 + index)
            conn.execute(
                "insert into marts.fct_campaign_performance_daily values"
                " (%s, %s, %s, 'api', %s, %s, %s, 'EUR', %s, %s, %s, %s, %s, 'USD', 1.1, %s, %s)",
                (
                    "default",
                    day,
                    platform,
                    account,
                    campaign,
                    name,
                    amount,
                    1000 + 10 * offset,
                    40 + offset,
                    conversions,
                    amount * 3,
                    amount * Decimal("1.1"),
                    amount * Decimal("3.3"),
                ),
            )
    # Another tenant's rows on the same days: never in the default tenant's report.
    conn.execute("insert into app.tenants (tenant_id, name) values ('other', 'Other Co')")
    conn.execute(
        "insert into marts.fct_campaign_performance_daily values"
        " ('other', %s, 'google_ads', 'api', 'g-1', 'c-search', 'Brand | Search', 'USD', 99999, 1, 1, 1, 1,"
        " 'USD', 1, 99999, 1)",
        (PERIOD[0],),
    )
    for tenant, severity, status, title in (
        ("default", "HIGH", "open", "Spend spike on Brand | Search"),
        ("default", "LOW", "acknowledged", "CTR dip on PMax"),
        ("default", "CRITICAL", "resolved", "Resolved long ago"),
        ("other", "CRITICAL", "open", "Other tenant alert"),
    ):
        conn.execute(
            "insert into app.alerts (tenant_id, alert_type, severity, status, platform, entity_level, entity_id,"
            " title, message) values (%s, 'anomaly', %s, %s, 'google_ads', 'campaign', 'c-search', %s, 'm')",
            (tenant, severity, status, title),
        )


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    url = database_factory("reports")
    with psycopg.connect(url, autocommit=True) as conn:
        seed_marts(conn)
    return url


@pytest.fixture
def conn(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def marts_sum(
    conn: psycopg.Connection, column: str, start: date, end: date, tenant: str = "default"
) -> Decimal:
    row = conn.execute(
        f"select sum({column}) from marts.fct_campaign_performance_daily"
        " where tenant_id = %s and date_day between %s and %s",
        (tenant, start, end),
    ).fetchone()
    assert row is not None
    return row[0]


def test_store_reads_one_tenant_and_divides_safely(conn: psycopg.Connection) -> None:
    scope = store.Scope("default")
    totals = store.period_totals(conn, scope, *PERIOD)
    assert totals["spend"] == marts_sum(conn, "spend_reporting", *PERIOD)
    assert totals["conversion_value"] == marts_sum(conn, "conversion_value_reporting", *PERIOD)
    assert totals["roas"] == totals["conversion_value"] / totals["spend"]
    empty = store.period_totals(conn, scope, date(2020, 1, 1), date(2020, 1, 7))
    assert (empty["spend"], empty["roas"], empty["cpa"], empty["ctr"]) == (0, None, None, None)
    platforms = store.totals_by_platform(conn, scope, *PERIOD)
    assert [p["platform"] for p in platforms] == ["google_ads", "meta_ads", "tiktok_ads"]
    assert sum(p["spend"] for p in platforms) == totals["spend"]
    only_meta = store.period_totals(conn, store.Scope("default", platforms=["meta_ads"]), *PERIOD)
    assert only_meta["spend"] == platforms[1]["spend"]
    trend = store.daily_trend(conn, scope, *PERIOD)
    assert [row["date_day"] for row in trend] == [PERIOD[0] + timedelta(days=d) for d in range(7)]
    assert sum(row["spend"] for row in trend) == totals["spend"]
    movers = store.campaign_movers(conn, scope, PERIOD, PREVIOUS, 10)
    assert movers[0]["campaign_id"] == "c-launch"  # 7 x 50 x 1.1 from nothing: the largest change
    assert movers[0]["previous_spend"] == 0 and movers[0]["change_ratio"] is None
    alerts = store.live_alerts(conn, scope, 10)
    assert [a["title"] for a in alerts] == ["Spend spike on Brand | Search", "CTR dip on PMax"]
    assert store.reporting_currencies(conn, scope, *PERIOD) == ["USD"]


def test_a_report_renders_every_section_into_html_pdf_and_csv(
    url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    (definition,) = parse_reports(REPORTS_YAML)
    run = run_report(url, definition, AS_OF, tmp_path, now=NOW)

    directory = tmp_path / "default" / "weekly" / "2026-11-30_2026-12-06"
    assert run.directory == directory
    expected = {
        "report.html",
        "report.pdf",
        "kpis.csv",
        "platforms.csv",
        "campaigns.csv",
        "daily.csv",
        "top_movers.csv",
        "alerts.csv",
    }
    assert {p.name for p in directory.iterdir()} == expected

    spend = marts_sum(conn, "spend_reporting", *PERIOD)
    spend_text = f"{spend:,.2f} USD"
    html = (directory / "report.html").read_text()
    assert '<img src="data:image/png;base64,' in html
    assert spend_text in html and "Acme Marketing" in html and "#224466" in html
    assert "Other tenant alert" not in html and "Resolved long ago" not in html

    reader = PdfReader(directory / "report.pdf")
    # Words as one line: the PDF wraps long cells ("Spend spike on Brand |" / "Search").
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert 1 <= len(reader.pages) <= 3
    assert sum(len(page.images) for page in reader.pages) == 1  # the trend chart
    assert "Weekly performance" in text
    assert spend_text in text
    for section_heading in (
        "Key figures",
        "By platform",
        "Top 3 campaigns by spend",
        "Daily spend",
        "Top movers",
    ):
        assert section_heading in text
    assert "Spend spike on Brand | Search" in text
    assert "99,999" not in text  # the other tenant's spend

    def csv_rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((directory / name).read_text())))

    platforms = csv_rows("platforms.csv")
    sql = conn.execute(
        "select platform, sum(spend_reporting), sum(conversions) from marts.fct_campaign_performance_daily"
        " where tenant_id = 'default' and date_day between %s and %s group by platform order by 2 desc",
        PERIOD,
    ).fetchall()
    assert [(r["platform"], Decimal(r["spend"]), Decimal(r["conversions"])) for r in platforms] == sql
    assert {r["currency"] for r in platforms} == {"USD"}
    kpis = {r["metric"]: r for r in csv_rows("kpis.csv")}
    assert Decimal(kpis["spend"]["value"]) == spend
    assert Decimal(kpis["spend"]["previous"]) == marts_sum(conn, "spend_reporting", *PREVIOUS)
    campaigns = csv_rows("campaigns.csv")
    assert [r["campaign_id"] for r in campaigns] == ["c-search", "c-prospect", "c-pmax"]
    daily = csv_rows("daily.csv")
    assert len(daily) == 7 and sum(Decimal(r["spend"]) for r in daily) == spend
    movers = csv_rows("top_movers.csv")
    assert len(movers) == 2 and movers[0]["campaign_id"] == "c-launch"

    (instance,) = store.report_instances(conn, "default", "weekly")
    assert (instance.status, instance.period_start, instance.period_end) == ("succeeded", *PERIOD)
    assert instance.error is None
    assert {f["name"] for f in instance.files} == expected
    for record in instance.files:
        content = Path(record["path"]).read_bytes()
        assert record["bytes"] == len(content)
        assert record["sha256"] == hashlib.sha256(content).hexdigest()
    assert [(d["destination"], d["status"], d["attempts"]) for d in instance.deliveries] == [
        ("folder[0]", "delivered", 1)
    ]


def test_re_running_a_period_replaces_its_instance_and_files(
    url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    (definition,) = parse_reports(REPORTS_YAML)
    first = run_report(url, definition, AS_OF, tmp_path, now=NOW)
    # Same period, fewer formats: the folder holds only the new run's files, the row is the same one.
    html_only = definition.model_copy(update={"formats": ("html",)})
    second = run_report(url, html_only, AS_OF + timedelta(days=2), tmp_path, now=NOW + timedelta(hours=1))
    assert second.instance.instance_id == first.instance.instance_id
    assert [p.name for p in second.directory.iterdir()] == ["report.html"]
    (instance,) = [
        i for i in store.report_instances(conn, "default", "weekly") if i.period_start == PERIOD[0]
    ]
    assert [f["name"] for f in instance.files] == ["report.html"]
    assert instance.updated_at > instance.created_at
    # Another period is another instance.
    run_report(url, definition, AS_OF + timedelta(days=7), tmp_path, now=NOW)
    periods = [(i.period_start, i.period_end) for i in store.report_instances(conn, "default", "weekly")]
    assert periods == [(date(2026, 12, 7), date(2026, 12, 13)), PERIOD]


def test_logo_and_a_second_folder(url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), "#224466").save(logo)
    copies = tmp_path / "shared"
    text = REPORTS_YAML.replace("name: weekly", "name: branded").replace(
        "branding: {company_name: Acme Marketing,", f"branding: {{logo: {logo}, company_name: Acme Marketing,"
    )
    text += (
        f"    formats: [pdf, html]\n    destinations: [{{type: folder}}, {{type: folder, path: {copies}}}]\n"
    )
    (definition,) = parse_reports(text)
    run = run_report(url, definition, AS_OF, tmp_path / "out", now=NOW)
    html = (run.directory / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == 2  # the logo and the chart
    assert sum(len(page.images) for page in PdfReader(run.directory / "report.pdf").pages) == 2
    copy = copies / "default" / "branded" / "2026-11-30_2026-12-06"
    assert sorted(p.name for p in copy.iterdir()) == ["report.html", "report.pdf"]
    for record in run.instance.files:
        assert hashlib.sha256((copy / record["name"]).read_bytes()).hexdigest() == record["sha256"]
    assert [(d["destination"], d["target"], d["status"]) for d in run.instance.deliveries] == [
        ("folder[0]", str(run.directory), "delivered"),
        ("folder[1]", str(copy), "delivered"),
    ]


def test_a_failed_run_is_recorded_with_its_error(url: str, conn: psycopg.Connection, tmp_path: Path) -> None:
    (definition,) = parse_reports(
        REPORTS_YAML.replace("name: weekly", "name: in-euros") + "    currency: EUR\n"
    )
    with pytest.raises(ReportRunError, match="asks for EUR, the marts report in USD"):
        run_report(url, definition, AS_OF, tmp_path, now=NOW)
    (instance,) = store.report_instances(conn, "default", "in-euros")
    assert instance.status == "failed" and instance.files == []
    assert instance.error is not None and "asks for EUR" in instance.error
    unknown = definition.model_copy(update={"tenant": "nobody", "currency": None})
    with pytest.raises(ReportRunError, match="unknown tenant 'nobody'"):
        run_report(url, unknown, AS_OF, tmp_path, now=NOW)


def test_cli_validates_and_runs(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.cli import main

    file = tmp_path / "reports.yml"
    file.write_text(REPORTS_YAML)
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    validated = runner.invoke(main, ["reports", "validate", str(file)])
    assert validated.exit_code == 0, validated.output
    assert "1 valid report(s): weekly" in validated.output

    bad = tmp_path / "bad.yml"
    bad.write_text("reports:\n  - name: x\n    period: yesterday\n    sections: [{type: kpis}]\n")
    refused = runner.invoke(main, ["reports", "validate", str(bad)])
    assert refused.exit_code == 1
    assert "reports[0].period: unknown period 'yesterday'" in refused.output

    ran = runner.invoke(
        main,
        [
            "reports",
            "run",
            "weekly",
            "--file",
            str(file),
            "--as-of",
            "2026-12-09",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert ran.exit_code == 0, ran.output
    assert "2026-11-30_2026-12-06" in ran.output
    assert (tmp_path / "o" / "default" / "weekly" / "2026-11-30_2026-12-06" / "report.pdf").exists()
    custom = runner.invoke(
        main,
        [
            "reports",
            "run",
            "weekly",
            "--file",
            str(file),
            "--period",
            "2026-11-01:2026-11-07",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert custom.exit_code == 0, custom.output
    assert "2026-11-01_2026-11-07: succeeded" in custom.output
    bad_period = runner.invoke(
        main, ["reports", "run", "weekly", "--file", str(file), "--period", "last_weak"]
    )
    assert bad_period.exit_code == 2 and "period: unknown period 'last_weak'" in bad_period.output
    unknown = runner.invoke(main, ["reports", "run", "nope", "--file", str(file)])
    assert unknown.exit_code == 2 and "no report 'nope'" in unknown.output

    imported = runner.invoke(main, ["reports", "import", str(file)])
    assert imported.exit_code == 0, imported.output
    assert "created 1: default/weekly" in imported.output
    again = runner.invoke(main, ["reports", "import", str(file)])
    assert "unchanged 1: default/weekly" in again.output
    listed = runner.invoke(main, ["reports", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = [r for r in json.loads(listed.output) if r["report"] == "weekly"]
    # The latest period any test of this module ran, with its status.
    assert (row["period"], row["last_status"]) == ("last_week", "succeeded")
    assert row["last_period"] >= "2026-11-30_2026-12-06"
    # The imported definition runs without the file.
    stored_run = runner.invoke(
        main, ["reports", "run", "weekly", "--as-of", "2026-12-02", "--out", str(tmp_path / "o")]
    )
    assert stored_run.exit_code == 0, stored_run.output
    assert "2026-11-23_2026-11-29: succeeded" in stored_run.output
    shown = runner.invoke(main, ["reports", "show", "weekly"])
    assert shown.exit_code == 0, shown.output
    assert "name: weekly" in shown.output and "2026-11-23 to 2026-11-29: succeeded" in shown.output
    assert "report.pdf" in shown.output


def test_imported_reports_run_when_their_schedule_is_due(
    url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    from pipeline.reports.stored import import_reports, run_due_reports, stored_reports

    text = REPORTS_YAML.replace("name: weekly", "name: mondays") + '    schedule: "0 7 * * 1"\n'
    text += "  - name: no-schedule\n    period: last_7_days\n    sections: [{type: kpis}]\n"
    text += '  - name: other-tenant\n    tenant: other\n    period: last_7_days\n    schedule: "0 7 * * *"\n'
    text += "    sections: [{type: kpis}]\n    formats: [csv]\n"
    reports = parse_reports(text)
    conn.execute("delete from app.report_definitions")  # what other tests of this module imported
    import_reports(conn, reports, source="test")
    assert [r.name for r in stored_reports(conn, "default")] == ["mondays", "no-schedule"]
    assert stored_reports(conn, "default", "mondays")[0] == reports[0]

    # 2026-12-06 is a Sunday: the Monday schedule runs with its partition, for the week that just ended.
    sunday = run_due_reports(url, ["default", "other"], date(2026, 12, 6), tmp_path)
    assert sorted(f"{r.content.definition.tenant}/{r.content.definition.name}" for r in sunday.succeeded) == [
        "default/mondays",
        "other/other-tenant",
    ]
    assert sunday.not_due == ["default/no-schedule"] and sunday.failed == {}
    (other,) = [r for r in sunday.succeeded if r.content.definition.tenant == "other"]
    assert other.content.totals["spend"] == Decimal(99999)  # its own tenant's marts only
    tuesday = run_due_reports(url, ["default"], date(2026, 12, 8), tmp_path)
    assert tuesday.succeeded == [] and tuesday.not_due == ["default/mondays", "default/no-schedule"]

    with pytest.raises(ReportFileError, match="unknown tenant 'nobody'"):
        import_reports(conn, [reports[1].model_copy(update={"tenant": "nobody"})], source="test")


def test_the_asset_runs_the_reports_due_for_its_partition(
    url: str, conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from pipeline import config
    from pipeline.defs.reports import report_instances
    from pipeline.defs.resources import WarehouseResource
    from pipeline.reports.stored import import_reports

    monkeypatch.setenv("ADSIGNAL_DATA_DIR", str(tmp_path))
    config.settings.cache_clear()
    try:
        conn.execute("delete from app.report_definitions")
        text = REPORTS_YAML.replace("name: weekly", "name: asset-weekly") + '    schedule: "0 7 * * mon"\n'
        import_reports(conn, parse_reports(text), source="test")

        def materialize(day: str) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                [report_instances],
                partition_key=day,
                resources={"warehouse": WarehouseResource(url=url)},
                instance=dg.DagsterInstance.ephemeral(),
            )

        sunday = materialize("2026-12-06")
        assert sunday.success
        metadata = sunday.asset_materializations_for_node("app__report_instances")[0].metadata
        assert metadata["reports_run"].value == 1
        pdf = tmp_path / "reports" / "default" / "asset-weekly" / "2026-11-30_2026-12-06" / "report.pdf"
        assert pdf.exists()
        (instance,) = store.report_instances(conn, "default", "asset-weekly")
        assert instance.status == "succeeded"
        assert any(f["path"] == str(pdf) for f in instance.files)

        monday = materialize("2026-12-07")
        assert monday.success
        assert (
            monday.asset_materializations_for_node("app__report_instances")[0].metadata["reports_run"].value
            == 0
        )
    finally:
        config.settings.cache_clear()
