"""The generic binder: one methods.yaml entry + its schema operation -> a real method of BackendClient.

Each method is a plain function whose ``__signature__`` is the entry's parameter list and whose
``__doc__`` comes from the operation (summary, HTTP line, where each argument goes), so ``help()``,
``inspect.signature`` and tab completion show the v1 call as it was.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

from ..docs import body_field_lines, python_annotation, schema_type
from ..registry import Operation
from .table import NO_DEFAULT, MethodSpec

RETURN_ANNOTATIONS: dict[str, Any] = {
    "dict": dict[str, Any],
    "list": list[dict[str, Any]],
    "page": dict[str, Any],
    "paged_or_pair": dict[str, Any] | tuple[Iterator[dict[str, Any]], int],
    "lines": Iterator[str],
}
RETURN_TEXT = {
    "dict": "the reply (a dict)",
    "list": "the reply (a list)",
    "page": "one page: {count, next, previous, results}",
    "paged_or_pair": "one page {count, next, previous, results}; with list_all=True the pair "
                     "(generator over every item, total count), following `next` lazily",
    "lines": "a generator of the streamed lines, as they arrive",
}


def annotation(op: Operation, target: str) -> Any:
    kind, _, key = target.partition(".")
    if kind == "path":
        return python_annotation(op, op.path_param_specs[key].get("schema"))
    if target == "query" or target == "url_conversion":
        return dict[str, Any] | None
    if target == "list_all":
        return bool
    if target == "body":
        return dict[str, Any] | list[Any]
    return python_annotation(op, op.body_fields.get(key))


def signature(spec: MethodSpec, op: Operation) -> inspect.Signature:
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, default in spec.parameters:
        params.append(inspect.Parameter(
            name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=inspect.Parameter.empty if default is NO_DEFAULT else default,
            annotation=annotation(op, spec.bind[name])))
    return inspect.Signature(params, return_annotation=RETURN_ANNOTATIONS[spec.returns])


def describe_argument(spec: MethodSpec, op: Operation, name: str) -> str:
    target = spec.bind[name]
    kind, _, key = target.partition(".")
    if kind == "path":
        param = op.path_param_specs[key]
        text = f"{schema_type(op, param.get('schema'))}; path parameter {key}"
        return text + (f": {param['description']}" if param.get("description") else "")
    if target == "query":
        names = ", ".join(op.query_params) or "none documented"
        extra = "; further filters pass through" if op.extra_query else ""
        return f"dict of query parameters ({names}{extra})"
    if target == "body":
        schema = op.body.schema if op.body else None
        return f"the request body ({schema_type(op, schema)})"
    if kind == "body":
        return f"{schema_type(op, op.body_fields.get(key))}; body field {key}"
    if target == "list_all":
        return "True: return (generator over every item, total count)"
    conversion = spec.url_conversion or {}
    where = "each item of results" if conversion.get("is_list") else "the reply"
    return (f"dict updating the default conversion, which downloads the file URLs in "
            f"{', '.join(conversion.get('files_fields') or [])} of {where} and puts local paths in their "
            f"place (keys: files_fields, coerce, is_list; {{'files_fields': []}} turns it off)")


def docstring(spec: MethodSpec, op: Operation) -> str:
    parts = [op.summary or spec.name]
    if op.description and op.description != op.summary:
        parts.append(textwrap.fill(op.description, 78))
    fixed = "".join(f"&{k}={v}" for k, v in spec.fixed_query.items()).lstrip("&")
    parts.append(f"{op.method.upper()} {op.path}{'?' + fixed if fixed else ''}  "
                 f"(core: client.{op.qualified_name})")
    if spec.parameters:
        parts.append("Arguments:\n" + "\n".join(
            f"  {name}: {describe_argument(spec, op, name)}" for name, _ in spec.parameters))
    if any(t == "body" for t in spec.bind.values()):
        fields = body_field_lines(op)
        if fields:
            parts.append("Body fields:\n" + "\n".join(fields))
    notes = []
    if spec.multipart_files:
        notes.append(f"Sent as multipart/form-data; {', '.join(spec.multipart_files)} may be a path or an open file.")
    if spec.body_as_list:
        notes.append("A single dict body is sent as a one-item list.")
    if spec.data_uri_fields:
        notes.append(f"A file path in {', '.join(spec.data_uri_fields)} is sent inline as a base64 data: URI.")
    if spec.timeout_read:
        notes.append(f"Read timeout at least {spec.timeout_read:g} s (a slow endpoint).")
    if notes:
        parts.append("\n".join(notes))
    parts.append(f"Returns: {RETURN_TEXT[spec.returns]}.")
    return "\n\n".join(parts)


def make_method(spec: MethodSpec, op: Operation) -> Callable[..., Any]:
    """A function ``(self, <the entry's parameters>)`` that runs the entry through ``self._call``."""
    sig = signature(spec, op)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            bound = sig.bind(self, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{spec.name}(): {exc}") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments["self"]
        return self._call(spec, arguments)

    method.__name__ = spec.name
    method.__qualname__ = f"BackendClient.{spec.name}"
    method.__module__ = "synapse_dyn.v1"
    method.__doc__ = docstring(spec, op)
    method.__signature__ = sig  # type: ignore[attr-defined]
    method.__annotations__ = {
        **{p.name: p.annotation for p in sig.parameters.values() if p.name != "self"},
        "return": sig.return_annotation,
    }
    return method
