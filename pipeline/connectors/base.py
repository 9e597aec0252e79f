"""What every connector shares: the shape of a raw stream and the connector protocol.

A connector is mostly data: it names its streams (which raw table, which natural keys, which
column bounds a sync window) and yields pages of payloads exactly as the API sent them. Loading,
window replacement and bookkeeping live once, in ``pipeline.warehouse.loader``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from pipeline.connectors.declarations import Paging, ReportWindow

Page = list[dict[str, Any]]


@dataclass(frozen=True)
class KeyColumn:
    """A natural-key column of a raw table, read from the payload at a dotted ``path``."""

    name: str
    pg_type: str  # text | date | timestamptz | integer
    path: str

    def extract(self, record: dict[str, Any]) -> Any:
        value: Any = record
        for part in self.path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value


@dataclass(frozen=True)
class RawStream:
    """One raw table: ``raw.<platform>_<name>``.

    ``window_column`` names the key column that a sync window bounds (a date, or an hour for hourly
    streams); ``None`` means the stream is a snapshot replaced whole per account (entities). A
    connector's streams declare their ``paging`` (style, largest page) and its windowed streams
    their ``report_window`` (default window, restatement, the longest range one request may span)
    instead of hard-coding them in their read code.
    """

    platform: str
    name: str
    keys: tuple[KeyColumn, ...]
    window_column: str | None = None
    description: str = ""
    report_window: ReportWindow | None = None
    paging: Paging | None = None  # declared by every connector stream (CSV streams have none)

    @property
    def table(self) -> str:
        return f"{self.platform}_{self.name}"

    @property
    def is_hourly(self) -> bool:
        """Hourly streams are synced intraday, for recent days only."""
        return self.name.endswith("_hourly")

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    @property
    def window(self) -> ReportWindow:
        """The declared report window of a windowed stream (a clear error for an entity stream)."""
        if self.report_window is None:
            raise ValueError(f"stream {self.table} declares no report window")
        return self.report_window

    @property
    def window_key(self) -> KeyColumn | None:
        return next((k for k in self.keys if k.name == self.window_column), None)

    def key_values(self, record: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(key.extract(record) for key in self.keys)


@dataclass(frozen=True)
class Credentials:
    """What a connection holds to call a platform; secret fields never appear in a repr.

    OAuth platforms (Google Ads, Snapchat, Microsoft Advertising) carry a refresh token and the
    client they were issued to: connectors refresh the short-lived access token themselves and hand
    the new one to ``on_token_refresh`` so it can be stored (encrypted) for the next run.
    """

    access_token: str = field(default="", repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_url: str | None = None
    developer_token: str | None = field(default=None, repr=False)  # Google Ads, Microsoft Advertising
    login_customer_id: str | None = None  # Google Ads manager (MCC) the accounts are reached through
    customer_id: str | None = None  # Microsoft Advertising customer
    expires_at: datetime | None = None

    def secrets(self) -> list[str]:
        """Every secret value, for redaction."""
        values = (self.access_token, self.refresh_token, self.client_secret, self.developer_token)
        return [v for v in values if v]

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token and self.token_url)


@dataclass(frozen=True)
class TokenGrant:
    """A fresh access token from an OAuth refresh (the refresh token may rotate too)."""

    access_token: str = field(repr=False)
    expires_at: datetime | None
    refresh_token: str | None = field(default=None, repr=False)


TokenRefreshCallback = Callable[[TokenGrant], None]


class Connector(Protocol):
    """The contract every platform connector fulfils (no Dagster, no database)."""

    platform: str
    streams: dict[str, RawStream]

    # Constructed as ``ConnectorClass(base_url, credentials, *, account_ids=None,
    # on_token_refresh=None, **options)``.

    def list_account_ids(self) -> list[str]:
        """Ad accounts this connection can report on (managers and disabled accounts skipped)."""
        ...

    def read(
        self, stream: str, account_id: str, since: date | None = None, until: date | None = None
    ) -> Iterator[Page]:
        """Yield pages of raw payloads for one account; ``since``/``until`` bound windowed streams."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class CampaignWriter(Protocol):
    """What a connector of a platform declaring ``Capability.WRITE_CAMPAIGNS`` (``pipeline.platforms``) adds.

    ``pipeline.execution`` reads a campaign's state, writes through ``update_campaign`` with the
    arguments ``update_arguments`` builds (each platform's own money units and ids stay in its
    connector), then reads the state back.
    """

    def campaign_state(self, campaign_id: str, *, account_id: str | None = None) -> dict[str, Any]:
        """The campaign's status, daily budget (major units) and the account's currency."""
        ...

    def update_arguments(
        self, *, account_id: str, status: str | None, daily_budget: float | None, currency: str
    ) -> dict[str, Any]:
        """``update_campaign``'s keyword arguments for a new status or a daily budget in major units."""
        ...

    def update_campaign(self, campaign_id: str, **changes: Any) -> dict[str, Any]: ...


class MajorUnitCampaignWrites:
    """``update_arguments`` of the platforms whose write APIs take major units and the account id."""

    def update_arguments(
        self, *, account_id: str, status: str | None, daily_budget: float | None, currency: str
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {"account_id": account_id}
        if status is not None:
            arguments["status"] = status
        if daily_budget is not None:
            arguments["daily_budget"] = round(float(daily_budget), 2)
        return arguments
