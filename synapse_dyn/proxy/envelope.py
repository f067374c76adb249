"""A wire body as the schema describes it: the backend's envelope stripped, per the document's conventions.

The published v2 schema documents success bodies bare while the backend wraps them
(``{data, meta}``; a list's cursors in ``meta.pagination``). What the proxy sees is the wire,
so it unwraps the way the client does before validating; a body that is not enveloped is
returned unchanged (error bodies keep their own ``{error, meta}`` shape).
"""

from __future__ import annotations

from typing import Any

from ..conventions import Envelope, Pagination

_MISSING = object()


def _dotted(payload: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(payload, dict) or part not in payload:
            return _MISSING
        payload = payload[part]
    return payload


def unwrap(payload: Any, envelope: Envelope, pagination: Pagination) -> Any:
    """The body inside the envelope (a list with cursors becomes a page), else the payload itself."""
    if envelope.style == "none" or not isinstance(payload, dict):
        return payload
    if envelope.style == "flag":
        return payload.get(envelope.data) if envelope.ok in payload and envelope.data in payload else payload
    if envelope.data not in payload or envelope.meta not in payload:
        return payload
    data = payload[envelope.data]
    cursor = _dotted(payload, envelope.next_cursor)
    if not isinstance(data, list) or cursor is _MISSING:
        return data
    previous = _dotted(payload, envelope.previous_cursor)
    page: dict[str, Any] = {pagination.results: data, pagination.next: cursor,
                            pagination.previous: None if previous is _MISSING else previous}
    count = _dotted(payload, envelope.count)
    if count is not _MISSING:
        page[pagination.count] = count
    return page
