"""Rules: YAML validation with errors naming the field, and evaluation over windowed metrics (pure)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from pipeline.analytics.rules import RuleFileError, load_rules_file, parse_rules
from pipeline.analytics.rules.evaluate import evaluate_rule
from pipeline.analytics.rules.models import KNOWN_PLATFORMS
from pipeline.connectors import CONNECTORS
from pipeline.examples import EXAMPLE_RULES
from pipeline.sandbox.simulator import World, default_scenario

EXAMPLE = EXAMPLE_RULES
AS_OF = date(2026, 11, 21)


def errors_of(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        parse_rules(text)
    return caught.value.errors


def one_rule(body: str) -> str:
    return "rules:\n  - name: r\n" + "\n".join("    " + line for line in body.strip().splitlines()) + "\n"


# --- validation -----------------------------------------------------------------------------------


def test_unknown_metric_is_named_with_its_path_and_the_expected_metrics() -> None:
    text = """
rules:
  - name: a
    conditions: {metric: spend, operator: ">", value: 1}
    actions: [{type: send_alert}]
  - name: b
    conditions: {metric: spend, operator: ">", value: 1}
    actions: [{type: send_alert}]
  - name: c
    conditions:
      all:
        - {metric: roaz, window_days: 7, operator: "<", value: 1.0}
    actions: [{type: send_alert}]
"""
    [error] = errors_of(text)
    assert error.startswith("rules[2].conditions.all[0].metric: unknown metric 'roaz' (did you mean 'roas'?")
    assert (
        "expected one of spend, impressions, clicks, conversions, conversion_value, cpc, cpm, ctr, cpa, roas"
        in error
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            """
conditions: {metric: spend, operator: "~", value: 1}
actions: [{type: send_alert}]""",
            "rules[0].conditions.operator: unknown operator '~'",
        ),
        (
            """
conditions: {metric: spend, operator: ">", value: 1, windw_days: 3}
actions: [{type: send_alert}]""",
            "rules[0].conditions.windw_days: unknown field",
        ),
        (
            """
conditions: {all: [{metric: spend, operator: ">"}]}
actions: [{type: send_alert}]""",
            "rules[0].conditions.all[0].value: required field missing",
        ),
        (
            """
conditions: {any: [{all: [{metric: cpa, operator: ">", value: 1, window_days: 0}]}]}
actions: [{type: send_alert}]""",
            "rules[0].conditions.any[0].all[0].window_days: Input should be greater than or equal to 1",
        ),
        (
            """
conditions: {all: [{metrics: spend}]}
actions: [{type: send_alert}]""",
            "rules[0].conditions.all[0]: a condition is a mapping with 'metric'",
        ),
        (
            """
conditions: {metric: spend, operator: ">", value: 1}
actions: [{type: send_alert}, {type: pause_campaing}]""",
            "rules[0].actions[1].type: unknown action type 'pause_campaing'",
        ),
        (
            """
conditions: {metric: spend, operator: ">", value: 1}
actions: [{type: adjust_budget, percent: -20, to: 50}]""",
            "rules[0].actions[0]: give exactly one of 'percent' or 'to'",
        ),
        (
            """
conditions: {metric: spend, operator: ">", value: 1}
actions: [{type: adjust_budget, percent: -95}]""",
            "rules[0].actions[0].percent: Input should be greater than or equal to -90",
        ),
        (
            """
scope: {platforms: [meta, metaa]}
conditions: {metric: spend, operator: ">", value: 1}
actions: [{type: send_alert}]""",
            "rules[0].scope.platforms[1]: unknown platform 'metaa' (did you mean 'meta'?",
        ),
        (
            """
level: account
conditions: {metric: spend, operator: ">", value: 1}
actions: [{type: send_alert}, {type: pause_campaign}]""",
            "rules[0].actions[1].type: pause_campaign acts on campaigns; this rule has level 'account'",
        ),
        (
            """
conditions: {metric: spend, operator: ">", value: 1}
actions: []""",
            "rules[0].actions: must not be empty",
        ),
        (
            """
