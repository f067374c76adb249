"""The generic behaviours, chosen by an operation's kind and method, never by its resource.

collection GET lists, collection POST (or PUT) creates, item GET/PUT/PATCH/DELETE
retrieve/update/partial_update/destroy, and every other operation (actions, schema
endpoints) answers with data generated from its response schema. The backend's account
rules sit on top for the login operation and the ``tokens`` and ``tenants`` resources.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..naming import identifier, path_segments
from ..registry import Operation
from .accounts import Accounts, Principal, new_access_token
from .documents import CHANGE_FIELDS, USER_FIELDS, Documents, now
from .filters import Predicate, build_filter
from .messages import ApiError, Request
from .pagination import cursor_page, offset_page, page_size
from .resources import Resource, list_item_schema, singular
from .store import Store

CREDENTIAL_EXTENSION = "x-synapse-credential"
TOKENS, TENANTS = "tokens", "tenants"
_COUNT_FIELD = re.compile(r"^(?:count_(\w+)|(\w+)_count)$")

Row = tuple[int, dict[str, Any]]
Scan = Callable[..., Iterator[Row]]


@dataclass
class Call:
    """One routed, authenticated and validated request."""

    op: Operation
    request: Request
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    principal: Principal | None
    dry_run: bool = False

    @property
    def tenant(self) -> str:
        """The caller's tenant code ('' when the operation needs none)."""
        return self.principal.tenant.code if self.principal and self.principal.tenant else ""

    @property
    def user_id(self) -> int | None:
        """The caller's user id."""
        return self.principal.user.id if self.principal else None


@dataclass
class Result:
    """A handler's answer before the envelope: status, data, and cursor pagination for lists."""

    status: int
    data: Any = None
    pagination: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def is_login(op: Operation) -> bool:
    """The operation that trades email and password for a DRF token."""
    return CREDENTIAL_EXTENSION in op.raw or (op.method == "post" and op.path.rstrip("/").endswith("/login"))


