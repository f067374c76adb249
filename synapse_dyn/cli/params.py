"""Schema types -> click parameter types, and reading JSON from ``TEXT``, ``@file`` or ``-`` (stdin)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import click

from ..registry import Registry


class _Null:
    """The value of ``null`` given for a nullable option (sent as JSON null)."""

    def __repr__(self) -> str:
        return "null"


NULL = _Null()


def read_json_source(value: str, what: str = "value") -> Any:
    """Parse ``value`` as JSON; ``@path`` reads a file, ``-`` reads stdin. Raises click.BadParameter."""
    label = what
    if value == "-":
        text = sys.stdin.read()
        label = f"{what} from stdin"
    elif value.startswith("@"):
        path = value[1:]
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {path}: {exc.strerror or exc}") from None
        label = f"{what} in {path}"
    else:
        text = value
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"{label} is not valid JSON: {exc}") from None


def complete_json_source(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """``@`` followed by file names (``--data @proj<TAB>``); ``-`` for stdin."""
    if not incomplete.startswith("@"):
        return ["-", "@"] if not incomplete else []
    import glob

    matches = sorted(glob.glob(glob.escape(incomplete[1:]) + "*"))[:200]
    return [f"@{m}/" if os.path.isdir(m) else f"@{m}" for m in matches]


def load_body(data: str | None, fields: dict[str, Any] | None = None) -> Any:
    """A request body from ``--data`` (JSON, @file or -) with field options on top; None when neither is given."""
    body: Any = None
    if data is not None:
        try:
            body = read_json_source(data, "--data")
        except click.BadParameter as exc:
            raise click.BadParameter(exc.message, param_hint="'--data'") from None
    if fields:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise click.BadParameter("field options need --data to be a JSON object", param_hint="'--data'")
        body = {**body, **fields}
    return body


class JsonType(click.ParamType):
    """A JSON value (object, array...); ``@file`` and ``-`` work too."""

    name = "json"

    def __init__(self, expect: str | None = None) -> None:
        self.expect = expect

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            parsed = read_json_source(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)
        if parsed is None:
            return NULL
        kinds = {"object": dict, "array": list}
        if self.expect in kinds and not isinstance(parsed, kinds[self.expect]):
            self.fail(f"expected a JSON {self.expect}, got {type(parsed).__name__}", param, ctx)
        return parsed


class JsonOrText(click.ParamType):
    """A value of any type: JSON when it parses as JSON, else the text itself."""

    name = "value"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if value.startswith("@") or value == "-":
            return read_json_source(value)
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            if value.lstrip().startswith(("{", "[")):  # meant as JSON: never send it as a string
                self.fail(f"is not valid JSON: {exc}", param, ctx)
            return value
        return NULL if parsed is None else parsed


class Nullable(click.ParamType):
    """Wraps a type so the word ``null`` sends JSON null (for nullable schema fields)."""

    def __init__(self, inner: click.ParamType) -> None:
        self.inner = inner
        self.name = inner.name

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        return self.inner.get_metavar(param, ctx)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "null":
            return NULL
        return self.inner.convert(value, param, ctx)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        return self.inner.shell_complete(ctx, param, incomplete)


class TypedChoice(click.Choice):
    """An enum: choices shown as text, converted back to the schema's own values (ints stay ints)."""

    def __init__(self, values: list[Any]) -> None:
        self.values = {str(v): v for v in values}
        super().__init__(list(self.values), case_sensitive=True)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        shown = "|".join(c if c else '""' for c in self.values)
        return f"[{shown}]" if not param.required or param.param_type_name == "option" else f"{{{shown}}}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = super().convert(str(value), param, ctx)
        return self.values.get(text, text)


@dataclass(frozen=True)
class OptionShape:
    """How one schema value becomes a click option."""

    type: click.ParamType | None
    is_flag: bool = False
    multiple: bool = False
    metavar: str | None = None


def effective_schema(registry: Registry, schema: Any, depth: int = 0) -> dict[str, Any]:
    """Resolve $ref and single-member allOf; merge oneOf/anyOf of enums (and null) into one enum."""
    target = registry.resolve(schema) if isinstance(schema, dict) else {}
    if not isinstance(target, dict) or depth > 8:
        return {}
    all_of = target.get("allOf") or []
    if len(all_of) == 1 and not target.get("properties"):
        merged = {**effective_schema(registry, all_of[0], depth + 1),
                  **{k: v for k, v in target.items() if k != "allOf"}}
        return merged
    members = target.get("oneOf") or target.get("anyOf")
    if members:
        parts = [effective_schema(registry, m, depth + 1) for m in members]
        if all(p.get("enum") is not None or p.get("type") == "null" for p in parts):
            values = [v for p in parts for v in (p.get("enum") or []) if v is not None]
            nullable = any(p.get("type") == "null" or None in (p.get("enum") or []) for p in parts)
            return {"enum": list(dict.fromkeys(values)), "nullable": nullable or target.get("nullable", False)}
        types = {p.get("type") for p in parts if p.get("type") != "null"}
        if len(types) == 1:
            return {"type": types.pop(), "nullable": target.get("nullable", False)}
        return {"nullable": target.get("nullable", False)}
    return target


def option_shape(registry: Registry, schema: Any, *, location: str) -> OptionShape:
    """The click type for a parameter (``location='query'|'path'|'header'``) or a body field (``'body'``)."""
    target = effective_schema(registry, schema)
    nullable = bool(target.get("nullable")) and location == "body"
    enum = [v for v in target.get("enum") or [] if v is not None]
    kind = target.get("type")
    shape: OptionShape
    if enum and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in enum):
        shape = OptionShape(TypedChoice(enum))
    elif kind == "boolean":
        return OptionShape(None, is_flag=True)
    elif kind == "integer":
        shape = OptionShape(click.INT)
    elif kind == "number":
        shape = OptionShape(click.FLOAT)
    elif kind == "string":
        shape = OptionShape(click.STRING, metavar="TEXT")
    elif kind == "array" and location != "body":
        item = option_shape(registry, target.get("items") or {}, location=location)
        return OptionShape(item.type or click.STRING, multiple=True)
    elif kind in ("array", "object") or target.get("properties"):
        shape = OptionShape(JsonType("array" if kind == "array" else "object"))
    else:
        shape = OptionShape(JsonOrText(), metavar="VALUE")
    if nullable and shape.type is not None and not isinstance(shape.type, JsonType | JsonOrText):
        return OptionShape(Nullable(shape.type), metavar=shape.metavar)
    return shape


def argument_type(registry: Registry, schema: Any) -> click.ParamType:
    """The click type of a path parameter (ints stay ints; anything else is text)."""
    target = effective_schema(registry, schema)
    enum = [v for v in target.get("enum") or [] if v is not None]
    if enum and all(isinstance(v, str | int) for v in enum):
        return TypedChoice(enum)
    return {"integer": click.INT, "number": click.FLOAT}.get(target.get("type"), click.STRING)
