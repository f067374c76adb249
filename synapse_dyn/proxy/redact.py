"""Redacted samples: a body's shape with every secret masked, long strings and lists cut short."""

from __future__ import annotations

from typing import Any

from ..masking import FULL_MASK, SECRET_NAME, scrub
from ..registry import Registry

MAX_ITEMS = 3
MAX_TEXT = 64


def secret_fields(registry: Registry) -> frozenset[str]:
    """Property names the schema marks ``x-secret: true`` (masked even when not named like a secret)."""
    names = set()
    for schema in ((registry.document.get("components") or {}).get("schemas") or {}).values():
        for name, prop in ((schema or {}).get("properties") or {}).items():
            if isinstance(prop, dict) and prop.get("x-secret"):
                names.add(name)
    return frozenset(names)


def redact(value: Any, secret: frozenset[str] = frozenset(), depth: int = 0) -> Any:
    """Fields named like secrets become ``***``; known credential values are masked wherever they appear."""
    if depth > 12:
        return "…"
    if isinstance(value, dict):
        return {k: FULL_MASK if k in secret or SECRET_NAME.search(str(k)) else redact(v, secret, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list):
        head = [redact(v, secret, depth + 1) for v in value[:MAX_ITEMS]]
        return head + ([f"… {len(value) - MAX_ITEMS} more"] if len(value) > MAX_ITEMS else [])
    if isinstance(value, str):
        text = scrub(value)
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
    return value
