"""Help text, call signatures and REPL introspection of operations, built from the schema on first access."""

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


def signature(op: Operation, *, is_async: bool = False) -> inspect.Signature:
    """Path parameters positional, then ``body``, then query parameters and body fields keyword-only.

    Required body fields have no default (they may also come in ``body``); the return annotation
    is the result's schema name, ``Page`` for a list, ``None`` for an empty answer, and on the
    async client ``Awaitable[...]`` (``AsyncPager`` for a list).
    """
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
            default = inspect.Parameter.empty if spec.get("required") else None
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=python_annotation(op, spec.get("schema"))))
    required = set(op.registry.resolve(op.body.schema).get("required") or []) if op.body else set()
    for name, schema in op.body_fields.items():
        if name.isidentifier() and name not in seen and not op.registry.resolve(schema).get("readOnly"):
            seen.add(name)
            default = inspect.Parameter.empty if name in required else None
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=python_annotation(op, schema)))
    if op.is_paginated:
        params.append(inspect.Parameter("list_all", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool))
    return inspect.Signature(params, return_annotation=return_annotation(op, is_async=is_async))


def return_annotation(op: Operation, *, is_async: bool = False) -> Any:
    if op.is_paginated:
        return "AsyncPager" if is_async else "Page"
    result: Any = None
    if op.success_schema:
        kind = python_annotation(op, op.success_schema)
        result = op.result_schema_name or ("Record" if kind in (dict, Any) else kind)
    if not is_async:
        return result
    return f"Awaitable[{getattr(result, '__name__', result)}]"


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


# -- introspection mixed into the client's proxies ------------------------------


async def _operation(*args: Any, **kwargs: Any) -> Any:
    """Stands in for an async verb when a tool asks for its code object (inspect.iscoroutinefunction)."""


_ASYNC_CODE = _operation.__code__
_ASYNC_CLIENTS: dict[type, bool] = {}


def client_is_async(client: Any) -> bool:
    """True for AsyncClient (and subclasses): its verbs are coroutines."""
    cls = type(client)
    found = _ASYNC_CLIENTS.get(cls)
    if found is None:
        found = _ASYNC_CLIENTS[cls] = inspect.iscoroutinefunction(getattr(cls, "_send", None))
    return found


