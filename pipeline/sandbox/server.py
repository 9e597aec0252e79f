"""The sandbox server: every platform's fake API on one loopback port.

``create_app`` mounts one router per platform from ``ROUTERS`` at ``/{platform}`` (derived from the
platform registry, ``pipeline.platforms``) plus control endpoints under ``/_sandbox``:

- ``GET  /_sandbox/health``  liveness, platforms served, the world's clock;
- ``GET|POST|DELETE /_sandbox/faults``  list, inject (``{"platform", "kind", "path"?, "times"?,
  "params"?: {...}}``; other keys are taken as params too) or clear faults (``?platform=`` optional);
- ``GET|POST /_sandbox/clock``  read or pin the clock: ``{"now": "2026-11-20T12:00:00Z"}``
  (``null`` = real time) or ``{"advance_days": 1, "advance_hours": 0}``.

``SandboxServer`` (a ``BackgroundServer``) runs the app with uvicorn in a daemon thread on a free loopback port, for tests and
the demo; ``serve`` runs it in the foreground for ``adsignal sandbox serve``.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from pipeline.platforms import PLATFORMS
from pipeline.sandbox.duplicates import DUPLICATE_PAGE, with_duplicate_pages
from pipeline.sandbox.simulator import World, default_scenario

# The credentials the sandbox accepts out of the box (connections.py hands them to connectors).
SANDBOX_SERVICE = "adsignal-sandbox"  # /_sandbox/health says this
SANDBOX_TOKENS: dict[str, str] = {spec.name: spec.sandbox_token for spec in PLATFORMS}

# platform -> router module (``router_factory``, ``FAULT_KINDS``: ``pipeline.sandbox.router_protocol``),
# from the platform registry.
ROUTERS: dict[str, ModuleType] = {spec.name: spec.router_module() for spec in PLATFORMS}

# Fault kinds the routers understand (each router documents what they do on its protocol), plus
# ``duplicate_page`` on every platform (``pipeline.sandbox.duplicates``).
FAULT_KINDS: frozenset[str] = frozenset({DUPLICATE_PAGE}).union(
    *(module.FAULT_KINDS for module in ROUTERS.values())
)


@dataclass
class Fault:
    """One injected fault: hits the next ``remaining`` matching requests (negative: until cleared)."""

    id: int
    platform: str
    kind: str
    path: str | None
    remaining: int
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0

    def matches(self, platform: str, path: str, kinds: Collection[str]) -> bool:
        return (
            self.platform == platform
            and self.kind in kinds
            and self.remaining != 0
            and (self.path is None or self.path in path)
        )


class FaultInjector:
    """Thread-safe queue of faults that platform routers consult on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self, platform: str, kind: str, *, path: str | None = None, times: int = 1, **params: Any
    ) -> Fault:
        """Make the next ``times`` requests to ``platform`` whose path contains ``path`` fail as ``kind``.

        Async kinds (``async_*``) are taken when a report run is created and shape that run.
        ``times < 0`` keeps the fault until :meth:`clear`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
        if platform not in ROUTERS:
            raise ValueError(f"no sandbox router for platform {platform!r}; known: {', '.join(ROUTERS)}")
        if times == 0:
            raise ValueError("times must be positive (or negative for 'until cleared')")
        fault = Fault(next(self._ids), platform, kind, path, int(times), dict(params))
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, platform: str, path: str, kinds: Collection[str]) -> Fault | None:
        """The first pending fault of one of ``kinds`` matching the request, consuming one use."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(platform, path, kinds):
                    fault.hits += 1
                    if fault.remaining > 0:
                        fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self, platform: str | None = None) -> int:
        """Drop pending faults (of one platform, or all); returns how many."""
        with self._lock:
            keep = [f for f in self._faults if platform is not None and f.platform != platform]
            dropped = len(self._faults) - len(keep)
            self._faults = keep
        return dropped

    def pending(self, platform: str | None = None) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if platform is None or f.platform == platform]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


