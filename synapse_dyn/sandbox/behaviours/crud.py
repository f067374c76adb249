"""The generic behaviours: plain stored objects, chosen by an operation's kind and method, never its name.

collection GET lists (cursor or offset pages, or a plain array), collection POST/PUT creates,
item GET/PUT/PATCH/DELETE retrieve/update/partial_update/destroy, and every other operation
(actions, schema endpoints) answers with data generated from its response schema, taking fitting
values from the body and the caller. What makes a resource special is a trait (``traits.py``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from ...naming import identifier, path_segments
from ...registry import Operation
from ..calls import Call, Result, mapping
from ..documents import CHANGE_FIELDS, USER_FIELDS, Documents, now
from ..filters import Predicate, build_filter
from ..messages import ApiError
from ..pagination import cursor_page, offset_page, page_size
from ..resources import Resource, list_item_schema, singular
from ..store import Store
from .registry import BEHAVIOURS, Handler, Services
from .traits import Traits, sliced

_COUNT_FIELD = re.compile(r"^(?:count_(\w+)|(\w+)_count)$")

Row = tuple[int, dict[str, Any]]
Scan = Callable[..., Iterator[Row]]


class Crud:
    """Serves calls on stored objects, shaped by the schema."""

    def __init__(self, resources: dict[str, Resource], store: Store, docs: Documents, traits: Traits) -> None:
        self.resources = resources
        self.store = store
        self.docs = docs
        self.traits = traits
        self._counts: dict[tuple[str, int], list[tuple[str, str]]] = {}
        self._read_only_fields: dict[int, frozenset[str]] = {}

    # -- lookups -------------------------------------------------------------
    def scope(self, call: Call, res: Resource) -> str:
        """The parent path of a nested resource ('' at top level); 404 when the parent is missing."""
        if not res.parent_params:
            return ""
        parent = self.resources.get(res.parent_key or "")
        if parent is not None and parent.has_retrieve:
            key = str(call.path[res.parent_params[-1]])
            if self.store.find(parent.key, call.tenant, _scope_of(call, parent), key) is None:
                raise ApiError(404, f"No {_label(parent)} matches the given query.")
        return _scope_of(call, res)

    def find(self, call: Call, res: Resource) -> Row:
        """The object an item path names, or ApiError 404."""
        key = str(call.path.get(res.key_param, ""))
        rows = self.traits.rows(call, res)
        if rows is not None:
            found = next((row for row in rows if str(row[1].get(res.key_param)) == key), None)
        else:
            found = self.store.find(res.key, call.tenant, self.scope(call, res), key)
        if found is None or not self.traits.visible(call, res, found[1]):
            raise ApiError(404, f"No {_label(res)} matches the given query.")
        return found

    def scanner(self, call: Call, res: Resource) -> Scan:
        """Rows of a resource in the caller's scope, for paging."""
        rows = self.traits.rows(call, res)
        if rows is not None:
            return lambda after=None, before=None, descending=False: sliced(rows, after, before, descending)
        scope = self.scope(call, res)
        return lambda after=None, before=None, descending=False: self.store.scan(
            res.key, call.tenant, scope, after=after, before=before, descending=descending)

    # -- answers ---------------------------------------------------------------
    def context(self, call: Call) -> dict[str, Any]:
        """Server-side values a new object takes when its schema asks for them."""
        out: dict[str, Any] = {}
        if call.principal is not None:
            out.update(dict.fromkeys(USER_FIELDS, call.principal.user.id))
            if call.principal.tenant is not None:
                out["tenant_id"] = call.principal.tenant.id
        return out

    def shape(self, call: Call, res: Resource, row: Row, schema: dict[str, Any] | None) -> Any:
        """One stored object as an answer under ``schema``, with live counts of related objects."""
        object_id, doc = row
        overrides: dict[str, Any] = {"url": _item_url(call, res, doc)}
        for name, target in self.count_fields(res, schema):
            link = singular(res.names[-1])
            overrides[name] = self.store.count_linked(target, call.tenant, (link, link + "_id"),
                                                      doc.get(res.key_param))
        return self.docs.project(doc, schema, seed=object_id, overrides=overrides)

    def count_fields(self, res: Resource, schema: dict[str, Any] | None) -> list[tuple[str, str]]:
        """(field, resource) pairs like (``task_count``, ``tasks``): fields that count related objects."""
        if not schema:
            return []
        cache_key = (res.key, id(schema))
        if cache_key not in self._counts:
            found = []
            for name in self.docs.faker.properties(schema)[0]:
                match = _COUNT_FIELD.match(name)
                word = (match.group(1) or match.group(2)) if match else ""
                target = next((self.resources[k] for k in (word, word + "s") if word and k in self.resources), None)
                if target is not None and not target.parent_params and target.key != res.key:
                    found.append((name, target.key))
            self._counts[cache_key] = found
        return self._counts[cache_key]

    # -- collection ----------------------------------------------------------
    def listing(self, call: Call, res: Resource) -> Result:
        """A collection GET: a cursor or offset page, or a plain array."""
        op = call.op
        item_schema = list_item_schema(self.docs.registry, op)
        scan = self.scanner(call, res)
        keep = self.predicate(call, res)
        if op.is_paginated:
            return self.page(call, res, scan, keep, item_schema)
        if item_schema is not None:
            return Result(op.success_status, [self.shape(call, res, row, item_schema) for row in scan() if keep(row[1])])
        return self.action(call)

    def predicate(self, call: Call, res: Resource) -> Predicate:
        """Which stored documents a list shows: visible to the caller and matching the filters."""
        paging = call.op.pagination
        ignore = (*res.parent_params, paging.cursor_param, paging.size_param, paging.offset_param)
        matches = build_filter(call.request.query, res.fields, ignore=ignore)
        return lambda doc: self.traits.visible(call, res, doc) and matches(doc)

    def page(self, call: Call, res: Resource, scan: Scan, keep: Predicate, item_schema: dict[str, Any] | None
             ) -> Result:
        """A page in the operation's pagination convention: cursor (meta) or offset (count/next/previous/results)."""
        style, query = call.op.pagination, call.query
        size = page_size(query.get(style.size_param))
        if style.style == "offset":
            offset = offset_page(scan(), keep, position=query.get(style.offset_param), size=size,
                                 url=call.request.origin + call.request.path, query=call.request.query,
                                 param=style.offset_param, by_page=style.by_page_number)
            results = [self.shape(call, res, row, item_schema) for row in offset.items]
            return Result(call.op.success_status, {style.count: offset.count, style.next: offset.next,
                                                   style.previous: offset.previous, style.results: results})
        cursor = query.get(style.cursor_param)
        page = cursor_page(scan, keep, size, str(cursor) if cursor else None)
        results = [self.shape(call, res, row, item_schema) for row in page.items]
        return Result(call.op.success_status, results,
                      pagination={"next_cursor": page.next, "previous_cursor": page.previous, "per_page": size})

    def create(self, call: Call, res: Resource) -> Result:
        """A collection POST: store the body (or each item of a list body)."""
        schema = call.op.success_schema
        if isinstance(call.body, list):  # some v1 operations take a list of objects
            made = [self.create_one(call, res, mapping(item)) for item in call.body]
            items = self.array_items(schema)
            if items is not None:
                return Result(call.op.success_status, [self.shape(call, res, row, items) for row, _ in made])
            row, extra = made[0] if made else ((1, {}), {})
        else:
            row, extra = self.create_one(call, res, mapping(call.body))
        data = self.shape(call, res, row, schema)
        if isinstance(data, dict):
            data.update(extra)
        return Result(call.op.success_status, data)

    def array_items(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item schema when an answer may be an array (``type: array``, or one of its anyOf/oneOf)."""
        resolved = self.docs.registry.resolve(schema) if schema else {}
        variants = [resolved] + [self.docs.registry.resolve(v) for v in resolved.get("anyOf") or
                                 resolved.get("oneOf") or []]
        return next((v.get("items") or {"type": "object"} for v in variants if v.get("type") == "array"), None)

    def create_one(self, call: Call, res: Resource, body: dict[str, Any]) -> tuple[Row, dict[str, Any]]:
        """Store one object from a validated body (read-only fields dropped)."""
        body = {k: v for k, v in body.items() if k not in self._read_only(call.op)}
        return self.insert(res, tenant=call.tenant, scope=self.scope(call, res), body=body,
                           parent=call.path[res.parent_params[-1]] if res.parent_params else None,
                           context=self.context(call), user_id=call.user_id, dry_run=call.dry_run)

    def insert(self, res: Resource, *, tenant: str, scope: str, body: dict[str, Any], parent: Any = None,
               context: dict[str, Any] | None = None, user_id: int | None = None,
               dry_run: bool = False) -> tuple[Row, dict[str, Any]]:
        """Store a new object (unless ``dry_run``): ((id, document), extra answer fields such as a token)."""
        with self.store.transaction():
            object_id = self.store.next_id(res.key, peek=dry_run)
            doc = dict(body)
            if res.id_kind == "integer":
                key: Any = object_id
            elif res.id_kind == "uuid":
                key = str(uuid.uuid4())
            else:
                key = str(body.get(res.key_param) or f"{res.names[-1]}-{object_id}")
            doc[res.key_param] = key
            link = res.link_field
            if link and parent is not None and link not in doc and link[:-3] not in doc:
                doc[link] = parent
            self.docs.fill(doc, res.schemas, seed=object_id, context={**(context or {}), "id": object_id})
            extra = self.traits.before_insert(res, doc, user_id)
            if not dry_run:
                if res.id_kind == "string" and self.store.find(res.key, tenant, scope, str(key)) is not None:
                    raise ApiError(400, f"A {_label(res)} with this {res.key_param} already exists.",
                                   details=[{"field": res.key_param, "message": "must be unique"}])
                self.store.insert(res.key, tenant, scope, str(key), object_id, doc)
                self.traits.after_insert(res, extra, user_id, tenant, object_id)
        return (object_id, doc), extra

    def _read_only(self, op: Operation) -> frozenset[str]:
        found = self._read_only_fields.get(id(op))
        if found is None:
            found = self._read_only_fields[id(op)] = frozenset(
                name for name, prop in op.body_fields.items() if self.docs.faker.hidden(prop, "request"))
        return found

    # -- item ----------------------------------------------------------------
    def retrieve(self, call: Call, res: Resource) -> Result:
        """An item GET."""
        return Result(call.op.success_status, self.shape(call, res, self.find(call, res), call.op.success_schema))

    def update(self, call: Call, res: Resource) -> Result:
        """An item PUT/PATCH: merge the body into the stored object."""
        object_id, doc = self.find(call, res)
        read_only = self._read_only(call.op)
        doc.update({k: v for k, v in mapping(call.body).items() if k not in read_only and k != res.key_param})
        stamp = now()
        for name in CHANGE_FIELDS & set(doc):
            doc[name] = stamp
        if not call.dry_run:
            self.store.replace(res.key, object_id, doc)
        return Result(call.op.success_status, self.shape(call, res, (object_id, doc), call.op.success_schema))

    def destroy(self, call: Call, res: Resource) -> Result:
        """An item DELETE (204, or the deleted object when the schema documents one)."""
        row = self.find(call, res)
        if not call.dry_run:
            with self.store.transaction():
                self.store.delete(res.key, row[0])
                self.traits.after_delete(res, row[0])
        schema = call.op.success_schema
        if call.op.success_status == 204 or not schema:
            return Result(call.op.success_status)
        return Result(call.op.success_status, self.shape(call, res, row, schema))

    # -- everything else ---------------------------------------------------------
    def action(self, call: Call, *, seed: int = 1, hints: dict[str, Any] | None = None) -> Result:
        """An answer generated from the response schema, taking fitting values from the body and caller."""
        op = call.op
        if op.is_paginated:
            return self.alias_list(call)
        if hints is None:
            hints = {**self.context(call), **mapping(call.body)}
        data = self.docs.generate(op.success_schema, seed=seed, hints=hints)
        return Result(op.success_status, None if op.success_status == 204 else data)

    def alias_list(self, call: Call) -> Result:
        """A paginated action named after a top-level resource (``/sdk/tasks/``) lists that resource."""
        op = call.op
        names = [op.name.verb] + [identifier(s) for s in reversed(path_segments(op.path)) if not s.startswith("{")]
        target = next((self.resources[n] for n in names
                       if n in self.resources and not self.resources[n].parent_params), None)
        item_schema = list_item_schema(self.docs.registry, op)
        if target is None:
            return self.page(call, Resource("", ()), lambda **_: iter(()), lambda _doc: True, item_schema)
        return self.page(call, target, self.scanner(call, target), self.predicate(call, target), item_schema)


def _scope_of(call: Call, res: Resource) -> str:
    return "/".join(str(call.path[p]) for p in res.parent_params)


def _item_url(call: Call, res: Resource, doc: dict[str, Any]) -> str | None:
    """The absolute URL of a stored object (for ``url`` fields)."""
    if not res.item_path:
        return None
    path = res.item_path
    for name in res.parent_params:
        path = path.replace("{" + name + "}", str(call.path[name]))
    return call.request.origin + path.replace("{" + res.key_param + "}", str(doc.get(res.key_param)))


def _label(res: Resource) -> str:
    return singular(res.names[-1]).replace("_", " ") if res.names else "object"


def crud(services: Services) -> Crud:
    """The sandbox's one Crud."""
    return services.shared("crud", lambda: Crud(services.resources, services.store, services.docs,
                                                services.shared("traits", lambda: Traits(services.store))))


def _on_resource(method: Callable[[Crud, Call, Resource], Result]) -> Callable[[Services, Operation], Handler | None]:
    def factory(services: Services, op: Operation) -> Handler | None:
        res = services.resource_of(op)
        if res is None:
            return None
        serving = crud(services)
        return lambda call: method(serving, call, res)
    return factory


BEHAVIOURS.kind("collection", "get")(_on_resource(Crud.listing))
BEHAVIOURS.kind("collection", "post", "put", "patch", "delete")(_on_resource(Crud.create))
BEHAVIOURS.kind("item", "get")(_on_resource(Crud.retrieve))
BEHAVIOURS.kind("item", "put", "patch")(_on_resource(Crud.update))
BEHAVIOURS.kind("item", "delete")(_on_resource(Crud.destroy))


@BEHAVIOURS.kind("item", "post")
def item_post(services: Services, op: Operation) -> Handler | None:
    """A POST on an object's own path: an action answered from the object and the body."""
    res = services.resource_of(op)
    if res is None:
        return None
    serving = crud(services)

    def handle(call: Call) -> Result:
        object_id, doc = serving.find(call, res)
        return serving.action(call, seed=object_id, hints={**doc, **mapping(call.body)})
    return handle


@BEHAVIOURS.kind("item_action")
def item_action(services: Services, op: Operation) -> Handler | None:
    """An action on one object: 404 when the object is missing, else an answer from the response schema."""
    res = services.resource_of(op)
    if res is None or not res.has_retrieve:
        return None
    serving = crud(services)

    def handle(call: Call) -> Result:
        serving.find(call, res)
        return serving.action(call)
    return handle


@BEHAVIOURS.fallback
def generated(services: Services, op: Operation) -> Handler:
    """Anything else: an answer generated from the response schema (a list when the answer is a page)."""
    return crud(services).action
