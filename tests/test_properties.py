"""Property-based tests (hypothesis): random calls of every operation never escape the error hierarchy.

For every operation of the bundled v2 schema (overrides applied) the tests draw calls against an
in-memory sandbox, through a counting wrapper around ``sandbox.transport()`` that records each
request the sandbox received and the status it answered:

* schema-valid calls (values drawn from the parameter and body schemas, path parameters naming objects
  created for the call, passed positionally or by keyword, bodies positionally, as ``body=`` or as field
  keywords) succeed: no client-side rejection, no 4xx, no 5xx;
* invalid calls (unknown keywords, extra positional arguments, wrong types, unknown enum values,
  missing required fields) raise the promised ``SynapseError`` subclass, name the field but never
  the offending value, and send nothing;
* hostile strings ('../admin', CR/LF, NUL, very long, unicode) either are refused before sending or
  reach the sandbox on the operation's own route, and are answered without a 5xx;
* the sync and async clients agree on the outcome of the same call;
* pure pieces: ``encode_path_value``, ``unwrap_envelope``, ``RetryPolicy.delay``, ``mask_token``.

Everything is derandomized so CI runs the same examples every time. Inputs that once escaped the
hierarchy are pinned by the regression tests at the end of the file.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import string
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synapse_dyn
from synapse_dyn import errors
from synapse_dyn.core import encode_path_value, unwrap_envelope
from synapse_dyn.records import Page, Record
from synapse_dyn.registry import Operation
from synapse_dyn.retry import IDEMPOTENT_METHODS, RetryPolicy, parse_retry_after
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox

REGISTRY = synapse_dyn.load_spec("v2", cache=False)  # no cache write at import time
OPERATIONS: list[Operation] = [op for _path, op in REGISTRY.walk()]
OP_IDS = [op.qualified_name for op in OPERATIONS]
TENANT = "acme"
EMAIL = "props@example.com"
PASSWORD = "pw-props"
MARKER = "zz-MARKER-7f3a"  # a value that must never show up in an error message

SETTINGS = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)

HOSTILE_STRINGS = [
    "../admin", "..", ".", "/", "a/../../admin", "%2e%2e%2fadmin", "..%2F..%2Fadmin", "?q=1&x=2", "#frag",
    "x\r\nX-Injected: 1", "\r\n", "a\x00b", "\x00", "x" * 5000, "ü", "漢字", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u202etxt.exe",
    " ", "", "'; DROP TABLE projects; --", "{{7*7}}", "\\..\\admin", "%00", "😀" * 50,
]
hostile_text = st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=40)


# -- plumbing ---------------------------------------------------------------------------------------


class CountingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Test plumbing: forwards to the sandbox transport and records what reached the sandbox."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.inner.handle_request(request)
        self.statuses.append(response.status_code)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = await self.inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        return response


@dataclass
class World:
    sandbox: Sandbox
    transport: CountingTransport
    token: str

    def client(self, cls: type = synapse_dyn.Client, **kwargs: Any) -> Any:
        options: dict[str, Any] = {"transport": self.transport, "access_token": self.token, "tenant": TENANT,
                                   "schema": REGISTRY, "retries": 0, **kwargs}
        return cls(SANDBOX_ORIGIN, **options)


def make_world() -> World:
    """A sandbox with a user, a token and a few objects of every resource (ids 1..3 exist).

    Four decoy tokens come first, so the small ids the strategies favour never revoke the token in use.
    """
    sandbox = Sandbox(REGISTRY)
    sandbox.create_user(EMAIL, PASSWORD, tenant=TENANT)
    for n in range(4):
        sandbox.issue_token(EMAIL, TENANT, description=f"decoy {n}")
    token = sandbox.issue_token(EMAIL, TENANT)
    for key, res in sandbox.app.resources.items():
        if key in ("tenants", "tokens"):
            continue
        sandbox.seed(key, 3, tenant=TENANT, parent=(1,) * len(res.parent_params) or None)
    return World(sandbox, CountingTransport(sandbox.transport()), token)


@pytest.fixture(scope="module")
def shared_world() -> Iterator[World]:
    made = make_world()
    yield made
    made.sandbox.close()


@pytest.fixture
def world(request: pytest.FixtureRequest, shared_world: World) -> Iterator[World]:
    """Read-only operations share one sandbox; every other test gets its own, so a test's outcome never
    depends on which tests ran before it. (Hypothesis' examples of one test share it on purpose: the
    function_scoped_fixture health check is suppressed for that.)"""
    callspec = getattr(request.node, "callspec", None)
    op = callspec.params.get("op") if callspec else None
    if op is not None and op.method == "get":
        yield shared_world
        return
    made = make_world()
    yield made
    made.sandbox.close()


@pytest.fixture
def client(world: World) -> Iterator[Any]:
    with world.client() as made:
        yield made


def method_of(client: Any, op: Operation, parents: tuple[Any, ...], by_keyword: bool = False) -> Any:
    """``client.projects.tags(parent).create`` for an operation, binding parent ids on the way."""
    node = REGISTRY.root
    target = getattr(client, op.name.resources[0])
    node = node.children[op.name.resources[0]]
    for depth, name in enumerate(op.name.resources[1:]):
        node = node.children[name]
        accessor = getattr(target, name)
        target = accessor(**{node.depth_param: parents[depth]}) if by_keyword else accessor(parents[depth])
    return getattr(target, op.name.verb)


# -- strategies from the JSON schema -----------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12) | st.floats(
    allow_nan=False, allow_infinity=False, width=32)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def resolved(schema: Any) -> dict[str, Any]:
    schema = REGISTRY.resolve(schema)
    return schema if isinstance(schema, dict) else {}


def merged_object(schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """(properties, required) through $ref and allOf."""
    schema = resolved(schema)
    required = set(schema.get("required") or [])
    for part in schema.get("allOf") or []:
        required |= merged_object(part)[1]
    return REGISTRY.object_properties(schema), required


def json_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if kind is None and (schema.get("properties") or schema.get("allOf")):
        return "object"
    return kind


def _numeric_bounds(schema: dict[str, Any], step: float) -> tuple[Any, Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if schema.get("exclusiveMinimum") is True and low is not None:
        low += step
    elif isinstance(schema.get("exclusiveMinimum"), int | float) and not isinstance(schema["exclusiveMinimum"], bool):
        low = schema["exclusiveMinimum"] + step
    if schema.get("exclusiveMaximum") is True and high is not None:
        high -= step
    elif isinstance(schema.get("exclusiveMaximum"), int | float) and not isinstance(schema["exclusiveMaximum"], bool):
        high = schema["exclusiveMaximum"] - step
    return low, high


def strategy_for(schema: Any, *, name: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that satisfy an OpenAPI 3.0 schema, request direction (readOnly properties left out)."""
    schema = resolved(schema)
    base = _non_null(schema, name, depth)
    if schema.get("nullable"):
        return st.none() | base
    return base


