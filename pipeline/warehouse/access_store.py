"""Tenants and the people who read and act on their data, as PostgreSQL roles (migration 0016).

A person is a login role that is a member of one capability role (viewer < analyst < manager < admin)
and of one or more tenant roles; row-level security and the deciding functions do the rest. Role names
come from the warehouse (``app.role_name``, ``app.tenant_role``), so two warehouses on one server never
share a group role.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pipeline.jsonable import jsonable
from pipeline.warehouse.audit import audit

CAPABILITIES = ("viewer", "analyst", "manager", "admin")
# Short enough that "<prefix>_tenant_<slug>" stays within PostgreSQL's 63-character names.
TENANT_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")


class AccessError(ValueError):
    """A tenant or user request that cannot be carried out (the message says why)."""


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    status: str
    reporting_currency: str | None
    settings: dict[str, Any]


@dataclass(frozen=True)
class User:
    name: str
    capability: str | None
    tenants: tuple[str, ...]
    can_login: bool


def _role(conn: psycopg.Connection, kind: str) -> str:
    return conn.execute("select app.role_name(%s)", (kind,)).fetchone()[0]


def _tenant_role(conn: psycopg.Connection, tenant_id: str) -> str:
    return conn.execute("select app.tenant_role(%s)", (tenant_id,)).fetchone()[0]


def _role_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone() is not None


# --- tenants --------------------------------------------------------------------------------------


def add_tenant(
    conn: psycopg.Connection,
    tenant_id: str,
    name: str,
    *,
    reporting_currency: str | None = None,
    settings: dict[str, Any] | None = None,
    actor: str,
) -> Tenant:
    if not TENANT_SLUG.match(tenant_id):
        raise AccessError(
            f"tenant slug {tenant_id!r}: lowercase letters, digits and _, starting with a letter, at most 24"
        )
    if reporting_currency is not None and not re.fullmatch(r"[A-Z]{3}", reporting_currency):
        raise AccessError(f"reporting currency {reporting_currency!r} is not an ISO 4217 code like EUR")
    with conn.transaction():
        row = conn.execute(
            """insert into app.tenants (tenant_id, name, reporting_currency, settings)
               values (%s, %s, %s, %s) on conflict (tenant_id) do nothing returning tenant_id""",
            (tenant_id, name, reporting_currency, Jsonb(jsonable(settings or {}))),
        ).fetchone()
        if row is None:
            raise AccessError(f"tenant {tenant_id!r} exists already")
        ensure_tenant_role(conn, tenant_id)
        audit(conn, tenant_id=tenant_id, actor=actor, event="tenant.added", object_type="tenant",
              object_id=tenant_id, details={"name": name})  # fmt: skip
    tenant = get_tenant(conn, tenant_id)
    assert tenant is not None
    return tenant


def ensure_tenant_role(conn: psycopg.Connection, tenant_id: str) -> str:
    role = _tenant_role(conn, tenant_id)
    if not _role_exists(conn, role):
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
    return role


def list_tenants(conn: psycopg.Connection) -> list[Tenant]:
    rows = conn.execute(
        "select tenant_id, name, status, reporting_currency, settings from app.tenants order by tenant_id"
    ).fetchall()
    return [Tenant(*row) for row in rows]


def get_tenant(conn: psycopg.Connection, tenant_id: str) -> Tenant | None:
    row = conn.execute(
        "select tenant_id, name, status, reporting_currency, settings from app.tenants where tenant_id = %s",
        (tenant_id,),
    ).fetchone()
    return Tenant(*row) if row else None


def reporting_currency_of(conn: psycopg.Connection, tenant_id: str, default: str) -> str:
    """The currency ``tenant_id`` reports in (``tenants add --currency``), else ``default``."""
    tenant = get_tenant(conn, tenant_id)
    return (tenant.reporting_currency if tenant else None) or default


def set_tenant_status(conn: psycopg.Connection, tenant_id: str, status: str, *, actor: str) -> None:
    """Disable (or enable) a tenant: its rows stay, its schedules and decisions skip it."""
    with conn.transaction():
        updated = conn.execute(
            "update app.tenants set status = %s,"
            " disabled_at = case when %s = 'disabled' then now() end where tenant_id = %s",
            (status, status, tenant_id),
        ).rowcount
        if not updated:
            raise AccessError(f"no tenant {tenant_id!r}")
        audit(conn, tenant_id=tenant_id, actor=actor, event=f"tenant.{status}", object_type="tenant",
              object_id=tenant_id)  # fmt: skip


# --- people ---------------------------------------------------------------------------------------


def add_user(
    conn: psycopg.Connection,
    name: str,
    *,
    tenant_id: str,
    capability: str,
    password: str | None,
    actor: str,
) -> str | None:
    """Create a login role for a person; returns the generated password when none was given."""
    if not USER_NAME.match(name):
        raise AccessError(f"user name {name!r}: lowercase letters, digits, _ . -, at most 63")
    if capability not in CAPABILITIES:
        raise AccessError(f"role {capability!r}: one of {', '.join(CAPABILITIES)}")
    if get_tenant(conn, tenant_id) is None:
        raise AccessError(f"no tenant {tenant_id!r} (adsignal tenants add)")
    generated = None if password else secrets.token_urlsafe(24)
    with conn.transaction():
        if _role_exists(conn, name):
            raise AccessError(f"a database role named {name!r} exists already")
        conn.execute(
            sql.SQL("create role {} login password {}").format(
                sql.Identifier(name), sql.Literal(password or generated)
            )
        )
        for group in (_role(conn, capability), ensure_tenant_role(conn, tenant_id)):
            conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), sql.Identifier(name)))
        # Their own database and nothing else: CONNECT on the warehouse (PUBLIC may have been revoked).
        conn.execute(
            sql.SQL("grant connect on database {} to {}").format(
                sql.Identifier(conn.info.dbname), sql.Identifier(name)
            )
        )
        audit(conn, tenant_id=tenant_id, actor=actor, event="user.added", object_type="user", object_id=name,
              details={"role": capability})  # fmt: skip
    return generated


def _is_our_user(conn: psycopg.Connection, name: str) -> bool:
    groups = [_role(conn, kind) for kind in CAPABILITIES]
    return (
        conn.execute(
            """select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid
               join pg_roles u on u.oid = m.member where u.rolname = %s and g.rolname = any(%s)""",
            (name, groups),
        ).fetchone()
        is not None
    )


def list_users(conn: psycopg.Connection) -> list[User]:
    prefix = conn.execute("select app.role_prefix()").fetchone()[0]
    rows = conn.execute(
        """select u.rolname, u.rolcanlogin, array_agg(g.rolname order by g.rolname)
           from pg_roles u join pg_auth_members m on m.member = u.oid join pg_roles g on g.oid = m.roleid
           where left(g.rolname, length(%s) + 1) = %s || '_'
           group by u.rolname, u.rolcanlogin order by u.rolname""",
        (prefix, prefix),
    ).fetchall()
    users = []
    for name, can_login, groups in rows:
        if not can_login:
            continue  # a group role (analyst is a member of viewer, ...)
        kinds = [g[len(prefix) + 1 :] for g in groups]
        capability = next((k for k in reversed(CAPABILITIES) if k in kinds), None)
        tenants = tuple(k[len("tenant_") :] for k in kinds if k.startswith("tenant_"))
        users.append(User(name, capability, tenants, can_login))
    return users


def set_user_capability(conn: psycopg.Connection, name: str, capability: str, *, actor: str) -> None:
    if capability not in CAPABILITIES:
        raise AccessError(f"role {capability!r}: one of {', '.join(CAPABILITIES)}")
    with conn.transaction():
        if not _is_our_user(conn, name):
            raise AccessError(f"{name!r} is not an adsignal user of this warehouse")
        for kind in CAPABILITIES:
            conn.execute(
                sql.SQL("revoke {} from {}").format(sql.Identifier(_role(conn, kind)), sql.Identifier(name))
            )
        conn.execute(
            sql.SQL("grant {} to {}").format(sql.Identifier(_role(conn, capability)), sql.Identifier(name))
        )
        audit(conn, tenant_id="default", actor=actor, event="user.role_changed", object_type="user",
              object_id=name, details={"role": capability})  # fmt: skip


def remove_user(conn: psycopg.Connection, name: str, *, actor: str) -> None:
    with conn.transaction():
        if not _is_our_user(conn, name):
            raise AccessError(f"{name!r} is not an adsignal user of this warehouse")
        conn.execute(sql.SQL("revoke connect on database {} from {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(name)))  # fmt: skip
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))
        audit(
            conn, tenant_id="default", actor=actor, event="user.removed", object_type="user", object_id=name
        )
