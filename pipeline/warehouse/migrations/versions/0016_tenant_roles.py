"""Tenants and people enforced by PostgreSQL: group roles, row-level security, decisions through functions.

Dagster OSS has no login and analysts query PostgreSQL directly, so the database is the boundary:

- Group roles per warehouse (``<prefix>_viewer`` < ``_analyst`` < ``_manager`` < ``_admin``, each a
  member of the one before) carry the privileges; a group role per tenant (``<prefix>_tenant_<slug>``)
  carries none and only says whose rows a member sees. ``<prefix>`` is the database name (shortened
  with a hash past 30 characters): roles are cluster-wide, warehouses are not.
- Every ``app`` table with a ``tenant_id`` has row-level security: a member of tenant A's role reads
  and writes only tenant A's rows. The pipeline's role (owner of the tables, or a superuser) is not
  subject to it and works for every tenant.
- Managers approve or reject actions and acknowledge or resolve alerts only through the functions
  below (``security definer``): they check the caller's role and tenant, apply the same state rules
  as the pipeline and write the audit row naming ``session_user``, the role that really connected.

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None

FUNCTIONS = r"""
create or replace function app.role_prefix() returns text language sql stable as $$
    select case when length(current_database()) <= 30 then current_database()
                else left(current_database(), 23) || '_' || left(md5(current_database()), 6) end
$$;

create or replace function app.role_name(kind text) returns text language sql stable as $$
    select app.role_prefix() || '_' || kind
$$;

create or replace function app.tenant_role(tenant text) returns text language sql stable as $$
    select app.role_prefix() || '_tenant_' || tenant
$$;

-- The pipeline: a superuser or a member of the role that owns schema app (it owns the tables).
create or replace function app.role_is_pipeline(who name) returns boolean
language sql stable set search_path = pg_catalog as $$
    select coalesce((select rolsuper from pg_roles where rolname = who), false)
        or pg_has_role(who, (select nspowner from pg_namespace where nspname = 'app'), 'MEMBER')
$$;

create or replace function app.role_in(who name, role_name text) returns boolean
language sql stable set search_path = pg_catalog as $$
    select exists (select 1 from pg_roles where rolname = role_name) and pg_has_role(who, role_name, 'MEMBER')
$$;

-- The tenants whose rows a role may see (every tenant for the pipeline).
create or replace function app.tenants_of(who name) returns setof text
language plpgsql stable set search_path = pg_catalog as $$
declare
    prefix text := app.role_prefix() || '_tenant_';
begin
    if app.role_is_pipeline(who) then
        return query select tenant_id from app.tenants;
    else
        return query
            select substr(r.rolname, length(prefix) + 1)::text from pg_roles r
            where left(r.rolname, length(prefix)) = prefix and pg_has_role(who, r.oid, 'MEMBER');
    end if;
end
$$;

create or replace function app.visible_tenants() returns setof text language sql stable as $$
    select app.tenants_of(current_user)
$$;

-- The (platform, account_id) pairs of the connecting role's tenants: what the marts' row policies key
-- on until every mart row carries its tenant. A definer function, so a viewer's analyst view can use
-- it without reading the marts; it answers for session_user, the role that connected.
create or replace function app.visible_accounts() returns table (platform text, account_id text)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
    -- plpgsql: marts.dim_ad_accounts is built by dbt after the migrations.
    return query select a.platform::text, a.account_id::text from marts.dim_ad_accounts a
                 where a.tenant_id in (select app.tenants_of(session_user));
end
$$;

create or replace function app.protect_tenant_table(target regclass) returns void
language plpgsql as $$
begin
    execute format('alter table %s enable row level security', target);
    execute format('drop policy if exists tenant_rows on %s', target);
    execute format(
        'create policy tenant_rows on %s using (tenant_id in (select app.visible_tenants()))'
        ' with check (tenant_id in (select app.visible_tenants()))', target);
end
$$;

