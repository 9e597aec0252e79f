"""Platform connectors: one module per platform, all speaking the contract in ``base``.

``CONNECTORS`` maps a platform name to its connector class, derived from the platform registry
(``pipeline.platforms``): adding a platform adds its module and one registry entry, nothing here.
"""

from __future__ import annotations

from pipeline.platforms import PLATFORMS

CONNECTORS: dict[str, type] = {spec.name: spec.connector_class() for spec in PLATFORMS}

__all__ = ["CONNECTORS"]
