"""Notifications end to end: seeded app.alerts and rule runs, the real Dagster asset, real HTTP.

A local receiver stands in for Slack and for a generic webhook; each test gets empty app tables in
a private database. Asserted: one request per channel per run whatever the number of alerts;
nothing sent when nothing changed; escalations and resolutions sent once; a failing channel catches
up alone; signatures verify; the webhook URLs and signing secret appear in no table and no Dagster
event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from pipeline import config, secret_box
from pipeline.cli import main
from pipeline.defs.notifications import notifications
from pipeline.defs.partitions import daily_partitions, single_run_backfill
from pipeline.defs.resources import WarehouseResource
from pipeline.notifications import settings_from_env, verify_signature
from pipeline.notifications.dispatch import send_digests
from pipeline.warehouse import db
from tests.notifications.receiver import Receiver

PARTITION = "2026-11-14"
SLACK_PATH = "/services/T0TEST/B0TEST/slacktokensecret42"
WEBHOOK_PATH = "/hooks/adsignal"
WEBHOOK_QUERY_SECRET = "querytokensecret77"
SIGNING_SECRET = "whsec-e2e-signing-secret"
SECRETS = ("slacktokensecret42", WEBHOOK_QUERY_SECRET, SIGNING_SECRET)


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    return database_factory("notifications")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def conn(url: str, receiver: Receiver) -> Iterator[psycopg.Connection]:
    receiver.clear()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "truncate app.alert_notification_state, app.notifications, app.rule_runs, app.rules, app.alerts"
            " restart identity cascade"
        )
        yield connection


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv("ADSIGNAL_SLACK_WEBHOOK_URL", receiver.url + SLACK_PATH)
    monkeypatch.setenv("ADSIGNAL_WEBHOOK_URL", f"{receiver.url}{WEBHOOK_PATH}?token={WEBHOOK_QUERY_SECRET}")
    monkeypatch.setenv("ADSIGNAL_WEBHOOK_SECRET", SIGNING_SECRET)
    monkeypatch.delenv("ADSIGNAL_NOTIFY_MIN_SEVERITY", raising=False)


def seed_alert(
    conn: psycopg.Connection, severity: str, *, status: str = "open", name: str = "Campaign"
) -> int:
    row = conn.execute(
        """
        insert into app.alerts (alert_type, severity, status, platform, account_id, entity_level, entity_id,
            entity_name, title, message, metric, current_value, baseline_value,
            suppressed_reason)
        values ('ROAS_DROP', %s, %s, 'meta', 'act_1', 'campaign', 'c-' || nextval('app.alerts_alert_id_seq'),
            %s, 'ROAS down on ' || %s, 'ROAS 1.1 vs 2.0 expected', 'roas', 1.1, 2.0,
            case when %s = 'suppressed' then 'data not healthy' end)
        returning alert_id
        """,
        (severity, status, name, name, status),
    ).fetchone()
    assert row is not None
    return int(row[0])


def seed_rule(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "insert into app.rules (name, definition) values ('Low ROAS', %s) returning rule_id",
        (Jsonb({"conditions": []}),),
    ).fetchone()
    assert row is not None
    return int(row[0])


def run(
    url: str,
    instance: dg.DagsterInstance,
    rule_id: int | None = None,
    actions: list[dict[str, Any]] | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the notifications asset, after a stand-in rules asset writes this run's rule run."""

    @dg.asset(key=["app", "rule_runs"], partitions_def=daily_partitions, backfill_policy=single_run_backfill)
    def rule_runs(context) -> None:  # type: ignore[no-untyped-def]  # (string hints confuse Dagster)
        if rule_id is None:
            return
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(
                "insert into app.rule_runs (rule_id, run_id, as_of, status, matched_count, actions)"
                " values (%s, %s, %s, 'succeeded', 2, %s)",
                (rule_id, context.run_id, PARTITION, Jsonb(actions or [])),
            )

    return dg.materialize(
        [rule_runs, notifications],
        partition_key=PARTITION,
        resources={"warehouse": WarehouseResource(url=url)},
        instance=instance,
        raise_on_error=False,
    )