-- A mart (dbt post-hook): row policy by tenant (or by the tenant's accounts), readable by analysts.
-- Reference data without accounts (FX rates) is shared by every tenant.
create or replace function app.protect_mart(target regclass) returns void
language plpgsql as $$
declare
    has_tenant boolean;
    has_account boolean;
begin
    select bool_or(attname = 'tenant_id'),
           bool_or(attname = 'account_id') and bool_or(attname = 'platform')
      into has_tenant, has_account
      from pg_attribute where attrelid = target and attnum > 0 and not attisdropped;
    if has_tenant then
        perform app.protect_tenant_table(target);
    elsif has_account then
        execute format('alter table %s enable row level security', target);
        execute format('drop policy if exists tenant_rows on %s', target);
        execute format(
            'create policy tenant_rows on %s using ((platform, account_id) in'
            ' (select platform, account_id from app.visible_accounts()))', target);
    end if;
    execute format('grant select on %s to %I', target, app.role_name('analyst'));
end
$$;

-- An analyst view (dbt post-hook): a security barrier (no leaky function sees filtered rows), readable
-- by viewers. The view filters by app.visible_tenants() itself: views run with their owner's rights.
create or replace function app.protect_view(target regclass) returns void
language plpgsql as $$
begin
    execute format('alter view %s set (security_barrier = true)', target);
    execute format('grant select on %s to %I', target, app.role_name('viewer'));
end
$$;

-- May the role that connected act on this tenant's rows as this kind (manager, admin)?
create or replace function app.caller_may(tenant text, kind text) returns boolean
language sql stable security definer set search_path = pg_catalog as $$
    select app.role_is_pipeline(session_user)
        or (app.role_in(session_user, app.role_name(kind)) and app.role_in(session_user, app.tenant_role(tenant)))
$$;

create or replace function app.acting_as(requested text) returns text
language sql stable security definer set search_path = pg_catalog as $$
    -- The pipeline's role acts for whoever the CLI names (--by); anyone else is who connected.
    select case when app.role_is_pipeline(session_user) and nullif(btrim(requested), '') is not null
                then requested else session_user::text end
$$;

create or replace function app.decide_action(
    p_action_id bigint, p_decision text, p_note text default null, p_actor text default null
) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    action record;
    actor text := app.acting_as(p_actor);
    allowed text[];
    new_status text;
    rec_status text;
    rec_id bigint;
    hint text := '';
begin
    if p_decision not in ('approve', 'reject') then
        raise exception 'decision is approve or reject, not %', p_decision using errcode = '22023';
    end if;
    allowed := case when p_decision = 'approve' then array['proposed']
                    else array['proposed', 'blocked', 'approved', 'failed'] end;
    new_status := case when p_decision = 'approve' then 'approved' else 'rejected' end;
    if not app.role_is_pipeline(session_user) and not app.role_in(session_user, app.role_name('manager')) then
        raise exception 'permission denied: approving or rejecting actions needs the manager role'
            using errcode = '42501';
    end if;
    select * into action from app.actions_queue where action_id = p_action_id for update;
    -- Another tenant's action is reported like a missing one: its existence is not theirs to learn.
    if not found or not app.caller_may(action.tenant_id, 'manager') then
        raise exception 'action % does not exist', p_action_id using errcode = 'AS404';
    end if;
    if not action.status = any(allowed) then
        if action.status = 'blocked' then
            hint := format(' (guardrails: %s)', action.last_error);
        end if;
        raise exception 'action % is %; only % actions can be %', p_action_id, action.status || hint,
            array_to_string(allowed, ' or '), new_status using errcode = 'AS409';
    end if;
    update app.actions_queue set status = new_status, decided_by = actor, decided_at = now(),
           decision_note = p_note, updated_at = now()
     where action_id = p_action_id;
    insert into app.audit_logs (tenant_id, actor, event, object_type, object_id, details)
    values (action.tenant_id, actor, 'action.' || new_status, 'action', p_action_id::text,
            jsonb_build_object('previous_status', action.status, 'note', p_note));
    -- The recommendation it came from follows (accepted / rejected), forward only.
    rec_status := case when p_decision = 'approve' then 'accepted' else 'rejected' end;
    if action.source = 'recommendation' and action.source_ref ~ '^recommendation:[0-9]+$' then
        rec_id := split_part(action.source_ref, ':', 2)::bigint;
        update app.ai_recommendations set status = rec_status, status_changed_by = actor,
               status_changed_at = now()
         where recommendation_id = rec_id
           and status = any(case when rec_status = 'accepted' then array['pending']
                                 else array['pending', 'accepted'] end);
        if found then
            insert into app.audit_logs (tenant_id, actor, event, object_type, object_id, details)
            values (action.tenant_id, actor, 'recommendation.' || rec_status, 'recommendation', rec_id::text,
                    jsonb_build_object('action_id', p_action_id));
        end if;
    end if;
    return new_status;
end
$$;

create or replace function app.change_alert(
    p_alert_id bigint, p_change text, p_note text default null, p_actor text default null,
    p_tenant text default null
) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    alert record;
    actor text := app.acting_as(p_actor);
    new_status text;
begin
    if p_change not in ('acknowledge', 'resolve') then
        raise exception 'change is acknowledge or resolve, not %', p_change using errcode = '22023';
    end if;
    if not app.role_is_pipeline(session_user) and not app.role_in(session_user, app.role_name('manager')) then
        raise exception 'permission denied: acknowledging or resolving alerts needs the manager role'
            using errcode = '42501';
    end if;
    select * into alert from app.alerts
     where alert_id = p_alert_id and (p_tenant is null or tenant_id = p_tenant) for update;
    if not found or not app.caller_may(alert.tenant_id, 'manager') then
        raise exception 'no alert with id %', p_alert_id using errcode = 'AS404';
    end if;
    if p_change = 'acknowledge' then
        if alert.status = 'acknowledged' then
            raise exception 'alert % is already acknowledged (by % at %)', p_alert_id, alert.acknowledged_by,
                to_char(alert.acknowledged_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') using errcode = 'AS409';
        elsif alert.status = 'resolved' then
            raise exception 'alert % is resolved (by % at %); only live alerts can be acknowledged', p_alert_id,
                alert.resolved_by, to_char(alert.resolved_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
                using errcode = 'AS409';
        end if;
        update app.alerts
           set status = case when suppressed_reason is not null and status = 'suppressed' then 'suppressed'
                             else 'acknowledged' end,
               acknowledged_by = actor, acknowledged_at = now(), acknowledged_note = p_note
         where alert_id = p_alert_id returning status into new_status;
        insert into app.audit_logs (tenant_id, actor, event, object_type, object_id, details)
        values (alert.tenant_id, actor, 'alert.acknowledged', 'alert', p_alert_id::text,
                jsonb_build_object('note', p_note, 'previous_status', alert.status));
    else
        if alert.status = 'resolved' then
            raise exception 'alert % is already resolved (by % at %)', p_alert_id, alert.resolved_by,
                to_char(alert.resolved_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') using errcode = 'AS409';
        end if;
        update app.alerts set status = 'resolved', resolved_by = actor, resolved_at = now(),
               resolution = jsonb_build_object('reason', 'resolved by hand', 'note', p_note,
                                               'previous_status', alert.status)
         where alert_id = p_alert_id;
        new_status := 'resolved';
        insert into app.audit_logs (tenant_id, actor, event, object_type, object_id, details)
        values (alert.tenant_id, actor, 'alert.resolved', 'alert', p_alert_id::text,
                jsonb_build_object('note', p_note, 'previous_status', alert.status));
    end if;
    return new_status;
end
$$;
"""

# Roles, grants and policies in one function: the migration calls it, and so does a restore into
# another server or database (``adsignal db restore`` restores without the dump's grants, whose role
# names belong to the database it came from).
APPLY_ACCESS = r"""
create or replace function app.apply_access() returns void
language plpgsql as $$
declare
    kind text;
    previous text := null;
    tbl regclass;
begin
    foreach kind in array array['viewer', 'analyst', 'manager', 'admin'] loop
        if not exists (select 1 from pg_roles where rolname = app.role_name(kind)) then
            execute format('create role %I nologin', app.role_name(kind));
        end if;
        if previous is not null then
            execute format('grant %I to %I', app.role_name(previous), app.role_name(kind));
        end if;
        previous := kind;
    end loop;
    for kind in select tenant_id from app.tenants loop
        if not exists (select 1 from pg_roles where rolname = app.tenant_role(kind)) then
            execute format('create role %I nologin', app.tenant_role(kind));
        end if;
    end loop;

    -- Schemas: viewers reach the analyst views (and the tenant functions they call); analysts the marts.
    execute 'create schema if not exists analyst';
    execute 'create schema if not exists marts';
    execute format('grant usage on schema app, analyst to %I', app.role_name('viewer'));
    execute format('grant usage on schema marts to %I', app.role_name('analyst'));
    execute format('grant select on app.tenants to %I', app.role_name('viewer'));

    -- Managers read the queue, alerts and recommendations they decide on; admins manage rules and
    -- connections. Nobody but the pipeline writes the rest.
    execute format('grant select on app.actions_queue, app.ai_actions_log, app.alerts, app.ai_recommendations,'
                   ' app.budget_experiments, app.audit_logs to %I', app.role_name('manager'));
    execute format('grant select, insert, update, delete on app.rules, app.campaign_labels,'
                   ' app.platform_connections to %I', app.role_name('admin'));
    execute format('grant usage on all sequences in schema app to %I', app.role_name('admin'));
    execute format('grant select on app.rule_runs to %I', app.role_name('admin'));

    -- The functions that change security are the pipeline's alone (they would fail for anyone else,
    -- but nobody else needs to call them).
    execute 'revoke execute on function app.apply_access(), app.protect_tenant_table(regclass),'
            ' app.protect_mart(regclass), app.protect_view(regclass) from public';
    -- The deciding functions: managers (and the pipeline) only.
    execute 'revoke execute on function app.decide_action(bigint, text, text, text) from public';
    execute 'revoke execute on function app.change_alert(bigint, text, text, text, text) from public';
    execute format('grant execute on function app.decide_action(bigint, text, text, text) to %I',
                   app.role_name('manager'));
    execute format('grant execute on function app.change_alert(bigint, text, text, text, text) to %I',
                   app.role_name('manager'));

    for tbl in select format('%I.%I', c.table_schema, c.table_name)::regclass
               from information_schema.columns c
               join information_schema.tables t using (table_schema, table_name)
               where c.table_schema = 'app' and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE'
    loop
        perform app.protect_tenant_table(tbl);
    end loop;
    -- What dbt built already (its post-hooks do this on every build).
    for tbl in select format('%I.%I', schemaname, tablename)::regclass from pg_tables where schemaname = 'marts'
    loop
        perform app.protect_mart(tbl);
    end loop;
    for tbl in select format('%I.%I', schemaname, viewname)::regclass from pg_views where schemaname = 'analyst'
    loop
        perform app.protect_view(tbl);
    end loop;
end
$$;
"""


def upgrade() -> None:
    op.execute("""
        alter table app.tenants
            add column settings            jsonb not null default '{}'::jsonb,
            add column reporting_currency  text,
            add column status              text not null default 'active'
                                           check (status in ('active', 'disabled')),
            add column disabled_at         timestamptz""")
    op.execute(FUNCTIONS)
    op.execute(APPLY_ACCESS)
    op.execute("select app.apply_access()")


def downgrade() -> None:
    op.execute("""
        do $$
        declare
            tbl regclass;
        begin
            for tbl in select format('%I.%I', schemaname, tablename)::regclass from pg_tables
                       where schemaname = 'app' and rowsecurity
            loop
                execute format('drop policy if exists tenant_rows on %s', tbl);
                execute format('alter table %s disable row level security', tbl);
            end loop;
        end
        $$""")
    for name in (
        "apply_access()",
        "change_alert(bigint, text, text, text, text)",
        "decide_action(bigint, text, text, text)",
        "acting_as(text)",
        "caller_may(text, text)",
        "protect_view(regclass)",
        "protect_mart(regclass)",
        "protect_tenant_table(regclass)",
        "visible_accounts()",
        "visible_tenants()",
        "tenants_of(name)",
        "role_in(name, text)",
        "role_is_pipeline(name)",
        "tenant_role(text)",
        "role_name(text)",
        "role_prefix()",
    ):
        op.execute(f"drop function if exists app.{name}")
    op.execute("""
        alter table app.tenants drop column settings, drop column reporting_currency,
            drop column status, drop column disabled_at""")
