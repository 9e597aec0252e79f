"""`adsignal collect`: a Segment-compatible HTTP tracking API writing to ``raw.cdp_events``.

Endpoints as Segment's HTTP API: ``POST /v1/track``, ``/v1/identify``, ``/v1/page``, ``/v1/screen``,
``/v1/group``, ``/v1/alias`` (one event) and ``/v1/batch`` (``{"batch": [...]}``; ``/v1/import`` is an
alias). The write key is the HTTP basic-auth user name (password empty), or ``writeKey`` in the body
as analytics.js sends it; a key belongs to one tenant (``adsignal collect keys add --tenant T``).
Bodies may be gzip (``Content-Encoding: gzip``), as RudderStack's SDKs send them.

Answers: ``200 {"success": true}`` only after the events are committed, so an acknowledged event is
never lost and a client's retry is harmless (``messageId`` is the key: nothing is doubled). ``400`` for
a body that is not JSON or larger than 500 KB, ``401`` for a missing, unknown or revoked key. Inside a
good batch, an event that breaks the spec (no messageId, no user or anonymous id, over 32 KB, a bad
timestamp) goes to ``raw.quarantine`` with its reason and the rest are stored; the answer counts both.
Tokens and event contents are never logged.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import logging
import time
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pipeline.config import utc_now
from pipeline.connectors.events import MAX_BATCH_BYTES, MAX_EVENT_BYTES, EventError, parse_event, scrub_pii
from pipeline.event_imports import store_pii
from pipeline.warehouse.events_store import insert_events, quarantine_events, tenant_of_key

log = logging.getLogger(__name__)
KEY_CACHE_SECONDS = 30.0  # a revoked key stops working within this long
SINGLE_EVENT_PATHS = ("track", "identify", "page", "screen", "group", "alias")


class _KeyCache:
    """Write key → tenant for ``KEY_CACHE_SECONDS``, so a burst of batches costs one lookup per key."""

    def __init__(
        self, lookup: Callable[[str], str | None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._known: dict[str, tuple[str | None, float]] = {}

    def tenant(self, key: str) -> str | None:
        hit = self._known.get(key)
        now = self._clock()
        if hit and now - hit[1] < KEY_CACHE_SECONDS:
            return hit[0]
        tenant = self._lookup(key)
        self._known[key] = (tenant, now)
        return tenant


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status)


def _basic_auth_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, _password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user or None


async def _body(request: Request) -> bytes | JSONResponse:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        return _error(400, f"body larger than {MAX_BATCH_BYTES // 1024} KB")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BATCH_BYTES:
            return _error(400, f"body larger than {MAX_BATCH_BYTES // 1024} KB")
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            # Bounded: a small gzip body may inflate far past the limit.
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = inflater.decompress(raw, MAX_BATCH_BYTES + 1)
        except (zlib.error, gzip.BadGzipFile):
            return _error(400, "body is not valid gzip")
        if len(raw) > MAX_BATCH_BYTES:
            return _error(400, f"body larger than {MAX_BATCH_BYTES // 1024} KB once inflated")
    return raw


def create_app(url: str, *, pool_size: int = 4) -> Starlette:
    pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True)  # also when served without lifespan

    def lookup(key: str) -> str | None:
        with pool.connection() as conn:
            return tenant_of_key(conn, key)

    keys = _KeyCache(lookup)
    keep_pii = store_pii()

    def store(tenant: str, key_source: str, payloads: list[Any], defaults: dict[str, Any]) -> dict[str, int]:
        received = utc_now()
        events, refused = [], []
        for position, payload in enumerate(payloads, start=1):
            try:
                if isinstance(payload, dict):
                    if len(json.dumps(payload, separators=(",", ":"))) > MAX_EVENT_BYTES:
                        raise EventError(f"event larger than {MAX_EVENT_BYTES // 1024} KB")
                    payload = {**defaults, **payload}
                events.append(parse_event(payload, received_at=received, store_pii=keep_pii))
            except EventError as exc:
                kept = payload if isinstance(payload, dict) else {"value": payload}
                refused.append((position, str(exc), kept if keep_pii else scrub_pii(kept)))
        with pool.connection() as conn, conn.transaction():
            new = insert_events(conn, tenant, key_source, events)
            if refused:
                quarantine_events(conn, tenant, key_source, refused)
        return {
            "received": len(payloads),
            "stored": new,
            "repeated": len(events) - new,
            "quarantined": len(refused),
        }

    async def handle(request: Request) -> JSONResponse:
        body = await _body(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            document = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "body is not JSON")
        if not isinstance(document, dict):
            return _error(400, "body must be a JSON object")
        key = _basic_auth_key(request) or (
            document.get("writeKey") if isinstance(document.get("writeKey"), str) else None
        )
        if not key:
            return _error(401, "missing write key (HTTP basic auth user name)")
        try:
            tenant = await run_in_threadpool(keys.tenant, key)
        except psycopg.Error:
            log.exception("collector: warehouse unavailable while checking a write key")
            return _error(503, "warehouse unavailable; retry")
        if tenant is None:
            return _error(401, "unknown or revoked write key")
        kind = request.path_params["kind"]
        if kind not in (*SINGLE_EVENT_PATHS, "batch", "import"):
            return _error(404, f"no endpoint /v1/{kind[:40]}")
        if kind in ("batch", "import"):
            batch = document.get("batch")
            if not isinstance(batch, list):
                return _error(400, "a batch call needs a 'batch' array")
            defaults = {
                k: document[k] for k in ("context", "integrations") if isinstance(document.get(k), dict)
            }
            payloads: list[Any] = batch
        else:
            payloads, defaults = [{**document, "type": document.get("type") or kind}], {}
        source = f"collector:{tenant}"
        try:
            counts = await run_in_threadpool(store, tenant, source, payloads, defaults)
        except psycopg.Error:
            log.exception("collector: a batch could not be committed (the client will retry)")
            return _error(503, "events not stored; retry")
        return JSONResponse({"success": True, **counts})

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            pool.close()  # after the batches in flight: what was acknowledged is committed

    routes = [Route("/v1/{kind:str}", handle, methods=["POST"]), Route("/health", health, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan)
