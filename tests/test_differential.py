"""Differential test: the client's validators and openapi-core must give the same verdicts.

For every operation of the bundled v2 schema and of both reference releases (skipped when
absent), hypothesis generates request parameters, request bodies and success-response bodies
from the *OpenAPI* schema (its own reading of nullable, readOnly/writeOnly, allOf/oneOf, formats,
enums), half of them then mutated (a field dropped, a value of another type, a null, an unknown
field, a malformed date or uuid, a value outside an enum). Each instance is judged by
``synapse_dyn.validation`` and by openapi-core's request-parameter, request-body and
response-data validators; the verdicts must agree. Every known disagreement is listed in
``KNOWN`` with the reason and the side that is wrong; anything else fails the test.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from conftest import BUNDLED_SCHEMA, REFERENCE_DIR
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

openapi_core = pytest.importorskip("openapi_core")
from openapi_core import Config, OpenAPI  # noqa: E402
from openapi_core.testing import MockRequest, MockResponse  # noqa: E402
from openapi_core.validation.request.validators import (  # noqa: E402
    V30RequestBodyValidator,
    V30RequestParametersValidator,
)
from openapi_core.validation.response.validators import V30ResponseDataValidator  # noqa: E402

import synapse_dyn  # noqa: E402
from synapse_dyn.registry import Operation, Registry  # noqa: E402
from synapse_dyn.validation import Validators  # noqa: E402

MAX_EXAMPLES = 6
SEMANTICS_EXAMPLES = 60
HOST = "http://localhost"
SOURCES = {"bundled": BUNDLED_SCHEMA, "release-1": REFERENCE_DIR / "release-1.yaml",
           "release-2": REFERENCE_DIR / "release-2.yaml"}



@dataclass(frozen=True)
class Known:
    """A listed disagreement: which side is wrong and why, recognised by the part and openapi-core's error."""

    name: str
    wrong: str  # "client", "openapi-core", or "neither" (the specification leaves it open)
    reason: str
    parts: tuple[str, ...]
    client_ok: bool
    core_error: str  # a regular expression on openapi-core's error text ("^$": it found none)
    mutations: tuple[str, ...] = ()  # empty: any

    def matches(self, part: str, mutation: str, client_ok: bool, error_text: str) -> bool:
        return (part in self.parts and client_ok == self.client_ok and (not self.mutations or mutation in self.mutations)
                and re.search(self.core_error, error_text) is not None)


KNOWN = [
    Known("allow-empty-value", "neither",
          "OAS 3.0 allowEmptyValue defaults to false, so openapi-core refuses `?cursor=`; the client lets an "
          "empty string through on purpose (the backend reads it as absent, and the field is deprecated in 3.1)",
          ("parameters",), True, r"cannot be empty"),
    Known("format-email", "neither",
          "format assertion is optional in OAS 3.0; the client asserts date, date-time and uuid only (the backend "
          "is the authority on addresses), openapi-core's draft-4 checker wants an '@'",
          ("body", "response"), True, r"is not a 'email'"),
    Known("typed-query-values", "neither",
          "the client checks a parameter's Python type before serialising it (7 for a string parameter is refused "
          "as a likely mistake); on the wire every query value is text, so openapi-core sees '7', a valid string",
          ("parameters",), False, r"^$", mutations=("type", "huge")),
    Known("read-only-in-request", "neither",
          "OAS 3.0: a readOnly property SHOULD NOT be sent in a request; openapi-core refuses one, the client lets "
          "it through so a retrieved record can be sent back as an update (the backend ignores read-only fields)",
          ("body",), True, r"Tried to write read-only property"),
    Known("write-only-in-response", "neither",
          "OAS 3.0: a writeOnly property SHOULD NOT be sent in a response; openapi-core refuses one, the client "
          "accepts it (a SHOULD NOT on the server is not a reason to fail the caller's request)",
          ("response",), True, r"Tried to read write-only property"),
    Known("allof-nullable", "openapi-core",
          "`allOf: [$ref], nullable: true` is how drf-spectacular (the backend's generator) spells a nullable "
          "reference; openapi-core applies the 3.0.3 clarification literally (nullable without a type does not "
          "reach into allOf) and refuses null, the client accepts it as the backend means it",
          ("body", "response"), True, r"None for not nullable"),
]

TALLY: Counter[str] = Counter()