def _non_null(schema: dict[str, Any], name: str, depth: int) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return st.one_of([strategy_for(part, name=name, depth=depth + 1) for part in schema[key]])
    kind = json_type(schema)
    if kind == "object":
        return object_strategy(schema, depth=depth)
    if kind == "array":
        low = schema.get("minItems") or 0
        high = min(schema.get("maxItems", low + 3), low + 3)
        items = strategy_for(schema.get("items") or {}, name=name, depth=depth + 1)
        if schema.get("uniqueItems"):
            return st.lists(items, min_size=low, max_size=high, unique_by=lambda v: json.dumps(v, sort_keys=True))
        return st.lists(items, min_size=low, max_size=high)
    if kind == "integer":
        low, high = _numeric_bounds(schema, 1)
        anything = st.integers(min_value=low, max_value=high)
        small = st.integers(min_value=max(low, 1) if low is not None else 1,
                            max_value=min(high, 4) if high is not None else 4)
        if (high is None or high >= 1) and (low is None or low <= 4):
            return small | anything  # ids 1..3 exist in the sandbox
        return anything
    if kind == "number":
        low, high = _numeric_bounds(schema, 1e-6)
        return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return string_strategy(schema)
    return json_values  # an untyped schema ("any JSON value")


def string_strategy(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength") or 0, schema.get("maxLength")
    fmt = schema.get("format")
    if fmt == "date-time":
        text = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))
    elif fmt == "date":
        text = st.dates().map(lambda d: d.isoformat())
    elif fmt == "uuid":
        text = st.uuids().map(str)
    elif fmt == "email":
        text = st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True)
    elif schema.get("pattern"):
        text = st.from_regex(schema["pattern"])
    else:
        return st.text(min_size=low, max_size=min(high, low + 30) if high is not None else low + 30)
    return text.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))


