"""Tables that keep what matters: which columns a list shows, and how they fit a terminal.

Rules (as kubectl and gh): identifiers and the key column are never truncated; booleans,
numbers and dates are never cut; long text columns shrink first; when even shrunk the
columns do not fit, empty columns go first, then columns from the right (never the key
column). When stdout is not a terminal nothing is cut. Widths are planned from the first page and kept for the rest of a stream.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .textsafe import display_width, escape_controls, pad, truncate

MAX_COLUMNS = 8
MIN_TEXT = 10
GAP = 2
HIDDEN_FIELDS = frozenset({
    "configuration", "meta", "metadata", "content", "body", "script", "source", "readme", "settings",
    "options", "token", "password", "secret",
})
KEY_FIELDS = ("id", "uuid", "code", "name", "key")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SCALAR_TYPES = ("integer", "number", "boolean")


# -- which columns ------------------------------------------------------------
def _column_field(op: Any, name: str, schema: Any) -> bool:
    from .params import effective_schema

    if name in HIDDEN_FIELDS:
        return False
    target = effective_schema(op.registry, schema)
    if target.get("enum") is not None or target.get("type") in _SCALAR_TYPES:
        return True
    return target.get("type") == "string" and target.get("format") not in ("binary", "byte")


def item_schema_fields(op: Any) -> list[str]:
    """Every field of a list operation's item, in schema order ([] when the schema does not say)."""
    if not op.is_paginated:
        return []
    registry = op.registry
    results = registry.object_properties(registry.resolve(op.success_schema))["results"]
    item = registry.resolve(results).get("items") or {}
    return list(registry.object_properties(item))


def schema_columns(op: Any) -> list[str]:
    """Columns for a list operation from its item schema: a key field first, then scalars and short text."""
    if not op.is_paginated:
        return []
    registry = op.registry
    results = registry.object_properties(registry.resolve(op.success_schema))["results"]
    props = registry.object_properties(registry.resolve(results).get("items") or {})
    names = [n for n, p in props.items() if _column_field(op, n, p)]
    names = [n for n in names if not (n.endswith("_display") and n[: -len("_display")] in names)]
    return _key_first(names)[:MAX_COLUMNS]


def _key_first(names: list[str]) -> list[str]:
    for key in KEY_FIELDS:
        if key in names:
            return [key] + [n for n in names if n != key]
    return names


def item_columns(rows: list[Any], *, every: bool = False) -> list[str]:
    """Columns guessed from the items themselves: keys whose values are scalars (``every``: all keys)."""
    names: list[str] = []
    sample = [r for r in rows[:50] if isinstance(r, dict)]
    for row in sample:
        names.extend(k for k in row if k not in names)
    if every:
        return _key_first(names)
    keep = [n for n in names if n not in HIDDEN_FIELDS
            and all(not isinstance(r.get(n), dict | list) for r in sample)]
    return _key_first(keep)[:MAX_COLUMNS]


def choose_columns(rows: list[Any], preferred: list[str] | None, requested: list[str] | None,
                   wide: bool) -> list[str]:
    """--columns as given; -o wide every field; else the schema's choice present in the rows."""
    if requested:
        return requested
    present = {k for r in rows[:50] if isinstance(r, dict) for k in r}
    if wide:
        every = item_columns(rows, every=True)
        ordered = [c for c in preferred or [] if c in present]
        return ordered + [c for c in every if c not in ordered]
    return [c for c in preferred or [] if c in present] or item_columns(rows)


