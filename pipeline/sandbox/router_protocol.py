"""What the sandbox server needs of a platform's fake API module (checked in tests/test_platform_registry.py).

The registry (``pipeline.platforms.PlatformSpec.sandbox_router``) names a module; the server mounts
``router_factory(world, faults, tokens, settings)`` at ``/{PLATFORM}`` and accepts ``FAULT_KINDS``
for it. A router built on :mod:`pipeline.sandbox.engine` gets its factory from
``engine.router_factory(ApiClass)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from starlette.applications import Starlette

from pipeline.sandbox.simulator import World

if TYPE_CHECKING:
    from pipeline.sandbox.server import FaultInjector


class RouterFactory(Protocol):
    def __call__(
        self,
        world: World,
        faults: FaultInjector,
        tokens: Mapping[str, Iterable[str]],
        settings: Any = None,
    ) -> Starlette: ...


@runtime_checkable
class SandboxRouter(Protocol):
    """A fake platform API module."""

    PLATFORM: str  # the registry's name for the platform; the router's mount point
    FAULT_KINDS: frozenset[str]  # the fault kinds it answers (``duplicate_page`` comes on top)
    router_factory: RouterFactory  # its ASGI app, whose ``state.api`` is the router's state for tests


__all__ = ["RouterFactory", "SandboxRouter"]