def object_strategy(schema: dict[str, Any], *, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    props, required = merged_object(schema)
    visible = {n: p for n, p in props.items() if not resolved(p).get("readOnly") and not (
        isinstance(p, dict) and p.get("readOnly"))}
    if not visible and isinstance(resolved(schema).get("additionalProperties"), dict):
        return st.dictionaries(st.text(string.ascii_lowercase, min_size=1, max_size=8),
                               strategy_for(resolved(schema)["additionalProperties"], depth=depth + 1), max_size=3)
    needed = {n: strategy_for(p, name=n, depth=depth + 1) for n, p in visible.items() if n in required}
    optional = {n: strategy_for(p, name=n, depth=depth + 1) for n, p in visible.items() if n not in required}
    if depth > 3:
        optional = {}
    return st.fixed_dictionaries(needed, optional=optional)


def param_schema(op: Operation, name: str) -> dict[str, Any]:
    spec = op.path_param_specs.get(name) or op.query_params.get(name) or {}
    return resolved(spec.get("schema") or {})


def scalar_kind(schema: dict[str, Any]) -> str | None:
    """'integer' / 'number' / 'boolean' / 'string' for a scalar schema, None otherwise."""
    kind = json_type(resolved(schema))
    return kind if kind in ("integer", "number", "boolean", "string") else None


def wrong_value(kind: str) -> st.SearchStrategy[Any]:
    """A value that no schema of this JSON type accepts (never None: None means 'not given')."""
    if kind in ("integer", "number"):
        return st.sampled_from([MARKER, [MARKER], {"v": MARKER}]) | st.just(True)
    if kind == "boolean":
        return st.sampled_from([MARKER, [MARKER], {"v": MARKER}])
    if kind == "string":
        return st.sampled_from([{"v": MARKER}, [{"v": MARKER}], 3.5, 7])
    if kind == "object":
        return st.sampled_from([MARKER, [MARKER], 7])
    return st.sampled_from([MARKER, 7, {"v": MARKER}])  # array


def integer_text(value: str) -> bool:
    """A decimal integer written as text: accepted for an integer path id (a value read from a DataFrame)."""
    return value.isascii() and value.strip().lstrip("-").isdigit()


# -- call plans ---------------------------------------------------------------------------------------

ABSENT = object()


@dataclass
class Plan:
    """One call, before it is rendered into positional and keyword arguments."""

    op: Operation
    parents: dict[str, Any]
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any = ABSENT
    list_all: bool = False
    extra_args: tuple[Any, ...] = ()
    extra_kwargs: dict[str, Any] = field(default_factory=dict)
    expect: str = "valid"  # valid | rejected | hostile
    error: type[Exception] | None = None  # the class a rejection raises
    field_name: str | None = None  # the field a rejection must name
    kind: str = "valid"


@dataclass
class Rendered:
    parents: tuple[Any, ...]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    parents_by_keyword: bool


@dataclass(frozen=True)
class Existing:
    """A path value to replace, just before the call, with the id of an object made for it (see made_for)."""


CURSORS = ("cursor", "page")  # a drawn cursor names no page: 'valid' calls start at the first one


@st.composite
def valid_plans(draw: st.DrawFn, op: Operation, *, allow_list_all: bool = True, existing: bool = False) -> Plan:
    """A schema-valid call; with ``existing``, its path names objects that exist (made by resolve_existing)."""
    def value(name: str) -> Any:
        return Existing() if existing else draw(strategy_for(param_schema(op, name), name=name))

    parents = {n: value(n) for n in op.bound_path_params}
    path = {n: value(n) for n in op.own_path_params}
    query = {}
    for name, spec in op.query_params.items():
        if existing and name in CURSORS:
            continue
        if spec.get("required") or draw(st.booleans()):
            query[name] = draw(strategy_for(spec.get("schema") or {}, name=name).filter(
                lambda v: not existing or v != ""))  # an empty filter value is refused like a wrong one
    body: Any = ABSENT
    if op.body is not None and (op.body.required or draw(st.booleans())):
        body = draw(strategy_for(op.body.schema))
    list_all = allow_list_all and op.is_paginated and draw(st.integers(0, 3)) == 0
    return Plan(op, parents, path, query, body, list_all)


def made_for(world: World, op: Operation, depth: int, chain: list[Any]) -> Any:
    """Create first: a fresh object of the resource at ``depth`` (under ``chain``), so that even a
    destroy or an update drawn by an earlier example cannot have removed it."""
    key = ".".join(op.name.resources[: depth + 1])
    if key == "tenants":
        return TENANT
    if key == "tokens":
        world.sandbox.issue_token(EMAIL, TENANT, description="made for one call")
        with world.client() as client:
            return max(token.id for token in client.tokens.list(list_all=True))
    return world.sandbox.seed(key, 1, tenant=TENANT, parent=tuple(chain) or None)[0]["id"]


def resolve_existing(world: World, plan: Plan) -> Plan:
    op = plan.op
    chain: list[Any] = []
    for depth, name in enumerate(op.bound_path_params):
        chain.append(made_for(world, op, depth, chain))
        plan.parents[name] = chain[-1]
    for name in op.own_path_params:
        plan.path[name] = made_for(world, op, len(op.name.resources) - 1, chain)
    if op.qualified_name == "auth.login":  # the only valid credentials are the world's own
        plan.body = {"email": EMAIL, "password": PASSWORD}
    return plan


def _body_keywords_ok(op: Operation, body: Any) -> bool:
    """Whether every body field can travel as a keyword without landing somewhere else."""
    if not isinstance(body, dict) or not body:
        return False
    taken = set(op.query_params) | set(op.path_param_specs) | set(op.keyword_aliases) | {"body", "list_all"}
    return all(k.isidentifier() and k not in taken and not k.startswith("set_") for k in body)


@st.composite
def rendered(draw: st.DrawFn, plan: Plan, *, positional: bool | None = None) -> Rendered:
    """Turn a plan into arguments, in any calling style the client documents."""
    op = plan.op
    parents = tuple(plan.parents[n] for n in op.bound_path_params)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if positional is None:
        positional = draw(st.booleans())
    given = [n for n in op.own_path_params if n in plan.path]
    if positional and given == op.own_path_params[: len(given)]:
        args += [plan.path[n] for n in given]
    else:
        positional = False
        aliases = {real: alias for alias, real in op.keyword_aliases.items()}
        for name in given:
            use_alias = name in aliases and draw(st.booleans())
            kwargs[aliases[name] if use_alias else name] = plan.path[name]
    kwargs.update(plan.query)
    if plan.body is not ABSENT:
        styles = ["keyword"]
        if positional and isinstance(plan.body, Mapping | list):
            styles.append("positional")
        if _body_keywords_ok(op, plan.body):
            styles.append("fields")
        style = draw(st.sampled_from(styles))
        if style == "positional":
            args.append(plan.body)
        elif style == "fields":
            kwargs.update(plan.body)
        else:
            kwargs["body"] = plan.body
    if plan.list_all:
        kwargs["list_all"] = True
    args += list(plan.extra_args)
    kwargs.update(plan.extra_kwargs)
    return Rendered(parents, tuple(args), kwargs, draw(st.booleans()) if parents else False)


# -- invalid plans -------------------------------------------------------------------------------------


def _typed_params(op: Operation, plan: Plan) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, name, schema) of every scalar-typed parameter of the call."""
    out = []
    for where, names in (("parents", op.bound_path_params), ("path", op.own_path_params),
                         ("query", list(op.query_params))):
        for name in names:
            schema = param_schema(op, name)
            if scalar_kind(schema) or json_type(schema) == "array":
                out.append((where, name, schema))
    return out


def _body_fields(op: Operation, plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    if op.body is None or not isinstance(plan.body, dict):
        return []
    props, _required = merged_object(op.body.schema)
    return [(n, resolved(p)) for n, p in props.items() if not resolved(p).get("readOnly")
            and (json_type(resolved(p)) or "enum" in resolved(p))]


def _with(plan: Plan, where: str, name: str, value: Any) -> Plan:
    if where == "body":
        return replace(plan, body={**plan.body, name: value})
    return replace(plan, **{where: {**getattr(plan, where), name: value}})


@st.composite
def invalid_plans(draw: st.DrawFn, op: Operation) -> Plan:
    """A valid call with one defect the client must refuse before sending (or a hostile string)."""
    plan = draw(valid_plans(op, allow_list_all=False))
    if op.body is not None and plan.body is ABSENT and draw(st.booleans()):
        plan.body = draw(strategy_for(op.body.schema))
    kinds = []  # most interesting first: hypothesis favours early choices when it derandomizes
    typed = _typed_params(op, plan)
    fields = _body_fields(op, plan)
    enums = [(w, n, s) for w, n, s in typed if s.get("enum")] + [("body", n, s) for n, s in fields if s.get("enum")]
    props, required = merged_object(op.body.schema) if op.body is not None else ({}, set())
    if typed or fields:
        kinds.append("wrong_type")
    if enums:
        kinds.append("bad_enum")
    if op.path_params or (op.body is not None and (op.body.required or required)):
        kinds.append("missing_required")
    strings = [(w, n) for w, n, s in typed if scalar_kind(s) == "string" and not s.get("enum")]
    strings += [("body", n) for n, s in fields if scalar_kind(s) == "string" and not s.get("enum")]
    if op.path_params or strings:
        kinds.insert(0, "hostile")
    kinds += ["extra_positional", "unknown_keyword"]
    kind = draw(st.sampled_from(kinds))
    plan.kind = kind
    if kind == "unknown_keyword":
        taken = set(op.accepted_keywords())
        control = [n for n in ("body", "list_all") if n not in taken]  # body / list_all where they do not apply
        made_up = st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True).filter(
            lambda n: n not in taken and n not in ("body", "list_all") and not n.startswith("set_"))
        name = draw(st.sampled_from(control) | made_up if control else made_up)
        value = draw(json_scalars)
        return replace(plan, extra_kwargs={name: value}, expect="rejected",
                       error=errors.UnknownArgumentError, field_name=name)
    if kind == "extra_positional":
        extra = draw(st.integers() | st.text(max_size=5) | st.none() | st.floats(allow_nan=False) | (
            st.dictionaries(st.text(max_size=3), json_scalars, max_size=2) if op.body is None else st.just(7)))
        path = {n: plan.path.get(n, 1) for n in op.own_path_params}
        return replace(plan, path=path, extra_args=(extra,), expect="rejected", error=errors.UnknownArgumentError,
                       kind="extra_positional")
    if kind == "wrong_type":
        choices = [(w, n, s) for w, n, s in typed] + [("body", n, s) for n, s in fields]
        where, name, schema = draw(st.sampled_from(choices))
        value = draw(wrong_value(scalar_kind(schema) or json_type(schema) or "array"))
        return replace(_with(plan, where, name, value), expect="rejected", error=errors.ValidationError,
                       field_name=name)
    if kind == "bad_enum":
        where, name, schema = draw(st.sampled_from(enums))
        value = MARKER if not schema.get("enum") or isinstance(schema["enum"][0], str) else 987654321
        return replace(_with(plan, where, name, value), expect="rejected", error=errors.ValidationError,
                       field_name=name)
    if kind == "missing_required":
        options = [("path", n) for n in op.own_path_params] + [("parents", n) for n in op.bound_path_params]
        if op.body is not None and op.body.required:
            options.append(("body", None))
        if isinstance(plan.body, dict):
            options += [("field", n) for n in sorted(required) if n in plan.body]
        where, name = draw(st.sampled_from(options))
        if where == "path":
            return replace(plan, path={k: v for k, v in plan.path.items() if k != name}, expect="rejected",
                           error=errors.ValidationError, field_name=name)
        if where == "parents":
            return replace(plan, parents={**plan.parents, name: None}, expect="rejected",
                           error=errors.ValidationError, field_name=name)
        if where == "body":
            return replace(plan, body=ABSENT, expect="rejected", error=errors.ValidationError, field_name="body")
        return replace(plan, body={k: v for k, v in plan.body.items() if k != name}, expect="rejected",
                       error=errors.ValidationError, field_name=name)
    # hostile: a path parameter (refused when it is not a string) or a string parameter / body field
    targets = [("parents", n) for n in op.bound_path_params] + [("path", n) for n in op.own_path_params] + strings
    where, name = draw(st.sampled_from(targets))
    schema = param_schema(op, name) if where != "body" else dict(fields)[name]
    value = draw(hostile_text)
    if where in ("parents", "path") and scalar_kind(schema) == "integer" and integer_text(value):
        return replace(_with(plan, where, name, value), expect="hostile", field_name=name, kind="hostile")
    if where in ("parents", "path") and scalar_kind(schema) != "string":
        return replace(_with(plan, where, name, value), expect="rejected", error=errors.ValidationError,
                       field_name=name, kind="hostile")
    return replace(_with(plan, where, name, value), expect="hostile", field_name=name, kind="hostile")


# -- running a call ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    result: Any = None
    error: BaseException | None = None
    sent: list[httpx.Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def signature(self) -> tuple[Any, ...]:
        if self.error is not None:
            return ("error", type(self.error).__name__, getattr(self.error, "status_code", None))
        return ("ok", type(self.result).__name__)


def run_sync(world: World, client: Any, plan: Plan, call: Rendered) -> Outcome:
    world.transport.reset()
    outcome = Outcome()
    try:
        method = method_of(client, plan.op, call.parents, call.parents_by_keyword)
        result = method(*call.args, **call.kwargs)
        if plan.list_all:
            result = list(itertools.islice(result, 5))
        outcome.result = result
    except Exception as exc:  # noqa: BLE001 - the property under test is what escapes
        outcome.error = exc
    outcome.sent, outcome.statuses = list(world.transport.requests), list(world.transport.statuses)
    return outcome


async def _run_async(client: Any, plan: Plan, call: Rendered) -> Any:
    method = method_of(client, plan.op, call.parents, call.parents_by_keyword)
    result = method(*call.args, **call.kwargs)
    if plan.list_all:
        return [item async for item in result][:5]
    if hasattr(result, "__await__"):
        result = await result
    return result


def run_async(world: World, client: Any, plan: Plan, call: Rendered) -> Outcome:
    world.transport.reset()
    outcome = Outcome()
    try:
        outcome.result = asyncio.run(_run_async(client, plan, call))
    except Exception as exc:  # noqa: BLE001
        outcome.error = exc
    outcome.sent, outcome.statuses = list(world.transport.requests), list(world.transport.statuses)
    return outcome


def check_common(plan: Plan, outcome: Outcome) -> None:
    """Invariants of every call, valid or not."""
    error = outcome.error
    if error is not None and not isinstance(error, errors.SynapseError):
        raise AssertionError(f"{plan.op.qualified_name} ({plan.kind}) raised {type(error).__name__} outside the "
                             f"synapse_dyn.errors hierarchy: {error!r}") from error
    assert not isinstance(error, errors.TransportError), f"in-process sandbox, yet {error!r}"
    assert all(s < 500 for s in outcome.statuses), (
        f"{plan.op.qualified_name} ({plan.kind}): the client sent a request it had validated and the sandbox "
        f"answered {outcome.statuses}")
    if error is None:
        assert outcome.sent, f"{plan.op.qualified_name} returned without sending anything"
        return
    if not outcome.sent:
        # refused before sending: only client-side classes, and never an HTTP status
        assert isinstance(error, errors.UnknownArgumentError | errors.UnknownNameError | errors.ConfigurationError
                          | errors.ValidationError), repr(error)
        if isinstance(error, errors.ClientError):
            assert error.status_code is None, repr(error)
    elif isinstance(error, errors.ClientError):
        assert error.status_code == outcome.statuses[-1], (repr(error), outcome.statuses)


def check_route(plan: Plan, outcome: Outcome) -> None:
    """A sent request stays on its operation's route, with every path value in exactly one segment."""
    if not plan.list_all:
        assert len(outcome.sent) <= 1, f"retries=0, yet {len(outcome.sent)} requests were sent"
    for request in outcome.sent[:1]:  # later pages of list_all follow the server's next link
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        actual = raw_path.split("/")
        template = plan.op.path.split("/")
        assert len(actual) == len(template), (plan.op.path, raw_path)
        values = {**plan.parents, **plan.path}
        for want, got in zip(template, actual, strict=True):
            if want.startswith("{") and want.endswith("}"):
                value = values.get(want[1:-1])
                expected = "true" if value is True else "false" if value is False else str(value)
                assert unquote(got) == (expected or " "), (want, got)
                assert "/" not in got and "?" not in got and "#" not in got and got not in (".", "..")
            else:
                assert got == want, (plan.op.path, raw_path)
        sent_query = parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True)
        for name, value in plan.query.items():
            if isinstance(value, str):
                assert (name, value) in sent_query, (name, value, sent_query)


