"""Platform connectors: one module per platform, all speaking the contract in ``base``.

``CONNECTORS`` maps a platform name to its connector class; adding a platform adds one line here.
"""

from __future__ import annotations

from pipeline.connectors.meta import MetaConnector

CONNECTORS: dict[str, type] = {"meta": MetaConnector}

__all__ = ["CONNECTORS", "MetaConnector"]
