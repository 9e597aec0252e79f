"""A local webhook receiver over real HTTP: records every request, answers from a script.

``Receiver().start()`` serves on a free loopback port in a uvicorn thread. Queue answers with
:meth:`Receiver.respond` (``respond(500)``, ``respond(429, headers={"Retry-After": "2"})``,
``respond(400, "invalid_payload")``); when the queue is empty it answers 200 ``ok`` like Slack.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pipeline.sandbox.server import BackgroundServer


@dataclass(frozen=True)
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver(BackgroundServer):
    label = "webhook receiver"
    thread_name = "receiver"

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._answers: deque[tuple[int, str, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        super().__init__(Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])]))

    def respond(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._answers.append((status, body, headers or {}))

    def on(self, path_prefix: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._answers.clear()

    async def _handle(self, request: Request) -> PlainTextResponse:
        body = await request.body()
        with self._lock:
            self.requests.append(Received(request.url.path, request.url.query, dict(request.headers), body))
            status, text, headers = self._answers.popleft() if self._answers else (200, "ok", {})
        return PlainTextResponse(text, status_code=status, headers=headers)
