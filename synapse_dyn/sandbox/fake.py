"""Deterministic, schema-valid values for OpenAPI 3.0 schemas.

The same (schema, field name, seed) always gives the same value, and values look like
what the backend sends: an enum's first value, RFC 3339 timestamps, UUIDs, e-mail
addresses, URLs, integers from 1, strings that satisfy ``pattern`` and length limits.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from ..registry import Registry

try:  # the regex parser drives pattern-satisfying strings; fall back to guesses without it
    import re._parser as _sre  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python < 3.11
    _sre = None

FIXED_TIME = "2026-01-06T09:00:00Z"
NAMESPACE = uuid.UUID("6f1c3a52-9a8e-4d0b-8f5e-5b1d2c3a4e6f")
MAX_DEPTH = 4
_EVENT_TIMES = re.compile(r"(^|_)(reviewed|completed|finished|ended|last_used|deleted|expired|revoked)(_|$)")
_FREE_TEXT = ("description", "message", "readme", "comment", "note", "text", "summary")


def humanize(name: str) -> str:
    """``task_count`` -> ``Task count``."""
    return name.replace("_", " ").strip().capitalize() or "Value"


def slug(name: str, seed: int) -> str:
    """A URL-safe name with a numeric suffix."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "item"
    return f"{base}-{seed}"


