"""Compact JSON Schemas for tool inputs, derived from an operation's parameters and body.

The tool list is read by a model on every turn, so each byte counts: ``$ref``s are inlined
only a few levels deep (deeper objects become ``{"type": "object"}``), descriptions are cut
to their first sentence, read-only fields and documentation-only keywords are dropped,
while types, enums, formats and required flags are kept. The client still validates every
call against the full schema, and its errors name the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..registry import Operation, Registry

MAX_DEPTH = 3
DESCRIPTION_LIMIT = 80
KEPT_SCALARS = ("type", "format", "enum", "default", "const")
DRY_RUN = "dry_run"
RESERVED = frozenset({DRY_RUN})
DRY_RUN_SCHEMA = {"type": "boolean", "description": "Return the request (tokens masked) without sending it."}


def first_sentence(text: str | None, limit: int = DESCRIPTION_LIMIT) -> str:
    """The first sentence of a description, at most ``limit`` characters; '' for enum listings."""
    text = " ".join((text or "").split())
    if not text or text.startswith("* `"):
        return ""
    cut = text.find(". ")
    text = text[: cut + 1] if cut > 0 else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def compact(registry: Registry, schema: Any, depth: int = 0, describe: bool = True) -> dict[str, Any]:
    """A small JSON Schema for one value, following $ref / allOf, cut below MAX_DEPTH."""
    schema = registry.resolve(schema) if isinstance(schema, dict) else {}
    out: dict[str, Any] = {k: schema[k] for k in KEPT_SCALARS if k in schema}
    if "allOf" in schema and "type" not in out:
        out["type"] = "object"
    for key in ("oneOf", "anyOf"):
        if key in schema and depth < MAX_DEPTH:
            out[key] = [compact(registry, s, depth + 1, describe=False) for s in schema[key]]
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if describe and (text := first_sentence(schema.get("description"))):
        out["description"] = text
    kind = out.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "array" and "items" in schema and depth < MAX_DEPTH:
        items = compact(registry, schema["items"], depth + 1, describe=False)
        if items:
            out["items"] = items
    elif (kind == "object" or "properties" in schema or "allOf" in schema) and depth < MAX_DEPTH:
        props, required = writable_properties(registry, schema)
        if props:
            out["type"] = out.get("type", "object")
            out["properties"] = {k: compact(registry, v, depth + 1, describe=depth == 0) for k, v in props.items()}
            if required:
                out["required"] = required
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            out["additionalProperties"] = compact(registry, extra, depth + 1, describe=False)
    return out


def writable_properties(registry: Registry, schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An object's properties a caller may send (readOnly dropped) and which of them are required."""
    props = {k: v for k, v in registry.object_properties(schema).items() if not registry.resolve(v).get("readOnly")}
    required: list[str] = []
    for part in [schema] + list(schema.get("allOf") or []):
        required += [r for r in registry.resolve(part).get("required") or [] if r in props and r not in required]
    return props, required


@dataclass(frozen=True)
class Argument:
    """Where one tool argument goes: ``location`` is path, query, header, field (a body field) or body."""

    location: str
    name: str


@dataclass
class ToolInput:
    """A tool's input schema and the map from its argument names to the operation's parameters."""

    schema: dict[str, Any]
    arguments: dict[str, Argument] = field(default_factory=dict)


def tool_input(op: Operation, with_dry_run: bool) -> ToolInput:
    """The input schema of an operation's tool; the schema's own ``dry_run`` becomes ``server_dry_run``."""
    registry = op.registry
    props: dict[str, Any] = {}
    required: list[str] = []
    result = ToolInput({"type": "object", "properties": props})

    def add(location: str, name: str, schema: Any, is_required: bool, description: str | None = None) -> None:
        key = f"server_{name}" if name in RESERVED else name
        if key in props:
            return
        entry = compact(registry, schema, describe=False)
        raw = description if description is not None else registry.resolve(schema or {}).get("description")
        if text := first_sentence(raw):
            entry["description"] = text
        props[key] = entry
        result.arguments[key] = Argument(location, name)
        if is_required:
            required.append(key)

    for name in op.path_params:
        spec = op.path_param_specs[name]
        add("path", name, spec.get("schema"), True, spec.get("description"))
    for location, specs in (("query", op.query_params), ("header", op.header_params)):
        for name, spec in specs.items():
            text = "The `next` value of the previous page." if name == op.pagination_param else spec.get("description")
            add(location, name, spec.get("schema"), bool(spec.get("required")), text)
    _add_body(op, add, props)
    if with_dry_run:
        props[DRY_RUN] = dict(DRY_RUN_SCHEMA)
        result.arguments[DRY_RUN] = Argument("dry_run", DRY_RUN)
    if required:
        result.schema["required"] = required
    return result


def _add_body(op: Operation, add: Any, props: dict[str, Any]) -> None:
    """Body fields become top-level arguments; a body without object fields is one ``body`` argument."""
    if op.body is None:
        return
    registry = op.registry
    schema = registry.resolve(op.body.schema)
    fields, required = writable_properties(registry, schema)
    if not fields:
        add("body", "body", schema, op.body.required, "The request body.")
        return
    for name, field_schema in fields.items():
        if name in props or name in RESERVED:
            continue
        add("field", name, field_schema, op.body.required and name in required)
