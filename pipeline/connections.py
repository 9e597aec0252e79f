"""Which API each platform's connector talks to, with which credentials.

Three origins, first match wins per platform:

1. **stored** — rows of ``app.platform_connections`` for the tenant (``adsignal connections add``),
   credentials encrypted at rest; refreshed OAuth tokens are written back encrypted, and a refused
   grant marks the connection ``broken`` with the reason. A broken connection fails its syncs loudly:
   adsignal never falls back to the sandbox behind a configured connection's back.
2. **environment** — ``<PLATFORM>_ACCESS_TOKEN`` / ``_REFRESH_TOKEN`` / ``_CLIENT_ID`` /
   ``_CLIENT_SECRET`` / ``_DEVELOPER_TOKEN`` / ``_LOGIN_CUSTOMER_ID`` / ``_CUSTOMER_ID`` /
   ``_AD_ACCOUNT_IDS`` / ``_API_BASE_URL`` / ``_TOKEN_URL`` (e.g. ``META_ACCESS_TOKEN``), for
   docker-compose style deployments.
3. **sandbox** — the built-in fake API at ``ADSIGNAL_SANDBOX_URL``, so a fresh clone runs offline.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from pipeline.config import DEFAULT_TENANT, settings
from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import Connector, Credentials, TokenGrant
from pipeline.connectors.http import CredentialsError
from pipeline.platforms import platform_spec
from pipeline.secret_box import decrypt_json, encrypt_json
from pipeline.warehouse import connections_store

Origin = Literal["stored", "environment", "sandbox"]

# The sandbox runs on simulated time: report jobs advance per poll, not per second, and a backoff
# or throttle pause need not really last a minute. Waits are compressed, never skipped.
SANDBOX_MAX_SLEEP_S = 0.05


def _sandbox_sleep(seconds: float) -> None:
    time.sleep(min(seconds, SANDBOX_MAX_SLEEP_S))


@dataclass(frozen=True)
class PlatformConnection:
    platform: str
    name: str
    base_url: str
    credentials: Credentials = field(repr=False)
    account_ids: tuple[str, ...] | None
    origin: Origin
    connection_id: int | None = None
    tenant_id: str = DEFAULT_TENANT
    status: str = "active"
    status_reason: str | None = None


def production_base_url(platform: str) -> str:
    return str(getattr(CONNECTORS[platform], "production_base_url", ""))


def credentials_from_dict(values: dict[str, Any]) -> Credentials:
    known = {f.name for f in fields(Credentials)}
    kwargs = {k: v for k, v in values.items() if k in known and v not in (None, "")}
    if isinstance(kwargs.get("expires_at"), str):
        kwargs["expires_at"] = datetime.fromisoformat(kwargs["expires_at"])
    return Credentials(**kwargs)


def _credentials_json(credentials: Credentials) -> dict[str, Any]:
    values = asdict(credentials)
    if credentials.expires_at is not None:
        values["expires_at"] = credentials.expires_at.isoformat()
    return {k: v for k, v in values.items() if v is not None}


# --- stored connections --------------------------------------------------------------------------


def add_connection(
    url: str,
    platform: str,
    name: str,
    credentials: Credentials,
    *,
    account_ids: list[str] | None = None,
    base_url: str | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> int:
    if platform not in CONNECTORS:
        raise ValueError(f"unknown platform {platform!r}; known: {', '.join(CONNECTORS)}")
    return connections_store.upsert_connection(
        url,
        tenant_id=tenant_id,
        platform=platform,
        name=name,
        account_ids=account_ids,
        base_url=base_url,
        encrypted_secret=encrypt_json(_credentials_json(credentials)),
    )


def stored_connections(
    url: str, *, platform: str | None = None, tenant_id: str | None = DEFAULT_TENANT
) -> list[PlatformConnection]:
    rows = connections_store.connection_rows(url, platform=platform, tenant_id=tenant_id)
    return [
        PlatformConnection(
            platform=plat,
            name=name,
            base_url=base_url or production_base_url(plat),
            credentials=credentials_from_dict(decrypt_json(secret)),
            account_ids=tuple(accounts) if accounts else None,
            origin="stored",
            connection_id=cid,
            tenant_id=tenant,
            status=status,
            status_reason=reason,
        )
        for cid, tenant, plat, name, accounts, base_url, secret, status, reason in rows
    ]


def remove_connection(url: str, connection_id: int) -> bool:
    return connections_store.delete_connection(url, connection_id)


def mark_connection(url: str, connection_id: int, status: str, reason: str | None) -> None:
    connections_store.set_connection_status(url, connection_id, status, reason)


def store_refreshed_token(url: str, connection: PlatformConnection, grant: TokenGrant) -> None:
    """Keep the new access token (encrypted) so the next run need not refresh again."""
    from dataclasses import replace

    refreshed = replace(
        connection.credentials,
        access_token=grant.access_token,
        expires_at=grant.expires_at,
        refresh_token=grant.refresh_token or connection.credentials.refresh_token,
    )
    connections_store.replace_connection_secret(
        url, connection.connection_id, encrypt_json(_credentials_json(refreshed))
    )


# --- environment and sandbox --------------------------------------------------------------------


def environment_connection(platform: str) -> PlatformConnection | None:
    prefix = platform.upper()

    def env(name: str) -> str | None:
        return os.environ.get(f"{prefix}_{name}") or None

    if not (env("ACCESS_TOKEN") or env("REFRESH_TOKEN")):
        return None
    accounts = tuple(a.strip() for a in (env("AD_ACCOUNT_IDS") or "").split(",") if a.strip())
    cls = CONNECTORS[platform]
    credentials = Credentials(
        access_token=env("ACCESS_TOKEN") or "",
        refresh_token=env("REFRESH_TOKEN"),
        client_id=env("CLIENT_ID"),
        client_secret=env("CLIENT_SECRET"),
        token_url=env("TOKEN_URL") or getattr(cls, "production_token_url", None),
        developer_token=env("DEVELOPER_TOKEN"),
        login_customer_id=env("LOGIN_CUSTOMER_ID"),
        customer_id=env("CUSTOMER_ID"),
    )
    return PlatformConnection(
        platform=platform,
        name="environment",
        base_url=env("API_BASE_URL") or production_base_url(platform),
        credentials=credentials,
        account_ids=accounts or None,
        origin="environment",
    )


def sandbox_connection(platform: str, sandbox_url: str | None = None) -> PlatformConnection:
    from pipeline.sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_refresh_token
    from pipeline.sandbox.server import ROUTERS, SANDBOX_TOKENS

    base_url = f"{(sandbox_url or settings().sandbox_url).rstrip('/')}/{platform}"
    token_path = getattr(ROUTERS.get(platform), "TOKEN_PATH", None)
    # The sandbox's one app: OAuth clients refresh with it, TikTok lists its advertisers with it.
    credentials = Credentials(
        access_token=SANDBOX_TOKENS[platform],
        refresh_token=sandbox_refresh_token(platform) if token_path else None,
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        token_url=f"{base_url}{token_path}" if token_path else None,
        developer_token=f"sandbox-{platform}-developer-token",
    )
    return PlatformConnection(platform, "sandbox", base_url, credentials, None, "sandbox")


# --- resolution ----------------------------------------------------------------------------------


def resolve_connections(
    platform: str,
    *,
    url: str | None,
    sandbox_url: str | None = None,
    tenant_id: str | None = DEFAULT_TENANT,
) -> list[PlatformConnection]:
    """The connections a sync of ``platform`` uses; raises CredentialsError if all stored ones are broken.

    ``tenant_id=None``: every tenant's stored connections (a scheduled sync serves them all, each
    connection's rows landing as its tenant's). A tenant whose stored connections are all broken is
    still listed with them, so the sync reports that tenant's failure instead of skipping it in
    silence while it serves the others. Without any stored one, the environment's or the sandbox's
    connection serves the default tenant.
    """
    if url is not None:
        stored = stored_connections(url, platform=platform, tenant_id=tenant_id)
        active = [c for c in stored if c.status == "active"]
        if active:
            served = {c.tenant_id for c in active}
            return active + [c for c in stored if c.tenant_id not in served]
        if stored:
            reasons = "; ".join(
                f"{c.name}: {c.status} ({c.status_reason or 'no reason recorded'})" for c in stored
            )
            raise CredentialsError(
                platform,
                f"no active {platform} connection ({reasons}). Reconnect with `adsignal connections add`.",
            )
    from_env = environment_connection(platform)
    return [from_env] if from_env else [sandbox_connection(platform, sandbox_url)]


def open_connector(connection: PlatformConnection, *, url: str | None = None, **options: object) -> Connector:
    """A connector for ``connection``; refreshed tokens of stored connections are saved back."""
    if connection.origin == "sandbox":
        options = {
            "sleep": _sandbox_sleep,
            **platform_spec(connection.platform).sandbox_connector_options,
            **options,
        }
    if connection.origin == "stored" and url is not None:
        options["on_token_refresh"] = lambda grant: store_refreshed_token(url, connection, grant)
    return CONNECTORS[connection.platform](
        connection.base_url, connection.credentials, account_ids=connection.account_ids, **options
    )