def create_app(
    world: World,
    faults: FaultInjector,
    tokens: Mapping[str, Iterable[str]],
    settings: Mapping[str, Any] | None = None,
) -> Starlette:
    """The sandbox ASGI app: control endpoints plus one mounted router per platform."""
    settings = settings or {}

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "service": SANDBOX_SERVICE,  # how a client tells this sandbox from whatever else answers
                "platforms": list(ROUTERS),
                "now": world.clock().isoformat(),
                "clock_pinned": world.now is not None,
                "pending_faults": len(faults),
            }
        )

    async def fault_endpoint(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse(
                {"faults": [asdict(f) for f in faults.pending(request.query_params.get("platform"))]}
            )
        if request.method == "DELETE":
            return JSONResponse({"cleared": faults.clear(request.query_params.get("platform"))})
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            spec = dict(body)
            platform = str(spec.pop("platform"))
            kind = str(spec.pop("kind"))
            path = spec.pop("path", None)
            times = int(spec.pop("times", 1))
            params = dict(spec.pop("params", None) or {})
            params.update(spec)
            fault = faults.add(platform, kind, path=path, times=times, **params)
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": f"bad fault: {exc}"}, status_code=400)
        return JSONResponse({"fault": asdict(fault)}, status_code=201)

    async def clock_endpoint(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
                if "now" in body:
                    world.now = (
                        datetime.fromisoformat(body["now"].replace("Z", "+00:00")) if body["now"] else None
                    )
                if "advance_days" in body or "advance_hours" in body:
                    world.advance(
                        days=float(body.get("advance_days", 0)), hours=float(body.get("advance_hours", 0))
                    )
            except (AttributeError, TypeError, ValueError) as exc:
                return JSONResponse({"error": f"bad clock request: {exc}"}, status_code=400)
        return JSONResponse({"now": world.clock().isoformat(), "clock_pinned": world.now is not None})

    routes: list[BaseRoute] = [
        Route("/_sandbox/health", health),
        Route("/_sandbox/faults", fault_endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/clock", clock_endpoint, methods=["GET", "POST"]),
    ]
    routes += [
        Mount(
            f"/{platform}",
            app=with_duplicate_pages(
                module.router_factory(world, faults, tokens, settings.get(platform)), platform, faults
            ),
        )
        for platform, module in ROUTERS.items()
    ]
    app = Starlette(routes=routes)
    app.state.world = world
    app.state.faults = faults
    return app


def default_tokens() -> dict[str, set[str]]:
    return {platform: {token} for platform, token in SANDBOX_TOKENS.items()}


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread (``port=0``: a free port), for tests and the demo.

    ``label`` names it in errors, ``thread_name`` its thread; use it as a context manager or start/stop it.
    """

    label = "server"
    thread_name = "server"

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(f"{self.label} cannot listen on {self.host}:{self.port}: {exc}") from exc
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"{self.thread_name}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.label} did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SandboxServer(BackgroundServer):
    """The sandbox on a loopback port in a background thread.

    >>> with SandboxServer() as server:                      # doctest: +SKIP
    ...     httpx.get(f"{server.base_url('meta')}/v21.0/me/adaccounts",
    ...               params={"access_token": SANDBOX_TOKENS["meta"]})
    """

    label = "sandbox server"
    thread_name = "sandbox"

    def __init__(
        self,
        world: World | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tokens: Mapping[str, Iterable[str]] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.world = world if world is not None else World(default_scenario())
        self.faults = FaultInjector()
        # valid tokens per platform; mutate (e.g. ``tokens["meta"].clear()``) to revoke
        self.tokens: dict[str, set[str]] = (
            {p: set(t) for p, t in tokens.items()} if tokens is not None else default_tokens()
        )
        super().__init__(create_app(self.world, self.faults, self.tokens, settings), host, port)

    def base_url(self, platform: str) -> str:
        """Where a connector for ``platform`` points, e.g. ``http://127.0.0.1:PORT/meta``."""
        return f"{self.url}/{platform}"


def serve(port: int = 8765, host: str = "127.0.0.1", world: World | None = None) -> None:
    """Serve the sandbox in the foreground until interrupted (``adsignal sandbox serve``)."""
    server = SandboxServer(world, host, port)
    print(f"adsignal sandbox on {server.url} (platforms: {', '.join(ROUTERS)}); Ctrl-C stops it")
    uvicorn.run(server.app, host=host, port=port, log_level="info", lifespan="off")


__all__ = [
    "FAULT_KINDS",
    "ROUTERS",
    "SANDBOX_SERVICE",
    "SANDBOX_TOKENS",
    "BackgroundServer",
    "Fault",
    "FaultInjector",
    "SandboxServer",
    "create_app",
    "default_tokens",
    "serve",
]
