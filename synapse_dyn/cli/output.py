"""Printing results: table, wide, json, yaml and ndjson, for one result or a stream of items.

One page prints as ``{results, next, previous}`` in json and yaml; ``--all`` (or ``--max-items``)
prints the same shape with every item in ``results`` and no ``next``, written item by item
so memory stays at about one page. ``--query`` (JMESPath) applies to the whole result, or
with ``--all`` to each item. yaml is imported only when used.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import click

from ..records import Page, Record
from .textsafe import escape_controls


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


def yaml_for_humans(value: Any) -> str:
    """yaml; on a terminal with control characters escaped (they would drive the terminal)."""
    text = to_yaml(value)
    if sys.stdout.isatty():
        text = "\n".join(escape_controls(line) for line in text.split("\n"))
    return text


@dataclass
class OutputOptions:
    """How one command prints: format, JMESPath query, table columns and headers."""

    format: str = "json"
    query: Any = None  # a compiled jmespath expression
    columns: list[str] | None = None  # the schema's preferred table columns
    requested: list[str] | None = None  # --columns
    headers: bool = True
    note: Callable[[str], None] | None = None
    batch: int = 50  # table rows per batch when streaming (about one page)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tabular(self) -> bool:
        return self.format in ("table", "wide")


def compile_query(expression: str | None) -> Any:
    """A compiled JMESPath expression; a bad one is a usage error naming --query."""
    if not expression:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        message = " ".join(str(exc).split())
        raise click.BadParameter(f"not a valid JMESPath expression: {message}", param_hint="'--query'") from None


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


def emit(value: Any, opts: OutputOptions) -> None:
    """Print one result (a page, an object, a list or a scalar)."""
    if value is None:
        return
    if opts.query is not None:
        _print_value(opts.query.search(plain(value)), opts)
        return
    items = page_items(value)
    if opts.tabular or opts.format == "ndjson":
        _print_value(items if items is not None else value, opts)
    else:
        _print_value(value, opts)
    cursor = next_cursor(value) if items is not None else None
    if cursor and opts.note and (opts.tabular or opts.format == "ndjson"):
        opts.note(f"more results: add --cursor {cursor} (or --all, or --max-items N)")


def _print_value(value: Any, opts: OutputOptions) -> None:
    fmt = opts.format
    if fmt == "json":
        click.echo(to_json(value))
    elif fmt == "yaml":
        click.echo(yaml_for_humans(value), nl=False)
    elif fmt == "ndjson":
        for item in value if isinstance(value, list) else [value]:
            click.echo(to_json(item, indent=None))
    elif isinstance(value, list):
        from .tables import print_rows

        print_rows(value, opts.columns, requested=opts.requested, wide=fmt == "wide", headers=opts.headers)
        if not value and opts.note:
            opts.note("(no items)")
    elif isinstance(value, dict):
        from .tables import print_record

        print_record(plain(value))
    else:
        click.echo(escape_controls(str(value)))


def _queried(items: Iterable[Any], opts: OutputOptions) -> Iterator[Any]:
    for item in items:
        yield item if opts.query is None else opts.query.search(plain(item))


def stream(items: Iterable[Any], opts: OutputOptions) -> int:
    """Print every item of an iterator as it arrives; returns how many were printed."""
    items = _queried(items, opts)
    if opts.format == "ndjson":
        count = 0
        for item in items:
            click.echo(to_json(item, indent=None))
            count += 1
        return count
    if opts.format == "json":
        return _stream_json(items)
    if opts.format == "yaml":
        return _stream_yaml(items)
    from .tables import stream_rows

    count = stream_rows(batched(items, opts.batch), opts.columns, requested=opts.requested,
                        wide=opts.format == "wide", headers=opts.headers)
    if not count and opts.note:
        opts.note("(no items)")
    return count


def _stream_json(items: Iterable[Any]) -> int:
    count = 0
    click.echo('{\n  "results": [', nl=False)
    for item in items:
        click.echo(("," if count else "") + "\n    " + to_json(item, indent=None), nl=False)
        count += 1
    click.echo(("\n  ]" if count else "]") + ',\n  "next": null,\n  "previous": null\n}')
    return count


def _stream_yaml(items: Iterable[Any]) -> int:
    count = 0
    for item in items:
        if not count:
            click.echo("results:")
        click.echo(yaml_for_humans([item]), nl=False)
        count += 1
    click.echo(("" if count else "results: []\n") + "next: null\nprevious: null")
    return count


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Items in lists of ``size`` (the last may be shorter)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def options_for(state: Any, columns: list[str] | None = None, *, batch: int = 50) -> OutputOptions:
    """The output options of this invocation: -o, --query, --columns, --no-headers."""
    requested = [c.strip() for c in (state.options.columns or "").split(",") if c.strip()] or None
    return OutputOptions(format=state.output_format, query=compile_query(state.options.query), columns=columns,
                         requested=requested, headers=not state.options.no_headers, note=state.note, batch=batch)


def show(state: Any, value: Any, columns: list[str] | None = None) -> None:
    """Print one result with this invocation's output options."""
    emit(value, options_for(state, columns))
