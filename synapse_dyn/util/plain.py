"""Records, Pages and other mappings as builtin dicts and lists (for JSON, YAML and v1 callers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def to_plain(value: Any) -> Any:
    """A deep copy made of builtin dicts and lists; a Page becomes {count, next, previous, results}."""
    results = getattr(value, "results", None)
    if isinstance(results, list) and hasattr(value, "next") and not isinstance(value, Mapping):
        return {"count": getattr(value, "count", None), "next": value.next,
                "previous": getattr(value, "previous", None), "results": [to_plain(i) for i in results]}
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    return value
