"""Arguments -> BoundCall: positional and keyword arguments sorted into path, query, header and body.

Unknown names are a TypeError listing the valid ones; values are coerced to the schema's JSON
types (see coercion.py); a dict body is checked like keyword arguments (unknown top-level keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..naming import identifier
from ..registry import Operation
from .coercion import json_value, param_value, refuse


@dataclass(slots=True)
class BoundCall:
    """A call's arguments sorted by where they go."""

    path: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, Any]
    body: Any
    list_all: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def bind_arguments(
    op: Operation, parents: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any],
    extra_keywords: tuple[str, ...] = (),
) -> BoundCall:
    """Sort positional and keyword arguments into path, query, header and body parts.

    Raises UnknownArgumentError (a TypeError) naming the bad argument and listing the valid ones.
    """
    bound = BoundCall(dict(zip(op.bound_path_params, parents, strict=False)), {}, {}, None)
    _bind_positional(op, bound, list(args))
    fields: dict[str, Any] = {}
    for key, value in kwargs.items():
        _bind_keyword(op, bound, fields, key, value, extra_keywords)
    _coerce_path(op, bound)
    if fields:
        if bound.body is not None and not isinstance(bound.body, Mapping):
            raise errors.UnknownArgumentError(f"{op.qualified_name}(): body fields as keywords need a mapping body")
        bound.body = {**(dict(bound.body) if bound.body is not None else {}), **fields}
    if bound.body is not None:
        try:
            bound.body = json_value(bound.body)
        except RecursionError:
            raise refuse("body", "nests too deeply to be sent as JSON", kind="json") from None
    return bound


def _bind_positional(op: Operation, bound: BoundCall, args: list[Any]) -> None:
    own = op.own_path_params
    for name in own:
        if not args:
            break
        bound.path[name] = args.pop(0)
    if args and op.body is not None and isinstance(args[0], Mapping | list):
        bound.body = args.pop(0)
    if args:
        takes = ", ".join(own + (["body"] if op.body else [])) or "no positional arguments"
        raise errors.UnknownArgumentError(
            f"{op.qualified_name}() got {len(args)} unexpected positional argument(s); it takes: {takes}"
        )


def _bind_keyword(op: Operation, bound: BoundCall, fields: dict[str, Any], key: str, value: Any,
                  extra_keywords: tuple[str, ...]) -> None:
    name = op.keyword_aliases.get(key, key)
    types = op.param_types
    if name == "list_all" and op.is_paginated:
        if not isinstance(value, bool):
            raise refuse("list_all", f"must be True or False, not {type(value).__name__}")
        bound.list_all = value
    elif name == "body" and op.body is not None:
        bound.body = value
    elif name in extra_keywords:
        bound.extra[name] = value
    elif name in op.path_param_specs and name not in op.bound_path_params:
        if name in bound.path:
            raise errors.UnknownArgumentError(f"{op.qualified_name}() got multiple values for {name!r}")
        bound.path[name] = value
    elif name in op.query_params:
        bound.query[name] = param_value(name, value, types.get(name))
    elif op.header_params and (header := _header_name(op, name)):
        bound.headers[header] = param_value(header, value, types.get(header))
    elif name in op.body_fields:
        fields[name] = value
    elif op.extra_query:
        bound.query[name] = param_value(name, value, None)
    elif name in op.bound_path_params:
        resource = op.qualified_name.rsplit(".", 1)[0].rsplit(".", 1)[-1]
        raise errors.UnknownArgumentError(
            f"{op.qualified_name}() got {key!r}, but {name} is already given by {resource}({name}); drop it")
    else:
        valid = sorted(k for k in set(op.accepted_keywords()) | set(extra_keywords)
                       if op.keyword_aliases.get(k, k) not in op.bound_path_params)
        raise errors.UnknownArgumentError(
            f"{op.qualified_name}() got an unexpected keyword argument {key!r}; valid: {', '.join(valid)}"
        )


def _header_name(op: Operation, name: str) -> str | None:
    if name in op.header_params:
        return name
    return {identifier(h).lower(): h for h in op.header_params}.get(name.lower())


def _coerce_path(op: Operation, bound: BoundCall) -> None:
    path = bound.path
    if not path.keys() >= set(op.path_params):
        missing = [n for n in op.path_params if n not in path]
        raise errors.ValidationError(
            f"{op.qualified_name}() is missing path parameter(s): {', '.join(missing)}",
            code="REQUEST_INVALID",
            detail={"schema": f"{op.qualified_name} parameters",
                    "errors": [{"field": m, "kind": "required", "message": "required field is missing"}
                               for m in missing]},
        )
    types = op.param_types
    for name, value in path.items():
        if type(value) is not str or types.get(name) == "integer":
            path[name] = param_value(name, value, types.get(name), path=True)


def unknown_body_keys(op: Operation, body: Any) -> list[str]:
    """Top-level body keys the schema does not list, each with the closest valid field when there is one."""
    if op.body_is_open or not isinstance(body, Mapping):
        return []
    known = op.body_fields
    problems = []
    for key in body:
        if key not in known:
            import difflib  # only on a typo: start-up does not pay for it
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown body field {key!r}{hint}; valid: {', '.join(known)}")
    return problems