class Judges:
    """One schema's registry, the client's validators and openapi-core's validators."""

    def __init__(self, label: str, registry: Registry | None = None) -> None:
        if registry is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                registry = synapse_dyn.load_spec(str(SOURCES[label]), cache=False)
        self.registry = registry
        self.label = label
        self.client = Validators(self.registry)
        document = json.loads(json.dumps(self.registry.document))
        spec = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None)).spec
        self.body = V30RequestBodyValidator(spec)
        self.params = V30RequestParametersValidator(spec)
        self.response = V30ResponseDataValidator(spec)


@cache
def judges(label: str) -> Judges:
    return Judges(label, Registry(semantics_document()) if label == "semantics" else None)


def semantics_document() -> dict[str, Any]:
    """One operation per OpenAPI 3.0 feature where validators tend to differ (body and answer: the same schema)."""
    thing = {"type": "object", "required": ["id", "name", "secret"], "properties": {
        "id": {"type": "integer", "readOnly": True}, "name": {"type": "string", "minLength": 1},
        "secret": {"type": "string", "writeOnly": True}, "created": {"type": "string", "format": "date-time"},
        "uid": {"type": "string", "format": "uuid"}, "day": {"type": "string", "format": "date"},
        "n32": {"type": "integer", "format": "int32"}, "email": {"type": "string", "format": "email"}}}
    pet = {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}
    schemas = {
        "Thing": thing,
        "NullableEnum": {"type": "string", "enum": ["a", "b"], "nullable": True},
        "NullableEnumWithNull": {"type": "string", "enum": ["a", None], "nullable": True},
        "NullableRef": {"allOf": [{"$ref": "#/components/schemas/Thing"}], "nullable": True},
        "NullableFields": {"type": "object", "properties": {
            "when": {"type": "string", "format": "date-time", "nullable": True},
            "count": {"type": "integer", "nullable": True, "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}, "nullable": True}}},
        "Closed": {"type": "object", "additionalProperties": False, "required": ["a"],
                   "properties": {"a": {"type": "string"}, "b": {"type": "integer", "readOnly": True}}},
        "MapOfInts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "Cat": {**pet, "properties": {**pet["properties"], "meow": {"type": "boolean"}}},
        "Dog": {**pet, "properties": {**pet["properties"], "bark": {"type": "integer"}}},
        "Pet": {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                "discriminator": {"propertyName": "kind", "mapping": {
                    "cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}}},
        "Bounded": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10},
        "Composed": {"allOf": [{"$ref": "#/components/schemas/Closed"},
                               {"type": "object", "properties": {"c": {"type": "boolean"}}}]},
    }
    paths = {}
    for name in schemas:
        ref = {"$ref": f"#/components/schemas/{name}"}
        paths[f"/v2/semantics/{name.lower()}/"] = {"post": {
            "operationId": f"semantics_{name.lower()}", "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "format": "int32", "minimum": 1}},
                {"name": "when", "in": "query", "schema": {"type": "string", "format": "date"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": ref}}}}}}
    return {"openapi": "3.0.3", "info": {"title": "semantics", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas}}


def operation_params() -> list[Any]:
    params = []
    for label, path in SOURCES.items():
        if not path.exists():
            params.append(pytest.param(label, "*", marks=pytest.mark.skip(reason=f"{path} not available")))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            registry = synapse_dyn.load_spec(str(path), cache=False)
        params += [pytest.param(label, op.qualified_name, id=f"{label}:{op.qualified_name}")
                   for op in registry.operations]
    return params


# -- generation from the OpenAPI schema ----------------------------------------------------------------------


class Generator:
    """Hypothesis strategies for instances of an OpenAPI 3.0 schema, in one direction."""

    def __init__(self, registry: Registry, direction: str) -> None:
        self.registry = registry
        self.direction = direction

    def of(self, schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
        if not isinstance(schema, dict):
            return st.just(None)
        nullable = bool(schema.get("nullable"))
        target = self.registry.resolve(schema) if "$ref" in schema else schema
        base = self._base(target, depth)
        if nullable or target.get("nullable"):
            return st.one_of(st.none(), base)
        return base

    def _base(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if "enum" in schema and schema["enum"]:
            return st.sampled_from([v for v in schema["enum"] if v is not None] or [None])
        if schema.get("allOf"):
            parts = [self.of(p, depth) for p in schema["allOf"]]
            return st.tuples(*parts).map(_merge)
        for key in ("oneOf", "anyOf"):
            if schema.get(key):
                return st.one_of(*[self.of(p, depth) for p in schema[key]])
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            items = self.of(schema.get("items") or {}, depth + 1) if depth < 4 else st.nothing()
            low = schema.get("minItems", 0)
            return st.lists(items, min_size=low, max_size=max(low, min(schema.get("maxItems", 3), low + 3)))
        if kind == "string":
            return _string(schema)
        if kind == "integer":
            return st.integers(*_bounds(schema, 1))
        if kind == "number":
            low, high = _bounds(schema, 1)
            return st.one_of(st.integers(low, high), st.floats(low, high, allow_nan=False, allow_infinity=False))
        if kind == "boolean":
            return st.booleans()
        return st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5))

    def _object(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        hidden = "readOnly" if self.direction == "request" else "writeOnly"
        required, optional = {}, {}
        for name, prop in (schema.get("properties") or {}).items():
            target = self.registry.resolve(prop) if isinstance(prop, dict) else {}
            strategy = self.of(prop, depth + 1) if depth < 4 else st.just(None)
            is_hidden = (prop or {}).get(hidden) or target.get(hidden)  # sometimes sent anyway: a case to judge
            (required if name in (schema.get("required") or []) and not is_hidden else optional)[name] = strategy
        return st.fixed_dictionaries(required, optional=optional)


def _merge(parts: tuple[Any, ...]) -> Any:
    merged: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, dict):
            return part
        merged.update(part)
    return merged


def _bounds(schema: dict[str, Any], step: int) -> tuple[int, int]:
    low, high = schema.get("minimum", -1000), schema.get("maximum", 1000)
    low = int(low) + (step if schema.get("exclusiveMinimum") is True else 0)
    high = int(high) - (step if schema.get("exclusiveMaximum") is True else 0)
    return max(low, -(2**31)), min(high, 2**31)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date-time":
        return st.datetimes(min_value=dt.datetime(1970, 1, 1), timezones=st.just(dt.UTC)).map(
            lambda d: d.isoformat().replace("+00:00", "Z"))
    if fmt == "date":
        return st.dates(min_value=dt.date(1970, 1, 1)).map(dt.date.isoformat)
    if fmt == "uuid":
        return st.uuids().map(str)
    if fmt == "email":
        return st.emails()
    if fmt == "uri":
        return st.sampled_from(["https://example.com/a", "s3://bucket/key"])
    low = schema.get("minLength", 0)
    high = schema.get("maxLength", low + 12)
    if schema.get("pattern"):
        try:
            return st.from_regex(re.compile(schema["pattern"]), fullmatch=True).filter(lambda s: low <= len(s) <= high)
        except re.error:
            pass
    return st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=low, max_size=max(low, high))


# -- mutation -----------------------------------------------------------------------------------------------

MUTATIONS = ("drop", "type", "null", "unknown", "format", "enum", "huge")


def _slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, sub in value.items():
            out += _slots(sub, path + (key,))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            out += _slots(sub, path + (i,))
    return out


def _set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = root
    for token in path[:-1]:
        parent = parent[token]
    parent[path[-1]] = value
    return root


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for token in path:
        root = root[token]
    return root


def mutate(data: st.DataObject, value: Any) -> tuple[str, Any]:
    """A copy of value broken in one place (the kind of break is returned for the tally)."""
    kind = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    value = copy.deepcopy(value)
    slots = _slots(value)
    dicts = [p for p in slots if isinstance(_get(value, p), dict)]
    if kind == "drop" and any(_get(value, p) for p in dicts):
        path = data.draw(st.sampled_from([p for p in dicts if _get(value, p)]))
        del _get(value, path)[data.draw(st.sampled_from(sorted(_get(value, path))))]
        return kind, value
    if kind == "unknown" and dicts:
        _get(value, data.draw(st.sampled_from(dicts)))["zz_unknown_field"] = 1
        return kind, value
    path = data.draw(st.sampled_from(slots))
    if kind == "null":
        return kind, _set(value, path, None)
    if kind == "format":
        return kind, _set(value, path, data.draw(st.sampled_from(["2026-13-45T99:00:00Z", "2026-02-30", "not-a-uuid",
                                                                  "no-at-sign"])))
    if kind == "enum":
        return kind, _set(value, path, "IMAGE")
    if kind == "huge":
        return kind, _set(value, path, 2**40)
    old = _get(value, path)
    other = data.draw(st.sampled_from([v for v in ("x", 7, True, [], {"a": 1}) if type(v) is not type(old)]))
    return "type", _set(value, path, other)


def draw_case(data: st.DataObject, strategy: st.SearchStrategy[Any], label: str) -> tuple[str, Any]:
    valid = data.draw(strategy, label=label)
    if data.draw(st.booleans(), label=f"{label} mutated"):
        return mutate(data, valid)
    return "valid", valid


# -- the judges -----------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def _json_type(op: Operation, holder: dict[str, Any] | None) -> str | None:
    content = (holder or {}).get("content") or {}
    return next((ctype for ctype in content if "json" in ctype), None)


def _concrete_path(op: Operation, values: dict[str, Any]) -> str:
    path = op.path
    for name in op.path_params:
        path = path.replace("{" + name + "}", _text(values.get(name)) or "1")
    return path


def check(judge: Judges, op: Operation, part: str, mutation: str, client_ok: bool, errors: list[Any]) -> None:
    core_ok = not errors
    TALLY[f"{part}:cases"] += 1
    if client_ok == core_ok:
        TALLY[f"{part}:agree"] += 1
        return
    full = "; ".join(f"{type(e).__name__}: {_error_text(e)}" for e in errors)
    detail = full if len(full) < 600 else full[:600] + "…"
    for known in KNOWN:
        if known.matches(part, mutation, client_ok, full):
            TALLY[f"{part}:known"] += 1
            TALLY[f"known:{known.name}"] += 1
            return
    pytest.fail(f"{judge.label} {op.qualified_name} {part} ({mutation}): client says "
                f"{'valid' if client_ok else 'invalid'}, openapi-core {'valid' if core_ok else 'invalid'} {detail}")


def _error_text(error: Exception) -> str:
    cause = error.__cause__
    inner = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    if inner:
        return f"{cause or error} " + " ".join(str(getattr(e, "message", e)) for e in inner)
    return str(cause or error)


def judge_parameters(judge: Judges, op: Operation, data: st.DataObject) -> dict[str, Any]:
    gen = Generator(judge.registry, "request")
    specs = [p for p in op.parameters if p.get("in") in ("path", "query", "header")]
    strategy = st.fixed_dictionaries(
        {p["name"]: gen.of(p.get("schema") or {}) for p in specs if p.get("required") or p["in"] == "path"},
        optional={p["name"]: gen.of(p.get("schema") or {}) for p in specs if not p.get("required") and p["in"] != "path"})
    mutation, values = draw_case(data, strategy, "parameters")
    where = {p["name"]: p["in"] for p in specs}
    if not isinstance(values, dict) or any(_text(values.get(n)) in (None, "") for n, i in where.items()
                                           if i == "path" and n in values):
        return {}
    args: dict[str, Any] = {}
    headers: dict[str, str] = {}
    sendable = {}
    for name, value in values.items():
        if name not in where:
            continue
        items = [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
        if value is None or None in items:
            continue  # a null or a nested value has no query-string spelling: not a parameter case
        sendable[name] = value
        if where[name] == "query":
            args[name] = items if isinstance(value, list) else items[0]
        elif where[name] == "header":
            headers[name] = ",".join(items)
    if any(n not in sendable for n, i in where.items() if i == "path"):
        return {}
    request = MockRequest(HOST, op.method, _concrete_path(op, sendable), args=args, headers=headers)
    client_ok = judge.client.parameters(op).is_valid(sendable)
    check(judge, op, "parameters", mutation, client_ok, list(judge.params.iter_errors(request)))
    return sendable


def judge_body(judge: Judges, op: Operation, data: st.DataObject, path_values: dict[str, Any]) -> None:
    ctype = _json_type(op, op.raw.get("requestBody") and judge.registry.resolve(op.raw["requestBody"]))
    compiled = judge.client.body(op)
    if ctype is None or compiled is None:
        return
    mutation, body = draw_case(data, Generator(judge.registry, "request").of(op.body.schema), "body")
    request = MockRequest(HOST, op.method, _concrete_path(op, path_values), data=json.dumps(body).encode(),
                          content_type=ctype)
    check(judge, op, "body", mutation, compiled.is_valid(body), list(judge.body.iter_errors(request)))


def judge_response(judge: Judges, op: Operation, data: st.DataObject, path_values: dict[str, Any]) -> None:
    status = op.success_status
    holder = judge.registry.resolve(op.responses.get(str(status)) or {})
    ctype = _json_type(op, holder)
    compiled = judge.client.response(op, status)
    if ctype is None or compiled is None:
        return
    schema = holder["content"][ctype].get("schema") or {}
    mutation, payload = draw_case(data, Generator(judge.registry, "response").of(schema), "response")
    request = MockRequest(HOST, op.method, _concrete_path(op, path_values))
    response = MockResponse(json.dumps(payload).encode(), status_code=status, content_type=ctype)
    check(judge, op, "response", mutation, compiled.is_valid(payload),
          list(judge.response.iter_errors(request, response)))


def judge_all(label: str, name: str, data: st.DataObject) -> None:
    judge = judges(label)
    op = judge.registry.operation(name)
    path_values = judge_parameters(judge, op, data)
    judge_body(judge, op, data, path_values)
    judge_response(judge, op, data, path_values)


SETTINGS = {"deadline": None, "derandomize": True, "database": None, "print_blob": False,
            "phases": [Phase.explicit, Phase.generate], "suppress_health_check": list(HealthCheck)}


@pytest.mark.parametrize(("label", "name"), operation_params())
@settings(max_examples=MAX_EXAMPLES, **SETTINGS)
@given(data=st.data())
def test_client_and_openapi_core_agree(label: str, name: str, data: st.DataObject) -> None:
    judge_all(label, name, data)


@pytest.mark.parametrize("name", [op.qualified_name for op in Registry(semantics_document()).operations])
@settings(max_examples=SEMANTICS_EXAMPLES, **SETTINGS)
@given(data=st.data())
def test_openapi_semantics_agree(name: str, data: st.DataObject) -> None:
    """nullable, readOnly/writeOnly, formats, discriminator, additionalProperties: one small schema each."""
    judge_all("semantics", name, data)


def test_known_disagreements_are_explained():
    for known in KNOWN:
        assert set(known.parts) <= {"parameters", "body", "response"} and known.wrong in ("client", "openapi-core", "neither")
        assert len(known.reason) > 40 and re.compile(known.core_error)


def test_report_the_tally(request: pytest.FixtureRequest) -> None:
    """Runs last in this module (pytest keeps file order): prints the counts for the record."""
    if TALLY:
        lines = [f"{part}: {TALLY[part + ':cases']} cases, {TALLY[part + ':agree']} agree, "
                 f"{TALLY[part + ':known']} known disagreements" for part in ("parameters", "body", "response")]
        known = ", ".join(f"{k.name} {TALLY['known:' + k.name]}" for k in KNOWN)
        print("\ndifferential tally: " + " | ".join(lines) + f" | known: {known}")


# Regression cases for the client fixes this test found: (schema, direction, instance, both judges' verdict).
SHARP = [
    ("NullableEnum", "response", None, False),  # nullable widens the type; the enum must list null too
    ("NullableEnumWithNull", "response", None, True),
    ("Thing", "request", {"name": "n", "secret": "s", "n32": 2**31}, False),  # int32's range
    ("Thing", "request", {"name": "n", "secret": "s", "n32": 2**31 - 1}, True),
    ("Pet", "response", {"kind": "cow", "meow": True}, False),  # a discriminator value no schema has
    ("Pet", "response", {"kind": "dog", "meow": 1}, True),  # dispatched to Dog, which ignores meow
    ("Pet", "response", {"kind": "cat", "meow": 1}, False),  # dispatched to Cat: meow must be a boolean
    ("Pet", "response", {"meow": True}, False),  # no discriminator property
]


@pytest.mark.parametrize(("schema", "direction", "instance", "verdict"), SHARP)
def test_sharp_cases_agree(schema: str, direction: str, instance: Any, verdict: bool) -> None:
    judge = judges("semantics")
    op = judge.registry.operation(f"semantics.{schema.lower()}")
    path = op.path
    if direction == "request":
        client_ok = judge.client.body(op).is_valid(instance)
        core_ok = not list(judge.body.iter_errors(MockRequest(HOST, "post", path, data=json.dumps(instance).encode())))
    else:
        client_ok = judge.client.response(op, 200).is_valid(instance)
        response = MockResponse(json.dumps(instance).encode(), status_code=200)
        core_ok = not list(judge.response.iter_errors(MockRequest(HOST, "post", path), response))
    assert (client_ok, core_ok) == (verdict, verdict)