def check_valid(plan: Plan, outcome: Outcome) -> None:
    check_common(plan, outcome)
    error = outcome.error
    assert outcome.sent, f"{plan.op.qualified_name}: a schema-valid call was refused client-side: {error!r}"
    assert not isinstance(error, errors.ServerError), f"{plan.op.qualified_name}: 5xx for a valid call: {error}"
    check_route(plan, outcome)


def check_invalid(plan: Plan, outcome: Outcome) -> None:
    check_common(plan, outcome)
    error = outcome.error
    if plan.expect == "rejected":
        assert error is not None, f"{plan.op.qualified_name} ({plan.kind}) accepted {plan}"
        assert not outcome.sent, f"{plan.op.qualified_name} ({plan.kind}) sent {outcome.sent} before refusing"
        assert plan.error is not None and isinstance(error, plan.error), (plan.kind, repr(error))
        text = str(error)
        assert MARKER not in text and MARKER not in repr(getattr(error, "detail", "")), text
        if plan.field_name and plan.kind != "hostile":
            named = text + " " + json.dumps(getattr(error, "detail", {}), default=str)
            assert plan.field_name in named, (plan.field_name, text)
    else:
        check_route(plan, outcome)


def assert_result_shape(plan: Plan, outcome: Outcome) -> None:
    """What a successful call returns: Page for lists, Record for objects, None for 204."""
    if outcome.error is not None:
        return
    result = outcome.result
    if plan.list_all:
        assert isinstance(result, list)
    elif plan.op.is_paginated:
        assert isinstance(result, Page), type(result)
    elif outcome.statuses and outcome.statuses[-1] == 204:
        assert result is None
    elif isinstance(result, dict):
        assert isinstance(result, Record), type(result)


