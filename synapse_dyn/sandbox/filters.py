"""List filters: query parameters that name a stored field (``project=3`` matches ``project`` or
``project_id``), a free-text ``search``, and comma-separated alternatives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .documents import MISSING, lookup

CONTROL_PARAMS = frozenset({"cursor", "per_page", "page", "page_size", "dry_run", "ordering", "search",
                            "expand", "fields", "format", "limit", "offset"})

Predicate = Callable[[dict[str, Any]], bool]


def known(name: str, fields: set[str]) -> bool:
    """Whether a query parameter names one of a resource's fields (directly or as its ``_id`` twin)."""
    return name in fields or f"{name}_id" in fields or (name.endswith("_id") and name[:-3] in fields)


def build_filter(query: list[tuple[str, str]], fields: set[str], *, ignore: tuple[str, ...] = ()) -> Predicate:
    """A predicate over stored documents for the filters in a request's query string."""
    wanted = [(name, value) for name, value in query
              if name not in CONTROL_PARAMS and name not in ignore and known(name, fields)]
    search = next((value.lower() for name, value in reversed(query) if name == "search"), "")

    def keep(doc: dict[str, Any]) -> bool:
        if not all(field_matches(doc, name, value) for name, value in wanted):
            return False
        return not search or any(isinstance(v, str) and search in v.lower() for v in doc.values())

    return keep


def field_matches(doc: dict[str, Any], name: str, wanted: str) -> bool:
    """Whether a document's field (or its ``_id`` twin) equals a query value."""
    value = lookup(doc, name)
    if value is MISSING:
        return False
    options = {wanted} | (set(wanted.split(",")) if "," in wanted else set())
    if wanted.lower() in ("true", "false", "1", "0"):
        options.add("true" if wanted.lower() in ("true", "1") else "false")
    return any(as_text(v) in options for v in (value if isinstance(value, list) else [value]))


def as_text(value: Any) -> str:
    """A stored value as it would be written in a query string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return str(value.get("id", ""))
    return str(value)
