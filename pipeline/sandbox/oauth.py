"""A fake OAuth 2.0 refresh-token grant, shared by the routers of platforms that use OAuth.

Access tokens it issues expire after ``lifetime`` of the *world's* clock, so a test that advances
the clock sees them expire. The sandbox's static token (``SANDBOX_TOKENS``) never expires, which
keeps the demo simple. A router answers its platform's token URL with :meth:`OAuthIssuer.grant`
and checks bearer tokens with :meth:`OAuthIssuer.check`, turning the verdict into its own
platform's error shape.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

from pipeline.sandbox.simulator import World

SANDBOX_CLIENT_ID = "sandbox-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"


def sandbox_refresh_token(platform: str) -> str:
    return f"sandbox-{platform.replace('_', '-')}-refresh-token"


TokenVerdict = Literal["valid", "expired", "invalid", "missing"]


class OAuthIssuer:
    """Issues, validates and expires access tokens for one platform."""

    def __init__(
        self,
        platform: str,
        world: World,
        tokens: Mapping[str, set[str]],
        lifetime: timedelta = timedelta(hours=1),
    ) -> None:
        self.platform = platform
        self.world = world
        self.tokens = tokens  # the server's valid static tokens per platform
        self.lifetime = lifetime
        self.refresh_tokens: set[str] = {sandbox_refresh_token(platform)}
        self._expiry: dict[str, datetime] = {}
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    def grant(self, form: Mapping[str, str]) -> tuple[int, dict[str, object]]:
        """Answer a token request: ``(status, body)`` per RFC 6749 section 5."""
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": "only refresh_token"}
        if form.get("client_id") not in (None, SANDBOX_CLIENT_ID) or form.get("client_secret") not in (
            None,
            SANDBOX_CLIENT_SECRET,
        ):
            return 401, {"error": "invalid_client", "error_description": "Unknown client."}
        if form.get("refresh_token") not in self.refresh_tokens:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        with self._lock:
            token = f"sbx-{self.platform}-{next(self._serial):06d}-{int(self.world.clock().timestamp())}"
            self._expiry[token] = self.world.clock() + self.lifetime
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.lifetime.total_seconds()),
        }

    def check(self, token: str | None) -> TokenVerdict:
        if not token:
            return "missing"
        if token in self.tokens.get(self.platform, ()):
            return "valid"
        expiry = self._expiry.get(token)
        if expiry is None:
            return "invalid"
        return "valid" if self.world.clock() < expiry else "expired"