# -- the properties --------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
@SETTINGS
@given(data=st.data())
def test_valid_calls_on_existing_objects_succeed(world: World, client: Any, op: Operation,
                                                 data: st.DataObject) -> None:
    """Every path names an object made for the call (and login uses the world's own credentials), so a
    schema-valid call has no reason to fail: any error, 4xx included, fails the property."""
    plan = resolve_existing(world, data.draw(valid_plans(op, existing=True), label="plan"))
    call = data.draw(rendered(plan), label="call")
    outcome = run_sync(world, client, plan, call)
    check_valid(plan, outcome)
    assert outcome.error is None, f"{op.qualified_name}: a valid call on existing objects failed: {outcome.error!r}"
    assert_result_shape(plan, outcome)


@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
@SETTINGS
@given(data=st.data())
def test_invalid_calls_are_refused_before_sending(world: World, client: Any, op: Operation,
                                                   data: st.DataObject) -> None:
    plan = data.draw(invalid_plans(op), label="plan")
    call = data.draw(rendered(plan, positional=True if plan.kind == "extra_positional" else None), label="call")
    outcome = run_sync(world, client, plan, call)
    check_invalid(plan, outcome)


@pytest.fixture(scope="module")
def paired() -> Iterator[tuple[Any, Any, Any, Any]]:
    """Two sandboxes seeded identically: one answers the sync client, the other the async one, so the
    same sequence of calls meets the same state on both sides."""
    sync_world, async_world = make_world(), make_world()
    sync_client, async_client = sync_world.client(), async_world.client(synapse_dyn.AsyncClient)
    yield sync_world, sync_client, async_world, async_client
    sync_client.close()
    asyncio.run(async_client.aclose())
    sync_world.sandbox.close()
    async_world.sandbox.close()


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_sync_and_async_clients_agree(paired: tuple[Any, Any, Any, Any], data: st.DataObject) -> None:
    sync_world, sync_client, async_world, async_client = paired
    op = data.draw(st.sampled_from(OPERATIONS), label="op")
    plan = data.draw(st.one_of(valid_plans(op), invalid_plans(op)), label="plan")
    call = data.draw(rendered(plan, positional=True if plan.kind == "extra_positional" else None), label="call")
    sync_outcome = run_sync(sync_world, sync_client, plan, call)
    async_outcome = run_async(async_world, async_client, plan, call)
    check_common(plan, sync_outcome)
    check_common(plan, async_outcome)
    assert sync_outcome.signature() == async_outcome.signature(), (sync_outcome, async_outcome)
    assert len(sync_outcome.sent) == len(async_outcome.sent)
    if isinstance(sync_outcome.result, Page):
        assert len(sync_outcome.result.results) == len(async_outcome.result.results)
    elif isinstance(sync_outcome.result, dict):
        assert sorted(sync_outcome.result) == sorted(async_outcome.result)


