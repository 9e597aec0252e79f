"""Which API each platform's connector talks to, with which credentials.

Production credentials come from the environment (``META_ACCESS_TOKEN`` and ``META_AD_ACCOUNT_IDS``,
optionally ``META_API_BASE_URL``). A platform with no credentials configured reads the sandbox's
fake API at ``ADSIGNAL_SANDBOX_URL`` instead, so a fresh clone runs end to end offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pipeline.config import settings
from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import Connector, Credentials

PRODUCTION_BASE_URLS = {"meta": "https://graph.facebook.com"}


@dataclass(frozen=True)
class PlatformCredentials:
    platform: str
    base_url: str
    access_token: str = field(repr=False)  # never printed: repr, logs and metadata leave it out
    account_ids: tuple[str, ...] | None
    is_sandbox: bool


def _env_list(name: str) -> tuple[str, ...] | None:
    raw = os.environ.get(name, "")
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    return values or None


def resolve_credentials(platform: str, sandbox_url: str | None = None) -> PlatformCredentials:
    prefix = platform.upper()
    token = os.environ.get(f"{prefix}_ACCESS_TOKEN")
    if token:
        return PlatformCredentials(
            platform=platform,
            base_url=os.environ.get(f"{prefix}_API_BASE_URL", PRODUCTION_BASE_URLS[platform]),
            access_token=token,
            account_ids=_env_list(f"{prefix}_AD_ACCOUNT_IDS"),
            is_sandbox=False,
        )
    from pipeline.sandbox.server import SANDBOX_TOKENS

    return PlatformCredentials(
        platform=platform,
        base_url=f"{(sandbox_url or settings().sandbox_url).rstrip('/')}/{platform}",
        access_token=SANDBOX_TOKENS[platform],
        account_ids=None,
        is_sandbox=True,
    )


# The sandbox advances report jobs per poll, not per second: no need to wait like on a real API.
SANDBOX_OPTIONS: dict[str, dict[str, object]] = {"meta": {"poll_interval": 0.05}}


def open_connector(platform: str, sandbox_url: str | None = None, **options: object) -> Connector:
    resolved = resolve_credentials(platform, sandbox_url)
    if resolved.is_sandbox:
        options = {**SANDBOX_OPTIONS.get(platform, {}), **options}
    return CONNECTORS[platform](
        resolved.base_url,
        Credentials(access_token=resolved.access_token),
        account_ids=resolved.account_ids,
        **options,
    )