def rule_actions() -> list[dict[str, Any]]:
    return [
        {
            "type": "notify_slack",
            "status": "queued",
            "message": "2 campaigns: spend 7d > 100, ROAS < 1",
            "target": None,
        },
        {
            "type": "notify_webhook",
            "status": "queued",
            "message": "2 campaigns under ROAS 1",
            "target": "ops",
            "platform": "meta",
            "account_id": "act_1",
            "campaign_id": "c9",
            "campaign_name": "Summer <sale>",
        },
        {"type": "apply_label", "status": "applied", "label": "low-roas"},
    ]


def channel_rows(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select channel, status, item_count, target, attempts, last_status_code, error"
        " from app.notifications order by notification_id"
    ).fetchall()


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (materialization,) = result.asset_materializations_for_node("app__notifications")
    return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}


def assert_no_secrets(conn: psycopg.Connection, instance: dg.DagsterInstance) -> None:
    stored = conn.execute(
        "select coalesce(string_agg(row_to_json(n)::text, ' '), '') from app.notifications n"
        " union all select coalesce(string_agg(actions::text, ' '), '') from app.rule_runs"
        " union all select coalesce(string_agg(row_to_json(s)::text, ' '), '') from app.alert_notification_state s"
    ).fetchall()
    events = " ".join(
        dg.serialize_value(entry)
        for run_record in instance.get_runs()
        for entry in instance.all_logs(run_record.run_id)
    )
    assert "HTTP" in events or "sent" in events  # the runs did log their outcomes
    for secret in SECRETS:
        assert all(secret not in text for (text,) in stored), secret
        assert secret not in events, secret