conditions: {metric: spend, operator: ">", value: 1}
actions: [{type: send_alert, severity: URGENT}]""",
            "rules[0].actions[0].severity: Input should be 'LOW', 'MEDIUM', 'HIGH' or 'CRITICAL'",
        ),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(body: str, expected: str) -> None:
    errors = errors_of(one_rule(body))
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize("number", [".nan", ".NaN", ".inf", "-.inf", "+.Inf"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('conditions: {{metric: roas, operator: "<", value: {n}}}\nactions: [{{type: send_alert}}]',
         "rules[0].conditions.value"),
        ('conditions: {{metric: spend, operator: ">", value: 1}}\nactions: [{{type: adjust_budget, to: {n}}}]',
         "rules[0].actions[0].to"),
        ('conditions: {{metric: spend, operator: ">", value: 1}}\n'
         "actions: [{{type: adjust_budget, percent: 10, max_daily_budget: {n}}}]",
         "rules[0].actions[0].max_daily_budget"),
        ('conditions: {{metric: spend, operator: ">", value: 1}}\n'
         "actions: [{{type: adjust_budget, percent: {n}}}]",
         "rules[0].actions[0].percent"),
    ],
)  # fmt: skip
def test_nan_and_infinite_thresholds_and_budgets_are_refused_naming_the_field(
    body: str, field: str, number: str
) -> None:
    errors = errors_of(one_rule(body.format(n=number)))
    assert any(e.startswith(f"{field}: ") for e in errors), errors


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = """
rules:
  - name: dup
    conditions: {metric: spend, operator: ">", value: 1}
    actions: [{type: send_alert}]
  - name: dup
    conditions: {metric: spend, operator: ">", value: 1}
    actions: [{type: send_alert}]
  - name: other
    conditions: {metric: roaz, operator: ">", value: 1}
    actions: [{type: send_alert}]
colour: red
"""
    errors = errors_of(text)
    assert "colour: unknown field (expected one of version, rules)" in errors
    assert "rules[1].name: duplicate rule name 'dup' (also rules[0])" in errors
    assert any(e.startswith("rules[2].conditions.metric: unknown metric 'roaz'") for e in errors)


def test_yaml_syntax_errors_give_the_line() -> None:
    [error] = errors_of("rules:\n  - name: x\n    conditions: {metric: spend\n")
    assert error.startswith("line ") and "not valid YAML" in error


def test_word_operators_normalise_and_the_definition_round_trips() -> None:
    [rule] = parse_rules(
        one_rule("""
conditions: {metric: roas, window_days: 14, operator: LT, value: 1.5}
actions: [{type: notify_slack, target: growth}]""")
    )
    assert rule.conditions.operator == "<"
    assert rule.definition()["conditions"] == {
        "metric": "roas",
        "window_days": 14,
        "operator": "<",
        "value": 1.5,
        "change_vs_previous_window": False,
    }
    assert rule.enabled is None  # left out: re-import keeps the stored state


def test_known_platforms_are_the_connectors() -> None:
    assert set(KNOWN_PLATFORMS) == set(CONNECTORS)


def test_the_example_file_is_valid() -> None:
    rules = load_rules_file(EXAMPLE)
    assert 3 <= len(rules) <= 5
    assert {a.type for r in rules for a in r.actions} >= {
        "apply_label",
        "send_alert",
        "pause_campaign",
        "adjust_budget",
        "notify_slack",
        "notify_webhook",
    }


# --- evaluation -----------------------------------------------------------------------------------


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "platform": "meta",
        "account_id": "A1",
        "campaign_id": "C1",
        "campaign_name": "US | Prospecting",
        "currency": "EUR",
        "reporting_currency": "USD",
        "spend": 0.0,
        "impressions": 0.0,
        "clicks": 0.0,
        "conversions": 0.0,
        "conversion_value": 0.0,
    }
    out = pd.DataFrame([{**base, **row} for row in rows])
    if "spend_reporting" not in out:
        out["spend_reporting"] = out["spend"] * 2  # a fake rate: 1 EUR = 2 USD, to tell them apart
    if "conversion_value_reporting" not in out:
        out["conversion_value_reporting"] = out["conversion_value"] * 2
    return out


def daily(days: int, *, end: date = AS_OF, **values: float) -> list[dict]:
    return [{"date_day": end - timedelta(days=i), **values} for i in range(days)]


def rule(body: str):
    [parsed] = parse_rules(one_rule(body))
    return parsed


def test_windows_end_at_the_as_of_day_and_ratios_come_from_sums() -> None:
    rows = daily(7, spend=10.0, conversion_value=5.0, clicks=10.0, impressions=1000.0)
    rows += daily(7, end=AS_OF - timedelta(days=7), spend=10.0, conversion_value=100.0)  # outside the window
    rows.append({"date_day": AS_OF + timedelta(days=1), "spend": 1000.0, "conversion_value": 0.0})  # after
    r = rule("""
conditions:
  all:
    - {metric: spend, window_days: 7, operator: ">", value: 139}
    - {metric: spend, window_days: 7, operator: "<", value: 141}
    - {metric: roas, window_days: 7, operator: "==", value: 0.5}
    - {metric: cpc, window_days: 7, operator: "==", value: 2}
    - {metric: ctr, window_days: 7, operator: "==", value: 0.01}
    - {metric: cpm, window_days: 7, operator: "==", value: 20}
