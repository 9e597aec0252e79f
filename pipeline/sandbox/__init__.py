"""The sandbox: a simulator with known ground truth behind faithful fakes of the platforms' APIs.

``simulator`` computes what happened (and what each platform reports at a given moment);
``server`` serves it over HTTP, one router per platform (``meta_api`` for Meta), with injectable
faults. Connectors talk to it exactly as they talk to production.
"""

from __future__ import annotations

from typing import Any

from pipeline.sandbox.simulator import (
    Account,
    Ad,
    AdGroup,
    Campaign,
    Incident,
    Metrics,
    Scenario,
    World,
    default_scenario,
)

_SERVER_NAMES = frozenset({"SANDBOX_TOKENS", "FaultInjector", "SandboxServer", "create_app", "serve"})


def __getattr__(name: str) -> Any:
    # The HTTP side (starlette, uvicorn) loads only when asked for: simulator users skip it.
    if name in _SERVER_NAMES:
        from pipeline.sandbox import server

        return getattr(server, name)
    raise AttributeError(f"module 'pipeline.sandbox' has no attribute {name!r}")


__all__ = [
    "SANDBOX_TOKENS",
    "Account",
    "Ad",
    "AdGroup",
    "Campaign",
    "FaultInjector",
    "Incident",
    "Metrics",
    "SandboxServer",
    "Scenario",
    "World",
    "create_app",
    "default_scenario",
    "serve",
]
