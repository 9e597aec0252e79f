"""Request parameter parsing every fake shares; the wording of the errors stays the router's.

Each helper raises :class:`ParamError` naming the parameter and what is wrong with it (``problem``:
one of ``missing``, ``not_json``, ``not_list``, ``not_object``, ``not_integer``, ``not_date``,
``body_not_json``, ``body_not_object``); a router turns it into its platform's error body, e.g.
``except ParamError as e: raise MetaError(100, MESSAGES[e.problem].format(name=e.name))``, or passes
``invalid=`` to get its own exception directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request


class ParamError(ValueError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name, self.problem = name, problem


Invalid = Callable[[ParamError], Exception]


def _raise(error: ParamError, invalid: Invalid | None) -> Exception:
    return invalid(error) if invalid is not None else error


def blank(value: Any) -> bool:
    return value is None or value == ""


async def json_body(request: Request, invalid: Invalid | None = None, *, empty: Any = None) -> Any:
    """The request's JSON object body; ``empty`` for an empty body (None: an empty body is an error)."""
    raw = await request.body()
    if not raw.strip():
        if empty is None:
            raise _raise(ParamError("body", "missing"), invalid)
        return empty
    try:
        body = json.loads(raw)
    except ValueError:
        raise _raise(ParamError("body", "body_not_json"), invalid) from None
    if not isinstance(body, dict):
        raise _raise(ParamError("body", "body_not_object"), invalid)
    return body


async def query_and_body(request: Request, invalid: Invalid | None = None) -> dict[str, Any]:
    """The query string merged with a POST's form or JSON body (Graph-style APIs accept either)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return params
    raw = await request.body()
    if raw:
        if "json" in request.headers.get("content-type", ""):
            try:
                body = json.loads(raw)
            except ValueError:
                raise _raise(ParamError("body", "body_not_json"), invalid) from None
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update(form(raw))
    return params


def form(raw: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (OAuth token requests)."""
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def bearer(request: Request, schemes: tuple[str, ...] = ("bearer",)) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (None: no such header)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in schemes and credentials.strip():
        return credentials.strip()
    return None


def required(params: Mapping[str, Any], name: str, invalid: Invalid | None = None) -> str:
    value = params.get(name)
    if value is None or str(value).strip() == "":
        raise _raise(ParamError(name, "missing"), invalid)
    return str(value).strip()


def integer(params: Mapping[str, Any], name: str, default: int, invalid: Invalid | None = None) -> int:
    value = params.get(name)
    if blank(value):
        return default
    try:
        return int(str(value))
    except ValueError:
        raise _raise(ParamError(name, "not_integer"), invalid) from None


def iso_date(params: Mapping[str, Any], name: str, invalid: Invalid | None = None) -> date:
    value = required(params, name, invalid)
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise _raise(ParamError(name, "not_date"), invalid) from None


def json_value(params: Mapping[str, Any], name: str, invalid: Invalid | None = None) -> Any:
    """A parameter sent as JSON text (or already decoded, from a JSON body); None if absent."""
    value = params.get(name)
    if blank(value):
        return None
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _raise(ParamError(name, "not_json"), invalid) from None


def json_list(params: Mapping[str, Any], name: str, invalid: Invalid | None = None) -> list[str] | None:
    """A JSON array of strings (numbers allowed); None if absent."""
    value = json_value(params, name, invalid)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise _raise(ParamError(name, "not_list"), invalid)
    return [str(v) for v in value]


def json_object(params: Mapping[str, Any], name: str, invalid: Invalid | None = None) -> dict[str, Any]:
    value = json_value(params, name, invalid)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _raise(ParamError(name, "not_object"), invalid)
    return dict(value)


def loose_list(params: Mapping[str, Any], name: str, invalid: Invalid | None = None) -> list[str] | None:
    """A list given as ``a,b``, ``["a","b"]`` or an array; None if absent."""
    value = params.get(name)
    if blank(value):
        return None
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise _raise(ParamError(name, "not_list"), invalid) from None
        return [str(v).strip() for v in parsed if str(v).strip()]
    return [part.strip() for part in text.split(",") if part.strip()]


__all__ = [
    "Invalid",
    "ParamError",
    "bearer",
    "blank",
    "form",
    "integer",
    "iso_date",
    "json_body",
    "json_list",
    "json_object",
    "json_value",
    "loose_list",
    "query_and_body",
    "required",
]
