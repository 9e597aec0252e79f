"""Rules end to end on a real PostgreSQL: CLI import, the Dagster asset, alerts, labels, proposals.

The marts the asset reads are filled from the sandbox simulator's default world (Meta), so the example
rules meet the incidents they were written for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.rules import rule_runs
from pipeline.examples import EXAMPLE_RULES
from pipeline.sandbox.simulator import World, default_scenario

EXAMPLE = EXAMPLE_RULES
TODAY = date(2026, 11, 16)
AS_OF = TODAY - timedelta(days=1)
HISTORY_DAYS = 21
RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}  # units per USD, as dbt_project/seeds/fx_rates.csv

MARTS_DDL = """
create schema if not exists marts;
create table marts.fct_campaign_performance_daily (
    date_day date, platform text, source text, account_id text, campaign_id text, campaign_name text,
    currency text, spend numeric, impressions bigint, clicks bigint, conversions numeric,
    conversion_value numeric, reporting_currency text, fx_rate numeric, spend_reporting numeric,
    conversion_value_reporting numeric, tenant_id text not null default 'default');
create table marts.dim_campaigns (
    platform text, source text, account_id text, campaign_id text, campaign_name text, status text,
    platform_status text, objective text, budget_type text, daily_budget numeric, lifetime_budget numeric,
    currency text, start_date date, end_date date, is_inferred boolean not null default false, tenant_id text not null default 'default');
create table marts.fct_signal_health_daily (
    date_day date, platform text, account_id text, freshness_score numeric, completeness_score numeric,
    accuracy_score numeric, health_score numeric, status text, issues jsonb, tenant_id text not null default 'default');