names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)


@settings(SETTINGS, max_examples=40)
@given(name=st.sampled_from(REGISTRY.resources) | names,
       verb=st.sampled_from(sorted({op.verb for op in OPERATIONS})) | names)
def test_unknown_resources_and_verbs_raise_attribute_errors(world: World, client: Any, name: str, verb: str) -> None:
    world.transport.reset()
    if name in REGISTRY.resources:
        resource = getattr(client, name)
        if verb in REGISTRY.node(name).attributes():
            return
        with pytest.raises(errors.UnknownNameError) as caught:
            getattr(resource, verb)
        assert isinstance(caught.value, AttributeError) and verb in str(caught.value)
    else:
        with pytest.raises(errors.UnknownNameError) as caught:
            getattr(client, name)
        assert isinstance(caught.value, AttributeError) and name in str(caught.value)
    assert not world.transport.requests


@settings(SETTINGS, max_examples=40)
@given(value=st.sampled_from([s for s in HOSTILE_STRINGS if s.isascii()])
       | st.text(alphabet=st.characters(max_codepoint=127), max_size=30),
       which=st.sampled_from(["tenant", "access_token"]))
def test_hostile_credentials_are_refused_or_sent_intact(world: World, value: str, which: str) -> None:
    """ASCII credential values: control characters refused at construction; anything else sent unchanged.
    (Non-ASCII values are bug A: test_non_ascii_credentials_raise_synapse_errors below.)"""
    world.transport.reset()
    try:
        made = world.client(**{which: value})
    except errors.SynapseError as exc:
        assert isinstance(exc, errors.ConfigurationError)
        assert any(not " " <= c <= "~" for c in value)  # only visible ASCII and spaces may be sent
        assert value not in str(exc) or len(value) < 3
        return
    assert all(" " <= c <= "~" for c in value), "a header value with a control character was accepted"
    plan = Plan(REGISTRY.operation("projects.list"), {}, {}, {})
    outcome = run_sync(world, made, plan, Rendered((), (), {}, False))
    check_common(plan, outcome)
    header = "SYNAPSE-Tenant" if which == "tenant" else "SYNAPSE-ACCESS-TOKEN"
    if value:
        assert [r.headers.get(header) for r in outcome.sent] == [value] * len(outcome.sent)
    made.close()


