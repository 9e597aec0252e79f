"""Response shapes every fake platform router shares."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

JSON_MEDIA_TYPE = "application/json"


def json_response(
    body: Any, status: int = 200, *, media_type: str = JSON_MEDIA_TYPE, indent: int | None = None
) -> Response:
    """A JSON answer: compact, as most APIs send it, or pretty-printed (``indent``), as Google's front end."""
    text = json.dumps(body, indent=indent) if indent else json.dumps(body, separators=(",", ":"))
    return Response(text.encode(), status_code=status, media_type=media_type)


def corrupt_json(response: Response, kind: str) -> Response:
    """The same answer broken the way real APIs break: cut off mid-body, or JSON-looking but invalid.

    Headers survive (usage headers included) except the length and type that no longer hold.
    """
    body = bytes(response.body)
    if kind == "truncated_json":
        broken = body[: max(1, len(body) // 2)]
    else:  # malformed_json
        broken = body[:-1] + b",}" if body.endswith((b"}", b"]")) else b"{" + body
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")
    }
    return Response(broken, status_code=response.status_code, headers=headers, media_type=JSON_MEDIA_TYPE)
