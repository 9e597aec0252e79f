"""One connection's failure never stops another's sync (issue 14: tenants share a scheduled sync).

A scheduled sync serves every tenant's stored connections of a platform in one run. Here the
failing connection is always synced first, so the healthy one after it proves it was not skipped.
Real HTTP to the sandbox's Meta API, real PostgreSQL, stored (encrypted) connections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from pipeline import config, secret_box
from pipeline.connections import PlatformConnection, add_connection, resolve_connections
from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import Credentials
from pipeline.ingest import SyncFailed, sync_connections
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.warehouse import access_store, db

WRONG_TOKEN = "EAAB-not-the-sandbox-token-0123456789"
ENTITY_STREAMS = [s.name for s in CONNECTORS["meta"].streams.values() if s.window_column is None]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def url(database_factory: Callable[[str], str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = database_factory("sync_isolation")
    monkeypatch.setenv(secret_box.KEY_ENV, secret_box.new_key())
    secret_box.fernet.cache_clear()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("delete from app.platform_connections")
        if not conn.execute("select 1 from app.tenants where tenant_id = 'acme'").fetchone():
            access_store.add_tenant(conn, "acme", "Acme", actor="test")
    yield url
    for cached in (config.settings, db.database_url, secret_box.fernet):
        cached.cache_clear()


def _connect(url: str, sandbox: SandboxServer, tenant_id: str, token: str, **options: object) -> None:
    add_connection(
        url,
        "meta",
        f"{tenant_id}-main",
        Credentials(access_token=token),
        base_url=f"{sandbox.url}/meta",
        tenant_id=tenant_id,
        **options,
    )


def _acme_first(url: str) -> list[PlatformConnection]:
    return sorted(resolve_connections("meta", url=url, tenant_id=None), key=lambda c: c.tenant_id != "acme")


def _campaign_rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("select tenant_id, count(*) from raw.meta_campaigns group by 1").fetchall())


def test_a_tenants_refused_token_never_stops_another_tenants_sync(url: str, sandbox: SandboxServer) -> None:
    _connect(url, sandbox, "acme", WRONG_TOKEN)
    _connect(url, sandbox, "default", SANDBOX_TOKENS["meta"])
    with pytest.raises(SyncFailed) as failed:
        sync_connections(url, _acme_first(url), ENTITY_STREAMS)
    assert "tenant acme" in str(failed.value) and WRONG_TOKEN not in str(failed.value)
    assert not failed.value.retryable  # credentials alone failed: a person reconnects
    assert _campaign_rows(url).keys() == {"default"}  # synced after acme's failure
    with psycopg.connect(url) as conn:
        statuses = dict(conn.execute("select tenant_id, status from app.platform_connections").fetchall())
    assert statuses == {"acme": "broken", "default": "active"}

    # The next scheduled sync: acme's only connection is broken. It is reported, not skipped in silence.
    connections = _acme_first(url)
    assert [(c.tenant_id, c.status) for c in connections] == [("acme", "broken"), ("default", "active")]
    with pytest.raises(SyncFailed, match=r"tenant acme.*broken.*adsignal connections add") as failed:
        sync_connections(url, connections, ENTITY_STREAMS)
    assert not failed.value.retryable
    assert _campaign_rows(url).keys() == {"default"}


@pytest.mark.parametrize(
    ("accounts", "said", "retryable"),
    [
        (["999999999"], "account acme/999999999", True),  # the API refuses the account: may pass
        (["no-such-account"], "not a Meta ad account id", False),  # the connection cannot even open
    ],
)
def test_a_tenants_failing_account_never_stops_another_tenants_sync(
    url: str, sandbox: SandboxServer, accounts: list[str], said: str, retryable: bool
) -> None:
    _connect(url, sandbox, "acme", SANDBOX_TOKENS["meta"], account_ids=accounts)
    _connect(url, sandbox, "default", SANDBOX_TOKENS["meta"])
    with pytest.raises(SyncFailed, match=said) as failed:
        sync_connections(url, _acme_first(url), ENTITY_STREAMS)
    assert "tenant acme" in str(failed.value)
    assert failed.value.retryable is retryable  # a retry re-syncs the others idempotently
    assert _campaign_rows(url).keys() == {"default"}
