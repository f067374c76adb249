"""Values from notebooks and scripts -> JSON values, losslessly, or a ValidationError naming the field.

Accepted: ``__index__`` integers (numpy ints), numeric strings for integer path ids, ``uuid.UUID``
for strings, ``datetime`` / ``date`` as ISO 8601 (with ``T``), ``Decimal`` for numbers. A float
where an integer is expected, or a value of any other type, is refused before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import decimal
import operator
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from .. import errors

_PLAIN = (str, int, float, bool, type(None))


def refuse(field: str, message: str, kind: str = "type") -> errors.ValidationError:
    return errors.ValidationError(
        f"{field}: {message}", code="REQUEST_INVALID",
        detail={"schema": "arguments", "errors": [{"field": field, "kind": kind, "message": message}]},
    )


def param_value(field: str, value: Any, json_type: str | None, *, path: bool = False) -> Any:
    """One parameter value as the JSON type its schema declares (lists element by element)."""
    if type(value) is str and not (path and json_type == "integer"):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [param_value(field, v, None if json_type == "array" else json_type, path=path) for v in value]
    if json_type == "integer":
        return _integer(field, value, path)
    if json_type == "number" and isinstance(value, decimal.Decimal):
        return _decimal(value)
    if json_type == "boolean" or isinstance(value, (*_PLAIN, Mapping)):
        return value
    return json_scalar(field, value)


def _integer(field: str, value: Any, path: bool) -> Any:
    if type(value) is int or isinstance(value, bool):
        return value
    if isinstance(value, float) or (isinstance(value, decimal.Decimal) and value != value.to_integral_value()):
        raise refuse(field, f"must be an integer, not {type(value).__name__} {value!r}")
    if path and isinstance(value, str) and value.strip().lstrip("-").isdigit() and value.isascii():
        return int(value)
    if isinstance(value, decimal.Decimal):
        return int(value)
    if isinstance(value, str):
        return value  # the schema check names the field and the expected type
    try:
        return operator.index(value)
    except TypeError:
        raise refuse(field, f"must be an integer, not {type(value).__name__}") from None


def _decimal(value: decimal.Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() and value.is_finite() else float(value)


def json_scalar(field: str, value: Any) -> Any:
    """A non-JSON scalar that converts losslessly (UUID, datetime, date, Decimal, numpy ints) or a refusal."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return _decimal(value)
    if hasattr(value, "__index__") and not isinstance(value, str):
        return operator.index(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        item = value.item()
        if isinstance(item, _PLAIN):
            return item
    raise refuse(field, f"cannot be sent as JSON: a {type(value).__name__} is not a string, number, "
                        "boolean, list or object")


def is_file(value: Any) -> bool:
    return isinstance(value, PurePath | bytes | bytearray) or hasattr(value, "read")


def json_value(value: Any, field: str = "body") -> Any:
    """A body as JSON values; returns the same object when nothing needed converting (the usual case)."""
    if isinstance(value, _PLAIN) or is_file(value):
        return value
    if isinstance(value, Mapping):
        changed = type(value) is not dict
        out = {}
        for key, item in value.items():
            new = json_value(item, f"{field}.{key}" if field != "body" else str(key))
            changed = changed or new is not item
            out[key] = new
        return out if changed else value
    if isinstance(value, list | tuple):
        items = [json_value(item, f"{field}[{i}]") for i, item in enumerate(value)]
        if type(value) is list and all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items
    return json_scalar(field, value)