# -- pure pieces --------------------------------------------------------------------------------------------

path_values = (st.text() | st.sampled_from(HOSTILE_STRINGS) | st.integers() | st.booleans() | st.none()
               | st.floats(allow_nan=False) | st.uuids())


@settings(SETTINGS, max_examples=400)
@given(value=path_values)
def test_encode_path_value_never_changes_the_route(value: Any) -> None:
    encoded = encode_path_value(value)
    assert encoded, "an empty segment would collapse the route"
    assert not any(c in encoded for c in "/?#\\"), encoded
    assert encoded not in (".", ".."), encoded
    assert encoded.isascii() and all(c.isprintable() and not c.isspace() for c in encoded), encoded
    text = "true" if value is True else "false" if value is False else "" if value is None else str(value)
    assert unquote(encoded) == (text or " ")
    # and httpx keeps it as one segment of the URL it sends
    url = httpx.URL(f"https://sandbox.local/v2/tenants/{encoded}/")
    assert url.raw_path.decode("ascii").split("/") == ["", "v2", "tenants", encoded, ""]


request_ids = st.none() | st.text(max_size=20)
payloads = json_values


@settings(SETTINGS, max_examples=300)
@given(data=payloads.filter(lambda d: not isinstance(d, list)), request_id=request_ids,
       extra=st.dictionaries(st.sampled_from(["version", "warnings"]), json_scalars, max_size=2))
def test_unwrap_envelope_round_trips_objects(data: Any, request_id: str | None, extra: dict[str, Any]) -> None:
    unwrapped, rid = unwrap_envelope({"data": data, "meta": {"request_id": request_id, **extra}})
    assert unwrapped == data
    assert rid == request_id


@settings(SETTINGS, max_examples=300)
@given(items=st.lists(json_values, max_size=5), next_cursor=st.none() | st.text(max_size=10),
       previous=st.none() | st.text(max_size=10), count=st.none() | st.integers(0, 10**6),
       request_id=request_ids)
def test_unwrap_envelope_round_trips_pages(items: list[Any], next_cursor: str | None, previous: str | None,
                                           count: int | None, request_id: str | None) -> None:
    pagination: dict[str, Any] = {"next_cursor": next_cursor, "previous_cursor": previous, "per_page": 50}
    if count is not None:
        pagination["count"] = count
    page, rid = unwrap_envelope({"data": items, "meta": {"request_id": request_id, "pagination": pagination}})
    assert rid == request_id
    assert page["results"] == items and page["next"] == next_cursor and page["previous"] == previous
    assert page.get("count") == count
    # a bare list with cursors directly in meta (older backends) is a page too
    page2, _ = unwrap_envelope({"data": items, "meta": {"next_cursor": next_cursor, "previous_cursor": previous}})
    assert page2 == {"results": items, "next": next_cursor, "previous": previous}


@settings(SETTINGS, max_examples=300)
@given(payload=json_values.filter(lambda p: not (isinstance(p, dict) and "data" in p and "meta" in p)))
def test_unwrap_envelope_leaves_unenveloped_payloads_alone(payload: Any) -> None:
    assert unwrap_envelope(payload) == (payload, None)


http_dates = st.builds(
    lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9998, 12, 31)))
retry_after_values = st.none() | st.text(max_size=30) | http_dates | st.floats(allow_nan=True).map(str) | st.sampled_from(
    ["0", "-5", "1e400", "nan", "inf", "-inf", "Sun, 06 Nov 1994 08:49:37 GMT", "Mon, 99 Foo 0000 99:99:99 XYZ",
     "Fri, 31 Dec 9999 23:59:59 -2359", "Thu, 01 Jan 1970 00:00:00 +2359"])


