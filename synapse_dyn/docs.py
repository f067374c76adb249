"""Help text and call signatures built from the schema, on first access only."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any, Literal

from .registry import Operation, ref_name

_PY_TYPES = {"integer": int, "number": float, "boolean": bool, "string": str, "array": list, "object": dict}


def schema_type(op: Operation, schema: dict[str, Any] | None) -> str:
    """A short human type: ``integer``, ``string (date-time)``, ``one of: a, b``, ``ProjectV2Detail``."""
    if not schema:
        return "any"
    name = ref_name(schema)
    target = op.registry.resolve(schema)
    if target.get("enum"):
        return "one of: " + ", ".join(str(v) for v in target["enum"] if v is not None)
    kind = target.get("type") or ("object" if target.get("properties") else None)
    if kind == "array":
        return f"array of {schema_type(op, target.get('items') or {})}"
    if name and kind == "object":
        return name
    text = kind or name or "any"
    if target.get("format"):
        text += f" ({target['format']})"
    if target.get("nullable"):
        text += ", nullable"
    return text


def python_annotation(op: Operation, schema: dict[str, Any] | None) -> Any:
    if not schema:
        return Any
    target = op.registry.resolve(schema)
    enum = [v for v in target.get("enum") or [] if v is not None]
    if enum and all(isinstance(v, str | int) for v in enum):
        return Literal[tuple(enum)]  # type: ignore[valid-type]
    return _PY_TYPES.get(target.get("type"), Any)


def signature(op: Operation) -> inspect.Signature:
    """Path parameters positional, then ``body``, then query parameters and body fields keyword-only."""
    params: list[inspect.Parameter] = []
    specs = op.path_param_specs
    for name in op.own_path_params:
        params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        annotation=python_annotation(op, specs[name].get("schema"))))
    if op.body is not None:
        default = inspect.Parameter.empty if op.body.required and not op.body_fields else None
        params.append(inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                        annotation=dict))
    seen = {p.name for p in params}
    for name, spec in op.query_params.items():
        if name.isidentifier() and name not in seen:
            seen.add(name)
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=python_annotation(op, spec.get("schema"))))
    for name, schema in op.body_fields.items():
        if name.isidentifier() and name not in seen and not op.registry.resolve(schema).get("readOnly"):
            seen.add(name)
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=python_annotation(op, schema)))
    if op.is_paginated:
        params.append(inspect.Parameter("list_all", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool))
    returns = "Page" if op.is_paginated else (op.result_schema_name or Any)
    return inspect.Signature(params, return_annotation=returns)


def _line(name: str, kind: str, required: bool, description: str) -> str:
    flag = " (required)" if required else ""
    text = f"  {name}: {kind}{flag}"
    if description:
        text += "\n" + textwrap.indent(textwrap.fill(description.strip(), 76), "      ")
    return text


def body_field_lines(op: Operation) -> list[str]:
    if not op.body:
        return []
    schema = op.registry.resolve(op.body.schema)
    required = set(schema.get("required") or [])
    lines = []
    for name, prop in op.body_fields.items():
        target = op.registry.resolve(prop)
        if target.get("readOnly"):
            continue
        lines.append(_line(name, schema_type(op, prop), name in required, target.get("description") or ""))
    return lines


def help_text(op: Operation) -> str:
    """The docstring of an operation: summary, description, HTTP line, parameters, body, result."""
    parts = [op.summary or op.qualified_name]
    if op.description and op.description != op.summary:
        parts.append(textwrap.fill(op.description, 78))
    parts.append(f"{op.method.upper()} {op.path}" + (f"  (operationId: {op.operation_id})" if op.operation_id else ""))
    specs = op.path_param_specs
    if op.own_path_params:
        parts.append("Path parameters:\n" + "\n".join(
            _line(n, schema_type(op, specs[n].get("schema")), True, specs[n].get("description") or "")
            for n in op.own_path_params))
    if op.query_params:
        parts.append("Query parameters:\n" + "\n".join(
            _line(n, schema_type(op, p.get("schema")), bool(p.get("required")), p.get("description") or "")
            for n, p in op.query_params.items()))
    if op.header_params:
        parts.append("Header parameters:\n" + "\n".join(
            _line(n, schema_type(op, p.get("schema")), bool(p.get("required")), p.get("description") or "")
            for n, p in op.header_params.items()))
    fields = body_field_lines(op)
    if op.body:
        head = f"Body ({op.body.content_type}{', required' if op.body.required else ''}"
        head += f", {ref_name(op.body.schema)})" if ref_name(op.body.schema) else ")"
        parts.append(head + (":\n" + "\n".join(fields) if fields else ""))
    if op.keyword_aliases:
        parts.append("Aliases: " + ", ".join(f"{a} = {r}" for a, r in sorted(op.keyword_aliases.items())))
    if op.is_paginated:
        parts.append(f"Returns: Page of {op.item_schema_name or 'items'}; list_all=True streams every item.")
    elif op.success_schema:
        parts.append(f"Returns: {op.result_schema_name or schema_type(op, op.success_schema)}")
    else:
        parts.append("Returns: None")
    return "\n\n".join(parts)