# -- cells --------------------------------------------------------------------
def cell(value: Any) -> str:
    """A value as one line of text, control characters escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    else:
        text = str(value)
    return escape_controls(text)


def _is_fixed_value(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and bool(_DATE.match(value) or _UUID.match(value))


def column_kind(name: str, values: list[Any], key: bool) -> str:
    """``key`` (never cut), ``fixed`` (never cut: numbers, booleans, dates, ids) or ``text`` (may shrink)."""
    if key or name in ("id", "uuid") or name.endswith(("_id", "_uuid", "_ids")):
        return "key"
    return "fixed" if all(_is_fixed_value(v) for v in values) else "text"


@dataclass
class Column:
    name: str
    kind: str
    width: int


def plan(names: list[str], rows: list[dict[str, Any]], max_width: int | None) -> list[Column]:
    """Column widths for ``rows``: fit ``max_width`` (None: no limit) by the rules above."""
    columns, empty = [], set()
    for index, name in enumerate(names):
        values = [row.get(name) for row in rows]
        natural = max([display_width(name)] + [display_width(cell(v)) for v in values])
        columns.append(Column(name, column_kind(name, values, index == 0), natural))
        if index and all(v in (None, "") for v in values):
            empty.add(name)
    if max_width is None:
        return columns
    _shrink_text(columns, max_width)
    while _total(columns) > max_width:
        # drop columns with nothing to show first, then from the right; never the first (key) column
        droppable = [c for c in columns[1:] if c.name in empty] or columns[1:]
        if not droppable:
            break
        columns.remove(droppable[-1])
    return columns


def _total(columns: list[Column]) -> int:
    return sum(c.width for c in columns) + GAP * max(0, len(columns) - 1)


def _floor(column: Column, natural: int) -> int:
    return min(natural, max(MIN_TEXT, min(display_width(column.name), 16)))


def _shrink_text(columns: list[Column], max_width: int) -> None:
    """Lower the widest text column first, never below MIN_TEXT (or its header, up to 16)."""
    floors = {id(c): _floor(c, c.width) for c in columns if c.kind == "text"}
    while _total(columns) > max_width:
        shrinkable = sorted((c for c in columns if id(c) in floors and c.width > floors[id(c)]),
                            key=lambda c: c.width, reverse=True)
        if not shrinkable:
            return
        widest = shrinkable[0]
        runner_up = shrinkable[1].width if len(shrinkable) > 1 else 0
        target = max(floors[id(widest)], widest.width - (_total(columns) - max_width), runner_up)
        widest.width = target if target < widest.width else widest.width - 1


def render(columns: list[Column], values: list[str], cut: bool = True) -> str:
    """One line; text cells longer than their column are cut only when ``cut`` (a terminal)."""
    parts = []
    for column, text in zip(columns, values, strict=True):
        if cut and column.kind == "text" and display_width(text) > column.width:
            text = truncate(text, column.width)
        parts.append(pad(text, column.width))
    return (" " * GAP).join(parts).rstrip()


# -- terminal -----------------------------------------------------------------
def styled() -> bool:
    """Colour and bold only on a terminal, and never with NO_COLOR set."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def terminal_width() -> int | None:
    """The terminal's width, or None (no limit) when stdout is not a terminal."""
    if not sys.stdout.isatty():
        return None
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")


class TableWriter:
    """Prints rows as they come: widths planned from the first batch, then kept."""

    def __init__(self, names: list[str], *, width: int | None, headers: bool = True) -> None:
        self.names = names
        self.width = width
        self.headers = headers
        self.columns: list[Column] | None = None

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.columns is None:
            self.columns = plan(self.names, rows, self.width)
            if self.headers:
                header = render(self.columns, [c.name for c in self.columns])
                _write(f"\x1b[1m{header}\x1b[0m" if styled() else header)
        for row in rows:
            _write(render(self.columns, [cell(row.get(c.name)) for c in self.columns], self.width is not None))
        sys.stdout.flush()


def print_plain_items(rows: Iterable[Any]) -> None:
    for row in rows:
        _write(cell(row))


def print_rows(rows: list[Any], columns: list[str] | None = None, *, requested: list[str] | None = None,
               wide: bool = False, headers: bool = True, width: int | None | str = "auto") -> None:
    """A table of list items; non-dict items print one per line."""
    if not rows:
        return
    if not all(isinstance(r, dict) for r in rows):
        print_plain_items(rows)
        return
    names = choose_columns(rows, columns, requested, wide)
    limit = None if wide else (terminal_width() if width == "auto" else width)
    TableWriter(names, width=limit, headers=headers).write(rows)  # type: ignore[arg-type]


def stream_rows(batches: Iterator[list[Any]], columns: list[str] | None = None, *,
                requested: list[str] | None = None, wide: bool = False, headers: bool = True) -> int:
    """Print batches of items (pages) as they arrive, with the widths of the first; returns the count."""
    writer: TableWriter | None = None
    count = 0
    for batch in batches:
        count += len(batch)
        dicts = [r for r in batch if isinstance(r, dict)]
        if len(dicts) != len(batch):
            print_plain_items(batch)
            continue
        if writer is None:
            names = choose_columns(dicts, columns, requested, wide)
            writer = TableWriter(names, width=None if wide else terminal_width(), headers=headers)
        writer.write(dicts)
    return count


def print_record(record: dict[str, Any]) -> None:
    """One object as ``field  value`` lines (values on one line, control characters escaped)."""
    if not record:
        return
    width = max(display_width(escape_controls(str(k))) for k in record)
    bold = styled()
    for key, value in record.items():
        name = pad(escape_controls(str(key)), width)
        _write(f"{chr(27)}[1m{name}{chr(27)}[0m  {cell(value)}".rstrip() if bold else f"{name}  {cell(value)}".rstrip())
