"""Cursor pages (v2: opaque cursors, stable order by id) and offset pages (page numbers or item offsets).

A cursor encodes a position (an object id) and a direction; pages are read straight
from the store in id order, so inserts and deletes between requests never make a
walk repeat or skip an item that existed throughout.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .messages import ApiError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
MAX_POSITION = 2**62  # positions are SQLite integers: anything larger is refused, not an overflow

Rows = Iterator[tuple[int, dict[str, Any]]]


@dataclass(slots=True)
class CursorPage:
    """One cursor page: its rows and the cursors around it."""

    items: list[tuple[int, dict[str, Any]]]
    next: str | None
    previous: str | None


def encode_cursor(position: int, reverse: bool) -> str:
    """An opaque cursor for a position (an object id) and direction."""
    raw = json.dumps({"p": position, "r": int(reverse)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, bool]:
    """(position, reverse) of a cursor; ApiError 404 for a forged one, as DRF answers."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        position, reverse = data["p"], data["r"]
        if not isinstance(position, int) or reverse not in (0, 1):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ApiError(404, "Invalid cursor", code="INVALID_CURSOR") from None
    if not -MAX_POSITION <= position <= MAX_POSITION:
        raise ApiError(400, "Invalid cursor: its position is out of range.", code="INVALID_CURSOR",
                       details=[{"field": "cursor", "message": "Out of range."}])
    return position, bool(reverse)


def page_size(value: Any, default: int = DEFAULT_PAGE_SIZE) -> int:
    """A requested page size, defaulted and capped."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        return default
    return default if size < 1 else min(size, MAX_PAGE_SIZE)


def _take(rows: Rows, keep: Callable[[dict[str, Any]], bool], count: int) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for object_id, doc in rows:
        if keep(doc):
            out.append((object_id, doc))
            if len(out) >= count:
                break
    return out


def cursor_page(scan: Callable[..., Rows], keep: Callable[[dict[str, Any]], bool], size: int,
                cursor: str | None) -> CursorPage:
    """One page; ``scan(after=, before=, descending=)`` yields (id, doc) in id order."""
    if cursor:
        position, reverse = decode_cursor(cursor)
    else:
        position, reverse = None, False
    if not reverse:
        found = _take(scan(after=position), keep, size + 1)
        items = found[:size]
        following = len(found) > size
        preceding = bool(items) and position is not None and bool(
            _take(scan(before=items[0][0], descending=True), keep, 1))
    else:
        found = _take(scan(before=position, descending=True), keep, size + 1)
        items = list(reversed(found[:size]))
        preceding = len(found) > size
        following = bool(items)
    return CursorPage(
        items,
        encode_cursor(items[-1][0], False) if items and following else None,
        encode_cursor(items[0][0], True) if items and preceding else None,
    )


@dataclass(slots=True)
class OffsetPage:
    """One numbered page with the total count and absolute links."""

    items: list[tuple[int, dict[str, Any]]]
    count: int
    next: str | None
    previous: str | None


def offset_page(rows: Rows, keep: Callable[[dict[str, Any]], bool], *, position: Any, size: int,
                url: str, query: list[tuple[str, str]], param: str = "page", by_page: bool = True) -> OffsetPage:
    """One page with the total count and absolute next/previous links.

    ``by_page``: ``position`` is a page number from 1 (``page=2``); otherwise an item offset from 0
    (``offset=50``), as ``limit``/``offset`` pagination counts.
    """
    start = _start(position, size, by_page)
    count = 0
    items = []
    for object_id, doc in rows:
        if keep(doc):
            if start <= count < start + size:
                items.append((object_id, doc))
            count += 1
    if by_page and start > 0 and start >= count:
        raise ApiError(404, "Invalid page.", code="INVALID_PAGE")

    def link(target: int) -> str | None:
        params = [(k, v) for k, v in query if k != param]
        if target > (1 if by_page else 0):
            params.append((param, str(target)))
        return url + ("?" + urlencode(params) if params else "")

    following, preceding = (start // size + 2, start // size) if by_page else (start + size, max(start - size, 0))
    return OffsetPage(items, count, link(following) if start + size < count else None,
                      link(preceding) if start > 0 else None)


def _start(position: Any, size: int, by_page: bool) -> int:
    """The index of a page's first item; ApiError 404 for a page number, 400 for an offset, out of range."""
    try:
        number = int(position) if position not in (None, "") else (1 if by_page else 0)
    except (TypeError, ValueError):
        number = -1
    if by_page:
        if not 1 <= number <= MAX_POSITION:
            raise ApiError(404, "Invalid page.", code="INVALID_PAGE")
        return (number - 1) * size
    if not 0 <= number <= MAX_POSITION:
        raise ApiError(400, "Invalid offset.", details=[{"field": "offset", "message": "Out of range."}])
    return number
