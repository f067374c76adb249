"""OpenAPI 3.0 schemas -> compiled JSON Schema validators, built lazily per operation.

OpenAPI 3.0 is converted once per schema component and direction: ``nullable`` becomes a
``null`` type, a readOnly property is not required in a request and a writeOnly one not
in a response, boolean ``exclusiveMinimum`` becomes numeric. The result is compiled with
jsonschema-rs (Rust) when available, else with the pure-Python ``jsonschema``; both check
the same formats and give the same verdicts. Error reports name fields and expectations,
never the offending values (they may be secrets).
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from collections.abc import Callable
from typing import Any

from .errors import SpecError
from .registry import Registry, ref_name
from .util.jsonpointer import escape, unescape


def _rust() -> Any:
    """jsonschema-rs, imported on first compile (None when not installed)."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - the pure-Python engine takes over
        return None
    return jsonschema_rs

CHECKED_FORMATS = ("date-time", "date", "uuid")
INTEGER_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_FOREIGN_VALUE_ERRORS = (ValueError, TypeError, OverflowError)
_DROP = {"nullable", "discriminator", "xml", "externalDocs", "example", "deprecated", "readOnly", "writeOnly"}
# JSON Schema identity and dynamic-reference keywords: OpenAPI 3.0 has none of them, and each can make a
# validator resolve (and fetch) a URL, so they never reach one.
_IDENTITY = {"$schema", "$id", "id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
             "$vocabulary"}
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_ONE_SCHEMA = ("items", "not", "additionalItems", "contains", "propertyNames", "if", "then", "else",
               "unevaluatedItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_COMPONENT_PREFIX = "#/components/schemas/"
MAX_REPORTED_ERRORS = 20

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")  # RFC 4122 text


def is_date(value: str) -> bool:
    match = _DATE.match(value)
    if not match:
        return False
    year = int(match[1]) or 2000  # RFC 3339 allows year 0000, a leap year like 2000 (datetime starts at 1)
    try:
        _dt.date(year, int(match[2]), int(match[3]))
        return True
    except ValueError:
        return False


def is_date_time(value: str) -> bool:
    match = _RFC3339.match(value)
    if not match or not is_date(value[:10]):
        return False
    hour, minute, second = int(match[4]), int(match[5]), int(match[6])
    if hour > 23 or minute > 59 or second > 60:
        return False
    return not (match[9] is not None and (int(match[9]) > 23 or int(match[10]) > 59))


def is_uuid(value: str) -> bool:
    if not _UUID.match(value):
        return False
    import uuid

    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


FORMAT_CHECKS: dict[str, Callable[[str], bool]] = {"date-time": is_date_time, "date": is_date, "uuid": is_uuid}


class SchemaConverter:
    """Converts a registry's component schemas to JSON Schema, per direction, with caching."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._defs: dict[str, dict[str, Any]] = {"request": {}, "response": {}}
        self._refs: dict[str, dict[str, set[str]]] = {"request": {}, "response": {}}
        self._lock = threading.Lock()

    def root(self, schema: dict[str, Any], direction: str) -> dict[str, Any]:
        """A self-contained JSON Schema: the converted schema plus every definition it reaches."""
        refs: set[str] = set()
        converted = self.convert(schema, direction, refs)
        closure = self._closure(refs, direction)
        out = dict(converted) if "$ref" not in converted else {"$ref": converted["$ref"]}
        if closure:
            out["$defs"] = {name: self._defs[direction][name] for name in sorted(closure)}
        return out

    def _closure(self, refs: set[str], direction: str) -> set[str]:
        seen: set[str] = set()
        stack = list(refs)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            self.definition(name, direction)
            stack.extend(self._refs[direction][name] - seen)
        return seen

    def definition(self, name: str, direction: str) -> dict[str, Any]:
        with self._lock:
            if name not in self._defs[direction]:
                self._defs[direction][name] = {}  # placeholder breaks recursion
                refs: set[str] = set()
                target = self.registry.lookup_pointer(_COMPONENT_PREFIX + escape(name))
                self._defs[direction][name] = self.convert(target, direction, refs)
                self._refs[direction][name] = refs
            return self._defs[direction][name]

    def _is_hidden(self, prop: Any, direction: str) -> bool:
        """readOnly in a request / writeOnly in a response: never required."""
        flag = "readOnly" if direction == "request" else "writeOnly"
        if isinstance(prop, dict) and prop.get(flag):
            return True
        target = self.registry.resolve(prop) if isinstance(prop, dict) else None
        return bool(isinstance(target, dict) and target.get(flag))

    def _discriminated(self, schema: dict[str, Any], direction: str, refs: set[str]) -> dict[str, Any] | None:
        """A discriminator as OAS 3.0 means it: the property must name a mapped (or same-named) schema, and
        the payload is checked against that schema alone (None when the branches are not all references)."""
        prop = schema["discriminator"].get("propertyName")
        branches = schema.get("oneOf") or schema.get("anyOf")
        if not isinstance(prop, str) or not all(isinstance(b, dict) and isinstance(b.get("$ref"), str)
                                                and b["$ref"].startswith(_COMPONENT_PREFIX) for b in branches):
            return None
        mapping = {b["$ref"].rsplit("/", 1)[-1]: b["$ref"] for b in branches}
        for value, target in (schema["discriminator"].get("mapping") or {}).items():
            mapping[str(value)] = target if str(target).startswith("#") else _COMPONENT_PREFIX + str(target)
        cases: list[Any] = [{"required": [prop], "properties": {prop: {"enum": sorted(mapping)}}}]
        cases += [{"if": {"properties": {prop: {"const": value}}, "required": [prop]},
                   "then": self.convert({"$ref": target}, direction, refs)} for value, target in sorted(mapping.items())]
        rest = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "discriminator", "nullable")}
        base = self.convert(rest, direction, refs) if rest else {}
        out: dict[str, Any] = {"allOf": ([base] if base else []) + cases}
        return {"anyOf": [out, {"type": "null"}]} if schema.get("nullable") else out

    def convert(self, schema: Any, direction: str, refs: set[str]) -> Any:
        """One OpenAPI 3.0 schema -> JSON Schema 2020-12 for ``direction`` (request or response)."""
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            return self._convert_ref(schema, direction, refs)
        if isinstance(schema.get("discriminator"), dict) and (schema.get("oneOf") or schema.get("anyOf")):
            dispatched = self._discriminated(schema, direction, refs)
            if dispatched is not None:
                return dispatched
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if not (key in _DROP or key in _IDENTITY or key.startswith("x-")):
                self._convert_keyword(schema, key, value, direction, refs, out)
        return _with_format_bounds_and_null(schema, out)

    def _convert_ref(self, schema: dict[str, Any], direction: str, refs: set[str]) -> Any:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SpecError(f"{self.registry.label}: $ref {ref!r} points outside the document; "
                            "nothing in a schema is ever fetched")
        if ref.startswith(_COMPONENT_PREFIX):
            name = unescape(ref[len(_COMPONENT_PREFIX) :])
            refs.add(name)
            converted: dict[str, Any] = {"$ref": "#/$defs/" + escape(name)}
        else:
            converted = self.convert(self.registry.resolve(schema), direction, refs)
        if schema.get("nullable"):
            return {"anyOf": [converted, {"type": "null"}]}
        return converted

    def _convert_keyword(self, schema: dict[str, Any], key: str, value: Any, direction: str, refs: set[str],
                         out: dict[str, Any]) -> None:
        """Set ``out[key]`` (or nothing) for one keyword of ``schema``."""
        if key in _SCHEMA_MAPS and isinstance(value, dict | None):
            out[key] = {n: self.convert(p, direction, refs) for n, p in (value or {}).items()}
        elif key in _ONE_SCHEMA or (key in ("additionalProperties", "unevaluatedProperties")
                                    and isinstance(value, dict)):
            out[key] = self.convert(value, direction, refs)
        elif key in (*_SCHEMA_LISTS, "prefixItems") and isinstance(value, list):
            out[key] = [self.convert(v, direction, refs) for v in value]
        elif key == "required":
            props = schema.get("properties") or {}
            kept = [r for r in value if not (r in props and self._is_hidden(props[r], direction))]
            if kept:
                out[key] = kept
        elif key == "format":
            if value in CHECKED_FORMATS:
                out[key] = value
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if value and bound in schema:
                out[key] = schema[bound]
        elif not (key in ("minimum", "maximum") and schema.get("exclusive" + key.capitalize()) is True):
            out[key] = value


def _with_format_bounds_and_null(schema: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """The range an int32 / int64 format promises, and OpenAPI 3.0's ``nullable``, on a converted schema."""
    bounds = INTEGER_FORMATS.get(schema.get("format")) if schema.get("type") == "integer" else None
    if bounds:  # what a backend column can hold
        out["minimum"] = max(out.get("minimum", bounds[0]), bounds[0])
        out["maximum"] = min(out.get("maximum", bounds[1]), bounds[1])
    if schema.get("nullable"):
        # nullable widens the type only: an enum still has to list null to allow it (the OAS 3.0.3
        # clarification of nullable; openapi-core agrees)
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"] if "null" not in types else types
        elif out and "enum" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _refuse_retrieval(uri: str) -> Any:
    """The retriever given to both engines: nothing in a schema may cause a network (or file) fetch."""
    raise SpecError(f"the schema refers to {uri}; nothing in a schema is ever fetched")


def _python_validator(schema: dict[str, Any]) -> Any:
    import jsonschema
    import referencing

    checker = jsonschema.FormatChecker(formats=())
    for name, check in FORMAT_CHECKS.items():
        checker.checks(name)(lambda v, _c=check: not isinstance(v, str) or _c(v))
    return jsonschema.Draft202012Validator(schema, format_checker=checker,
                                           registry=referencing.Registry(retrieve=_refuse_retrieval))  # type: ignore[call-arg]


def outside_references(schema: Any) -> list[str]:
    """Every reference in a converted schema that does not point inside it."""
    found: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("$ref", "$dynamicRef", "$recursiveRef"):
                ref = node.get(key)
                if isinstance(ref, str) and not ref.startswith("#"):
                    found.append(ref)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


class SchemaMismatch(Exception):
    """The cause attached to a ValidationError: the first failure's field and expectation, never its value."""


class CompiledSchema:
    """One compiled validator with a value-free error report."""

    def __init__(self, schema: dict[str, Any], name: str, engine: str) -> None:
        self.schema = schema
        self.name = name
        self.engine = engine
        self._python: Any = None
        outside = outside_references(schema)
        if outside:
            raise SpecError(f"{name}: the schema refers to {outside[0]}; nothing in a schema is ever fetched")
        if engine == "rust":
            try:
                self._validator = _rust().Draft202012Validator(schema, validate_formats=True,
                                                               retriever=_refuse_retrieval)
            except Exception as exc:  # noqa: BLE001 - jsonschema-rs raises its own ValidationError or ValueError
                raise SpecError(f"{name}: the schema cannot be compiled: {str(exc).splitlines()[0][:300]}") from None
            fast = self._validator.is_valid

            def is_valid(instance: Any) -> bool:
                try:
                    return fast(instance)
                except _FOREIGN_VALUE_ERRORS:  # a value Rust cannot represent (UUID, datetime, object...)
                    return self.python().is_valid(instance)

            self.is_valid = is_valid  # type: ignore[method-assign]
        else:
            self._validator = self._python = _python_validator(schema)
            self.is_valid = self._validator.is_valid  # type: ignore[method-assign]  # one call less per check

    def python(self) -> Any:
        """The pure-Python validator (the fallback for values jsonschema-rs cannot represent)."""
        if self._python is None:
            self._python = _python_validator(self.schema)
        return self._python

    def _iter_errors(self, instance: Any) -> tuple[str, list[Any]]:
        if self.engine == "rust":
            try:
                return "rust", list(self._validator.iter_errors(instance))
            except _FOREIGN_VALUE_ERRORS:
                pass
        return "python", list(self.python().iter_errors(instance))

    def first_error(self, instance: Any) -> Exception | None:
        """A value-free cause for a ValidationError: the validator's own error would carry the value,
        and anything that logs a traceback (logging, Sentry, pytest) prints the cause."""
        found = self.errors(instance)
        if not found:
            return None
        first = found[0]
        return SchemaMismatch(f"{self.name}: {first['field'] or '<root>'}: {first['message']} ({first['kind']})")

    def errors(self, instance: Any) -> list[dict[str, Any]]:
        """[{field, kind, message}] for every failure (at most MAX_REPORTED_ERRORS); no values."""
        found: dict[tuple[str, str, str], dict[str, Any]] = {}
        engine, raw_errors = self._iter_errors(instance)
        for error in raw_errors:
            if engine == "rust":
                path = list(error.instance_path)
                keyword = str(list(error.schema_path)[-1]) if list(error.schema_path) else "schema"
                info = error.kind.as_dict()
                expected = next(iter(info.values()), None) if info else None
                missing = info.get("property") if keyword == "required" else None
            else:
                path = list(error.absolute_path)
                keyword, expected = str(error.validator), error.validator_value
                import ast

                match = _REQUIRED_MESSAGE.match(error.message) if keyword == "required" else None
                missing = ast.literal_eval(match.group(1)) if match else None
            entry = describe_error(path, keyword, expected, missing)
            found.setdefault((entry["field"], entry["kind"], entry["message"]), entry)
            if len(found) >= MAX_REPORTED_ERRORS:
                break
        return sorted(found.values(), key=lambda e: (e["field"], e["kind"]))


_REQUIRED_MESSAGE = re.compile(r"^(.+) is a required property$")


def describe_error(path: list[Any], keyword: str, expected: Any, missing: str | None = None) -> dict[str, Any]:
    """A failure as {field, kind, message}, from the schema's expectation only (never the value)."""
    field = "/".join(str(p) for p in path)
    if keyword == "required":
        name = missing or "?"
        return {"field": f"{field}/{name}" if field else name, "kind": "required", "message": "required field is missing"}
    if keyword == "type":
        return {"field": field, "kind": "type", "message": f"expected {_fmt(expected)}"}
    if keyword == "enum":
        return {"field": field, "kind": "enum", "message": f"not one of {_fmt(expected)}"}
    if keyword == "format":
        return {"field": field, "kind": "format", "message": f"not a valid {expected}"}
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return {"field": field, "kind": keyword, "message": "unexpected field"}
    if keyword in _SCHEMA_LISTS:
        return {"field": field, "kind": keyword, "message": "matches none of the allowed shapes"}
    return {"field": field, "kind": keyword, "message": f"fails {keyword} {_fmt(expected)}".rstrip()}


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        if all(isinstance(v, str | type(None)) for v in value):
            return " or ".join(sorted("null" if v is None else v for v in value))
        return " or ".join(str(v) for v in value)
    return "" if value is None else str(value)


class Validators:
    """Lazily compiled request / response validators for the operations of one registry."""

    def __init__(self, registry: Registry, engine: str | None = None) -> None:
        self.registry = registry
        self._engine = engine
        self.converter = SchemaConverter(registry)
        self._cache: dict[tuple[int, str], CompiledSchema | None] = {}
        self._lock = threading.Lock()

    @property
    def engine(self) -> str:
        """'rust' (jsonschema-rs) when installed, else 'python'; decided on first use."""
        if self._engine is None:
            self._engine = "rust" if _rust() is not None else "python"
        return self._engine

    def compile(self, schema: dict[str, Any], direction: str, name: str | None = None) -> CompiledSchema:
        root = self.converter.root(schema, direction)
        return CompiledSchema(root, name or ref_name(schema) or "inline schema", self.engine)

    def _cached(self, key: tuple[int, str], build: Callable[[], CompiledSchema | None]) -> CompiledSchema | None:
        try:
            return self._cache[key]
        except KeyError:
            pass
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def response(self, op: Any, status: int) -> CompiledSchema | None:
        key = (id(op), f"response:{status}")
        if key in self._cache:  # the hot path: skip making the builder
            return self._cache[key]

        def build() -> CompiledSchema | None:
            _, schema = op.response_schema(status)
            return self.compile(schema, "response") if schema else None

        return self._cached(key, build)

    def body(self, op: Any) -> CompiledSchema | None:
        def build() -> CompiledSchema | None:
            if not op.body or not op.body.schema:
                return None
            return self.compile(op.body.schema, "request")

        return self._cached((id(op), "body"), build)

    def parameters(self, op: Any) -> CompiledSchema:
        key = (id(op), "parameters")
        if key in self._cache:
            return self._cache[key]  # type: ignore[return-value]

        def build() -> CompiledSchema:
            props: dict[str, Any] = {}
            required: list[str] = []
            for param in op.parameters:
                if param.get("in") not in ("path", "query", "header"):
                    continue
                props[param["name"]] = param.get("schema") or {}
                if param.get("required"):
                    required.append(param["name"])
            schema: dict[str, Any] = {"type": "object", "properties": props}
            if required:
                schema["required"] = required
            return self.compile(schema, "request", name=f"{op.qualified_name} parameters")

        return self._cached(key, build)  # type: ignore[return-value]
