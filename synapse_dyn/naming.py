"""Path + method -> (resource chain, verb): the naming rules of DESIGN.md.

The version prefix (``/v2/``) is dropped and each static segment becomes a resource.
``/x/`` is a collection (list/create), ``/x/{id}/`` an item (retrieve/update/
partial_update/destroy), ``/x/{id}/act/`` an item action, ``/x/act/`` a collection
action, ``/x/{x_pk}/y/`` with ``/x/{x_pk}/y/{id}/`` present a nested resource.
Anything else (an action with several methods, a non-standard method on a collection
or item, a path below an action) is named by its operationId minus the resource's
common operationId prefix.
"""

from __future__ import annotations

import keyword
import re
from collections import defaultdict
from typing import NamedTuple

from .errors import SpecError

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COLLECTION_VERBS = {"get": "list", "post": "create"}
ITEM_VERBS = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
_VERSION = re.compile(r"^v\d+(\.\d+)?$")
_NOT_IDENT = re.compile(r"\W")


class OperationName(NamedTuple):
    """Where an operation lives: ``client.<resources...>.<verb>``.

    ``depth_params`` lists, for each nested resource after the first, the path parameter
    its accessor binds (``projects.tags(project_pk)``).
    """

    resources: tuple[str, ...]
    verb: str
    depth_params: tuple[str, ...]
    kind: str  # collection | item | collection_action | item_action | other


def identifier(segment: str) -> str:
    """A path segment as a Python attribute name (``data-collections`` -> ``data_collections``)."""
    name = _NOT_IDENT.sub("_", segment).strip("_") or "_"
    if name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


def path_segments(path: str) -> list[str]:
    """The segments of a path, without empty segments and the leading version prefix."""
    segments = [s for s in path.split("/") if s]
    if segments and _VERSION.match(segments[0]):
        segments = segments[1:]
    return segments


def is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _shape(segments: list[str]) -> tuple[str, ...]:
    return tuple("{}" if is_param(s) else s for s in segments)


class _Parsed(NamedTuple):
    path: str
    method: str
    operation_id: str | None
    resources: list[str]
    depth_params: list[str]
    kind: str
    action: str | None


def _parse(path: str, method: str, operation_id: str | None, item_shapes: set[tuple[str, ...]]) -> _Parsed:
    segments = path_segments(path)
    if not segments or is_param(segments[0]):
        raise SpecError(f"cannot name {method.upper()} {path}: a path must start with a static segment")
    resources = [identifier(segments[0])]
    depth_params: list[str] = []
    item_param: str | None = None
    pos = 1
    action: str | None = None
    deeper = False
    while pos < len(segments):
        seg = segments[pos]
        if is_param(seg):
            if item_param is not None:
                deeper = True
                break
            item_param = seg[1:-1]
            pos += 1
            continue
        if item_param is not None and _shape(segments[: pos + 1]) + ("{}",) in item_shapes:
            depth_params.append(item_param)
            resources.append(identifier(seg))
            item_param = None
            pos += 1
            continue
        action = identifier(seg)
        deeper = pos + 1 < len(segments)
        break
    if deeper:
        kind = "other"
    elif action is None:
        kind = "item" if item_param is not None else "collection"
    else:
        kind = "item_action" if item_param is not None else "collection_action"
    return _Parsed(path, method, operation_id, resources, depth_params, kind, action)


def _common_prefix(operation_ids: list[str]) -> str:
    """The longest underscore-delimited prefix shared by all the ids ('' when none)."""
    if not operation_ids:
        return ""
    split = [oid.split("_") for oid in operation_ids]
    prefix: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    if len(prefix) >= min(len(s) for s in split):
        prefix = prefix[:-1]
    return "_".join(prefix) + "_" if prefix else ""


def name_operations(entries: list[tuple[str, str, str | None]]) -> dict[tuple[str, str], OperationName]:
    """Name every (path, method, operationId); a collision raises SpecError naming both operations."""
    item_shapes: set[tuple[str, ...]] = set()
    for path, _method, _oid in entries:
        segments = path_segments(path)
        for i in range(1, len(segments)):
            if is_param(segments[i]):
                item_shapes.add(_shape(segments[: i + 1]))
    parsed = [_parse(p, m, o, item_shapes) for p, m, o in entries]

    by_action: dict[tuple, list[_Parsed]] = defaultdict(list)
    by_resource: dict[tuple[str, ...], list[_Parsed]] = defaultdict(list)
    for entry in parsed:
        by_action[(tuple(entry.resources), entry.path)].append(entry)
        by_resource[tuple(entry.resources)].append(entry)

    prefixes: dict[tuple[str, ...], str] = {}
    for resources, members in by_resource.items():
        standard = [e.operation_id for e in members if e.operation_id and e.kind in ("collection", "item")]
        ids = standard if len(standard) >= 2 else [e.operation_id for e in members if e.operation_id]
        prefixes[resources] = _common_prefix(ids) if len(ids) >= 2 else ""

    names: dict[tuple[str, str], OperationName] = {}
    taken: dict[tuple[tuple[str, ...], str], _Parsed] = {}
    for entry in parsed:
        verb = _verb(entry, len(by_action[(tuple(entry.resources), entry.path)]), prefixes[tuple(entry.resources)])
        key = (tuple(entry.resources), verb)
        if key in taken:
            other = taken[key]
            raise SpecError(
                f"naming collision: {other.method.upper()} {other.path} and {entry.method.upper()} {entry.path} "
                f"both map to {'.'.join(key[0])}.{verb}"
            )
        taken[key] = entry
        names[(entry.path, entry.method)] = OperationName(
            tuple(entry.resources), verb, tuple(entry.depth_params), entry.kind
        )
    _check_resource_verb_clashes(names)
    return names


def _verb(entry: _Parsed, methods_on_path: int, prefix: str) -> str:
    if entry.kind == "collection" and entry.method in COLLECTION_VERBS:
        return COLLECTION_VERBS[entry.method]
    if entry.kind == "item" and entry.method in ITEM_VERBS:
        return ITEM_VERBS[entry.method]
    if entry.kind in ("item_action", "collection_action") and methods_on_path == 1 and entry.action:
        return entry.action
    if entry.operation_id:
        oid = entry.operation_id
        stripped = oid[len(prefix) :] if prefix and oid.startswith(prefix) else oid
        return identifier(stripped or oid)
    return identifier(f"{entry.method}_{entry.action or entry.kind}")


def _check_resource_verb_clashes(names: dict[tuple[str, str], OperationName]) -> None:
    """A nested resource and a verb may not share one attribute name."""
    verbs: dict[tuple[str, ...], dict[str, str]] = defaultdict(dict)
    nested: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for (path, method), name in names.items():
        verbs[name.resources][name.verb] = f"{method.upper()} {path}"
        for i in range(1, len(name.resources)):
            nested[name.resources[:i]].add(name.resources[i])
    for parent, children in nested.items():
        for child in children & set(verbs[parent]):
            raise SpecError(
                f"naming collision: {verbs[parent][child]} is verb {'.'.join(parent)}.{child}, "
                f"which is also a nested resource"
            )
