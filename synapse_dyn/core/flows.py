"""The protocol flows: send (with retries), call (send + decode) and paginate. Pure generators.

A flow yields actions (messages.py) and receives their outcomes; it never sleeps, reads the
wall clock (the session's clock is injected), writes a ContextVar or file, or warns by itself.
Drivers (drivers.py) perform the actions, synchronously or under asyncio.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .. import errors
from ..conventions import Pagination
from ..records import Page
from ..registry import Operation
from ..util.urls import same_origin_url
from . import decoding
from .messages import (
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
from .session import Session

log = logging.getLogger("synapse_dyn")


def returning(value: Any = None) -> Flow:
    """A flow that sends nothing and returns ``value`` (e.g. the page before the first: None)."""
    return value
    yield  # a generator, like every flow


def send_flow(session: Session, request: PreparedRequest) -> Flow:
    """Send with retries; returns the final RawResponse (or raises a TransportError)."""
    clock = session.clock
    started = clock()
    attempt = 0
    while True:
        sent_at = clock()
        outcome = yield Send(request)
        elapsed = clock() - started
        if log.isEnabledFor(logging.DEBUG):
            _log_outcome(request, outcome, clock() - sent_at)
        if type(outcome) is RawResponse and outcome.status not in session.retry.statuses:
            break  # the common case: an answer no policy retries
        wait, reason = _retry_wait(session, request, outcome, attempt, elapsed)
        if wait is None:
            break
        attempt += 1
        log.info("retrying %s %s (attempt %d of %d) in %.2fs after %s", request.method,
                 urlsplit(request.url).path, attempt + 1, session.retry.retries + 1, wait, reason)
        yield Sleep(wait)
    if isinstance(outcome, TransportFailure):
        raise transport_error(request, outcome, attempt)
    return outcome


def _retry_wait(session: Session, request: PreparedRequest, outcome: RawResponse | TransportFailure,
                attempt: int, elapsed: float) -> tuple[float | None, str]:
    """(seconds before the next attempt or None to stop, the reason to log). An answer over the size
    limit is never retried: the next one would be as large."""
    if isinstance(outcome, TransportFailure):
        if outcome.kind == "too_large":
            return None, "response too large"
        return session.retry.delay(request.method, attempt, elapsed, failure_sent=outcome.sent), f"{outcome.kind} error"
    retry_after = outcome.headers.get("retry-after")
    wait = session.retry.delay(request.method, attempt, elapsed, status=outcome.status, retry_after=retry_after,
                               now=session.wall_clock() if retry_after else None)
    return wait, f"HTTP {outcome.status}"


def _log_outcome(request: PreparedRequest, outcome: Any, seconds: float) -> None:
    result = (f"{outcome.kind} failure" if isinstance(outcome, TransportFailure)
              else f"HTTP {outcome.status} request_id={outcome.headers.get('x-request-id', '-')}")
    log.debug("%s %s -> %s (%.1f ms)", request.method, urlsplit(request.url).path, result, seconds * 1000)


def transport_error(request: PreparedRequest, outcome: TransportFailure, attempt: int) -> errors.TransportError:
    cls = errors.TimeoutError if outcome.kind == "timeout" else (
        errors.ProtocolError if outcome.kind in ("protocol", "too_large") else errors.TransportError)
    suffix = f" after {attempt + 1} attempts" if attempt else ""
    return cls(f"{request.method} {urlsplit(request.url).path}: {outcome.message}{suffix}", sent=outcome.sent)


def call_flow(session: Session, op: Operation | None, request: PreparedRequest, *, paginated: bool = False) -> Flow:
    """Send one request and turn the answer into its result (Record, Page, None, JSON) or exception."""
    for message in request.warnings:
        yield Warn(message, errors.RequestValidationWarning)
    raw = yield from send_flow(session, request)
    return (yield from response_flow(session, op, raw, paginated=paginated))


def response_flow(session: Session, op: Operation | None, raw: RawResponse, *, paginated: bool = False) -> Flow:
    """A response -> Record / Page / None / raw value, or the matching exception."""
    name = op.qualified_name if op else "request"
    envelope = op.envelope if op is not None else session.registry.conventions.envelope
    if raw.status >= 400:
        error = decoding.error_from_response(name, raw, session.secrets(), envelope, session.wall_clock())
        if error.request_id:
            yield RequestIdObserved(error.request_id)
        raise error
    header_id = raw.headers.get("x-request-id")
    if header_id:
        yield RequestIdObserved(header_id)
    if raw.status == 204 or (not raw.content and op is not None and op.success_schema is None):
        return None
    if not raw.content:
        raise errors.ProtocolError(f"{name}: the server sent an empty body with HTTP {raw.status}; expected JSON")
    pagination = op.pagination if op is not None else session.registry.conventions.pagination
    try:
        payload, request_id = decoding.unwrap_envelope(decoding.decode(raw), envelope, pagination)
    except errors.ClientError as exc:  # a flag envelope reporting failure inside a 2xx answer
        raise decoding.flag_failure(exc, raw.status, session.secrets()) from None
    if request_id:
        yield RequestIdObserved(request_id)
    if op is None:
        return decoding.plain_page(payload, pagination, request_id) if paginated else payload
    if paginated or op.is_paginated:
        decoding.check_page(op, payload, pagination)
    yield from check_response(session, op, raw, payload, request_id)
    return decoding.wrap_result(session, op, payload, request_id)


def check_response(session: Session, op: Operation, raw: RawResponse, payload: Any, request_id: str | None) -> Flow:
    """Validate an answer per ``validate_responses``; report it to the drift log when there is one."""
    mode = session.validate_responses
    if mode == "off":
        return
    compiled, problems = decoding.response_problems(session, op, raw, payload)
    if session.drift_log is not None:
        yield DriftObserved(op, raw.status, raw.headers.get("content-type", ""), payload, problems)
    if not problems:
        return
    where = compiled.name if compiled is not None else op.qualified_name
    if mode == "strict":
        cause = compiled.first_error(payload) if compiled is not None else None
        raise decoding_error(where, raw, problems, request_id) from cause
    yield Warn(f"{op.qualified_name}: response does not match {where}: "
               + "; ".join(f"{p['field'] or '<root>'}: {p['message']}" for p in problems[:5]),
               errors.ResponseValidationWarning)


def decoding_error(where: str, raw: RawResponse, problems: list[dict[str, Any]],
                   request_id: str | None) -> errors.ValidationError:
    from .encoding import validation_error

    return validation_error(f"{where} (HTTP {raw.status} response)", problems, status=raw.status,
                            request_id=request_id)


def paginate_flow(session: Session, request: PreparedRequest) -> Flow:
    """Every page from the first request on, each handed out as PageReady before the next is fetched."""
    op = request.operation
    pagination = op.pagination if op is not None else session.registry.conventions.pagination
    seen = 0
    current: PreparedRequest | None = request
    while current is not None:
        page: Page | None = yield from call_flow(session, op, current, paginated=True)
        if page is None:  # a schema-less 204: nothing to list
            return
        seen += len(page.results)
        yield PageReady(page)
        current = next_page_request(session.base_url, current, page, pagination, seen)
        del page  # not held while the next page is fetched: memory stays at about one page


def next_page_request(base_url: str, request: PreparedRequest, page: Page, pagination: Pagination,
                      seen: int) -> PreparedRequest | None:
    """The request for the page after ``page``: its next link or cursor, else (offset style) by count."""
    link = page.next
    if isinstance(link, str) and link.startswith(("http://", "https://", "/")):
        url = same_origin_url(base_url, link, "follow a next-page link")
        return dataclasses.replace(request, url=url.split("?", 1)[0], warnings=(),
                                   params=parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if link:
        param = pagination.cursor_param if pagination.style == "cursor" else pagination.offset_param
        return with_param(request, param, str(link))
    if pagination.style != "offset" or not page.results or not isinstance(page.count, int) or seen >= page.count:
        return None
    params = dict(request.params)
    if pagination.by_page_number:
        current = int(params.get(pagination.offset_param) or 1)
        size = int(params.get(pagination.size_param) or len(page.results))
        return None if current * size >= page.count else with_param(request, pagination.offset_param, str(current + 1))
    following = int(params.get(pagination.offset_param) or 0) + len(page.results)
    return None if following >= page.count else with_param(request, pagination.offset_param, str(following))


def link_request(session: Session, request: PreparedRequest, link: str | None) -> PreparedRequest | None:
    """The request for the page a ``next`` / ``previous`` link names (None at either end of a listing)."""
    if not link:
        return None
    op = request.operation
    pagination = op.pagination if op is not None else session.registry.conventions.pagination
    return next_page_request(session.base_url, request, Page([], link), pagination, 0)


def with_param(request: PreparedRequest, name: str, value: str) -> PreparedRequest:
    """A copy of request with one query parameter set (replacing any earlier value)."""
    params = [(k, v) for k, v in request.params if k != name] + [(name, value)]
    return dataclasses.replace(request, params=params, warnings=())
