"""Platform connectors: one module per platform, all speaking the contract in ``base``.

``CONNECTORS`` maps a platform name to its connector class; adding a platform adds one line here.
"""

from __future__ import annotations

from pipeline.connectors.google_ads import GoogleAdsConnector
from pipeline.connectors.meta import MetaConnector
from pipeline.connectors.microsoft_ads import MicrosoftAdsConnector
from pipeline.connectors.snapchat import SnapchatConnector
from pipeline.connectors.tiktok import TikTokConnector

CONNECTORS: dict[str, type] = {
    "google_ads": GoogleAdsConnector,
    "meta": MetaConnector,
    "microsoft_ads": MicrosoftAdsConnector,
    "snapchat": SnapchatConnector,
    "tiktok": TikTokConnector,
}

__all__ = [
    "CONNECTORS",
    "GoogleAdsConnector",
    "MetaConnector",
    "MicrosoftAdsConnector",
    "SnapchatConnector",
    "TikTokConnector",
]
