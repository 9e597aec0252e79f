"""The platform registry: one ``PlatformSpec`` per ad platform; every other platform list derives from it.

A platform is its own modules (connector, sandbox router, dbt staging folder, tests) plus one entry
here. What a platform can do is declared (``Capability``), never implied by having a connector:
recommendations, rules and execution ask ``platforms_with`` before proposing a change.

Classes and routers are named by import path and loaded on first use, so this module imports nothing
heavy and every layer (connectors, sandbox, analytics) can read the registry without import cycles.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import ModuleType
from typing import Any


class Capability(StrEnum):
    """What adsignal may do on a platform through its connector."""

    READ = "read"  # streams of accounts, entities and insights
    WRITE_CAMPAIGNS = "write_campaigns"  # campaign_state / update_campaign (status, daily budget)
    WRITE_AUDIENCES = "write_audiences"  # audience upload (declared by no platform yet)


# The conformed entities a platform's dbt staging models provide to the intermediate unions
# (``var('platform_staging_models')`` in dbt_project.yml).
STAGING_ENTITIES = (
    "ad_accounts",
    "campaigns",
    "ad_performance_daily",
    "ad_performance_hourly",
    "ad_groups",
    "ads",
)


@dataclass(frozen=True)
class PlatformSpec:
    """Everything the rest of adsignal needs to know about one platform."""

    name: str
    title: str
    connector: str  # "module:Class" of the connector (pipeline.connectors.base.Connector)
    sandbox_router: str  # module of the fake API (pipeline.sandbox.router_protocol.SandboxRouter)
    sandbox_token: str  # the static token the sandbox accepts out of the box
    capabilities: frozenset[Capability]
    staging: Mapping[str, str]  # conformed entity -> dbt staging model
    aliases: tuple[str, ...] = ()  # other names a CSV export may use for this platform
    sandbox_id_style: str = "numeric"  # how the simulator mints the fake's ids: "numeric" or "uuid"

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def connector_class(self) -> type:
        return _load_attribute(self.connector)

    def router_module(self) -> ModuleType:
        return importlib.import_module(self.sandbox_router)


def _staging(platform: str, **renamed: str) -> dict[str, str]:
    """The usual staging model names (``stg_<platform>__ad_insights`` ...), with per-platform renames."""
    models = {
        "ad_accounts": f"stg_{platform}__ad_accounts",
        "campaigns": f"stg_{platform}__campaigns",
        "ad_performance_daily": f"stg_{platform}__ad_insights",
        "ad_performance_hourly": f"stg_{platform}__ad_insights_hourly",
        "ad_groups": f"stg_{platform}__ad_groups",
        "ads": f"stg_{platform}__ads",
    }
    return {**models, **renamed}


_READ_AND_WRITE = frozenset({Capability.READ, Capability.WRITE_CAMPAIGNS})

# Order matters only to the sandbox simulator (it numbers accounts across platforms in this order).
PLATFORMS: tuple[PlatformSpec, ...] = (
    PlatformSpec(
        name="meta",
        title="Meta",
        connector="pipeline.connectors.meta:MetaConnector",
        sandbox_router="pipeline.sandbox.meta_api",
        sandbox_token="sandbox-meta-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging("meta", ad_groups="stg_meta__ad_sets"),
        aliases=("facebook", "facebook_ads", "meta_ads", "instagram"),
    ),
    PlatformSpec(
        name="google_ads",
        title="Google Ads",
        connector="pipeline.connectors.google_ads:GoogleAdsConnector",
        sandbox_router="pipeline.sandbox.google_ads_api",
        sandbox_token="sandbox-google-ads-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging("google_ads"),
        aliases=("google", "adwords", "google_adwords"),
    ),
    PlatformSpec(
        name="tiktok",
        title="TikTok",
        connector="pipeline.connectors.tiktok:TikTokConnector",
        sandbox_router="pipeline.sandbox.tiktok_api",
        sandbox_token="sandbox-tiktok-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging("tiktok"),
        aliases=("tiktok_ads",),
    ),
    PlatformSpec(
        name="snapchat",
        title="Snapchat",
        connector="pipeline.connectors.snapchat:SnapchatConnector",
        sandbox_router="pipeline.sandbox.snapchat_api",
        sandbox_token="sandbox-snapchat-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging("snapchat", ad_groups="stg_snapchat__ad_squads"),
        aliases=("snap", "snapchat_ads"),
        sandbox_id_style="uuid",
    ),
    PlatformSpec(
        name="microsoft_ads",
        title="Microsoft Advertising",
        connector="pipeline.connectors.microsoft_ads:MicrosoftAdsConnector",
        sandbox_router="pipeline.sandbox.microsoft_ads_api",
        sandbox_token="sandbox-microsoft-ads-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging("microsoft_ads"),
        aliases=("bing", "bing_ads", "microsoft", "microsoft_advertising"),
    ),
)

PLATFORM_NAMES: tuple[str, ...] = tuple(spec.name for spec in PLATFORMS)


def _load_attribute(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@cache
def _by_name() -> dict[str, PlatformSpec]:
    return {spec.name: spec for spec in PLATFORMS}


def platform_spec(name: str) -> PlatformSpec:
    """The registry entry of ``name``; a clear error naming the known platforms otherwise."""
    try:
        return _by_name()[name]
    except KeyError:
        raise KeyError(f"unknown platform {name!r}; known: {', '.join(PLATFORM_NAMES)}") from None


def platforms_with(capability: Capability) -> tuple[str, ...]:
    """Names of the platforms that declare ``capability``, in registry order."""
    return tuple(spec.name for spec in PLATFORMS if spec.can(capability))


def platform_aliases() -> dict[str, str]:
    """Other names of each platform (as CSV exports spell them) -> the platform's name."""
    return {alias: spec.name for spec in PLATFORMS for alias in spec.aliases}


__all__ = [
    "PLATFORMS",
    "PLATFORM_NAMES",
    "STAGING_ENTITIES",
    "Capability",
    "PlatformSpec",
    "platform_aliases",
    "platform_spec",
    "platforms_with",
]
