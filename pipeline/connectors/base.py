"""What every connector shares: the shape of a raw stream and the connector protocol.

A connector is mostly data: it names its streams (which raw table, which natural keys, which
column bounds a sync window) and yields pages of payloads exactly as the API sent them. Loading,
window replacement and bookkeeping live once, in ``pipeline.warehouse.loader``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

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
    streams); ``None`` means the stream is a snapshot replaced whole per account (entities).
    """

    platform: str
    name: str
    keys: tuple[KeyColumn, ...]
    window_column: str | None = None
    description: str = ""

    @property
    def table(self) -> str:
        return f"{self.platform}_{self.name}"

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    @property
    def window_key(self) -> KeyColumn | None:
        return next((k for k in self.keys if k.name == self.window_column), None)

    def key_values(self, record: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(key.extract(record) for key in self.keys)


class Connector(Protocol):
    """The contract every platform connector fulfils (no Dagster, no database)."""

    platform: str
    streams: dict[str, RawStream]

    def list_account_ids(self) -> list[str]:
        """Ad accounts this connection can report on (managers and disabled accounts skipped)."""
        ...

    def read(
        self, stream: str, account_id: str, since: date | None = None, until: date | None = None
    ) -> Iterator[Page]:
        """Yield pages of raw payloads for one account; ``since``/``until`` bound windowed streams."""
        ...

    def close(self) -> None: ...
