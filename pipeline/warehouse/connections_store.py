"""app.platform_connections: rows in and out. Secrets arrive and leave encrypted; `pipeline.connections`
turns them into credentials."""

from __future__ import annotations

import psycopg

ConnectionRow = (
    tuple  # (connection_id, tenant_id, platform, name, account_ids, base_url, secret, status, reason)
)


def upsert_connection(
    url: str,
    *,
    tenant_id: str,
    platform: str,
    name: str,
    account_ids: list[str] | None,
    base_url: str | None,
    encrypted_secret: str,
) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """insert into app.platform_connections
                   (tenant_id, platform, name, account_ids, base_url, credentials_encrypted)
               values (%s, %s, %s, %s, %s, %s)
               on conflict (tenant_id, platform, name) do update set
                   account_ids = excluded.account_ids, base_url = excluded.base_url,
                   credentials_encrypted = excluded.credentials_encrypted,
                   status = 'active', status_reason = null, updated_at = now()
               returning connection_id""",
            (tenant_id, platform, name, account_ids, base_url, encrypted_secret),
        ).fetchone()
    return int(row[0])


def connection_rows(url: str, *, platform: str | None, tenant_id: str | None) -> list[ConnectionRow]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """select connection_id, tenant_id, platform, name, account_ids, base_url, credentials_encrypted,
                      status, status_reason
               from app.platform_connections
               where (%(platform)s::text is null or platform = %(platform)s)
                 and (%(tenant)s::text is null or tenant_id = %(tenant)s)
               order by platform, name""",
            {"platform": platform, "tenant": tenant_id},
        ).fetchall()


def delete_connection(url: str, connection_id: int) -> bool:
    with psycopg.connect(url) as conn:
        deleted = conn.execute(
            "delete from app.platform_connections where connection_id = %s", (connection_id,)
        )
        return deleted.rowcount == 1


def set_connection_status(url: str, connection_id: int, status: str, reason: str | None) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "update app.platform_connections set status = %s, status_reason = %s, last_tested_at = now(),"
            " updated_at = now() where connection_id = %s",
            (status, reason, connection_id),
        )


def replace_connection_secret(url: str, connection_id: int, encrypted_secret: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "update app.platform_connections set credentials_encrypted = %s, last_refreshed_at = now(),"
            " updated_at = now() where connection_id = %s",
            (encrypted_secret, connection_id),
        )
