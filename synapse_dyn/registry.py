"""Resource / Operation: thin read-only views over the loaded OpenAPI document.

Nothing is precomputed beyond names: parameters, bodies, response shapes and help
text are worked out on first access and cached on the view.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from . import conventions as conv
from . import overrides
from .errors import SpecError
from .naming import HTTP_METHODS, OperationName, name_operations, path_segments
from .overrides import OverrideReport
from .util import jsonpointer
from .util.urls import is_relative_path

JSON_TYPES = ("application/json",)
_MISSING = object()


class BodySpec(NamedTuple):
    """An operation's request body: media type, schema (may be a $ref), required."""

    content_type: str
    schema: dict[str, Any]
    required: bool
    content_types: tuple[str, ...]


@dataclass(slots=True)
class ResourceNode:
    """A resource: its verbs and nested resources; ``depth_param`` is what its accessor binds."""

    name: str
    path: tuple[str, ...]
    children: dict[str, ResourceNode] = field(default_factory=dict)
    verbs: dict[str, Operation] = field(default_factory=dict)
    depth_param: str | None = None
    keyword_aliases: dict[str, str] = field(default_factory=dict)

    def attributes(self) -> list[str]:
        return sorted(set(self.children) | set(self.verbs))


class Operation:
    """One (path, method) of the document, named by the naming rules plus overrides."""

    def __init__(self, registry: Registry, path: str, method: str, name: OperationName) -> None:
        self.registry = registry
        self.path = path
        self.method = method
        self.name = name
        self.raw: dict[str, Any] = registry.document["paths"][path][method]
        self.path_item: dict[str, Any] = registry.document["paths"][path]
        self.keyword_aliases: dict[str, str] = {}
        self.original: tuple[str, ...] = name.resources + (name.verb,)

    def __repr__(self) -> str:
        return f"<Operation {self.qualified_name} {self.method.upper()} {self.path}>"

    @property
    def verb(self) -> str:
        return self.name.verb

    @cached_property
    def qualified_name(self) -> str:
        return ".".join(self.name.resources + (self.name.verb,))

    @property
    def operation_id(self) -> str | None:
        return self.raw.get("operationId")

    @property
    def summary(self) -> str:
        return (self.raw.get("summary") or "").strip()

    @property
    def description(self) -> str:
        return (self.raw.get("description") or "").strip()

    @cached_property
    def relative_path(self) -> str:
        """The path template, checked once: a path naming a host would send credentials there (SpecError)."""
        if not is_relative_path(self.path):
            raise SpecError(f"{self.qualified_name}: the schema's path {self.path[:80]!r} is not relative; "
                            "refusing to send credentials to a host the schema names")
        return self.path

    @cached_property
    def parameters(self) -> list[dict[str, Any]]:
        """Path-level then operation-level parameters, resolved; later ones win per (name, in)."""
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for param in list(self.path_item.get("parameters") or []) + list(self.raw.get("parameters") or []):
            resolved = self.registry.resolve(param)
            merged[(resolved["name"], resolved.get("in", "query"))] = resolved
        return list(merged.values())

    @cached_property
    def path_params(self) -> list[str]:
        """Path parameter names in the order they appear in the path."""
        return [s[1:-1] for s in path_segments(self.path) if s.startswith("{")] if "{" in self.path else []

    @cached_property
    def bound_path_params(self) -> list[str]:
        """The path parameters nested accessors bind (``projects.tags(project_pk)``)."""
        return self.path_params[: len(self.name.depth_params)]

    @cached_property
    def own_path_params(self) -> list[str]:
        """The path parameters the call itself takes, positionally."""
        return self.path_params[len(self.name.depth_params) :]

    def params_in(self, location: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.parameters if p.get("in") == location}

    @cached_property
    def query_params(self) -> dict[str, dict[str, Any]]:
        return self.params_in("query")

    @cached_property
    def header_params(self) -> dict[str, dict[str, Any]]:
        return self.params_in("header")

    @cached_property
    def path_param_specs(self) -> dict[str, dict[str, Any]]:
        specs = self.params_in("path")
        for name in self.path_params:
            specs.setdefault(name, {"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
        return specs

    @cached_property
    def param_types(self) -> dict[str, str | None]:
        """JSON type of every path, query and header parameter (``integer``, ``string``, ...; None when untyped)."""
        specs = [*self.path_param_specs.values(), *self.query_params.values(), *self.header_params.values()]
        return {p["name"]: self.registry.resolve(p.get("schema") or {}).get("type") for p in specs}

    @cached_property
    def body_is_open(self) -> bool:
        """Whether the body schema accepts fields it does not list (``additionalProperties`` set explicitly)."""
        if not self.body:
            return True
        schema = self.registry.resolve(self.body.schema) or {}
        extra = schema.get("additionalProperties")
        return not self.body_fields or extra is True or isinstance(extra, dict)

    @cached_property
    def body(self) -> BodySpec | None:
        raw = self.raw.get("requestBody")
        if not raw:
            return None
        raw = self.registry.resolve(raw)
        content = raw.get("content") or {}
        if not content:
            return None
        preferred = next((c for c in content if c in JSON_TYPES or c.endswith("+json")), None)
        content_type = preferred or next(iter(content))
        schema = (content[content_type] or {}).get("schema") or {}
        return BodySpec(content_type, schema, bool(raw.get("required")), tuple(content))

    @cached_property
    def body_fields(self) -> dict[str, dict[str, Any]]:
        """Top-level body properties (resolved), for keyword arguments and CLI options."""
        if not self.body:
            return {}
        schema = self.registry.resolve(self.body.schema)
        return self.registry.object_properties(schema)

    @cached_property
    def responses(self) -> dict[str, dict[str, Any]]:
        return {str(k): self.registry.resolve(v) for k, v in (self.raw.get("responses") or {}).items()}

    def response_schema(self, status: int) -> tuple[str | None, dict[str, Any] | None]:
        """(content type, schema) documented for a status (exact, then NXX, then default)."""
        response = (
            self.responses.get(str(status)) or self.responses.get(f"{str(status)[0]}XX") or self.responses.get("default")
        )
        if not response:
            return None, None
        content = response.get("content") or {}
        if not content:
            return None, None
        content_type = next((c for c in content if c in JSON_TYPES or c.endswith("+json")), next(iter(content)))
        return content_type, (content[content_type] or {}).get("schema")

    @cached_property
    def success_status(self) -> int:
        codes = sorted(int(k) for k in self.responses if k.isdigit() and 200 <= int(k) < 300)
        return codes[0] if codes else 200

    @cached_property
    def success_schema(self) -> dict[str, Any] | None:
        return self.response_schema(self.success_status)[1]

    @cached_property
    def list_item_schema(self) -> dict[str, Any] | None:
        """The item schema of a list answer (the ``results`` array's ``items``), or None when not a list."""
        if self.method != "get" or not self.success_schema or self.pagination.style == "none":
            return None
        props = self.registry.object_properties(self.registry.resolve(self.success_schema))
        results = props.get(self.pagination.results)
        if not results:
            return None
        results = self.registry.resolve(results)
        return (results.get("items") or {}) if results.get("type") == "array" else None

    @cached_property
    def is_paginated(self) -> bool:
        """A list whose response is a page object with a results array."""
        return self.list_item_schema is not None

    @cached_property
    def item_schema_name(self) -> str | None:
        """Schema name of one list item (``ProjectV2List``), for Record reprs."""
        return ref_name(self.list_item_schema or {})

    @cached_property
    def result_schema_name(self) -> str | None:
        return ref_name(self.success_schema or {})

    @cached_property
    def pagination(self) -> conv.Pagination:
        """The registry's pagination, unless the operation declares its own ``x-synapse-pagination``."""
        return conv.operation_pagination(self.registry.conventions.pagination,
                                         self.raw.get(conv.OPERATION_PAGINATION), f"{self.qualified_name} pagination")

    @cached_property
    def envelope(self) -> conv.Envelope:
        """The registry's envelope, unless the operation declares its own ``x-synapse-envelope``."""
        return conv.operation_envelope(self.registry.conventions.envelope,
                                       self.raw.get(conv.OPERATION_ENVELOPE), f"{self.qualified_name} envelope")

    @cached_property
    def extra_query(self) -> bool:
        """Whether the operation passes through filters the schema does not list (``x-synapse-extra-query``)."""
        return bool(self.raw.get(conv.OPERATION_EXTRA_QUERY))

    @cached_property
    def credential_capture(self) -> Mapping[str, str] | None:
        """Credential name -> the response field holding it, for operations such as login (``x-synapse-credential``)."""
        return conv.credential_capture(self.raw.get(conv.OPERATION_CREDENTIAL), f"{self.qualified_name} credential")

    @cached_property
    def pagination_param(self) -> str | None:
        """The query parameter that selects a page (cursor, offset or page number), when the operation takes one."""
        pagination = self.pagination
        name = pagination.cursor_param if pagination.style == "cursor" else pagination.offset_param
        return name if name in self.query_params else None

    def accepted_keywords(self) -> list[str]:
        names = list(self.own_path_params) + list(self.query_params)
        names += [f for f in self.body_fields if f not in self.query_params]
        names += list(self.keyword_aliases)
        if self.body:
            names.append("body")
        if self.is_paginated:
            names.append("list_all")
        return names


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return ref.rsplit("/", 1)[-1] if ref else None


class Registry:
    """Every operation of a document, reachable by attribute path and by operationId."""

    def __init__(
        self,
        document: dict[str, Any],
        *,
        names: dict[str, Any] | None = None,
        label: str = "<schema>",
        report: OverrideReport | None = None,
        index: list[list[Any]] | None = None,
    ) -> None:
        """``index``: what ``index()`` returned for this document and these names (the registry cache
        keeps it), so a warm start places the operations without naming them again."""
        self.document = document
        self.label = label
        self.report = report or OverrideReport()
        self._resolved: dict[str, Any] = {}
        self.root = ResourceNode("", ())
        self.operations: list[Operation] = []
        self.by_operation_id: dict[str, Operation] = {}
        if index is None:
            self._name_operations(names or {})
        else:
            self._place_indexed(index)
        self.conventions  # noqa: B018 - built now, so a malformed convention fails the load, not a later call

    def _name_operations(self, names: dict[str, Any]) -> None:
        """Name every operation by the naming rules, then the overrides' renames and keyword aliases."""
        entries = [
            (path, method, (item or {}).get(method, {}).get("operationId"))
            for path, item in (self.document.get("paths") or {}).items()
            for method in HTTP_METHODS
            if method in (item or {})
        ]
        derived = name_operations(entries)
        for (path, method), name in derived.items():
            op = Operation(self, path, method, overrides.rename(name, names))
            op.original = name.resources + (name.verb,)
            self._add(op)
        if names.get("keywords"):
            self._set_keyword_aliases(names)
        overrides.check_names(names, list(derived.values()), self.report)

    def index(self) -> list[list[Any]]:
        """Every operation's final name and keyword aliases as plain JSON data, then the accessors' aliases."""
        ops: list[list[Any]] = [
            [op.path, op.method, list(op.name.resources), op.name.verb, list(op.name.depth_params), op.name.kind,
             list(op.original), op.keyword_aliases] for op in self.operations]
        nodes = [[list(path), node.keyword_aliases] for path, node in self._nodes() if node.keyword_aliases]
        return [ops, nodes]

    def _place_indexed(self, index: list[list[Any]]) -> None:
        ops, nodes = index
        for path, method, resources, verb, depth_params, kind, original, aliases in ops:
            op = Operation(self, path, method, OperationName(tuple(resources), verb, tuple(depth_params), kind))
            op.original = tuple(original)
            op.keyword_aliases = aliases
            self._add(op)
        for path, aliases in nodes:
            self.node(*path).keyword_aliases.update(aliases)

    def _add(self, op: Operation) -> None:
        self._place(op)
        self.operations.append(op)
        if op.operation_id:
            self.by_operation_id[op.operation_id] = op

    def _nodes(self) -> Iterator[tuple[tuple[str, ...], ResourceNode]]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node.path, node
            stack.extend(node.children.values())

    def _place(self, op: Operation) -> None:
        node = self.root
        for depth, resource in enumerate(op.name.resources):
            child = node.children.get(resource)
            if child is None:
                child = ResourceNode(resource, node.path + (resource,))
                if depth > 0:
                    child.depth_param = op.path_params[depth - 1] if depth - 1 < len(op.path_params) else None
                node.children[resource] = child
            node = child
        if op.name.verb in node.verbs:
            other = node.verbs[op.name.verb]
            raise SpecError(
                f"{self.label}: naming collision: {other.method.upper()} {other.path} and "
                f"{op.method.upper()} {op.path} both map to {op.qualified_name}"
            )
        if op.name.verb in node.children:
            raise SpecError(f"{self.label}: {op.qualified_name} is both a verb and a nested resource")
        node.verbs[op.name.verb] = op

    def _set_keyword_aliases(self, names: dict[str, Any]) -> None:
        """Record the overrides' keyword aliases on each operation and on the accessors above it."""
        for op in self.operations:
            real = set(op.path_params) | set(op.query_params) | set(op.body_fields)
            own, accessors = overrides.keyword_aliases(names, op.original, real)
            op.keyword_aliases.update(own)
            for depth, aliases in accessors:
                self.node(*op.name.resources[:depth]).keyword_aliases.update(aliases)

    # -- lookups ----------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        """Follow local ``$ref`` chains; returns the target (cached)."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            cached = self._resolved.get(ref, _MISSING)
            if cached is _MISSING:
                cached = self.lookup_pointer(ref)
                self._resolved[ref] = cached
            node = cached
            seen += 1
            if seen > 64:
                raise SpecError(f"{self.label}: $ref cycle at {ref}")
        return node

    def lookup_pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise SpecError(f"{self.label}: external $ref {ref!r} is not allowed")
        node: Any = self.document
        for token in jsonpointer.split(ref):
            try:
                node = node[int(token)] if isinstance(node, list) else node[token]
            except (KeyError, IndexError, ValueError, TypeError):
                raise SpecError(f"{self.label}: $ref {ref!r} points at nothing") from None
        return node

    def object_properties(self, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The properties of an object schema, following $ref and allOf."""
        schema = self.resolve(schema) or {}
        props: dict[str, dict[str, Any]] = {}
        for part in schema.get("allOf") or []:
            props.update(self.object_properties(part))
        props.update(schema.get("properties") or {})
        return props

    @property
    def auth_scheme(self) -> dict[str, dict[str, Any]]:
        """The credentials as plain dicts (older readers); prefer ``conventions.auth``."""
        return {name: {"header": s.header, "format": s.format, "legacy_format": s.legacy_format,
                       "env": list(s.env), "secret": s.secret} for name, s in self.conventions.auth.items()}

    @cached_property
    def conventions(self) -> conv.Conventions:
        """The backend's conventions (credentials, envelope, pagination, family), typed and read-only."""
        return conv.build(self.document, self.label)

    @property
    def resources(self) -> list[str]:
        return sorted(self.root.children)

    def node(self, *names: str) -> ResourceNode:
        node = self.root
        for name in names:
            node = node.children[name]
        return node

    def walk(self) -> Iterator[tuple[tuple[str, ...], Operation]]:
        """Every (attribute path, operation), in document order."""
        for op in self.operations:
            yield op.name.resources + (op.name.verb,), op

    def operation(self, dotted: str) -> Operation:
        """Look up ``projects.tags.create`` or an operationId."""
        if dotted in self.by_operation_id:
            return self.by_operation_id[dotted]
        *resources, verb = dotted.split(".")
        try:
            return self.node(*resources).verbs[verb]
        except KeyError:
            raise SpecError(f"no operation {dotted!r} in {self.label}") from None
