"""Tenants enforced by PostgreSQL: real login roles connect and try to read or change what is not theirs.

Two tenants share one warehouse; each has people as roles (viewer, analyst, manager). The marts are
built by dbt (its post-hooks put the row policies on), the app tables by the migrations; the rows of
both tenants are written by the pipeline's role, and every assertion connects as a person.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from pipeline.cli import main
from pipeline.warehouse import access_store
from pipeline.warehouse.db import libpq_params, to_url
from pipeline.warehouse.partitions import ensure_month_partitions
from tests.dbt_cli import dbt_ok

PEOPLE = {
    "vic": ("acme", "viewer"),
    "ana": ("acme", "analyst"),
    "mia": ("acme", "manager"),
    "gus": ("globex", "manager"),
    "gia": ("globex", "analyst"),
}
DAY = "2026-03-02"


def role_url(url: str, role: str) -> str:
    return to_url({**libpq_params(url), "user": role})


@pytest.fixture(scope="module")
def tenants_db(
    database_factory: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    url = database_factory("tenants")
    # The marts and analyst views as dbt builds them (empty raw tables), post-hooks included.
    dbt_ok(
        url,
        tmp_path_factory.mktemp("dbt"),
        "build",
        "--exclude-resource-type",
        "test",
        "--select",
        "+dim_ad_accounts +fct_campaign_performance_daily +campaign_performance_last_7_days"
        " +active_alerts_by_severity",
    )
    with psycopg.connect(url, autocommit=True) as conn:
        prefix = conn.execute("select app.role_prefix()").fetchone()[0]
        # Leftovers of an interrupted earlier run on a shared server.
        for name in PEOPLE:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))
        for slug, name in (("acme", "Acme"), ("globex", "Globex")):
            access_store.add_tenant(conn, slug, name, actor="test")
        for name, (tenant, role) in PEOPLE.items():
            access_store.add_user(
                conn, name, tenant_id=tenant, capability=role, password="pw-" + name, actor="test"
            )
        _write_rows(conn)
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        roles = [
            r
            for (r,) in conn.execute(
                "select rolname from pg_roles where rolname = any(%s) or left(rolname, length(%s) + 1) = %s || '_'",
                (list(PEOPLE), prefix, prefix),
            )
        ]
        for role in roles:
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
        for role in sorted(roles, key=lambda r: r in PEOPLE, reverse=True):
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def _write_rows(conn: psycopg.Connection) -> None:
    """The same campaign and entity ids in both tenants, in distinct ad accounts."""
    # The fact is partitioned by month (dbt creates the months of the rows it builds; here, none).
    day = date.fromisoformat(DAY)
    ensure_month_partitions(conn, "marts", "fct_campaign_performance_daily", day, day)
    for tenant, account in (("acme", "act_1"), ("globex", "act_2")):
        conn.execute(
            "insert into marts.dim_ad_accounts (tenant_id, platform, account_id, account_name)"
            " values (%s, 'meta', %s, %s)",
            (tenant, account, f"{tenant} account"),
        )
        conn.execute(
            """insert into marts.fct_campaign_performance_daily
                   (tenant_id, date_day, platform, account_id, campaign_id, campaign_name, currency, spend,
                    impressions, clicks, conversions, conversion_value)
               values (%s, %s, 'meta', %s, 'c1', 'Spring sale', 'EUR', 100, 1000, 10, 1, 50)""",
            (tenant, DAY, account),
        )
        conn.execute(
            """insert into app.alerts (tenant_id, alert_type, severity, status, platform, account_id, entity_level,
                   entity_id, title, message, metric, window_start, window_end, detected_by)
               values (%s, 'ROAS_DROP', 'HIGH', 'open', 'meta', %s, 'campaign', 'c1', %s, 'm', 'roas', %s, %s,
                       'detector:daily')""",
            (tenant, account, f"{tenant}: ROAS fell", DAY, DAY),
        )
        conn.execute(
            """insert into app.actions_queue (tenant_id, status, action_type, source, source_ref, platform,
                   account_id, campaign_id, params, reason, idempotency_key)
               values (%s, 'proposed', 'PAUSE', 'rule', 'rule:1', 'meta', %s, 'c1', '{}'::jsonb,
                       'test', %s)""",
            (tenant, account, f"{tenant}-pause-c1"),
        )


def _ids(url: str, table: str, tenant: str) -> int:
    with psycopg.connect(url) as conn:
        column = "alert_id" if table == "app.alerts" else "action_id"
        return conn.execute(f"select {column} from {table} where tenant_id = %s", (tenant,)).fetchone()[0]


def _as(url: str, role: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(role_url(url, role), autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def test_an_analyst_reads_only_their_tenants_marts(tenants_db: str) -> None:
    rows = _as(tenants_db, "ana", "select account_id from marts.fct_campaign_performance_daily")
    assert rows == [("act_1",)]
    assert _as(tenants_db, "ana", "select tenant_id from marts.dim_ad_accounts") == [("acme",)]
    assert _as(tenants_db, "gia", "select account_id from marts.fct_campaign_performance_daily") == [
        ("act_2",)
    ]
    # Whatever the query: a filter that names the other tenant's account finds nothing.
    other = "select count(*) from marts.fct_campaign_performance_daily where account_id = 'act_2' or true"
    assert _as(tenants_db, "ana", other) == [(1,)]


def test_a_viewer_reads_the_analyst_views_only(tenants_db: str) -> None:
    views = _as(tenants_db, "vic", "select tenant_id, title from analyst.active_alerts_by_severity")
    assert views == [("acme", "acme: ROAS fell")]
    week = _as(
        tenants_db, "vic", "select tenant_id, account_id from analyst.campaign_performance_last_7_days"
    )
    assert week == [("acme", "act_1")]
    for table in ("marts.fct_campaign_performance_daily", "app.alerts", "raw.sync_runs"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as(tenants_db, "vic", f"select 1 from {table} limit 1")


def test_the_analyst_views_are_security_barriers(tenants_db: str) -> None:
    with psycopg.connect(tenants_db) as conn:
        options = conn.execute(
            "select c.relname, c.reloptions from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'analyst' and c.relkind = 'v'"
        ).fetchall()
    assert options and all("security_barrier=true" in (opts or []) for _, opts in options), options


def test_people_cannot_write_or_become_someone_else(tenants_db: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(tenants_db, "ana", "update marts.fct_campaign_performance_daily set spend = 0")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(tenants_db, "mia", "update app.actions_queue set status = 'approved'")
    with psycopg.connect(tenants_db) as conn:
        globex_role = conn.execute("select app.tenant_role('globex')").fetchone()[0]
        admin_role = conn.execute("select app.role_name('admin')").fetchone()[0]
    for target in (globex_role, admin_role, "postgres"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as(tenants_db, "ana", sql.SQL("set role {}").format(sql.Identifier(target)).as_string())
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(
            tenants_db,
            "ana",
            "select app.decide_action(%s, 'approve')",
            (_ids(tenants_db, "app.actions_queue", "acme"),),
        )


def test_a_manager_approves_their_tenants_action_and_the_audit_names_them(tenants_db: str) -> None:
    acme_action = _ids(tenants_db, "app.actions_queue", "acme")
    globex_action = _ids(tenants_db, "app.actions_queue", "globex")
    # Naming someone else as the actor does not work for a person: the audit names who connected.
    assert _as(tenants_db, "mia", "select app.decide_action(%s, 'approve', 'go', 'ceo')", (acme_action,)) == [
        ("approved",)
    ]
    with pytest.raises(psycopg.Error, match="does not exist") as failure:
        _as(tenants_db, "mia", "select app.decide_action(%s, 'reject')", (globex_action,))
    assert failure.value.sqlstate == "AS404"
    with psycopg.connect(tenants_db) as conn:
        decided = conn.execute(
            "select status, decided_by from app.actions_queue where action_id = any(%s) order by tenant_id",
            ([acme_action, globex_action],),
        ).fetchall()
        audit = conn.execute(
            "select actor, event from app.audit_logs where object_type = 'action' and object_id = %s",
            (str(acme_action),),
        ).fetchall()
    assert decided == [("approved", "mia"), ("proposed", None)]
    assert audit == [("mia", "action.approved")]


def test_a_manager_acknowledges_only_their_tenants_alerts(tenants_db: str) -> None:
    acme_alert = _ids(tenants_db, "app.alerts", "acme")
    globex_alert = _ids(tenants_db, "app.alerts", "globex")
    assert _as(tenants_db, "gus", "select app.change_alert(%s, 'acknowledge')", (globex_alert,)) == [
        ("acknowledged",)
    ]
    with pytest.raises(psycopg.Error, match="no alert"):
        _as(tenants_db, "gus", "select app.change_alert(%s, 'acknowledge')", (acme_alert,))
    assert _as(tenants_db, "gus", "select acknowledged_by from app.alerts") == [("gus",)]


def test_the_cli_works_as_the_connecting_role(tenants_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(tenants_db, autocommit=True) as conn:
        action_id = conn.execute(
            """insert into app.actions_queue (tenant_id, status, action_type, source, source_ref, platform,
                   account_id, campaign_id, params, reason, idempotency_key)
               values ('acme', 'proposed', 'PAUSE', 'rule', 'rule:1', 'meta', 'act_1', 'c9', '{}'::jsonb,
                       'test', 'acme-pause-c9') returning action_id"""
        ).fetchone()[0]
    runner = CliRunner()
    denied = runner.invoke(
        main, ["actions", "approve", str(action_id)], env={"DATABASE_URL": role_url(tenants_db, "ana")}
    )
    assert denied.exit_code != 0
    assert "permission denied" in denied.output.lower()
    approved = runner.invoke(
        main, ["actions", "approve", str(action_id)], env={"DATABASE_URL": role_url(tenants_db, "mia")}
    )
    assert approved.exit_code == 0, approved.output
    assert "approved by mia" in approved.output
    with psycopg.connect(tenants_db) as conn:
        assert conn.execute(
            "select status, decided_by from app.actions_queue where action_id = %s", (action_id,)
        ).fetchone() == (
            "approved",
            "mia",
        )


def test_users_and_tenants_from_the_cli(tenants_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": tenants_db}
    listed = runner.invoke(main, ["users", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "mia" in listed.output and "manager" in listed.output
    bad = runner.invoke(main, ["users", "add", "zed", "--tenant", "nowhere", "--role", "viewer"], env=env)
    assert bad.exit_code != 0 and "no tenant 'nowhere'" in bad.output
    moved = runner.invoke(main, ["users", "set-role", "vic", "analyst"], env=env)
    assert moved.exit_code == 0, moved.output
    assert _as(tenants_db, "vic", "select account_id from marts.fct_campaign_performance_daily") == [
        ("act_1",)
    ]
    shown = runner.invoke(main, ["tenants", "show", "acme"], env=env)
    assert shown.exit_code == 0 and "user vic: analyst" in shown.output
    settings = runner.invoke(
        main,
        ["tenants", "add", "initech", "--name", "Initech", "--settings", json.dumps({"tz": "UTC"})],
        env=env,
    )
    assert settings.exit_code == 0, settings.output


def test_every_tenant_table_has_row_level_security(tenants_db: str) -> None:
    with psycopg.connect(tenants_db) as conn:
        unprotected = conn.execute(
            """select c.table_schema || '.' || c.table_name from information_schema.columns c
               join pg_class k on k.oid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass
               where c.table_schema in ('app', 'marts') and c.column_name in ('tenant_id', 'account_id')
                 and k.relkind in ('r', 'p') and not k.relrowsecurity
               order by 1"""
        ).fetchall()
    assert unprotected == []


def test_a_backup_restores_into_an_empty_server(tenants_db: str, tmp_path: Path) -> None:
    """`db backup` then `db restore` on a second, empty PostgreSQL server: the same marts and app rows,
    row-level security and this warehouse's roles in place."""
    import pgserver

    dump = tmp_path / "warehouse.dump"
    runner = CliRunner()
    backed_up = runner.invoke(main, ["db", "backup", "--out", str(dump)], env={"DATABASE_URL": tenants_db})
    assert backed_up.exit_code == 0, backed_up.output
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="delete")
    try:
        target = to_url({**libpq_params(server.get_uri()), "dbname": "restored"})
        restored = runner.invoke(
            main,
            ["db", "restore", str(dump), "--database", "restored"],
            env={"DATABASE_URL": server.get_uri()},
        )
        assert restored.exit_code == 0, restored.output
        again = runner.invoke(main, ["db", "restore", str(dump)], env={"DATABASE_URL": target})
        assert again.exit_code != 0 and "empty database" in again.output

        def content(url: str) -> dict[str, list[tuple]]:
            with psycopg.connect(url) as conn:
                return {
                    table: conn.execute(f"select * from {table} order by 1, 2, 3").fetchall()
                    for table in (
                        "marts.fct_campaign_performance_daily",
                        "marts.dim_ad_accounts",
                        "app.tenants",
                        "app.actions_queue",
                    )
                }

        assert content(target) == content(tenants_db)
        with psycopg.connect(target) as conn:
            assert conn.execute(
                "select relrowsecurity from pg_class where oid = 'marts.fct_campaign_performance_daily'::regclass"
            ).fetchone() == (True,)
            assert conn.execute(
                "select count(*) from pg_roles where rolname = app.role_name('analyst')"
            ).fetchone() == (1,)
    finally:
        server.cleanup()