def expand_schema(registry: Any, schema: Any, depth: int = 12, _seen: tuple[str, ...] = ()) -> Any:
    """A copy of a schema with local ``$ref``s inlined (``title`` keeps the component's name); a
    reference met again inside itself stays a ``$ref``."""
    if isinstance(schema, list):
        return [expand_schema(registry, s, depth, _seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if ref in _seen or depth <= 0:
            return dict(schema)
        target = expand_schema(registry, registry.resolve(schema), depth - 1, (*_seen, ref))
        if isinstance(target, dict):
            target = {"title": ref.rsplit("/", 1)[-1], **target}
        return target
    return {k: expand_schema(registry, v, depth, _seen) for k, v in schema.items()}


class OperationIntrospection:
    """Mixed into a bound operation (``op``, ``_client``): its signature, request and response schemas,
    and on the async client what makes ``inspect.iscoroutinefunction`` say True."""

    __slots__ = ()
    __defaults__ = None
    __kwdefaults__ = None
    op: Operation
    _client: Any

    @property
    def __signature__(self) -> inspect.Signature:
        return signature(self.op, is_async=client_is_async(self._client))

    def _is_coroutine(self) -> bool:
        return client_is_async(self._client) and not self.op.is_paginated

    @property
    def __code__(self) -> Any:
        if self._is_coroutine():
            return _ASYNC_CODE
        raise AttributeError("__code__")

    @property
    def _is_coroutine_marker(self) -> Any:  # what inspect.markcoroutinefunction sets (Python 3.12+)
        marker = getattr(inspect, "_is_coroutine_mark", None)
        if marker is None or not self._is_coroutine():
            raise AttributeError("_is_coroutine_marker")
        return marker

    @property
    def request_schema(self) -> dict[str, Any] | None:
        """The request body's JSON Schema, references inlined (None when the operation takes no body)."""
        if self.op.body is None:
            return None
        return expand_schema(self.op.registry, self.op.body.schema)

    @property
    def response_schema(self) -> dict[str, Any] | None:
        """The success response's JSON Schema (after the envelope), references inlined; None for no body."""
        schema = self.op.list_item_schema if self.op.is_paginated else self.op.success_schema
        if schema is None:
            return None
        expanded = expand_schema(self.op.registry, schema)
        if self.op.is_paginated:
            return {"title": "Page", "type": "object", "properties": {
                "results": {"type": "array", "items": expanded}, "next": {"type": "string", "nullable": True},
                "previous": {"type": "string", "nullable": True}}}
        return expanded


class NestedAccessorHelp:
    """Mixed into ``client.projects.tags`` (before the parent id): a real signature, and a verb used
    too early says which call comes first."""

    __slots__ = ()
    _node: Any

    def __getattr__(self, name: str) -> Any:
        from .errors import UnknownNameError

        if name.startswith("__"):
            raise AttributeError(name)
        node = self._node
        path, call = ".".join(node.path), f"{node.path[-1]}({node.depth_param})"
        if name in node.verbs or name in node.children:
            raise UnknownNameError(f"{path}.{name} needs the parent id: call {call} first, "
                                   f"e.g. {node.path[-1]}(42).{name}(...)")
        raise UnknownNameError(f"{path} has no verb or resource {name!r}; call {call} first to reach: "
                               f"{', '.join(node.attributes())}")

    @property
    def __signature__(self) -> inspect.Signature:
        param = inspect.Parameter(self._node.depth_param, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return inspect.Signature([param], return_annotation="ResourceProxy")


class ResourceExtras:
    """Mixed into a resource proxy: ``with_raw_response`` gives each verb's HTTP exchange."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> RawResponses:
        """``client.projects.with_raw_response.retrieve(1)`` -> an Exchange whose ``parsed`` is the result."""
        return RawResponses(self)


class RawResponses:
    """The verbs of a resource, returning the Exchange (status, headers, elapsed, request id, parsed)."""

    __slots__ = ("_resource",)

    def __init__(self, resource: Any) -> None:
        self._resource = resource

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        method = getattr(self._resource, name)
        if not isinstance(method, OperationIntrospection):
            from .errors import UnknownNameError

            raise UnknownNameError(f"with_raw_response.{name}: not a verb; verbs: "
                                   f"{', '.join(sorted(self._resource._node.verbs))}")
        return _RawCall(method)

    def __dir__(self) -> list[str]:
        return sorted(self._resource._node.verbs)


class _RawCall:
    __slots__ = ("_method",)

    def __init__(self, method: Any) -> None:
        self._method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .records import exchange_with_result

        if kwargs.get("list_all"):
            from .errors import UnknownArgumentError

            raise UnknownArgumentError("with_raw_response calls fetch one page: drop list_all")
        client = self._method._client
        result = self._method(*args, **kwargs)
        if client_is_async(client):
            return _raw_async(client, result)
        return exchange_with_result(client, result)

    @property
    def __signature__(self) -> inspect.Signature:
        return self._method.__signature__.replace(return_annotation="Exchange")


async def _raw_async(client: Any, pending: Any) -> Any:
    from .records import exchange_with_result

    return exchange_with_result(client, await pending)


def allow_ipython_completion(shell: Any) -> None:
    """Let IPython's own (non-jedi) completer evaluate this package's objects: ``client.projects.<TAB>``.

    IPython's default "limited" evaluation refuses objects with a custom ``__getattr__`` /
    ``__getitem__`` unless they are allow-listed; ours only look names up in the registry (no IO),
    so ``%load_ext synapse_dyn`` adds the package to the allow-lists (keeping IPython's defaults).
    """
    from IPython.core.guarded_eval import EVALUATION_POLICIES

    completer = shell.Completer
    defaults = EVALUATION_POLICIES.get(completer.evaluation) or EVALUATION_POLICIES["limited"]
    overrides = dict(completer.policy_overrides)
    for key in ("allowed_getattr_external", "allowed_getitem_external"):
        if hasattr(defaults, key):
            overrides[key] = {*overrides.get(key, getattr(defaults, key)), ("synapse_dyn",)}
    completer.policy_overrides = overrides
