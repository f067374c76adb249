"""Stored documents <-> response bodies.

A stored document is what a client sent plus what the server filled in. ``fill``
completes it against the resource's response schemas when it is created, and
``project`` shapes it onto the schema of one answer (detail, list item, update):
each property comes from the document when the value fits the property's schema
(``data_collection`` answers for ``data_collection_id``), else it is generated.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..auth import SECRET_NAME
from ..registry import Registry
from ..validation import CompiledSchema, Validators
from .fake import Faker, humanize

MISSING: Any = object()
TIMESTAMP_FIELDS = frozenset({"created", "created_at", "modified", "modified_at", "updated", "updated_at",
                              "datetime", "date_joined", "timestamp"})
CHANGE_FIELDS = frozenset({"modified", "modified_at", "updated", "updated_at"})
USER_FIELDS = frozenset({"user_id", "created_by_id", "author_id", "owner_id", "requester_id"})


def now() -> str:
    """The current UTC time in RFC 3339 form."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def lookup(doc: dict[str, Any], name: str) -> Any:
    """A field of a document, also under its ``_id`` twin (``project`` <-> ``project_id``)."""
    if name in doc:
        return doc[name]
    if name.endswith("_id") and name[:-3] in doc:
        return doc[name[:-3]]
    if name + "_id" in doc:
        return doc[name + "_id"]
    return MISSING


class Documents:
    """Fills and projects documents for one registry."""

    def __init__(self, registry: Registry, validators: Validators, faker: Faker) -> None:
        self.registry = registry
        self.validators = validators
        self.faker = faker
        self.minimal = Faker(registry, minimal=True)
        self._compiled: dict[int, tuple[Any, CompiledSchema]] = {}
        self._plans: dict[int, tuple[Any, list[tuple[str, Any, bool]]]] = {}
        self._fill_plans: dict[tuple[str, int], tuple[Any, list[tuple[str, Any, bool, bool]]]] = {}

    def fits(self, value: Any, schema: Any) -> bool:
        """Whether a value satisfies a (response-direction) schema."""
        if not isinstance(schema, dict) or not schema:
            return True
        entry = self._compiled.get(id(schema))
        if entry is None:
            entry = (schema, self.validators.compile(schema, "response"))
            self._compiled[id(schema)] = entry
        return entry[1].is_valid(value)

    def fill(self, doc: dict[str, Any], schemas: list[dict[str, Any]], *, seed: int,
             context: dict[str, Any]) -> dict[str, Any]:
        """Add every response property the document lacks: context values, timestamps, generated values."""
        stamp = now()
        for schema in schemas:
            for name, prop, optional_secret, optional_list in self.fill_plan(schema):
                if optional_secret or lookup(doc, name) is not MISSING:
                    continue
                candidate = context.get(name, MISSING)
                if candidate is MISSING and name in TIMESTAMP_FIELDS:
                    candidate = stamp
                if candidate is MISSING and name.endswith("_display") and isinstance(doc.get(name[:-8]), str):
                    candidate = humanize(doc[name[:-8]])
                if candidate is MISSING and optional_list:
                    candidate = []
                if candidate is not MISSING and self.fits(candidate, prop):
                    doc[name] = candidate
                else:
                    doc[name] = self.fresh(prop, name=name, seed=seed)
        return doc

    def fill_plan(self, schema: dict[str, Any]) -> list[tuple[str, Any, bool, bool]]:
        """(name, schema, optional secret, optional list) of each property a stored document gets; cached."""
        key = ("fill", id(schema))
        cached = self._fill_plans.get(key)
        if cached is None:
            props, required = self.faker.properties(schema)
            cached = (schema, [(name, prop, name not in required and self.secret(name, prop), self._optional_list(prop))
                               for name, prop in props.items() if not self.faker.hidden(prop, "response")])
            self._fill_plans[key] = cached
        return cached[1]

    def secret(self, name: str, prop: Any) -> bool:
        """A property that holds a credential: never invented, only shown when the server set it."""
        resolved = self.registry.resolve(prop)
        return bool(isinstance(resolved, dict) and resolved.get("x-secret")) or bool(SECRET_NAME.search(name))

    def _optional_list(self, prop: Any) -> bool:
        """A list property a new object may leave empty (it starts with no tags, no files...)."""
        resolved = self.registry.resolve(prop)
        return isinstance(resolved, dict) and resolved.get("type") == "array" and not resolved.get("minItems")

    def plan(self, schema: dict[str, Any]) -> list[tuple[str, Any, bool]]:
        """(name, schema, optional secret) of each property an answer under ``schema`` shows; cached."""
        key = id(schema)
        cached = self._plans.get(key)
        if cached is None:
            props, required = self.faker.properties(schema)
            cached = (schema, [(name, prop, name not in required and self.secret(name, prop))
                               for name, prop in props.items() if not self.faker.hidden(prop, "response")])
            self._plans[key] = cached
        return cached[1]

    def project(self, doc: Any, schema: dict[str, Any] | None, *, seed: int = 1,
                overrides: dict[str, Any] | None = None) -> Any:
        """The answer for a document under one response schema."""
        if not schema:
            return None
        plan = self.plan(schema)
        if not isinstance(doc, dict) or not plan:
            return doc if self.fits(doc, schema) else self.fresh(schema, seed=seed)
        overrides = overrides or {}
        out: dict[str, Any] = {}
        for name, prop, optional_secret in plan:
            value = overrides.get(name, MISSING)
            if value is MISSING or not self.fits(value, prop):
                value = lookup(doc, name)
            if value is MISSING and optional_secret:
                continue
            if value is MISSING or not self.fits(value, prop):
                value = self.fresh(prop, name=name, seed=seed)
            out[name] = value
        return out

    def generate(self, schema: dict[str, Any] | None, *, seed: int = 1,
                 hints: dict[str, Any] | None = None) -> Any:
        """A fresh answer for a schema, taking fitting values from ``hints`` (body fields, caller ids)."""
        if not schema:
            return None
        if hints and self.faker.properties(schema)[0]:
            return self.project(hints, schema, seed=seed)
        return self.fresh(schema, seed=seed)

    def fresh(self, schema: Any, *, name: str = "", seed: int = 1) -> Any:
        """A generated value; the smallest one when the full one cannot satisfy the schema (``enum: []``)."""
        value = self.faker.value(schema, name=name, seed=seed)
        if self.fits(value, schema):
            return value
        return self.minimal.value(schema, name=name, seed=seed)
