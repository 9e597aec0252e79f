"""What the connector test modules share: a recording transport and a sandbox world on a pinned clock."""

from __future__ import annotations

from datetime import date, datetime

import httpx

from pipeline.sandbox.simulator import World, default_scenario


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that remembers what went over the wire (to assert on params and bodies)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def matching(self, method: str, path_suffix: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.endswith(path_suffix)]


def pinned_world(today: date, now: datetime) -> World:
    """The default scenario seen at a fixed moment, so every read is reproducible."""
    world = World(default_scenario(today=today))
    world.now = now
    return world