@settings(SETTINGS, max_examples=400)
@given(retries=st.integers(0, 8), backoff=st.floats(0, 5), max_backoff=st.floats(0, 30), max_total=st.floats(0, 120),
       method=st.sampled_from(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH", "get", "post"]),
       attempt=st.integers(0, 12), elapsed=st.floats(0, 200),
       status=st.none() | st.sampled_from([200, 400, 404, 429, 500, 502, 503, 504]) | st.integers(100, 599),
       retry_after=retry_after_values, failure_sent=st.none() | st.booleans())
def test_retry_delay_stays_within_bounds(retries: int, backoff: float, max_backoff: float, max_total: float,
                                         method: str, attempt: int, elapsed: float, status: int | None,
                                         retry_after: str | None, failure_sent: bool | None) -> None:
    policy = RetryPolicy(retries=retries, backoff=backoff, max_backoff=max_backoff, max_total=max_total)
    wait = policy.delay(method, attempt, elapsed, status=status, retry_after=retry_after, failure_sent=failure_sent)
    if wait is None:
        return
    idempotent = method.upper() in IDEMPOTENT_METHODS
    assert attempt < retries
    assert isinstance(wait, float | int) and math.isfinite(wait) and wait >= 0
    assert elapsed + wait <= max_total
    if status is not None:
        assert idempotent and status in policy.statuses
    else:
        assert idempotent or failure_sent is False
    if status not in (429, 503) or parse_retry_after(retry_after) is None:  # no server hint: jittered backoff
        assert wait <= min(max_backoff, backoff * 2**attempt) + 1e-9


tokens = st.builds(lambda prefix, secret: prefix + secret,
                   st.sampled_from(["", "syn_", "drf_", "ab_", "Token "]) | st.from_regex(r"[A-Za-z]{1,8}_", fullmatch=True),
                   st.text(min_size=0, max_size=60))


@settings(SETTINGS, max_examples=400)
@given(token=tokens | st.text(max_size=80))
def test_mask_token_never_shows_the_middle(token: str) -> None:
    masked = synapse_dyn.mask_token(token)
    assert "***" in masked
    head, _, tail = masked.partition("***")
    assert token.startswith(head), (token, masked)
    assert head == "" or (head.endswith("_") and len(head) <= 9 and head[:-1].isalpha()), masked
    rest = token[len(head):]
    assert len(tail) <= 4 and rest.endswith(tail), (token, masked)
    if len(rest) < 8:
        assert masked == head + "***", (token, masked)  # short secrets show nothing at all
    else:
        assert masked == head + "***" + rest[-4:], (token, masked)  # the middle never appears


def test_mask_token_of_none_and_non_strings() -> None:
    assert synapse_dyn.mask_token(None) == "<unset>"
    assert synapse_dyn.mask_token(12345678901234) == "***1234"


# -- inputs that once escaped the hierarchy: regression tests ------------------------------------------------


def outcome_of(world: World, call: Any) -> tuple[errors.SynapseError | None, int]:
    """(the SynapseError raised or None, how many requests reached the sandbox); anything else escaping fails."""
    world.transport.reset()
    try:
        call()
    except errors.SynapseError as exc:
        return exc, len(world.transport.requests)
    except Exception as exc:  # noqa: BLE001 - exactly what the property forbids
        raise AssertionError(f"{type(exc).__name__} escaped the synapse_dyn.errors hierarchy: {exc}") from exc
    return None, len(world.transport.requests)


def refused(world: World, call: Any, expected: type[errors.SynapseError]) -> None:
    """The call is refused client-side with ``expected``: nothing is sent and no HTTP status is claimed."""
    error, sent = outcome_of(world, call)
    assert isinstance(error, expected), repr(error)
    assert sent == 0, f"refused client-side, yet {sent} request(s) were sent"
    assert getattr(error, "status_code", None) is None, repr(error)


@pytest.mark.parametrize("which", ["tenant", "access_token"])
def test_non_ascii_credentials_raise_synapse_errors(world: World, which: str) -> None:
    refused(world, lambda: world.client(**{which: "acmé"}).projects.list(), errors.ConfigurationError)


@pytest.mark.parametrize("where", ["query", "body"])
def test_lone_surrogates_raise_synapse_errors(world: World, client: Any, where: str) -> None:
    calls = {"query": lambda: client.tenants.list(search="\ud800"),
             "body": lambda: client.tokens.create(description="\ud800")}
    refused(world, calls[where], errors.ValidationError)


def test_a_lone_surrogate_in_a_path_is_encoded_and_sent(world: World, client: Any) -> None:
    error, sent = outcome_of(world, lambda: client.tenants.retrieve("\ud800"))
    assert isinstance(error, errors.NotFoundError) and error.status_code == 404 and sent == 1
    assert world.transport.requests[0].url.raw_path == b"/v2/tenants/%ED%A0%80/"  # one segment, surrogatepass


@pytest.mark.parametrize("case,expected", [("datetime-query", errors.ValidationError),
                                           ("object-parent", errors.ValidationError),
                                           ("int-key-body", errors.UnknownArgumentError)])
def test_non_json_argument_values_raise_synapse_errors(world: World, client: Any, case: str, expected: type) -> None:
    calls = {"datetime-query": lambda: client.projects.list(category=datetime(2026, 1, 6, tzinfo=UTC)),
             "object-parent": lambda: client.projects.tags(object()).list(),
             "int-key-body": lambda: client.projects.create({"title": "t", "category": "image",
                                                             "configuration": {}, 1: 2})}
    refused(world, calls[case], expected)


def test_a_uuid_path_value_is_sent_as_its_text(world: World, client: Any) -> None:
    job = uuid.UUID("12345678-1234-5678-1234-567812345678")
    error, sent = outcome_of(world, lambda: client.jobs.retrieve(job))
    assert isinstance(error, errors.NotFoundError) and sent == 1
    assert world.transport.requests[0].url.path == f"/v2/jobs/{job}/"


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value", [math.nan, math.inf, {1, 2}, b"raw", _nested(2000)],
                         ids=["nan", "inf", "set", "bytes", "deep"])
def test_unserializable_body_values_raise_synapse_errors(world: World, client: Any, value: Any) -> None:
    refused(world, lambda: client.projects.create(title="t", category="image", configuration=value),
            errors.ValidationError)


def test_a_datetime_body_value_is_sent_as_iso_8601(world: World, client: Any) -> None:
    made = client.projects.create(title="t", category="image", configuration={"at": datetime(2026, 1, 6, 9, 30)})
    assert json.loads(world.transport.requests[-1].content)["configuration"] == {"at": "2026-01-06T09:30:00"}
    assert made.id
