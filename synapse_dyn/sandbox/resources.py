"""What the sandbox stores, derived from the registry: one Resource per resource chain.

A resource is the set of collection and item operations sharing a name chain
(``projects``, ``projects.tags``). From them come its storage key, the path
parameters that scope it to a parent, the parameter that names one object, and the
response schemas its stored documents must satisfy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..registry import Operation, Registry


@dataclass
class Resource:
    """One stored resource of the schema."""

    key: str
    names: tuple[str, ...]
    parent_params: tuple[str, ...] = ()
    key_param: str = "id"
    id_kind: str = "integer"  # integer | uuid | string
    schemas: list[dict[str, Any]] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    item_path: str | None = None
    has_retrieve: bool = False
    has_create: bool = False

    @property
    def parent_key(self) -> str | None:
        """The storage key of the parent resource (None at top level)."""
        return ".".join(self.names[:-1]) or None

    @property
    def link_field(self) -> str | None:
        """The field naming the parent (``project_id`` for ``projects.tags``)."""
        if len(self.names) < 2:
            return None
        return singular(self.names[-2]) + "_id"


def singular(name: str) -> str:
    """``projects`` -> ``project``, ``categories`` -> ``category``."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("sses"):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def list_item_schema(registry: Registry, op: Operation) -> dict[str, Any] | None:
    """The schema of one item of a list answer (a page's results, as the conventions name them, or a bare array)."""
    if op.is_paginated:
        return op.list_item_schema
    schema = op.success_schema
    if not schema:
        return None
    resolved = registry.resolve(schema)
    if resolved.get("type") == "array":
        return resolved.get("items")
    return None


def build_resources(registry: Registry) -> dict[str, Resource]:
    """Every resource chain that has collection or item operations."""
    out: dict[str, Resource] = {}
    for op in registry.operations:
        if op.name.kind not in ("collection", "item"):
            continue
        key = ".".join(op.name.resources)
        res = out.setdefault(key, Resource(key, op.name.resources))
        if op.name.kind == "collection":
            res.parent_params = tuple(op.path_params)
            if op.method == "get":
                item = list_item_schema(registry, op)
                if item is not None:
                    res.schemas.append(item)
            elif op.success_schema:
                res.has_create = res.has_create or op.method == "post"
                res.schemas.append(op.success_schema)
        else:
            res.parent_params = tuple(op.path_params[:-1])
            res.key_param = op.path_params[-1] if op.path_params else "id"
            res.item_path = op.path
            if op.method == "get":
                res.has_retrieve = True
            if op.success_schema and op.method == "get":
                res.schemas.insert(0, op.success_schema)
            elif op.success_schema and op.method in ("put", "patch"):
                res.schemas.append(op.success_schema)
        if op.body is not None:
            res.fields |= set(op.body_fields)
    for res in out.values():
        for schema in res.schemas:
            res.fields |= set(registry.object_properties(registry.resolve(schema)))
        res.id_kind = _id_kind(registry, res)
    return out


def _id_kind(registry: Registry, res: Resource) -> str:
    for schema in res.schemas:
        prop = registry.object_properties(registry.resolve(schema)).get(res.key_param)
        if prop is None:
            continue
        prop = registry.resolve(prop)
        variants = [prop] + [registry.resolve(v) for v in (prop.get("anyOf") or prop.get("oneOf") or [])]
        if any(v.get("format") == "uuid" for v in variants):
            return "uuid"
        if any(v.get("type") == "integer" for v in variants):
            return "integer"
        if any(v.get("type") == "string" for v in variants):
            return "string"
    return "integer"