@pytest.mark.usefixtures("configured")
def test_one_digest_per_channel_then_only_changes(
    url: str, conn: psycopg.Connection, receiver: Receiver
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    ids = {
        severity: [seed_alert(conn, severity, name=f"{severity.title()} {i}") for i in range(count)]
        for severity, count in (("CRITICAL", 10), ("HIGH", 15), ("MEDIUM", 10), ("LOW", 5))
    }
    held = seed_alert(conn, "HIGH", status="suppressed")
    rule_id = seed_rule(conn)

    # Run 1: 35 alerts at MEDIUM or above and two rule notices -> one request per channel.
    first = run(url, instance, rule_id, rule_actions())
    assert first.success
    (slack,) = receiver.on("/services")
    (hook,) = receiver.on(WEBHOOK_PATH)
    body = hook.json()
    assert body["schema"] == "adsignal.digest" and body["schema_version"] == 1
    assert body["run_id"] == first.run_id and body["as_of"] == PARTITION
    assert body["counts"]["new"] == {"CRITICAL": 10, "HIGH": 15, "MEDIUM": 10}
    assert len(body["alerts"]) == 35 and held not in {a["alert_id"] for a in body["alerts"]}
    assert not {a["alert_id"] for a in body["alerts"]} & set(ids["LOW"])
    assert body["rule_notifications"] == [
        {
            "rule_id": rule_id,
            "rule_name": "Low ROAS",
            "rule_run_id": 1,
            "message": "2 campaigns under ROAS 1",
            "target": "ops",
            "entity": {
                "platform": "meta",
                "account_id": "act_1",
                "campaign_id": "c9",
                "campaign_name": "Summer <sale>",
            },
        }
    ]
    assert hook.headers["x-adsignal-delivery"] == body["delivery_id"]
    assert verify_signature(SIGNING_SECRET, hook.headers, hook.body)
    slack_body = slack.json()
    assert slack_body["text"].startswith("adsignal: 35 new alerts (10 CRITICAL, 15 HIGH, 10 MEDIUM)")
    assert "2 campaigns: spend 7d &gt; 100, ROAS &lt; 1" in str(slack_body["blocks"])
    assert "x-adsignal-signature" not in slack.headers
    assert channel_rows(conn) == [
        ("slack", "sent", 36, receiver.url, 1, 200, None),
        ("webhook", "sent", 36, receiver.url, 1, 200, None),
    ]
    (actions,) = conn.execute("select actions from app.rule_runs").fetchone()  # type: ignore[misc]
    assert [a["status"] for a in actions] == ["sent", "sent", "applied"]
    assert [a.get("notification_id") for a in actions] == [1, 2, None]
    assert metadata(first)["sent"] == 2

    # Run 2: nothing changed -> no request at all; the run says it skipped.
    receiver.clear()
    second = run(url, instance)
    assert second.success and receiver.requests == []
    assert [row[:3] for row in channel_rows(conn)[2:]] == [("slack", "skipped", 0), ("webhook", "skipped", 0)]

    # Changes: one escalation, one de-escalation, one re-detection at the same severity, a LOW rising to
    # the floor, a resolution of a sent alert and of a never-sent one, one brand-new alert.
    escalated, lowered, redetected = ids["MEDIUM"][0], ids["CRITICAL"][0], ids["HIGH"][0]
    conn.execute("update app.alerts set severity = 'CRITICAL' where alert_id = %s", (escalated,))
    conn.execute("update app.alerts set severity = 'HIGH' where alert_id = %s", (lowered,))
    conn.execute(
        "update app.alerts set last_detected_at = now(), detection_count = 2 where alert_id = %s",
        (redetected,),
    )
    conn.execute("update app.alerts set severity = 'MEDIUM' where alert_id = %s", (ids["LOW"][0],))
    resolved = ids["HIGH"][1]
    conn.execute(
        "update app.alerts set status = 'resolved', resolved_by = 'adsignal:auto', resolved_at = now()"
        " where alert_id = any(%s)",
        ([resolved, ids["LOW"][1]],),
    )
    brand_new = seed_alert(conn, "HIGH", name="New one")

    receiver.clear()
    assert run(url, instance).success
    (slack,) = receiver.on("/services")
    (hook,) = receiver.on(WEBHOOK_PATH)
    changes = {
        (a["alert_id"], a["change"], a["severity"], a["previous_severity"]) for a in hook.json()["alerts"]
    }
    assert changes == {
        (escalated, "escalated", "CRITICAL", "MEDIUM"),
        (ids["LOW"][0], "new", "MEDIUM", None),
        (brand_new, "new", "HIGH", None),
        (resolved, "resolved", "HIGH", None),
    }
    assert hook.json()["summary"] == (
        f"2 new alerts (1 HIGH, 1 MEDIUM); 1 escalated alert (1 CRITICAL); 1 resolved (data as of {PARTITION})"
    )
    assert ":white_check_mark: *Resolved* — 1" in str(slack.json()["blocks"]) and "_recovered_" in str(
        slack.json()
    )

    # Run 4: the same state again -> silence.
    receiver.clear()
    assert run(url, instance).success and receiver.requests == []
    assert_no_secrets(conn, instance)


@pytest.mark.usefixtures("configured")
def test_failed_channel_keeps_its_items_and_catches_up_alone(
    url: str, conn: psycopg.Connection, receiver: Receiver
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    alerts = [seed_alert(conn, "HIGH", name=f"c{i}") for i in range(3)]
    rule_id = seed_rule(conn)
    receiver.respond(400, "invalid_payload")  # Slack is asked first

    failed = run(url, instance, rule_id, rule_actions())
    assert not failed.success
    (failure,) = [e for e in failed.all_events if e.is_step_failure and e.step_key == "app__notifications"]
    description = str(failure.event_specific_data.error)  # type: ignore[union-attr]
    assert f"slack ({receiver.url}) delivery failed: HTTP 400: invalid_payload" in description
    assert len(receiver.on("/services")) == 1  # a 4xx is not retried
    assert channel_rows(conn) == [
        ("slack", "failed", 4, receiver.url, 1, 400, "HTTP 400: invalid_payload"),
        ("webhook", "sent", 4, receiver.url, 1, 200, None),
    ]
    (actions,) = conn.execute("select actions from app.rule_runs").fetchone()  # type: ignore[misc]
    assert [a["status"] for a in actions[:2]] == ["failed", "sent"]

    # Next run: Slack answers 500 once, then ok -> retried within the run; the webhook hears nothing new.
    receiver.clear()
    receiver.respond(500, "rollup_error")
    assert run(url, instance).success
    slack_requests = receiver.on("/services")
    assert len(slack_requests) == 2 and slack_requests[0].body == slack_requests[1].body
    assert receiver.on(WEBHOOK_PATH) == []
    assert slack_requests[1].json()["text"].startswith("adsignal: 3 new alerts (3 HIGH)")
    assert channel_rows(conn)[2:] == [
        ("slack", "sent", 3, receiver.url, 2, 200, None),
        ("webhook", "skipped", 0, receiver.url, 0, None, None),
    ]
    notified = conn.execute(
        "select channel, array_agg(alert_id order by alert_id) from app.alert_notification_state group by channel"
        " order by channel"
    ).fetchall()
    assert notified == [("slack", alerts), ("webhook", alerts)]
    assert_no_secrets(conn, instance)


def test_not_configured_succeeds_and_says_so(
    url: str, conn: psycopg.Connection, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ADSIGNAL_SLACK_WEBHOOK_URL", "ADSIGNAL_WEBHOOK_URL", "ADSIGNAL_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    seed_alert(conn, "CRITICAL")
    result = run(url, dg.DagsterInstance.ephemeral(), seed_rule(conn), rule_actions())
    assert result.success and receiver.requests == []
    meta = metadata(result)
    assert meta["configured"] is False and meta["note"].startswith("notifications are not configured")
    assert channel_rows(conn) == []
    (actions,) = conn.execute("select actions from app.rule_runs").fetchone()  # type: ignore[misc]
    assert [a["status"] for a in actions] == ["not_configured", "not_configured", "applied"]


@pytest.mark.usefixtures("configured")
def test_concurrent_runs_never_send_an_alert_twice(
    url: str, conn: psycopg.Connection, receiver: Receiver
) -> None:
    """The daily schedule starts one run per platform; their digests must not overlap."""
    alert_ids = [seed_alert(conn, "HIGH", name=f"c{i}") for i in range(20)]
    settings = settings_from_env()
    errors: list[BaseException] = []

    def send(run_id: str) -> None:
        try:
            send_digests(url, settings, tenant_id="default", run_id=run_id, as_of=None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(f"run-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    webhook_alerts = [a["alert_id"] for r in receiver.on(WEBHOOK_PATH) for a in r.json()["alerts"]]
    assert sorted(webhook_alerts) == alert_ids  # each exactly once
    assert len(receiver.on("/services")) == 1
    statuses = conn.execute(
        "select channel, status, count(*) from app.notifications group by 1, 2 order by 1, 2"
    ).fetchall()
    assert statuses == [
        ("slack", "sent", 1),
        ("slack", "skipped", 3),
        ("webhook", "sent", 1),
        ("webhook", "skipped", 3),
    ]


ACME_SLACK_PATH = "/services/T0ACME/B0ACME/acmeslacktoken99"


def test_each_tenant_gets_its_own_alerts_on_its_own_channel(
    database_factory: Callable[[str], str],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    configured: None,
) -> None:
    """acme stores its own Slack channel (CLI, URL on stdin); the default tenant keeps the environment's
    channels; beta has none. Every tenant's alert ids are the same campaigns: a digest that mixed
    tenants would show the other's alert."""
    tenants_url = database_factory("notifications_tenants")
    monkeypatch.setenv("DATABASE_URL", tenants_url)
    monkeypatch.setenv(secret_box.KEY_ENV, secret_box.new_key())
    for cached in (config.settings, db.database_url, secret_box.fernet):
        cached.cache_clear()
    receiver.clear()
    try:
        cli = CliRunner()
        for slug in ("acme", "beta"):
            assert cli.invoke(main, ["tenants", "add", slug, "--name", slug.title()]).exit_code == 0
        stored = cli.invoke(
            main,
            ["tenants", "notify", "acme", "--channel", "slack", "--min-severity", "high"],
            input=receiver.url + ACME_SLACK_PATH + "\n",
        )
        assert stored.exit_code == 0, stored.output
        assert "acmeslacktoken99" not in stored.output and receiver.url in stored.output
        shown = cli.invoke(main, ["tenants", "show", "acme"])
        assert f"notifications: slack ({receiver.url}), from HIGH" in shown.output, shown.output
        assert "acmeslacktoken99" not in shown.output
        refused = cli.invoke(main, ["tenants", "notify", "acme", "--channel", "slack"], input="not a url\n")
        assert refused.exit_code == 1 and "the slack URL must be an http(s) URL" in refused.output, (
            refused.output
        )

        with psycopg.connect(tenants_url, autocommit=True) as conn:
            alert_ids = {}
            for tenant, severity in (
                ("default", "HIGH"),
                ("acme", "CRITICAL"),
                ("acme", "MEDIUM"),
                ("beta", "HIGH"),
            ):
                alert_id = seed_alert(conn, severity, name=f"{tenant} {severity}")
                conn.execute("update app.alerts set tenant_id = %s where alert_id = %s", (tenant, alert_id))
                alert_ids[(tenant, severity)] = alert_id
            (encrypted,) = conn.execute("select secret_encrypted from app.notification_channels").fetchone()
            assert b"acmeslacktoken99" not in bytes(encrypted)

        instance = dg.DagsterInstance.ephemeral()
        result = run(tenants_url, instance)
        assert result.success
        (acme_slack,) = receiver.on("/services/T0ACME")
        assert acme_slack.json()["text"].startswith(
            "adsignal: 1 new alert (1 CRITICAL)"
        )  # MEDIUM: below HIGH
        assert "acme CRITICAL" in acme_slack.body.decode() and "default" not in acme_slack.body.decode()
        (default_slack,) = receiver.on(SLACK_PATH)
        (default_hook,) = receiver.on(WEBHOOK_PATH)
        assert [a["alert_id"] for a in default_hook.json()["alerts"]] == [alert_ids[("default", "HIGH")]]
        assert "acme" not in default_slack.body.decode() and "beta" not in default_slack.body.decode()
        assert len(receiver.requests) == 3  # beta has no channel: nothing of it went anywhere

        meta = metadata(result)
        assert meta["tenants"] == ["default", "acme", "beta"] and meta["sent"] == 3
        assert meta["by_tenant"]["beta"]["configured"] is False
        assert meta["by_tenant"]["acme"]["channels"]["slack"]["target"] == receiver.url
        with psycopg.connect(tenants_url, autocommit=True) as conn:
            rows = conn.execute(
                "select tenant_id, channel, status, item_count from app.notifications order by 1, 2"
            ).fetchall()
            assert rows == [
                ("acme", "slack", "sent", 1),
                ("default", "slack", "sent", 1),
                ("default", "webhook", "sent", 1),
            ]
            logged = conn.execute("select string_agg(row_to_json(n)::text, ' ') from app.notifications n")
            assert "acmeslacktoken99" not in logged.fetchone()[0]
        events = " ".join(
            dg.serialize_value(entry) for r in instance.get_runs() for entry in instance.all_logs(r.run_id)
        )
        assert "acmeslacktoken99" not in events

        removed = cli.invoke(main, ["tenants", "notify", "acme", "--channel", "slack", "--remove"])
        assert removed.exit_code == 0 and "removed" in removed.output
    finally:
        for cached in (config.settings, db.database_url, secret_box.fernet):
            cached.cache_clear()
