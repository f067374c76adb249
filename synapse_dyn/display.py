"""How records and pages look: wrapped text for repr/print/pprint/IPython, HTML tables for notebooks.

Every renderer masks secrets at every depth: values of fields named like token/password/secret
(and fields a schema marks ``x-secret: true``, which a Record class lists) are never shown whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import masking

MAX_STRING = 160  # characters of a string value before it is cut
MAX_ITEMS = 10  # items of a nested list/dict shown before "… N more"
MAX_FIELDS = 200  # fields of a Record shown
MAX_DEPTH = 6  # nesting levels shown before "…"
WIDTH = 100  # line width of repr / str
HTML_ROWS = 50
HTML_CELL = 80


def _is_secret(container: Any, key: Any) -> bool:
    """A field named like a secret, or one its Record's schema marks ``x-secret: true``."""
    declared = getattr(type(container), "_secret_fields", ())
    return key in declared or masking.is_secret_name(str(key))


def mask(key: Any, value: Any) -> Any:
    """A secret field's value as shown: passwords wholly masked, tokens by prefix and last four characters."""
    if masking.is_secret_name(str(key)):
        return masking.mask_field(key, value)
    return masking.mask_token(value) if isinstance(value, str) else masking.FULL_MASK


def _text(value: str, limit: int) -> str:
    value = masking.scrub(value)  # a registered credential under an ordinary name
    if len(value) > limit:
        return repr(value[:limit]) + "…"
    return repr(value)


def _named(value: Any) -> str | None:
    """The schema name a Record shows (None for plain dicts and schema-less Records: shown as dicts)."""
    name = getattr(type(value), "_schema_name", None)
    return None if name in (None, "Record") else name


def _fields(value: Any, limit_items: int) -> tuple[list[tuple[str | None, Any, bool]], int]:
    """(key, value, is_secret) of the items shown, and how many were left out (a Record shows every field)."""
    if _named(value):
        limit_items = max(limit_items, MAX_FIELDS)
    if isinstance(value, Mapping):
        # value[k], not .items(): a Record wraps nested objects on read, so their own secret fields are known
        items = [(k, value[k]) for k in value] if hasattr(type(value), "_schema_name") else list(value.items())
        shown: list[tuple[str | None, Any, bool]] = [(str(k), v, _is_secret(value, k))
                                                     for k, v in items[:limit_items]]
        return shown, len(items) - len(shown)
    seq = list(value)
    return [(None, v, False) for v in seq[:limit_items]], len(seq) - min(len(seq), limit_items)


def _brackets(value: Any) -> tuple[str, str, str]:
    """(opening, closing, key separator) of a container."""
    name = _named(value)
    if name is not None:
        return name + "(", ")", "="
    if isinstance(value, Mapping):
        return "{", "}", ": "
    return "[", "]", ""


def _key(key: str, sep: str) -> str:
    return key + sep if sep == "=" else repr(key) + sep


def render(value: Any, *, width: int = WIDTH, indent: int = 0, depth: int = 0,
           max_string: int = MAX_STRING, max_items: int = MAX_ITEMS) -> str:
    """A readable, masked text form: one line when it fits in ``width``, else wrapped with hanging
    indents (or, when the hanging indent would sit past mid-line, items on the next lines)."""
    if not isinstance(value, Mapping | list | tuple):
        return _text(value, max_string) if isinstance(value, str) else repr(value)
    opening, closing, sep = _brackets(value)
    if depth >= MAX_DEPTH:
        return opening + "…" + closing
    fields, more = _fields(value, max_items)
    if not fields and not more:
        return opening + closing
    limits = (width, depth, max_string, max_items)
    inner = indent + len(opening)
    text = _fill(_parts(fields, more, sep, inner, limits), inner, width)
    if "\n" in text and inner > width // 2:
        inner = indent + 4
        return opening + "\n" + " " * inner + _fill(_parts(fields, more, sep, inner, limits), inner, width) + closing
    return opening + text + closing


def _parts(fields: list[tuple[str | None, Any, bool]], more: int, sep: str, inner: int,
           limits: tuple[int, int, int, int]) -> list[str]:
    """Each shown item as ``key=value`` text, rendered for a line whose items start at column ``inner``."""
    width, depth, max_string, max_items = limits
    parts = []
    for key, item, secret in fields:
        head = _key(key, sep) if key is not None else ""
        if secret and item is not None and not isinstance(item, Mapping | list | tuple):
            parts.append(head + repr(mask(key, item)))
            continue
        body = render(item, width=width, indent=inner + len(head), depth=depth + 1,
                      max_string=max_string, max_items=max_items)
        if "\n" in body and head and inner + len(head) > width // 3:
            # a long key pushes the hanging indent far right: start the value on its own line
            body = "\n" + " " * (inner + 4) + render(item, width=width, indent=inner + 4, depth=depth + 1,
                                                      max_string=max_string, max_items=max_items)
        parts.append(head + body)
    if more:
        parts.append(f"… {more} more")
    return parts


