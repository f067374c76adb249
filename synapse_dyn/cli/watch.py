"""``--watch`` (poll one object until its status is terminal) and ``--follow`` (poll a list for new items).

Which states are terminal comes from the schema, not from name lists: the response's
``status`` property lists its states in an ``enum``. A schema may name the terminal ones
with ``x-synapse-terminal: [...]`` on that property; otherwise a state written as a present
participle (PENDING, RUNNING, QUEUEING: ending in "ING") is in progress and every other
state of the enum (SUCCEEDED, FAILED, STOPPED) is terminal.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import Any

import click

from ..registry import Operation
from .state import AppState

STATUS_FIELD = "status"
TERMINAL_KEY = "x-synapse-terminal"
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def _status_schema(op: Operation) -> dict[str, Any] | None:
    from .params import effective_schema

    schema = op.success_schema
    if not schema:
        return None
    try:
        props = op.registry.object_properties(op.registry.resolve(schema))
    except (KeyError, TypeError, ValueError):
        return None
    if STATUS_FIELD not in props:
        return None
    raw = op.registry.resolve(props[STATUS_FIELD])
    target = effective_schema(op.registry, props[STATUS_FIELD])
    return {**target, **{k: v for k, v in raw.items() if k == TERMINAL_KEY}} if target.get("enum") else None


def status_values(op: Operation) -> list[str]:
    """The states of the response's status enum ([] when the operation has none)."""
    schema = _status_schema(op)
    return [str(v) for v in schema["enum"] if v is not None] if schema else []


def terminal_states(op: Operation) -> frozenset[str]:
    """Terminal states by the rule in this module's docstring."""
    schema = _status_schema(op) or {}
    declared = schema.get(TERMINAL_KEY)
    if isinstance(declared, list):
        return frozenset(str(v) for v in declared)
    return frozenset(v for v in status_values(op) if not v.upper().endswith("ING"))


class Spinner:
    """One status line on stderr, redrawn in place on a terminal; a line per change otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.frame = 0
        self.last: str | None = None
        self.started = time.monotonic()

    def update(self, text: str) -> None:
        if self.tty:
            self.frame = (self.frame + 1) % len(SPINNER)
            elapsed = int(time.monotonic() - self.started)
            click.echo(f"\r\x1b[2K{SPINNER[self.frame]} {text} ({elapsed}s)", nl=False, err=True)
        elif text != self.last:
            click.echo(text, err=True)
        self.last = text

    def done(self) -> None:
        if self.tty:
            click.echo("\r\x1b[2K", nl=False, err=True)


def watch(state: AppState, op: Operation, method: Any, args: list[Any], keywords: dict[str, Any],
          opts: Any, interval: float) -> None:
    """Retrieve until the status is terminal, then print the object."""
    from .output import emit
    from .textsafe import escape_controls

    terminal = terminal_states(op)
    spinner = Spinner()
    try:
        while True:
            result = method(*args, **keywords)
            status = str((result or {}).get(STATUS_FIELD))
            if status in terminal:
                break
            spinner.update(f"status {escape_controls(status)}")
            time.sleep(interval)
    finally:
        spinner.done()
    state.note(f"status {escape_controls(status)} (terminal)")
    emit(result, opts)


def _parent_watch(state: AppState, op: Operation, keywords: dict[str, Any]) -> Any:
    """For ``job-logs list --job ID``: a way to ask whether job ID has reached a terminal state."""
    for name, value in keywords.items():
        node = op.registry.root.children.get(f"{name}s")
        retrieve = node.verbs.get("retrieve") if node is not None else None
        if retrieve is None or not terminal_states(retrieve) or value is None:
            continue
        resource = getattr(state.client(), f"{name}s")
        done = terminal_states(retrieve)
        return lambda: str((resource.retrieve(value) or {}).get(STATUS_FIELD)) in done
    return None


def follow(state: AppState, op: Operation, method: Any, args: list[Any], keywords: dict[str, Any],
           opts: Any, interval: float) -> None:
    """Print every item, then poll for new ones (by id) until Ctrl-C or the parent job ends.

    json and yaml become ndjson here: a followed list has no end at which to close a document.
    """
    from .output import stream

    seen: deque[Any] = deque(maxlen=100_000)
    known: set[Any] = set()
    finished = _parent_watch(state, op, keywords)

    def fresh() -> Any:
        for item in method(*args, list_all=True, **keywords):
            key = item.get("id") if isinstance(item, dict) else item
            if key in known:
                continue
            if len(seen) == seen.maxlen:
                known.discard(seen[0])
            seen.append(key)
            known.add(key)
            yield item

    if opts.format in ("json", "yaml"):
        opts.format = "ndjson"  # one document per item: a followed list has no end to close
    while True:
        ended = finished() if finished else False
        if stream(fresh(), opts):
            opts.headers = False
        opts.note = None
        if ended:
            return
        time.sleep(interval)
