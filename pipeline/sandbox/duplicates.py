"""The ``duplicate_page`` fault, on every platform: a page of records delivered twice.

APIs do this when a cursor does not advance, a proxy replays a response, or a report file repeats
its rows. ``with_duplicate_pages`` wraps a platform's router: a request matching a pending
``duplicate_page`` fault gets its response with the records in it twice — the longest list of
objects of a JSON body (Meta ``data``, TikTok ``data.list``, Snapchat's stats entries), every batch
of a JSON array (Google Ads ``searchStream``), every data row of a zipped CSV report (Microsoft
Advertising). Every other response passes through untouched.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.sandbox.server import FaultInjector

DUPLICATE_PAGE = "duplicate_page"
_Scope = dict[str, Any]


def _longest_record_list(value: Any) -> list | None:
    """The longest list of objects anywhere in a JSON value."""
    best: list | None = None
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            if item and all(isinstance(x, dict) for x in item) and (best is None or len(item) > len(best)):
                best = item
            stack.extend(item)
    return best


def duplicate_json(body: bytes) -> bytes | None:
    """The body with its records twice, or None if it holds none."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if isinstance(value, list) and value:  # a stream of batches: every batch again
        return json.dumps(value + value).encode()
    records = _longest_record_list(value)
    if not records:
        return None
    records.extend(list(records))
    return json.dumps(value).encode()


def duplicate_zipped_csv(body: bytes) -> bytes | None:
    """A zipped CSV report with every data row twice (rows as wide as the column header's)."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            (name,) = archive.namelist()
            text = archive.read(name).decode("utf-8-sig")
    except (zipfile.BadZipFile, ValueError):
        return None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    width = max((len(r) for r in rows), default=0)
    wide = [i for i, r in enumerate(rows) if len(r) == width]
    if width < 2 or len(wide) < 2:
        return None
    data = [rows[i] for i in wide[1:]]  # the first wide row names the columns
    last = wide[-1]
    rows = rows[: last + 1] + data + rows[last + 1 :]
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, out.getvalue().encode("utf-8-sig"))
    return buffer.getvalue()


class _DuplicatePages:
    """The wrapped router, its attributes (``state``) passed through."""

    def __init__(self, app: Any, platform: str, faults: FaultInjector) -> None:
        self.app, self.platform, self.faults = app, platform, faults

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: _Scope, receive: Any, send: Any) -> None:
        platform, faults, path = self.platform, self.faults, scope.get("path", "")
        if scope["type"] != "http" or not any(
            f.matches(platform, path, {DUPLICATE_PAGE}) for f in faults.pending(platform)
        ):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = dict(start.get("headers", []))
        content_type = headers.get(b"content-type", b"").decode()
        doubled = None
        if start.get("status") == 200:
            doubled = duplicate_zipped_csv(body) if "zip" in content_type else duplicate_json(body)
        if doubled is not None and faults.take(platform, path, {DUPLICATE_PAGE}) is not None:
            body = doubled
        headers[b"content-length"] = str(len(body)).encode()
        await send({**start, "headers": list(headers.items())})
        await send({"type": "http.response.body", "body": body})


def with_duplicate_pages(app: Any, platform: str, faults: FaultInjector) -> Any:
    """``app`` (an ASGI app) whose responses to requests matching a ``duplicate_page`` fault repeat
    their records; the fault is used up only by a response that had records to repeat."""
    return _DuplicatePages(app, platform, faults)


__all__ = ["DUPLICATE_PAGE", "duplicate_json", "duplicate_zipped_csv", "with_duplicate_pages"]
