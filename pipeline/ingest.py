"""Sync a connector's stream into its raw table, account by account (no Dagster needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pipeline.config import DEFAULT_TENANT
from pipeline.connections import PlatformConnection, mark_connection, open_connector
from pipeline.connectors.base import Connector
from pipeline.connectors.http import CredentialsError
from pipeline.warehouse.api_usage import record_api_usage
from pipeline.warehouse.loader import LoadResult, reap_dead_syncs, replace_window


class SyncFailed(RuntimeError):
    """Some accounts or connections failed; the others were loaded and stay loaded (a re-run is
    idempotent). ``retryable`` is False when every failure was a connection's credentials or settings:
    retrying cannot fix those, a person reconnects or corrects the connection."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class SyncReport:
    platform: str
    stream: str
    window_start: date | None
    window_end: date | None
    results: list[LoadResult] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # account id -> error message

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.results)

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows_quarantined for r in self.results)

    @property
    def rows_deduplicated(self) -> int:
        return sum(r.rows_deduplicated for r in self.results)

    def summary(self) -> dict[str, object]:
        return {
            "accounts": len(self.results) + len(self.failures),
            "accounts_failed": len(self.failures),
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_deduplicated": self.rows_deduplicated,
            "rows_by_account": {_account_label(r): r.rows_loaded for r in self.results},
        }


def _account_label(result: LoadResult) -> str:
    """The account as metadata names it: tenants may share account ids, so others' are prefixed."""
    if result.tenant_id == DEFAULT_TENANT:
        return result.account_id
    return f"{result.tenant_id}/{result.account_id}"


def sync_stream(
    url: str,
    connector: Connector,
    stream_name: str,
    *,
    since: date | None = None,
    until: date | None = None,
    account_ids: list[str] | None = None,
    run_id: str | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> SyncReport:
    """Replace ``stream_name``'s window for every account; raise SyncFailed if any account failed.

    One account's failure does not stop the others: their windows commit independently. A
    credentials error stops at once (it is the connection's, not the account's). Rows land as
    ``tenant_id``'s, the tenant of the connection the connector reads through.
    """
    stream = connector.streams[stream_name]
    window = (since, until) if stream.window_column else (None, None)
    report = SyncReport(connector.platform, stream_name, *window)
    for account_id in account_ids or connector.list_account_ids():
        try:
            pages = connector.read(stream_name, account_id, *window)
            report.results.append(
                replace_window(
                    url,
                    stream,
                    account_id,
                    pages,
                    since=window[0],
                    until=window[1],
                    run_id=run_id,
                    tenant_id=tenant_id,
                )
            )
        except CredentialsError:
            raise  # the same token serves every account: no point trying the others
        except Exception as exc:  # recorded per account and re-raised below as one failure
            label = account_id if tenant_id == DEFAULT_TENANT else f"{tenant_id}/{account_id}"
            report.failures[label] = f"{type(exc).__name__}: {exc}"
    if report.failures:
        detail = "; ".join(f"account {a}: {e}" for a, e in report.failures.items())
        raise SyncFailed(
            f"{connector.platform} {stream_name}: {len(report.failures)} account(s) failed — {detail}"
        )
    return report


def sync_connections(
    url: str,
    connections: list[PlatformConnection],
    stream_names: list[str],
    *,
    since: date | None = None,
    until: date | None = None,
    run_id: str | None = None,
    **connector_options: object,
) -> dict[str, SyncReport]:
    """Sync ``stream_names`` through every connection of one platform; reports merged per stream.

    Syncs left ``running`` by a process that died (``kill -9``) are marked failed first. API usage is
    booked to ``app.api_rate_limits`` whatever happens. One connection's failure never stops the
    others (they may be other tenants'): a credentials error marks a stored connection broken with
    the reason (a person must reconnect it) and skips its remaining streams; a stream whose accounts
    failed leaves the connection's other streams to sync. Every failure is raised at the end as one
    ``SyncFailed``, after everything else has loaded. ``connector_options`` go to the connectors
    (tests: shorter timeouts).
    """
    reap_dead_syncs(url)
    merged: dict[str, SyncReport] = {}
    failures: list[str] = []
    permanent_failures = 0
    for connection in connections:
        label = _connection_label(connection)
        if connection.status != "active":  # listed so its tenant's failure is said, never opened
            failures.append(
                f"{label}: {connection.status} ({connection.status_reason or 'no reason recorded'});"
                " reconnect with `adsignal connections add`"
            )
            permanent_failures += 1
            continue
        try:
            connector = open_connector(connection, url=url, **connector_options)
        except CredentialsError as exc:
            failures.append(f"{label}: {exc}")
            permanent_failures += 1
            continue
        except Exception as exc:  # a connection that cannot open (its stored settings): said, not fatal
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
            permanent_failures += 1
            continue
        try:
            for name in stream_names:
                try:
                    report = sync_stream(
                        url,
                        connector,
                        name,
                        since=since,
                        until=until,
                        run_id=run_id,
                        tenant_id=connection.tenant_id,
                    )
                except SyncFailed as exc:
                    failures.append(f"{label}: {exc}")
                    continue
                into = merged.setdefault(
                    name, SyncReport(report.platform, name, report.window_start, report.window_end)
                )
                into.results.extend(report.results)
        except CredentialsError as exc:
            if connection.connection_id is not None:
                mark_connection(url, connection.connection_id, "broken", str(exc))
            failures.append(f"{label}: {exc}")
            permanent_failures += 1
        finally:
            record_api_usage(url, connection.platform, getattr(connector, "stats", {}))
            connector.close()
    if failures:
        raise SyncFailed(
            f"{len(failures)} failure(s); every other connection and stream loaded — " + " | ".join(failures),
            retryable=permanent_failures < len(failures),
        )
    return merged


def _connection_label(connection: PlatformConnection) -> str:
    tenant = "" if connection.tenant_id == DEFAULT_TENANT else f"tenant {connection.tenant_id}, "
    return f"{connection.platform} connection {connection.name!r} ({tenant}{connection.origin})"
