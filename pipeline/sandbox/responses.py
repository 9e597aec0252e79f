"""Response shapes every fake platform router shares."""

from __future__ import annotations

from starlette.responses import Response

JSON_MEDIA_TYPE = "application/json"


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