def _fill(parts: list[str], indent: int, width: int) -> str:
    """Join parts with ', ', starting a new (indented) line when the next one does not fit.

    A part spanning several lines always starts a line: it was rendered for that column.
    """
    lines: list[str] = []
    current = ""
    for index, part in enumerate(parts):
        piece = part + ("," if index < len(parts) - 1 else "")
        if current:
            end = len(current.rsplit("\n", 1)[-1]) if "\n" in current else indent + len(current)
            if "\n" in current or "\n" in piece or end + 1 + len(piece) > width:
                lines.append(current)
                current = piece
            else:
                current += " " + piece
        else:
            current = piece
    lines.append(current)
    return ("\n" + " " * indent).join(lines)


def page_text(page: Any, shown: int, width: int = WIDTH) -> str:
    """``Page(50 results, next=…, previous=…)`` followed by its first items, one per line."""
    head = f"Page({len(page.results)} results, next={page.next!r}, previous={page.previous!r}"
    if page.count is not None:
        head += f", count={page.count}"
    if not page.results:
        return head + ")"
    lines = [head + ","]
    for index, item in enumerate(page.results[:shown]):
        prefix = f"  [{index}] "
        lines.append(prefix + render(item, width=width, indent=len(prefix)))
    if len(page.results) > shown:
        lines.append(f"  … {len(page.results) - shown} more")
    return "\n".join(lines) + ")"


# -- HTML ------------------------------------------------------------------

_TABLE = '<table class="synapse-dyn">'


def _escape(text: str) -> str:
    from html import escape  # imported when a notebook first asks for HTML

    return escape(text)


def _cell(container: Any, key: Any, value: Any) -> str:
    if _is_secret(container, key) and value is not None and not isinstance(value, Mapping | list | tuple):
        text = str(mask(key, value))
    elif isinstance(value, str):
        value = masking.scrub(value)
        text = value if len(value) <= HTML_CELL else value[:HTML_CELL] + "…"
    elif value is None:
        text = ""
    else:
        text = render(value, width=10_000, max_string=HTML_CELL // 2, max_items=5)
    return _escape(text)


def record_html(record: Mapping[str, Any]) -> str:
    """A key/value table, the schema's name as caption."""
    name = getattr(type(record), "_schema_name", "Record")
    rows = "".join(f"<tr><th>{_escape(str(k))}</th><td>{_cell(record, k, v)}</td></tr>"
                   for k, v in record.items())
    return f"{_TABLE}<caption>{_escape(name)}</caption>{rows}</table>"


def _columns(items: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if isinstance(item, Mapping):
            seen.update(dict.fromkeys(map(str, item)))
    return list(seen)


def page_html(page: Any) -> str:
    """A table: one row per item (the first HTML_ROWS), one column per field."""
    items = page.results[:HTML_ROWS]
    name = getattr(type(items[0]), "_schema_name", "") if items else ""
    caption = f"Page of {len(page.results)} {_escape(name)}".rstrip()
    if page.count is not None:
        caption += f" (count {page.count})"
    if page.next:
        caption += f"; next={_escape(str(page.next))}"
    columns = _columns(items)
    head = "".join(f"<th>{_escape(c)}</th>" for c in columns)
    body = []
    for item in items:
        if isinstance(item, Mapping):
            cells = "".join(f"<td>{_cell(item, c, item.get(c))}</td>" for c in columns)
        else:
            cells = f"<td colspan='{max(len(columns), 1)}'>{_escape(render(item))}</td>"
        body.append(f"<tr>{cells}</tr>")
    if len(page.results) > HTML_ROWS:
        body.append(f"<tr><td colspan='{max(len(columns), 1)}'>… {len(page.results) - HTML_ROWS} more</td></tr>")
    return f"{_TABLE}<caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def masked_copy(value: Any, container: Any = None, key: Any = None) -> Any:
    """A plain deep copy with every secret string masked (for exports such as to_pandas)."""
    if container is not None and isinstance(value, str) and _is_secret(container, key):
        return mask(key, value)
    if isinstance(value, str):
        return masking.scrub(value)
    if isinstance(value, Mapping):
        return {k: masked_copy(v, value, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked_copy(v) for v in value]
    return value
