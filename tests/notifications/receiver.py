"""A local webhook receiver over real HTTP: records every request, answers from a script.

``Receiver().start()`` serves on a free loopback port in a uvicorn thread. Queue answers with
:meth:`Receiver.respond` (``respond(500)``, ``respond(429, headers={"Retry-After": "2"})``,
``respond(400, "invalid_payload")``); when the queue is empty it answers 200 ``ok`` like Slack.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._answers: deque[tuple[int, str, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    def start(self) -> Receiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"receiver:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("webhook receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
