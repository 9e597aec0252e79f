"""One conversion of Python values into what JSON (and PostgreSQL jsonb) can hold."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """Plain ints and floats (no numpy; nan / inf become null), lists, string keys, ISO dates and times;
    anything else JSON cannot hold becomes its string."""
    # Exact built-in types first: evidence is mostly plain floats and strings, and the ABC checks
    # below cost more than the conversion itself.
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return str(value)