class Faker:
    """Generates values for the schemas of one registry (``direction`` hides readOnly/writeOnly).

    ``minimal`` gives objects only their required properties and arrays only ``minItems``
    items: the smallest valid value, e.g. for request bodies.
    """

    def __init__(self, registry: Registry, *, minimal: bool = False) -> None:
        self.registry = registry
        self.minimal = minimal

    def value(self, schema: Any, *, name: str = "", seed: int = 1, direction: str = "response",
              depth: int = 0, required: bool = True) -> Any:
        """A value for ``schema``; ``name`` picks realistic strings, ``seed`` varies numbers and names."""
        schema = self.registry.resolve(schema) if isinstance(schema, dict) else schema
        if not isinstance(schema, dict):
            return {}
        if "const" in schema:
            return schema["const"]
        if "default" in schema and schema["default"] is not None and not isinstance(schema["default"], dict | list):
            default = schema["default"]
            if "enum" not in schema or default in schema["enum"]:
                return default
        if schema.get("enum"):
            return self._enum(schema["enum"])
        if "example" in schema and _plausible(schema["example"], schema):
            return schema["example"]
        for key in ("allOf",):
            if schema.get(key) and not schema.get("properties"):
                return self.object(schema, seed=seed, direction=direction, depth=depth)
        for key in ("oneOf", "anyOf"):
            options = [self.registry.resolve(o) for o in schema.get(key) or []]
            options = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
            if options:
                return self.value(options[0], name=name, seed=seed, direction=direction, depth=depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        nullable = schema.get("nullable") or schema.get("type") == "null"
        if kind is None and (schema.get("properties") or schema.get("additionalProperties") not in (None, True)):
            kind = "object"
        if kind is None:
            return None if nullable else {}
        if nullable and kind == "string" and schema.get("format") == "date-time" and _EVENT_TIMES.search(name):
            return None
        if kind == "object":
            return self.object(schema, seed=seed, direction=direction, depth=depth)
        if kind == "array":
            return self.array(schema, name=name, seed=seed, direction=direction, depth=depth)
        if kind == "string":
            return self.string(schema, name, seed)
        if kind == "integer":
            return int(self.number(schema, name, seed, integer=True))
        if kind == "number":
            return float(self.number(schema, name, seed, integer=False))
        if kind == "boolean":
            return any(word in name for word in ("active", "enabled", "visible"))
        return None

    @staticmethod
    def _enum(values: list[Any]) -> Any:
        return next((v for v in values if v not in (None, "")), values[0])

    def properties(self, schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        """(properties, required names) of an object schema, through $ref and allOf."""
        schema = self.registry.resolve(schema)
        required = set(schema.get("required") or [])
        for part in schema.get("allOf") or []:
            required |= self.properties(part)[1]
        return self.registry.object_properties(schema), required

    def hidden(self, prop: Any, direction: str) -> bool:
        """readOnly properties are left out of requests, writeOnly ones out of responses."""
        flag = "readOnly" if direction == "request" else "writeOnly"
        target = self.registry.resolve(prop) if isinstance(prop, dict) else None
        return bool(isinstance(prop, dict) and prop.get(flag)) or bool(isinstance(target, dict) and target.get(flag))

    def object(self, schema: dict[str, Any], *, seed: int = 1, direction: str = "response", depth: int = 0,
               given: dict[str, Any] | None = None) -> dict[str, Any]:
        """An object with every visible property (or only required ones when minimal)."""
        props, required = self.properties(schema)
        out: dict[str, Any] = {}
        for name, prop in props.items():
            if self.hidden(prop, direction):
                continue
            if given and name in given:
                out[name] = given[name]
            elif name in required or (depth < MAX_DEPTH and not self.minimal):
                out[name] = self.value(prop, name=name, seed=seed, direction=direction, depth=depth + 1,
                                       required=name in required)
        minimum = self.registry.resolve(schema).get("minProperties") or 0
        index = 0
        while len(out) < minimum:
            index += 1
            out[f"key_{index}"] = f"value-{index}"
        return out

    def array(self, schema: dict[str, Any], *, name: str, seed: int, direction: str, depth: int) -> list[Any]:
        """An array of ``minItems`` items (one when unconstrained, unless minimal)."""
        count = max(schema.get("minItems") or 0, 1 if depth < MAX_DEPTH - 1 and not self.minimal else 0)
        if schema.get("maxItems") is not None:
            count = min(count, schema["maxItems"])
        items = schema.get("items") or {}
        singular = name[:-1] if name.endswith("s") else name
        return [self.value(items, name=singular, seed=seed + i, direction=direction, depth=depth + 1)
                for i in range(count)]

    def number(self, schema: dict[str, Any], name: str, seed: int, *, integer: bool) -> float:
        """The seed, clamped into the schema's bounds and rounded to ``multipleOf``."""
        step = 1 if integer else 0.5
        floor, ceiling = _bound(schema, "minimum", "exclusiveMinimum", step), _bound(schema, "maximum",
                                                                                    "exclusiveMaximum", -step)
        value: float = max(seed, 1)
        if floor is not None and value < floor:
            value = floor
        if ceiling is not None and value > ceiling:
            value = ceiling if floor is None else max(ceiling, floor)
        multiple = schema.get("multipleOf")
        if multiple:
            value = (int(value // multiple) + (1 if value % multiple else 0)) * multiple
            if ceiling is not None and value > ceiling:
                value -= multiple
        return int(value) if integer else value

    def string(self, schema: dict[str, Any], name: str, seed: int) -> str:
        """A string chosen by format, then by field name, then fitted to pattern and length."""
        fmt = schema.get("format")
        lowered = name.lower()
        if fmt == "date-time":
            text = FIXED_TIME
        elif fmt == "date":
            text = FIXED_TIME[:10]
        elif fmt == "time":
            text = FIXED_TIME[11:19]
        elif fmt == "uuid":
            text = str(uuid.uuid5(NAMESPACE, f"{name}:{seed}"))
        elif fmt == "email" or "email" in lowered:
            text = f"user{seed}@synapse.local"
        elif fmt in ("uri", "url", "iri") or lowered in ("url", "uri", "link", "file") or lowered.endswith("_url"):
            text = f"https://sandbox.local/files/{slug(name or 'file', seed)}"
        elif fmt == "hostname":
            text = "sandbox.local"
        elif fmt == "ipv4":
            text = "127.0.0.1"
        elif fmt == "ipv6":
            text = "::1"
        elif fmt == "byte":
            text = "c2FuZGJveA=="
        elif fmt == "binary":
            text = ""
        elif fmt == "password":
            text = "sandbox-password"
        elif "checksum" in lowered or "hash" in lowered or lowered in ("md5", "sha1", "sha256"):
            text = hashlib.md5(f"{name}:{seed}".encode()).hexdigest()  # noqa: S324 - not security
        elif lowered in ("code", "slug", "key") or lowered.endswith(("_code", "_slug")):
            text = slug(name, seed)
        elif "version" in lowered:
            text = f"1.0.{seed}"
        elif lowered in ("name", "title") or lowered.endswith(("_name", "_title")):
            text = f"{humanize(name)} {seed}"
        elif lowered == "description" and not schema.get("minLength"):
            text = ""
        elif any(word in lowered for word in _FREE_TEXT):
            text = f"Sandbox {humanize(name).lower()}"
        elif lowered in ("status", "state"):
            text = "active"
        elif lowered in ("category", "file_type", "data_type"):
            text = "image"
        else:
            text = f"{name or 'value'}-{seed}"
        return self._constrain(text, schema, name, seed)

    def _constrain(self, text: str, schema: dict[str, Any], name: str, seed: int) -> str:
        pattern = schema.get("pattern")
        if pattern and not _matches(pattern, text):
            for candidate in (slug(name or "value", seed), str(seed), "a", "A1", text.replace(" ", "_")):
                if _matches(pattern, candidate):
                    text = candidate
                    break
            else:
                text = sample_pattern(pattern) or text
        low, high = schema.get("minLength") or 0, schema.get("maxLength")
        if high is not None and len(text) > high:
            text = text[:high]
        if len(text) < low:
            text = text + "x" * (low - len(text))
        return text


_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": int | float, "boolean": bool,
                               "array": list, "object": dict}


def _plausible(example: Any, schema: dict[str, Any]) -> bool:
    """Whether a schema's example can stand in for a generated value (right type, not null)."""
    kind = schema.get("type")
    expected = _JSON_TYPES.get(kind) if isinstance(kind, str) else None
    if example is None or expected is None or (kind != "boolean" and isinstance(example, bool)):
        return False
    if not isinstance(example, expected):
        return False
    if isinstance(example, str):
        pattern = schema.get("pattern")
        return (not pattern or _matches(pattern, example)) and len(example) >= (schema.get("minLength") or 0) and (
            schema.get("maxLength") is None or len(example) <= schema["maxLength"])
    return not schema.get("format") and "minimum" not in schema and "maximum" not in schema


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str, step: float) -> float | None:
    """The tightest usable bound, from OpenAPI 3.0 (boolean) or JSON Schema (numeric) exclusivity."""
    value, flag = schema.get(inclusive), schema.get(exclusive)
    if isinstance(flag, bool):
        return None if value is None else value + (step if flag else 0)
    bounds = [b for b in (value, None if flag is None else flag + step) if b is not None]
    if not bounds:
        return None
    return max(bounds) if step > 0 else min(bounds)


def _matches(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True


def sample_pattern(pattern: str) -> str | None:
    """A short string matching a regular expression (None when it cannot be built)."""
    if _sre is None:
        return None
    try:
        text = _emit(_sre.parse(pattern))
    except Exception:  # noqa: BLE001 - any unsupported construct just means "no sample"
        return None
    return text if _matches(pattern, text) else None


def _emit(parsed: Any) -> str:
    out: list[str] = []
    for op, arg in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_pick_in(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out.append(_emit(sub) * max(low, 1))
        elif name == "SUBPATTERN":
            out.append(_emit(arg[-1]))
        elif name == "BRANCH":
            out.append(_emit(arg[1][0]))
        elif name == "CATEGORY":
            out.append(_category(str(arg)))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        else:
            raise ValueError(name)
    return "".join(out)


def _pick_in(items: list[Any]) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    if negate:
        excluded = {chr(arg) for op, arg in items if str(op) == "LITERAL"}
        return next(c for c in "a1_x" if c not in excluded)
    op, arg = items[0]
    if str(op) == "LITERAL":
        return chr(arg)
    if str(op) == "RANGE":
        return chr(arg[0])
    if str(op) == "CATEGORY":
        return _category(str(arg))
    raise ValueError(str(op))


def _category(name: str) -> str:
    if "NOT_DIGIT" in name:
        return "a"
    if "DIGIT" in name:
        return "1"
    if "NOT_WORD" in name:
        return "-"
    if "WORD" in name:
        return "a"
    if "NOT_SPACE" in name:
        return "a"
    if "SPACE" in name:
        return " "
    return "a"
