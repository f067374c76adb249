"""Readable tables with rich: which columns a list shows, and how a cell is written."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..registry import Operation

MAX_COLUMNS = 8
MAX_STRING_LENGTH = 120
MAX_CELL = 60
MIN_WIDTH = 8
LONG_FIELDS = frozenset({
    "description", "configuration", "meta", "metadata", "message", "content", "body", "text", "script",
    "source", "readme", "notes", "comment", "settings", "options", "token",
})
KEY_FIELDS = ("id", "uuid", "code", "name")


def _scalar_field(op: Operation, name: str, schema: Any) -> bool:
    from .params import effective_schema

    if name in LONG_FIELDS:
        return False
    target = effective_schema(op.registry, schema)
    if target.get("enum") is not None:
        return True
    kind = target.get("type")
    if kind in ("integer", "number", "boolean"):
        return True
    if kind == "string":
        max_length = target.get("maxLength")
        return target.get("format") not in ("binary", "byte") and (max_length is None or max_length <= MAX_STRING_LENGTH)
    return False


def schema_columns(op: Operation) -> list[str]:
    """Columns for a list operation from its item schema: a key field first, then short scalars."""
    if not op.is_paginated:
        return []
    registry = op.registry
    results = registry.object_properties(registry.resolve(op.success_schema))["results"]
    item = registry.resolve(results).get("items") or {}
    props = registry.object_properties(item)
    names = [n for n, p in props.items() if _scalar_field(op, n, p)]
    names = [n for n in names if not (n.endswith("_display") and n[: -len("_display")] in names)]
    return _key_first(names)[:MAX_COLUMNS]


def _key_first(names: list[str]) -> list[str]:
    for key in KEY_FIELDS:
        if key in names:
            return [key] + [n for n in names if n != key]
    return names


def _is_short(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= MAX_CELL)


def item_columns(rows: list[Any]) -> list[str]:
    """Columns guessed from the items themselves: keys whose values are short scalars."""
    names: list[str] = []
    for row in rows[:20]:
        if isinstance(row, dict):
            names.extend(k for k in row if k not in names)
    sample = [r for r in rows[:20] if isinstance(r, dict)]
    keep = [n for n in names if n not in LONG_FIELDS and all(_is_short(r.get(n)) for r in sample)]
    return _key_first(keep)[:MAX_COLUMNS]


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL * 2 else text[: MAX_CELL * 2 - 1] + "…"


def console() -> Any:
    """A rich Console on the current stdout (looked up at call time, so a swapped stdout is honoured)."""
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, markup=False, emoji=False, soft_wrap=False)


def print_rows(rows: list[Any], columns: list[str] | None = None) -> None:
    """A table of list items; non-dict items print one per line."""
    if not rows:
        return
    if not all(isinstance(r, dict) for r in rows):
        import click

        for row in rows:
            click.echo(cell(row))
        return
    present = {k for r in rows for k in r}
    chosen = [c for c in columns or [] if c in present] or item_columns(rows)
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    cells = [[cell(row.get(name)) for name in chosen] for row in rows]
    for index, name in enumerate(chosen):
        natural = max([len(name)] + [len(values[index]) for values in cells])
        table.add_column(name, overflow="ellipsis", no_wrap=True, max_width=MAX_CELL,
                         min_width=min(natural, MIN_WIDTH))
    for values in cells:
        table.add_row(*(Text(v) for v in values))
    console().print(table)


def print_record(record: dict[str, Any]) -> None:
    """One object as a two-column field / value table."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE, show_header=False, show_edge=False, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        table.add_row(Text(str(key)), Text(cell(value)))
    console().print(table)
