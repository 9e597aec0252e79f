"""The platform registry: one ``PlatformSpec`` per ad platform; every other platform list derives from it.

A platform is its own modules (connector, sandbox router, dbt staging folder, tests) plus one entry
here. What a platform can do is declared (``Capability``), never implied by having a connector:
recommendations, rules and execution ask ``platforms_with`` before proposing a change.

Classes and routers are named by import path and loaded on first use, so this module imports nothing
heavy and every layer (connectors, sandbox, analytics) can read the registry without import cycles.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from types import ModuleType
from typing import Any


class Capability(StrEnum):
    """What adsignal may do on a platform through its connector."""

    READ = "read"  # streams of accounts, entities and insights
    WRITE_CAMPAIGNS = "write_campaigns"  # campaign_state / update_campaign (status, daily budget)
    WRITE_AUDIENCES = "write_audiences"  # audience upload (declared by no platform yet)


# The conformed entities a platform's dbt models provide to the intermediate unions
# (``union_platform_models`` in dbt_project/macros reads them from ``dbt_staging_models()``). Each is
# a staging model (``stg_<platform>__*``, 1:1 with a raw table) or, where the entity needs another
# of the platform's tables (account currency or timezone, parent names), the platform's join model
# over its staging models (``int_<platform>__*_joined``); both live in the platform's staging folder.
STAGING_ENTITIES = (
    "ad_accounts",
    "campaigns",
    "ad_performance_daily",
    "ad_performance_hourly",
    "ad_groups",
    "ads",
)
# Every platform provides these; the others only where the platform has them (e.g. hourly reports).
REQUIRED_STAGING_ENTITIES = ("ad_accounts", "campaigns", "ad_performance_daily")
# The environment variable dbt reads the connectors' staging models from (``dbt_env``).
DBT_STAGING_MODELS_ENV = "ADSIGNAL_PLATFORM_STAGING_MODELS"


@dataclass(frozen=True)
class SandboxProfile:
    """How the sandbox simulator shapes a platform's fake world (not how the platform is read)."""

    restatement_days: int  # days after which a day's conversions stop changing
    objectives: tuple[str, str]  # the objective of (sales-like, traffic-like) campaigns
    cpm_range: tuple[float, float]  # typical cost per mille, account currency
    ctr_range: tuple[float, float]  # typical click-through rate
    # id shape per entity kind (account, campaign, ad_group, ad): (prefix, total digits); None: UUIDs
    id_formats: Mapping[str, tuple[str, int]] | None


@dataclass(frozen=True)
class PlatformSpec:
    """Everything the rest of adsignal needs to know about one platform."""

    name: str
    title: str
    connector: str  # "module:Class" of the connector (pipeline.connectors.base.Connector)
    sandbox_router: str  # module of the fake API (pipeline.sandbox.router_protocol.SandboxRouter)
    sandbox_token: str  # the static token the sandbox accepts out of the box
    capabilities: frozenset[Capability]
    staging: Mapping[str, str]  # conformed entity -> the dbt model the unions read (stg_ or int_ join)
    aliases: tuple[str, ...] = ()  # other names a CSV export may use for this platform
    sandbox: SandboxProfile | None = None
    # "module:function" turning an account id as exports spell it into the connector's form, if they differ
    account_id_form: str | None = None
    # connector options when it talks to the sandbox (simulated time: shorter polls)
    sandbox_connector_options: Mapping[str, Any] = field(default_factory=dict)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def connector_class(self) -> type:
        return _load_attribute(self.connector)

    def router_module(self) -> ModuleType:
        return importlib.import_module(self.sandbox_router)

    def canonical_account_id(self, account_id: str) -> str:
        """``account_id`` as this platform's connector writes it (e.g. Meta's without ``act_``)."""
        return _load_attribute(self.account_id_form)(account_id) if self.account_id_form else account_id


