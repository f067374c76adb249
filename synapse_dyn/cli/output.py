"""Printing results: table, json, yaml and ndjson, for one result or a stream of items.

Streams (``--all``) are written item by item and flushed, so ndjson and json never hold
more than one page in memory; only the table format collects its rows first. yaml and
rich are imported only when used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from ..records import Page, Record


def plain(value: Any) -> Any:
    """Records, Pages and nested containers as builtin dicts and lists."""
    if isinstance(value, Page):
        return value.to_dict()
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_json(value: Any, *, indent: int | None = 2) -> str:
    separators = None if indent else (",", ":")
    return json.dumps(plain(value), indent=indent, ensure_ascii=False, default=str, separators=separators)


def to_yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(plain(value), sort_keys=False, allow_unicode=True, default_flow_style=False)


def page_items(value: Any) -> list[Any] | None:
    """The items of a page-like result (a Page, or a dict with a ``results`` list), else None."""
    if isinstance(value, Page):
        return value.results
    if isinstance(value, dict) and isinstance(value.get("results"), list):
        return value["results"]
    return None


def next_cursor(value: Any) -> str | None:
    link = value.next if isinstance(value, Page) else (value.get("next") if isinstance(value, dict) else None)
    if not link:
        return None
    if "cursor=" in link:
        from urllib.parse import parse_qs, urlsplit

        return (parse_qs(urlsplit(link).query).get("cursor") or [link])[0]
    return link


def emit(value: Any, fmt: str, *, columns: list[str] | None = None, note: Any = None) -> None:
    """Print one result. Pages print as ``{results, next, previous}`` in json/yaml, as items otherwise."""
    if value is None:
        return
    items = page_items(value)
    if fmt == "json":
        click.echo(to_json(value))
    elif fmt == "yaml":
        click.echo(to_yaml(value), nl=False)
    elif fmt == "ndjson":
        for item in items if items is not None else (value if isinstance(value, list) else [value]):
            click.echo(to_json(item, indent=None))
    else:
        from .tables import print_record, print_rows

        rows = items if items is not None else (value if isinstance(value, list) else None)
        if rows is not None:
            print_rows(rows, columns)
            if not rows and note:
                note("(no items)")
        elif isinstance(value, dict):
            print_record(value)
        else:
            click.echo(str(value))
    cursor = next_cursor(value) if items is not None else None
    if cursor and note and fmt in ("table", "ndjson"):
        note(f"more results: add --cursor {cursor} (or --all)")


def stream(items: Iterable[Any], fmt: str, *, columns: list[str] | None = None) -> int:
    """Print every item of an iterator as it arrives; returns how many were printed."""
    count = 0
    if fmt == "ndjson":
        for item in items:
            click.echo(to_json(item, indent=None))
            count += 1
    elif fmt == "json":
        click.echo("[", nl=False)
        for item in items:
            click.echo(("," if count else "") + "\n  " + to_json(item, indent=None), nl=False)
            count += 1
        click.echo("\n]" if count else "]")
    elif fmt == "yaml":
        for item in items:
            click.echo(to_yaml([item]), nl=False)
            count += 1
        if not count:
            click.echo("[]")
    else:
        from .tables import print_rows

        rows = list(items)
        print_rows(rows, columns)
        count = len(rows)
    return count
