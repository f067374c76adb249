"""Request-id tracing: the last ``meta.request_id`` seen, per thread and per asyncio task."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_last_request_id: ContextVar[str | None] = ContextVar("synapse_dyn_last_request_id", default=None)


def record_request_id(request_id: str | None) -> None:
    """Remember a request id in the current context (None leaves the previous one)."""
    if request_id:
        _last_request_id.set(request_id)


def last_request_id() -> str | None:
    """The most recent request id observed in the current context."""
    return _last_request_id.get()


@contextlib.contextmanager
def capture_request_ids() -> Iterator[None]:
    """Scope a block to its own request ids; the outer value is restored on exit."""
    token = _last_request_id.set(None)
    try:
        yield
    finally:
        _last_request_id.reset(token)