actions: [{type: send_alert}]""")
    result = evaluate_rule(r, frame(rows), AS_OF, rule_id=4)
    [match] = result.matches
    assert match.values["spend_7d"] == pytest.approx(140.0)  # reporting currency: 70 EUR = 140 USD
    assert match.money_currency == "USD"
    assert match.window_start == AS_OF - timedelta(days=6) and match.window_end == AS_OF
    assert all(c.met for c in match.conditions)


def test_account_currency_when_the_rule_asks_for_it() -> None:
    r = rule("""
currency: account
conditions: {metric: spend, window_days: 7, operator: "==", value: 70}
actions: [{type: send_alert}]""")
    [match] = evaluate_rule(r, frame(daily(7, spend=10.0)), AS_OF).matches
    assert match.money_currency == "EUR"


def test_undefined_ratios_and_missing_fx_never_match() -> None:
    no_conversions = frame(daily(7, spend=10.0))
    cpa = rule("""
conditions: {metric: cpa, window_days: 7, operator: "<", value: 1000000}
actions: [{type: send_alert}]""")
    assert evaluate_rule(cpa, no_conversions, AS_OF).matches == ()
    cpa_not = rule("""
conditions: {metric: cpa, window_days: 7, operator: "!=", value: 5}
actions: [{type: send_alert}]""")
    assert evaluate_rule(cpa_not, no_conversions, AS_OF).matches == ()

    no_fx = frame(daily(7, spend=10.0))
    no_fx.loc[0, "spend_reporting"] = None
    spend = rule("""
conditions: {metric: spend, window_days: 7, operator: ">", value: 0}
actions: [{type: send_alert}]""")
    result = evaluate_rule(spend, no_fx, AS_OF)
    assert result.matches == ()
    assert result.notes and "no FX rate" in result.notes[0]
    # The day without a rate is outside a 3-day window ending two days earlier: defined there.
    assert len(evaluate_rule(spend, no_fx, AS_OF - timedelta(days=1)).matches) == 1


def test_change_vs_previous_window_and_nested_any_all() -> None:
    rows = daily(3, spend=100.0, conversions=2.0) + daily(
        3, end=AS_OF - timedelta(days=3), spend=100.0, conversions=10.0
    )
    rows += [
        {**row, "campaign_id": "C2", "campaign_name": "steady"}
        for row in daily(6, spend=100.0, conversions=10.0)
    ]
    r = rule("""
conditions:
  all:
    - {metric: spend, window_days: 3, operator: ">", value: 100}
    - any:
        - {metric: conversions, window_days: 3, change_vs_previous_window: true, operator: "<=", value: -50}
        - all:
            - {metric: cpa, window_days: 3, operator: ">", value: 1000}
actions: [{type: notify_webhook, target: ops}]""")
    result = evaluate_rule(r, frame(rows), AS_OF)
    assert result.entities_evaluated == 2
    [match] = result.matches
    assert match.campaign_id == "C1"
    assert match.values["conversions_3d_change_pct"] == pytest.approx(-80.0)
    [notice] = result.actions
    assert notice.status == "queued" and notice.target == "ops"
    assert "Rule 'r' matched campaign 'US | Prospecting'" in (notice.message or "")
    assert "conversions_3d_change_pct = -80.0% (<= -50%)" in (notice.message or "")


def test_scope_filters_by_platform_account_campaign_name_and_status() -> None:
    rows = []
    for platform, account, campaign, name in [
        ("meta", "A1", "C1", "US | Prospecting | Shoes"),
        ("meta", "A1", "C2", "US | Brand | Traffic"),
        ("meta", "A2", "C3", "UK | Prospecting"),
        ("tiktok", "T1", "C4", "US | Prospecting"),
    ]:
        rows += [
            {
                **row,
                "platform": platform,
                "account_id": account,
                "campaign_id": campaign,
                "campaign_name": name,
            }
            for row in daily(3, spend=50.0)
        ]
    campaigns = pd.DataFrame(
        [
            {
                "platform": "meta",
                "account_id": "A1",
                "campaign_id": "C1",
                "status": "ACTIVE",
                "daily_budget": 50.0,
            },
            {
                "platform": "meta",
                "account_id": "A1",
                "campaign_id": "C2",
                "status": "ACTIVE",
                "daily_budget": 50.0,
            },
            {
                "platform": "meta",
                "account_id": "A2",
                "campaign_id": "C3",
                "status": "PAUSED",
                "daily_budget": 50.0,
            },
        ]
    )

    def matched(scope: str) -> set[str]:
        r = rule(f"""