"""


@pytest.fixture(scope="module")
def world() -> World:
    return World(default_scenario(today=TODAY, history_days=HISTORY_DAYS))


@pytest.fixture(scope="module")
def incident_campaigns(world: World) -> dict[str, tuple[str, str]]:
    """Incident kind -> (account_id, campaign_id)."""
    return {i.kind: (i.account_id, i.campaign_id) for i in world.incidents if i.campaign_id}


@pytest.fixture(scope="module")
def rules_url(database_factory: Callable[[str], str], world: World) -> str:
    url = database_factory("rules")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MARTS_DDL)
        for account in world.accounts("meta"):
            campaigns = world.campaigns("meta", account.id)
            for c in campaigns:
                conn.execute(
                    "insert into marts.dim_campaigns (platform, source, account_id, campaign_id, campaign_name,"
                    " status, budget_type, daily_budget, currency) values ('meta', 'meta', %s, %s, %s, %s, 'DAILY', %s, %s)",
                    (
                        account.id,
                        c.id,
                        c.name,
                        world.campaign_status(c),
                        world.campaign_daily_budget(c),
                        account.currency,
                    ),
                )
            names = {c.id: c.name for c in campaigns}
            ads = world.metrics_frame(
                "meta", TODAY - timedelta(days=HISTORY_DAYS), AS_OF, account_ids=[account.id]
            )
            daily = ads.groupby(["campaign_id", "date"], as_index=False)[
                ["spend", "impressions", "clicks", "conversions", "conversion_value"]
            ].sum()
            rate = RATES[account.currency]
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into marts.fct_campaign_performance_daily values"
                    " (%s, 'meta', 'meta', %s, %s, %s, %s, %s, %s, %s, %s, %s, 'USD', %s, %s, %s)",
                    [
                        (
                            r.date,
                            account.id,
                            r.campaign_id,
                            names[r.campaign_id],
                            account.currency,
                            r.spend,
                            int(r.impressions),
                            int(r.clicks),
                            r.conversions,
                            r.conversion_value,
                            rate,
                            r.spend / rate,
                            r.conversion_value / rate,
                        )
                        for r in daily.itertuples()
                    ],
                )
                cur.executemany(
                    "insert into marts.fct_signal_health_daily (date_day, platform, account_id, health_score, status)"
                    " values (%s, 'meta', %s, 100, 'healthy')",
                    [(AS_OF - timedelta(days=n), account.id) for n in range(HISTORY_DAYS)],
                )
    return url


@pytest.fixture
def db(rules_url: str) -> Iterator[psycopg.Connection]:
    """A clean app state (no rules, alerts, labels or queued actions) and healthy data for each test."""
    with psycopg.connect(rules_url, autocommit=True) as conn:
        conn.execute(
            "truncate app.rules, app.rule_runs, app.campaign_labels, app.alerts, app.actions_queue cascade"
        )
        conn.execute("update marts.fct_signal_health_daily set status = 'healthy'")
        yield conn


def cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url}, catch_exceptions=False)
    return result.exit_code, result.output


def materialize(url: str, day: date = AS_OF) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [rule_runs],
        partition_key=day.isoformat(),
        resources={"warehouse": WarehouseResource(url=url)},
        instance=dg.DagsterInstance.ephemeral(),
    )


def rule_ids(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute("select name, rule_id from app.rules").fetchall())


def test_import_is_idempotent_keeps_a_disabled_rule_disabled_and_replace_removes(
    rules_url: str, db: psycopg.Connection, tmp_path: Path
) -> None:
    code, out = cli(rules_url, "rules", "validate", str(EXAMPLE))
    assert code == 0 and "5 valid rule(s)" in out
    assert db.execute("select count(*) from app.rules").fetchone() == (0,)
    code, out = cli(rules_url, "rules", "import", str(EXAMPLE))
    assert code == 0, out
    assert out.startswith("  created 5:")
    before = db.execute("select name, updated_at from app.rules order by name").fetchall()

    code, out = cli(rules_url, "rules", "import", str(EXAMPLE))
    assert (code, out.split(":")[0].strip()) == (0, "unchanged 5")
    assert db.execute("select name, updated_at from app.rules order by name").fetchall() == before

    assert cli(rules_url, "rules", "disable", "spend-surge")[0] == 0
    cli(rules_url, "rules", "import", str(EXAMPLE))
    assert db.execute("select enabled from app.rules where name = 'spend-surge'").fetchone() == (False,)
    code, out = cli(rules_url, "rules", "enable", "no-such-rule")
    assert code == 1 and "no rule named 'no-such-rule'" in out

    code, out = cli(rules_url, "rules", "list")
    assert code == 0 and "roas-collapse" in out and "spend-surge" in out

    single = tmp_path / "one.yml"
    single.write_text(
        "rules:\n  - name: roas-collapse\n    enabled: true\n"
        "    conditions: {metric: roas, window_days: 7, operator: '<', value: 0.5}\n"
        "    actions: [{type: send_alert}]\n"
    )
    code, out = cli(rules_url, "rules", "import", str(single), "--replace")
    assert code == 0 and "updated 1: roas-collapse" in out and "removed 4:" in out
    assert [r[0] for r in db.execute("select name from app.rules").fetchall()] == ["roas-collapse"]


def test_an_invalid_file_changes_nothing_and_names_the_field(
    rules_url: str, db: psycopg.Connection, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "rules:\n  - name: ok\n    conditions: {metric: spend, operator: '>', value: 1}\n"
        "    actions: [{type: send_alert}]\n"
        "  - name: typo\n    conditions:\n      all:\n        - {metric: roaz, window_days: 7, operator: '<', value: 1}\n"
        "    actions: [{type: adjust_budget, percent: -20, to: 10}]\n"
    )
    code, out = cli(rules_url, "rules", "import", str(bad))
    assert code == 1
    assert "refused, nothing changed (2 problem(s))" in out
    assert "rules[1].conditions.all[0].metric: unknown metric 'roaz' (did you mean 'roas'?" in out
    assert "rules[1].actions[0]: give exactly one of 'percent' or 'to'" in out
    assert db.execute("select count(*) from app.rules").fetchone() == (0,)


def test_the_daily_asset_evaluates_rules_and_carries_out_their_actions(
    rules_url: str, db: psycopg.Connection, incident_campaigns: dict[str, tuple[str, str]]
) -> None:
    cli(rules_url, "rules", "import", str(EXAMPLE))
    ids = rule_ids(db)
    result = materialize(rules_url)
    assert result.success
    [materialization] = result.asset_materializations_for_node("app__rule_runs")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["rules_evaluated"] == 5 and metadata["rules_failed"] == 0
    assert metadata["dagster/row_count"] == 5
    assert metadata["actions_by_type"]["pause_campaign"] == 1
    assert metadata["matches_by_rule"]["zero-conversions-while-spending"] == 1

    runs = {
        name: (status, matched, matches, actions)
        for name, status, matched, matches, actions in db.execute(
            "select r.name, rr.status, rr.matched_count, rr.matches, rr.actions from app.rule_runs rr"
            " join app.rules r using (rule_id) where rr.run_id = %s and rr.as_of = %s",
            (result.run_id, AS_OF),
        ).fetchall()
    }
    assert {name: run[0] for name, run in runs.items()} == dict.fromkeys(ids, "succeeded")

    # zero conversions: a HIGH alert on the campaign, a label, a Slack notice queued for the digest
    _, tracking_campaign = incident_campaigns["tracking_break"]
    _, matched, matches, actions = runs["zero-conversions-while-spending"]
    assert matched == 1 and matches[0]["campaign_id"] == tracking_campaign
    assert matches[0]["values"]["conversions_3d"] == 0 and matches[0]["values"]["spend_3d"] > 150
    notice = next(a for a in actions if a["type"] == "notify_slack")
    assert notice["status"] == "queued" and notice["target"] is None
    assert "zero-conversions-while-spending" in notice["message"] and tracking_campaign in notice["message"]
    alert = db.execute(
        "select severity, status, entity_level, entity_id, title, evidence from app.alerts where alert_type = %s",
        (f"RULE_{ids['zero-conversions-while-spending']}",),
    ).fetchall()
    assert len(alert) == 1
    severity, status, level, entity_id, title, evidence = alert[0]
    assert (severity, status, level, entity_id) == ("HIGH", "open", "campaign", tracking_campaign)
    assert "zero-conversions-while-spending" in title
    assert evidence["values"]["conversions_3d"] == 0
    assert db.execute(
        "select label, applied_by from app.campaign_labels where campaign_id = %s", (tracking_campaign,)
    ).fetchall() == [("no-conversions", "rule:zero-conversions-while-spending")]

    # ROAS collapse: a pause proposed to the action queue, never sent to a platform
    _, cvr_campaign = incident_campaigns["cvr_drop"]
    pause = next(a for a in runs["roas-collapse"][3] if a["type"] == "pause_campaign")
    assert pause["status"] == "proposed" and pause["campaign_id"] == cvr_campaign
    queued = db.execute(
        "select action_type, source, source_ref, campaign_id from app.actions_queue where action_id = %s",
        (pause["action_id"],),
    ).fetchone()
    assert queued == ("PAUSE", "rule", f"rule:{ids['roas-collapse']}", cvr_campaign)

    # CPC spike: the budget cut by a fifth of the campaign's current daily budget
    _, cpc_campaign = incident_campaigns["cpc_spike"]
    budget = next(a for a in runs["cpc-spike-cut-budget"][3] if a["type"] == "adjust_budget")
    assert budget["status"] == "proposed" and budget["campaign_id"] == cpc_campaign
    current = float(
        db.execute(
            "select daily_budget from marts.dim_campaigns where campaign_id = %s", (cpc_campaign,)
        ).fetchone()[0]
    )
    params = db.execute(
        "select action_type, params from app.actions_queue where action_id = %s", (budget["action_id"],)
    ).fetchone()
    assert params[0] == "BUDGET_CHANGE"
    assert params[1]["new_daily_budget"] == pytest.approx(round(current * 0.8, 2))

    # overspend: a MEDIUM alert and a webhook notice
    _, overspend_campaign = incident_campaigns["overspend"]
    _, matched, matches, actions = runs["spend-surge"]
    assert [m["campaign_id"] for m in matches] == [overspend_campaign]
    assert {a["type"]: a["status"] for a in actions} == {"send_alert": "applied", "notify_webhook": "queued"}

    code, out = cli(rules_url, "rules", "show", "zero-conversions-while-spending")
    assert code == 0 and f"as of {AS_OF}: succeeded, 1 of" in out and "label 'no-conversions'" in out

    rules_state = db.execute("select name, execution_count, last_result from app.rules").fetchall()
    assert all(count == 1 and last["status"] == "succeeded" for _, count, last in rules_state)

    # Again, same day: one live alert per (rule, campaign), no second proposal, a second evaluation row.
    counts = "select (select count(*) from app.alerts), (select count(*) from app.actions_queue), (select count(*) from app.campaign_labels)"
    before = db.execute(counts).fetchone()
    assert materialize(rules_url).success
    assert db.execute(counts).fetchone() == before
    assert db.execute("select max(detection_count) from app.alerts").fetchone() == (1,)
    assert db.execute("select count(*) from app.rule_runs").fetchone() == (10,)
    assert db.execute("select min(execution_count), max(execution_count) from app.rules").fetchone() == (2, 2)


def test_alerts_resolve_and_state_labels_go_when_the_rule_stops_matching(
    rules_url: str, db: psycopg.Connection, incident_campaigns: dict[str, tuple[str, str]]
) -> None:
    cli(rules_url, "rules", "import", str(EXAMPLE))
    ids = rule_ids(db)
    _, campaign = incident_campaigns["tracking_break"]
    assert materialize(rules_url).success

    # Disabling a rule resolves what it left open.
    assert cli(rules_url, "rules", "disable", "spend-surge", "--by", "ana")[0] == 0
    assert db.execute(
        "select status, resolved_by, resolution ->> 'reason' from app.alerts where detected_by = %s",
        (f"rule:{ids['spend-surge']}",),
    ).fetchall() == [("resolved", "ana", "rule disabled or removed")]
    assert cli(rules_url, "rules", "enable", "spend-surge")[0] == 0

    # A day later the campaign converts again (tracking fixed): the rule no longer matches.
    next_day = AS_OF + timedelta(days=1)
    db.execute(
        "insert into marts.fct_campaign_performance_daily select %s, platform, source, account_id, campaign_id,"
        " campaign_name, currency, spend, impressions, clicks, 40, conversion_value, reporting_currency,"
        " fx_rate, spend_reporting, conversion_value_reporting from marts.fct_campaign_performance_daily"
        " where campaign_id = %s and date_day = %s",
        (next_day, campaign, AS_OF),
    )
    rule_id = ids["zero-conversions-while-spending"]
    alerts = "select status, resolved_by, resolution ->> 'reason' from app.alerts where detected_by = %s"
    try:
        result = materialize(rules_url, next_day)
        assert result.success
        assert db.execute(alerts, (f"rule:{rule_id}",)).fetchall() == [
            ("resolved", "rule:zero-conversions-while-spending", "the rule no longer matches")
        ]
        assert db.execute(
            "select count(*) from app.campaign_labels where label = 'no-conversions'"
        ).fetchone() == (0,)
        [(matched, actions)] = db.execute(
            "select matched_count, actions from app.rule_runs where rule_id = %s and run_id = %s",
            (rule_id, result.run_id),
        ).fetchall()
        assert matched == 0
        assert any(a["type"] == "apply_label" and "removed" in a["detail"] for a in actions)
        assert any(a["type"] == "send_alert" and "resolved" in a["detail"] for a in actions)

        # A backfill of the earlier day records its matches but undoes nothing the later day decided.
        backfill = materialize(rules_url, AS_OF)
        assert backfill.success
        [(matched, actions)] = db.execute(
            "select matched_count, actions from app.rule_runs where rule_id = %s and run_id = %s",
            (rule_id, backfill.run_id),
        ).fetchall()
        assert matched == 1
        assert {a["status"] for a in actions} == {"skipped"}
        assert "already evaluated for a later day (" + next_day.isoformat() in actions[0]["detail"]
        assert db.execute(alerts, (f"rule:{rule_id}",)).fetchall() == [
            ("resolved", "rule:zero-conversions-while-spending", "the rule no longer matches")
        ]
        assert db.execute(
            "select count(*) from app.campaign_labels where label = 'no-conversions'"
        ).fetchone() == (0,)
    finally:
        db.execute("delete from marts.fct_campaign_performance_daily where date_day = %s", (next_day,))


def test_campaign_changes_wait_for_healthy_data(
    rules_url: str, db: psycopg.Connection, incident_campaigns: dict[str, tuple[str, str]]
) -> None:
    cli(rules_url, "rules", "import", str(EXAMPLE))
    account, campaign = incident_campaigns["cpc_spike"]
    db.execute(
        "update marts.fct_signal_health_daily set status = 'degraded' where account_id = %s and date_day = %s",
        (account, AS_OF - timedelta(days=1)),
    )
    result = materialize(rules_url)
    assert result.success
    [actions] = db.execute(
        "select actions from app.rule_runs where rule_id = %s", (rule_ids(db)["cpc-spike-cut-budget"],)
    ).fetchone()
    by_type = {a["type"]: a for a in actions if a["campaign_id"] == campaign}
    assert by_type["adjust_budget"]["status"] == "skipped"
    assert "held: signal health of meta/" in by_type["adjust_budget"]["detail"]
    assert by_type["apply_label"]["status"] == "applied"
    assert db.execute(
        "select count(*) from app.actions_queue where campaign_id = %s", (campaign,)
    ).fetchone() == (0,)


def test_a_rule_that_fails_is_recorded_and_the_others_still_run(
    rules_url: str, db: psycopg.Connection
) -> None:
    cli(rules_url, "rules", "import", str(EXAMPLE))
    db.execute(
        "update app.rules set definition = jsonb_set(definition, '{conditions}', '{\"metric\": \"roaz\"}')"
        " where name = 'spend-surge'"
    )
    result = materialize(rules_url)
    assert result.success
    rows = dict(
        db.execute(
            "select r.name, rr.status || coalesce(': ' || rr.error, '') from app.rule_runs rr join app.rules r using (rule_id)"
        ).fetchall()
    )
    assert rows.pop("spend-surge").startswith("failed: RuleFileError")
    assert set(rows.values()) == {"succeeded"}
    code, out = cli(rules_url, "rules", "run", "--as-of", AS_OF.isoformat())
    assert code == 1 and "failed: spend-surge" in out