class Handlers:
    """Serves calls from the store, shaped by the schema."""

    def __init__(self, resources: dict[str, Resource], store: Store, docs: Documents, accounts: Accounts) -> None:
        self.resources = resources
        self.store = store
        self.docs = docs
        self.accounts = accounts
        self._counts: dict[tuple[str, int], list[tuple[str, str]]] = {}

    def dispatch(self, call: Call) -> Result:
        """Pick the behaviour for the operation's kind and method."""
        op = call.op
        if is_login(op):
            return self.login(call)
        res = self.resources.get(".".join(op.name.resources))
        kind, method = op.name.kind, op.method
        if res is not None and kind == "collection":
            return self.listing(call, res) if method == "get" else self.create(call, res)
        if res is not None and kind == "item":
            if method == "get":
                return self.retrieve(call, res)
            if method in ("put", "patch"):
                return self.update(call, res)
            if method == "delete":
                return self.destroy(call, res)
            object_id, doc = self.find(call, res)
            return self.action(call, seed=object_id, hints={**doc, **_mapping(call.body)})
        if kind == "item_action" and res is not None and res.has_retrieve:
            self.find(call, res)
        return self.action(call)

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
        if res.key == TENANTS:
            found = next((row for row in self.tenant_rows(call) if str(row[1].get(res.key_param)) == key), None)
        else:
            found = self.store.find(res.key, call.tenant, self.scope(call, res), key)
        if found is None or not _visible(call, res, found[1]):
            raise ApiError(404, f"No {_label(res)} matches the given query.")
        return found

    def scanner(self, call: Call, res: Resource) -> Scan:
        """Rows of a resource in the caller's scope, for paging."""
        if res.key == TENANTS:
            rows = self.tenant_rows(call)
            return lambda after=None, before=None, descending=False: _slice(rows, after, before, descending)
        scope = self.scope(call, res)
        return lambda after=None, before=None, descending=False: self.store.scan(
            res.key, call.tenant, scope, after=after, before=before, descending=descending)

    def tenant_rows(self, call: Call) -> list[Row]:
        """The caller's tenants, as documents."""
        if call.principal is None:
            return []
        return [(t.id, {"id": t.id, "code": t.code, "name": t.name, "slug": t.code, "is_active": True})
                for t in self.store.tenants_of(call.principal.user.id)]

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
        matches = build_filter(call.request.query, res.fields, ignore=res.parent_params)
        return lambda doc: _visible(call, res, doc) and matches(doc)

    def page(self, call: Call, res: Resource, scan: Scan, keep: Predicate, item_schema: dict[str, Any] | None
             ) -> Result:
        """A cursor page (in the envelope's pagination meta) or an offset page (count/next/previous/results)."""
        op, query = call.op, call.query
        if op.pagination_param == "page" or ("page_size" in op.query_params and "cursor" not in op.query_params):
            size = page_size(query.get("page_size"))
            offset = offset_page(scan(), keep, page=query.get("page"), size=size,
                                 url=call.request.origin + call.request.path, query=call.request.query)
            results = [self.shape(call, res, row, item_schema) for row in offset.items]
            return Result(op.success_status, {"count": offset.count, "next": offset.next,
                                              "previous": offset.previous, "results": results})
        size = page_size(query.get("per_page"))
        cursor = query.get("cursor")
        page = cursor_page(scan, keep, size, str(cursor) if cursor else None)
        results = [self.shape(call, res, row, item_schema) for row in page.items]
        return Result(op.success_status, results,
                      pagination={"next_cursor": page.next, "previous_cursor": page.previous, "per_page": size})

    def create(self, call: Call, res: Resource) -> Result:
        """A collection POST: store the body (or each item of a list body)."""
        schema = call.op.success_schema
        if isinstance(call.body, list):  # some v1 operations take a list of objects
            made = [self.create_one(call, res, _mapping(item)) for item in call.body]
            items = self.array_items(schema)
            if items is not None:
                return Result(call.op.success_status, [self.shape(call, res, row, items) for row, _ in made])
            row, extra = made[0] if made else ((1, {}), {})
        else:
            row, extra = self.create_one(call, res, _mapping(call.body))
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
            extra: dict[str, Any] = {}
            if res.key == TOKENS and user_id is not None:
                doc.update(user_id=user_id, last_used=None)
                extra["token"] = new_access_token()
            if not dry_run:
                if res.id_kind == "string" and self.store.find(res.key, tenant, scope, str(key)) is not None:
                    raise ApiError(400, f"A {_label(res)} with this {res.key_param} already exists.",
                                   details=[{"field": res.key_param, "message": "must be unique"}])
                self.store.insert(res.key, tenant, scope, str(key), object_id, doc)
                if "token" in extra:
                    self.store.add_access_token(extra["token"], user_id, tenant, object_id)
        return (object_id, doc), extra

    def _read_only(self, op: Operation) -> set[str]:
        return {name for name, prop in op.body_fields.items() if self.docs.faker.hidden(prop, "request")}

    # -- item ----------------------------------------------------------------
    def retrieve(self, call: Call, res: Resource) -> Result:
        """An item GET."""
        return Result(call.op.success_status, self.shape(call, res, self.find(call, res), call.op.success_schema))

    def update(self, call: Call, res: Resource) -> Result:
        """An item PUT/PATCH: merge the body into the stored object."""
        object_id, doc = self.find(call, res)
        read_only = self._read_only(call.op)
        doc.update({k: v for k, v in _mapping(call.body).items() if k not in read_only and k != res.key_param})
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
                if res.key == TOKENS:
                    self.store.revoke_access_token(row[0])
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
            hints = {**self.context(call), **_mapping(call.body)}
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

    def login(self, call: Call) -> Result:
        """Check email and password; answer with the user's DRF token."""
        body = _mapping(call.body)
        user = self.accounts.login(body.get("email", body.get("username")), body.get("password"))
        field_name = (call.op.raw.get(CREDENTIAL_EXTENSION) or {}).get("drf_token", "token")
        data = self.docs.generate(call.op.success_schema, seed=user.id,
                                  hints={field_name: user.drf_token, "id": user.id, "email": user.email})
        data = data if isinstance(data, dict) else {}
        data[field_name] = user.drf_token
        return Result(call.op.success_status, data)


def _visible(call: Call, res: Resource, doc: dict[str, Any]) -> bool:
    """Access tokens are private to the user who made them."""
    return res.key != TOKENS or call.principal is None or doc.get("user_id") == call.principal.user.id


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


def _slice(rows: list[Row], after: int | None, before: int | None, descending: bool) -> Iterator[Row]:
    chosen = [r for r in rows if (after is None or r[0] > after) and (before is None or r[0] < before)]
    return iter(sorted(chosen, key=lambda r: r[0], reverse=descending))


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _label(res: Resource) -> str:
    return singular(res.names[-1]).replace("_", " ") if res.names else "object"