def _staging(platform: str, *, without: tuple[str, ...] = (), **renamed: str) -> dict[str, str]:
    """The usual staging model names (``stg_<platform>__ad_insights`` ...), with per-platform renames
    (e.g. an entity read from a join model, ``int_<platform>__campaigns_joined``); ``without`` names
    the entities the platform has no model for."""
    models = {
        "ad_accounts": f"stg_{platform}__ad_accounts",
        "campaigns": f"stg_{platform}__campaigns",
        "ad_performance_daily": f"stg_{platform}__ad_insights",
        "ad_performance_hourly": f"stg_{platform}__ad_insights_hourly",
        "ad_groups": f"stg_{platform}__ad_groups",
        "ads": f"stg_{platform}__ads",
    }
    return {entity: model for entity, model in {**models, **renamed}.items() if entity not in without}


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
        staging=_staging(
            "meta",
            ad_accounts="int_meta__ad_accounts_joined",
            campaigns="int_meta__campaigns_joined",
            ad_groups="int_meta__ad_sets_joined",
            ad_performance_hourly="int_meta__ad_insights_hourly_joined",
        ),
        aliases=("facebook", "facebook_ads", "meta_ads", "instagram"),
        account_id_form="pipeline.connectors.meta:canonical_account_id",
        sandbox_connector_options={"poll_interval": 0.05},
        sandbox=SandboxProfile(
            restatement_days=28,
            objectives=("OUTCOME_SALES", "OUTCOME_TRAFFIC"),
            cpm_range=(6.0, 14.0),
            ctr_range=(0.008, 0.020),
            id_formats={
                "account": ("10", 16),
                "campaign": ("1202", 18),
                "ad_group": ("1202", 18),
                "ad": ("1202", 18),
            },
        ),
    ),
    PlatformSpec(
        name="google_ads",
        title="Google Ads",
        connector="pipeline.connectors.google_ads:GoogleAdsConnector",
        sandbox_router="pipeline.sandbox.google_ads_api",
        sandbox_token="sandbox-google-ads-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging(
            "google_ads",
            campaigns="int_google_ads__campaigns_joined",
            ad_performance_hourly="int_google_ads__ad_insights_hourly_joined",
        ),
        aliases=("google", "adwords", "google_adwords"),
        account_id_form="pipeline.connectors.google_ads:canonical_account_id",
        sandbox=SandboxProfile(
            restatement_days=30,
            objectives=("PERFORMANCE_MAX", "DISPLAY"),
            cpm_range=(25.0, 70.0),
            ctr_range=(0.030, 0.070),
            id_formats={"account": ("4", 10), "campaign": ("2", 11), "ad_group": ("1", 12), "ad": ("6", 12)},
        ),
    ),
    PlatformSpec(
        name="tiktok",
        title="TikTok",
        connector="pipeline.connectors.tiktok:TikTokConnector",
        sandbox_router="pipeline.sandbox.tiktok_api",
        sandbox_token="sandbox-tiktok-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging(
            "tiktok",
            campaigns="int_tiktok__campaigns_joined",
            ad_groups="int_tiktok__ad_groups_joined",
            ad_performance_daily="int_tiktok__ad_insights_joined",
            ad_performance_hourly="int_tiktok__ad_insights_hourly_joined",
        ),
        aliases=("tiktok_ads",),
        sandbox=SandboxProfile(
            restatement_days=7,
            objectives=("WEB_CONVERSIONS", "TRAFFIC"),
            cpm_range=(4.0, 10.0),
            ctr_range=(0.006, 0.015),
            id_formats={
                "account": ("7", 19),
                "campaign": ("18", 19),
                "ad_group": ("18", 19),
                "ad": ("18", 19),
            },
        ),
    ),
    PlatformSpec(
        name="snapchat",
        title="Snapchat",
        connector="pipeline.connectors.snapchat:SnapchatConnector",
        sandbox_router="pipeline.sandbox.snapchat_api",
        sandbox_token="sandbox-snapchat-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging(
            "snapchat",
            ad_accounts="int_snapchat__ad_accounts_joined",
            campaigns="int_snapchat__campaigns_joined",
            ad_groups="int_snapchat__ad_squads_joined",
            ads="int_snapchat__ads_joined",
            ad_performance_daily="int_snapchat__ad_insights_joined",
            ad_performance_hourly="int_snapchat__ad_insights_hourly_joined",
        ),
        aliases=("snap", "snapchat_ads"),
        sandbox=SandboxProfile(
            restatement_days=2,
            objectives=("SALES", "TRAFFIC"),
            cpm_range=(2.5, 6.0),
            ctr_range=(0.004, 0.010),
            id_formats=None,
        ),
    ),
    PlatformSpec(
        name="microsoft_ads",
        title="Microsoft Advertising",
        connector="pipeline.connectors.microsoft_ads:MicrosoftAdsConnector",
        sandbox_router="pipeline.sandbox.microsoft_ads_api",
        sandbox_token="sandbox-microsoft-ads-token",
        capabilities=_READ_AND_WRITE,
        staging=_staging(
            "microsoft_ads",
            campaigns="int_microsoft_ads__campaigns_joined",
            ad_performance_hourly="int_microsoft_ads__ad_insights_hourly_joined",
        ),
        aliases=("bing", "bing_ads", "microsoft", "microsoft_advertising"),
        sandbox=SandboxProfile(
            restatement_days=30,
            objectives=("SEARCH", "AUDIENCE"),
            cpm_range=(20.0, 55.0),
            ctr_range=(0.020, 0.055),
            id_formats={"account": ("1", 9), "campaign": ("4", 9), "ad_group": ("11", 13), "ad": ("8", 11)},
        ),
    ),
    PlatformSpec(
        name="linkedin",
        title="LinkedIn Ads",
        connector="pipeline.connectors.linkedin:LinkedInConnector",
        sandbox_router="pipeline.sandbox.linkedin_api",
        sandbox_token="sandbox-linkedin-token",
        capabilities=_READ_AND_WRITE,
        # No hourly reports and no level between campaign and creative (the house ad).
        staging=_staging(
            "linkedin",
            without=("ad_performance_hourly", "ad_groups"),
            campaigns="int_linkedin__campaigns_joined",
            ad_performance_daily="int_linkedin__ad_analytics_joined",
            ads="stg_linkedin__creatives",
        ),
        aliases=("linkedin_ads", "linked_in"),
        sandbox=SandboxProfile(
            restatement_days=30,
            objectives=("WEBSITE_CONVERSION", "WEBSITE_VISIT"),
            cpm_range=(30.0, 80.0),
            ctr_range=(0.004, 0.010),
            id_formats={"account": ("5", 9), "campaign": ("3", 9), "ad_group": ("6", 11), "ad": ("2", 11)},
        ),
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


def dbt_staging_models() -> dict[str, dict[str, str]]:
    """platform -> {conformed entity: staging model}: what dbt's cross-platform unions read.

    dbt gets it as JSON in ``DBT_STAGING_MODELS_ENV`` (``pipeline.warehouse.db.dbt_env``), so a new
    platform's staging folder joins the unions through its registry entry alone.
    """
    return {spec.name: dict(spec.staging) for spec in PLATFORMS}


def dbt_staging_models_json() -> str:
    return json.dumps(dbt_staging_models(), sort_keys=True, separators=(",", ":"))


def platform_aliases() -> dict[str, str]:
    """Other names of each platform (as CSV exports spell them) -> the platform's name."""
    return {alias: spec.name for spec in PLATFORMS for alias in spec.aliases}


__all__ = [
    "DBT_STAGING_MODELS_ENV",
    "PLATFORMS",
    "PLATFORM_NAMES",
    "REQUIRED_STAGING_ENTITIES",
    "STAGING_ENTITIES",
    "Capability",
    "PlatformSpec",
    "SandboxProfile",
    "dbt_staging_models",
    "dbt_staging_models_json",
    "platform_aliases",
    "platform_spec",
    "platforms_with",
]


if __name__ == "__main__":  # `python -m pipeline.platforms`: the value for a dbt run outside adsignal
    print(f"export {DBT_STAGING_MODELS_ENV}='{dbt_staging_models_json()}'")