scope: {scope}
conditions: {{metric: spend, window_days: 3, operator: ">", value: 0}}
actions: [{{type: send_alert}}]""")
        return {m.campaign_id for m in evaluate_rule(r, frame(rows), AS_OF, campaigns=campaigns).matches}

    assert matched("{platforms: [meta]}") == {"C1", "C2", "C3"}
    assert matched("{account_ids: [A1]}") == {"C1", "C2"}
    assert matched("{campaign_ids: [C3, C4]}") == {"C3", "C4"}
    assert matched("{campaign_names: ['*prospecting*']}") == {"C1", "C3", "C4"}
    assert matched("{campaign_names: ['us |*'], exclude_campaign_names: ['*traffic']}") == {"C1", "C4"}
    assert matched("{statuses: [active]}") == {"C1", "C2"}


def test_account_level_sums_the_campaigns() -> None:
    rows = daily(3, spend=50.0) + [{**row, "campaign_id": "C2"} for row in daily(3, spend=30.0)]
    r = rule("""
level: account
conditions: {metric: spend, window_days: 3, operator: "==", value: 480}
actions: [{type: send_alert, severity: HIGH}]""")
    [match] = evaluate_rule(r, frame(rows), AS_OF, rule_id=9).matches
    assert (match.level, match.entity_id, match.campaign_id) == ("account", "A1", None)
    [alert_action] = evaluate_rule(r, frame(rows), AS_OF, rule_id=9).actions
    assert alert_action.alert is not None
    assert (alert_action.alert.alert_type, alert_action.alert.entity_level) == ("RULE_9", "account")


BUDGET_RULE = """
conditions: {{metric: spend, window_days: 3, operator: ">", value: 0}}
actions: [{action}]"""


@pytest.mark.parametrize(
    ("action", "daily_budget", "expected_status", "expected_budget"),
    [
        ("{type: adjust_budget, percent: -20}", 100.0, "planned", 80.0),
        ("{type: adjust_budget, percent: -20, min_daily_budget: 90}", 100.0, "planned", 90.0),
        ("{type: adjust_budget, percent: 50, max_daily_budget: 120}", 100.0, "planned", 120.0),
        ("{type: adjust_budget, to: 45.556}", 100.0, "planned", 45.56),
        ("{type: adjust_budget, percent: 50, max_daily_budget: 100}", 100.0, "skipped", None),
        ("{type: adjust_budget, percent: 10}", None, "skipped", None),
    ],
)
def test_budget_changes_are_bounded_and_need_a_daily_budget(
    action: str, daily_budget: float | None, expected_status: str, expected_budget: float | None
) -> None:
    campaigns = pd.DataFrame(
        [
            {
                "platform": "meta",
                "account_id": "A1",
                "campaign_id": "C1",
                "status": "ACTIVE",
                "daily_budget": daily_budget,
                "budget_type": "DAILY" if daily_budget else "LIFETIME",
                "currency": "EUR",
            }
        ]
    )
    r = rule(BUDGET_RULE.format(action=action))
    [planned] = evaluate_rule(r, frame(daily(3, spend=10.0)), AS_OF, rule_id=3, campaigns=campaigns).actions
    assert planned.status == expected_status, planned.detail
    if expected_budget is None:
        assert planned.proposal is None
        assert "LIFETIME" in planned.detail or "already" in planned.detail
    else:
        assert planned.proposal is not None
        assert planned.proposal.action_type == "BUDGET_CHANGE"
        assert planned.proposal.source_ref == "rule:3"
        assert planned.proposal.new_daily_budget == pytest.approx(expected_budget)
        assert planned.proposal.evidence["current_daily_budget"] == daily_budget


def test_campaign_changes_are_held_on_unhealthy_data_and_skip_paused_campaigns() -> None:
    r = rule("""
