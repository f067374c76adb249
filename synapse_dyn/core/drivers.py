"""The two drivers: perform a flow's actions synchronously or under asyncio.

Only awaiting differs between them: stepping a flow (``step``) and performing its actions
(``_Driver.perform``: sending, sleeping, request ids, drift log, warnings) are written once. ``advance`` (run to the next
page or the end) is the one loop each driver has; ``run`` and ``pages`` are built on it.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from types import FrameType
from typing import Any

from ..observability import record_request_id
from .messages import (
    Action,
    DriftObserved,
    Flow,
    PageReady,
    PreparedRequest,
    RawResponse,
    RequestIdObserved,
    Send,
    Sleep,
    TransportFailure,
    Warn,
)

Outcome = RawResponse | TransportFailure
_PACKAGE = __name__.split(".", 1)[0] + "."


def caller_stacklevel() -> int:
    """The warnings stacklevel of the first frame outside this package, seen from the caller of warn()."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


_DONE, _PAGE = object(), object()


def step(flow: Flow, outcome: Any) -> tuple[Any, Any]:
    """Resume a flow with an outcome: (_DONE, what it returned), (_PAGE, a page) or (the next action, None)."""
    try:
        action = flow.send(outcome)
    except StopIteration as stop:
        return _DONE, stop.value
    if type(action) is PageReady:
        return _PAGE, action.page
    return action, None


class _Driver:
    """What both drivers share: the flow's collaborators and ``perform``, which returns an action's
    outcome (the async driver's ``send`` and ``sleep`` return awaitables, which it awaits)."""

    def __init__(self, send: Callable[[PreparedRequest], Any], drift_log: Any = None,
                 sleep: Callable[[float], Any] = time.sleep,
                 scope: Callable[[], AbstractContextManager[Any]] = nullcontext) -> None:
        self.send = send
        self.drift_log = drift_log
        self.sleep = sleep
        self.scope = scope

    def perform(self, action: Action) -> Any:
        """Perform one action; sending and sleeping return what ``send`` / ``sleep`` return."""
        if isinstance(action, Send):
            return self.send(action.request)
        if isinstance(action, Sleep):
            return self.sleep(action.seconds)
        if isinstance(action, RequestIdObserved):
            record_request_id(action.request_id)
        elif isinstance(action, DriftObserved):
            if self.drift_log is not None:
                self.drift_log.check(action.operation, action.status, action.content_type, action.payload,
                                     action.problems)
        elif isinstance(action, Warn):
            warnings.warn(action.message, action.category, stacklevel=caller_stacklevel())
        else:
            raise TypeError(f"a flow yielded {type(action).__name__}, which no driver performs")
        return None


class SyncDriver(_Driver):
    """Runs flows in the calling thread: ``send`` performs one HTTP exchange, ``sleep`` waits.

    ``scope`` wraps each stretch of work (one call, or one page of a listing), e.g. a deadline.
    """

    def advance(self, flow: Flow) -> tuple[bool, Any]:
        """Run a flow up to its next page (False, page) or its end (True, what it returned)."""
        outcome = None
        with self.scope():
            while True:
                action, value = step(flow, outcome)
                if action is _DONE or action is _PAGE:
                    return action is _DONE, value
                outcome = self.perform(action)

    def run(self, flow: Flow, finish: Callable[[Any], Any] | None = None) -> Any:
        """Drive a flow to its end; returns what it returns (passed through ``finish`` when given)."""
        done, value = self.advance(flow)
        while not done:
            done, value = self.advance(flow)
        return value if finish is None else finish(value)

    def pages(self, flow: Flow) -> Iterator[Any]:
        """Drive a paginating flow, yielding each page it hands out."""
        done, page = self.advance(flow)
        while not done:
            yield page
            del page  # not held while the next page is fetched
            done, page = self.advance(flow)


class AsyncDriver(_Driver):
    """Runs flows under asyncio: ``send`` is a coroutine function, sleeping is ``asyncio.sleep``."""

    def __init__(self, send: Callable[[PreparedRequest], Awaitable[Outcome]], drift_log: Any = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None,
                 scope: Callable[[], AbstractContextManager[Any]] = nullcontext) -> None:
        if sleep is None:
            import asyncio  # here, not at module level: a sync client's start-up does not pay for asyncio

            sleep = asyncio.sleep
        super().__init__(send, drift_log, sleep, scope)

    async def advance(self, flow: Flow) -> tuple[bool, Any]:
        """Run a flow up to its next page (False, page) or its end (True, what it returned)."""
        outcome = None
        with self.scope():
            while True:
                action, value = step(flow, outcome)
                if action is _DONE or action is _PAGE:
                    return action is _DONE, value
                outcome = self.perform(action)
                if outcome is not None:  # sending or sleeping: an awaitable
                    outcome = await outcome

    async def run(self, flow: Flow, finish: Callable[[Any], Any] | None = None) -> Any:
        """Drive a flow to its end; returns what it returns (passed through ``finish`` when given)."""
        done, value = await self.advance(flow)
        while not done:
            done, value = await self.advance(flow)
        return value if finish is None else finish(value)

    async def pages(self, flow: Flow) -> AsyncIterator[Any]:
        """Drive a paginating flow, yielding each page it hands out."""
        done, page = await self.advance(flow)
        while not done:
            yield page
            del page  # not held while the next page is fetched
            done, page = await self.advance(flow)