conditions: {metric: spend, window_days: 3, operator: ">", value: 0}
actions: [{type: pause_campaign}, {type: send_alert}]""")
    rows = daily(3, spend=10.0) + [{**row, "campaign_id": "C2"} for row in daily(3, spend=10.0)]
    campaigns = pd.DataFrame(
        [
            {
                "platform": "meta",
                "account_id": "A1",
                "campaign_id": "C1",
                "status": "ACTIVE",
                "daily_budget": 5.0,
            },
            {
                "platform": "meta",
                "account_id": "A1",
                "campaign_id": "C2",
                "status": "PAUSED",
                "daily_budget": 5.0,
            },
        ]
    )
    health = pd.DataFrame(
        [
            {
                "date_day": AS_OF - timedelta(days=i),
                "platform": "meta",
                "account_id": "A1",
                "status": "healthy",
            }
            for i in range(3)
        ]
    )
    result = evaluate_rule(r, frame(rows), AS_OF, rule_id=1, campaigns=campaigns, health=health)
    pauses = {a.match.campaign_id: a for a in result.actions if a.type == "pause_campaign"}
    assert pauses["C1"].status == "planned" and pauses["C1"].proposal is not None
    assert pauses["C1"].proposal.action_type == "PAUSE"
    assert pauses["C2"].status == "skipped" and "PAUSED" in pauses["C2"].detail

    health.loc[1, "status"] = "degraded"
    result = evaluate_rule(r, frame(rows), AS_OF, rule_id=1, campaigns=campaigns, health=health)
    by_type = {(a.type, a.match.campaign_id): a for a in result.actions}
    assert by_type[("pause_campaign", "C1")].status == "skipped"
    assert "held: signal health of meta/A1 is degraded" in by_type[("pause_campaign", "C1")].detail
    assert by_type[("send_alert", "C1")].status == "planned"  # telling people is still right


def test_example_rules_catch_the_default_scenarios_meta_incidents() -> None:
    """On the sandbox's default world, each Meta incident is matched by the rule written for it."""
    today = date(2026, 11, 16)
    world = World(default_scenario(today=today, history_days=21))
    rates = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}  # dbt_project/seeds/fx_rates.csv, units per USD
    frames, campaigns = [], []
    for platform in world.platforms:
        for account in world.accounts(platform):
            ads = world.metrics_frame(
                platform, today - timedelta(days=21), today - timedelta(days=1), account_ids=[account.id]
            )
            by_campaign = ads.groupby(["platform", "account_id", "campaign_id", "date"], as_index=False)[
                ["spend", "impressions", "clicks", "conversions", "conversion_value"]
            ].sum()
            by_campaign["currency"] = account.currency
            frames.append(by_campaign)
            for c in world.campaigns(platform, account.id):
                campaigns.append(
                    {
                        "platform": platform,
                        "account_id": account.id,
                        "campaign_id": c.id,
                        "campaign_name": c.name,
                        "status": world.campaign_status(c),
                        "daily_budget": world.campaign_daily_budget(c),
                        "budget_type": "DAILY",
                        "currency": account.currency,
                    }
                )
    dims = pd.DataFrame(campaigns)
    data = pd.concat(frames).rename(columns={"date": "date_day"})
    data = data.merge(dims[["platform", "campaign_id", "campaign_name"]], on=["platform", "campaign_id"])
    data["spend_reporting"] = data["spend"] / data["currency"].map(rates)
    data["conversion_value_reporting"] = data["conversion_value"] / data["currency"].map(rates)
    data["reporting_currency"] = "USD"

    incidents = {(i.kind, i.campaign_id) for i in world.incidents if i.campaign_id}
    campaign_of = {kind: campaign for kind, campaign in incidents}
    matched = {
        r.name: {
            m.campaign_id for m in evaluate_rule(r, data, today - timedelta(days=1), campaigns=dims).matches
        }
        for r in load_rules_file(EXAMPLE)
    }
    assert matched["zero-conversions-while-spending"] == {campaign_of["tracking_break"]}
    assert matched["roas-collapse"] == {campaign_of["cvr_drop"]}
    assert matched["cpc-spike-cut-budget"] == {campaign_of["cpc_spike"]}
    assert matched["spend-surge"] == {campaign_of["overspend"]}
    assert matched["scale-efficient-sales"]  # healthy, efficient campaigns somewhere
    assert not matched["scale-efficient-sales"] & set(campaign_of.values())


def test_no_data_matches_nothing() -> None:
    empty = frame(daily(1)).iloc[0:0]
    for r in load_rules_file(EXAMPLE):
        result = evaluate_rule(r, empty, AS_OF)
        assert (result.entities_evaluated, result.matches, result.actions) == (0, (), ())


def test_a_notification_target_must_be_a_name_not_a_url() -> None:
    secret_url = "https://hooks.slack.com/services/T000/B000/not-a-real-secret"
    text = f"""
version: 1
rules:
  - name: leaky
    conditions: {{all: [{{metric: spend, window_days: 3, operator: ">", value: 1}}]}}
    actions: [{{type: notify_webhook, target: "{secret_url}"}}]
"""
    with pytest.raises(RuleFileError) as error:
        parse_rules(text)
    message = str(error.value)
    assert "rules[0].actions[0].target" in message and "not a URL" in message
    assert "not-a-real-secret" not in message
