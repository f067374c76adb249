"""RawResponse -> JSON payload -> Record / Page / exception, by the registry's conventions.

Pure functions: the flows (flows.py) call them and turn what they find (request ids, drift,
warnings) into actions.
"""

from __future__ import annotations

import json
from typing import Any

from .. import errors
from ..auth import scrub
from ..conventions import Envelope, Pagination, dotted, has_dotted
from ..records import Page
from ..registry import Operation
from ..retry import parse_retry_after
from .messages import RawResponse
from .session import Session


def decode(raw: RawResponse) -> Any:
    """The body as JSON (text when it is plainly not JSON); malformed JSON is a ProtocolError."""
    if not raw.content:
        return None
    if (raw.content[:1] not in (b"{", b"[") and "json" not in raw.headers.get("content-type", "")
            and raw.content.lstrip()[:1] not in (b"{", b"[")):
        return raw.content.decode("utf-8", "replace")
    try:
        return json.loads(raw.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.ProtocolError(
            f"the server sent malformed JSON ({len(raw.content)} bytes, HTTP {raw.status})") from exc


def unwrap_envelope(payload: Any, envelope: Envelope = Envelope(), pagination: Pagination = Pagination(),  # noqa: B008
                    ) -> tuple[Any, str | None]:
    """(the data, the envelope's request id): a list with paging metadata becomes a page object
    keyed by the pagination's field names; anything without the envelope is returned as it is."""
    if envelope.style == "none" or not isinstance(payload, dict):
        return payload, None
    if envelope.style == "flag":
        return _unwrap_flag(payload, envelope)
    if envelope.data not in payload or envelope.meta not in payload:
        return payload, None
    request_id = dotted(payload, envelope.request_id)
    data = payload[envelope.data]
    if not isinstance(data, list):
        return data, request_id
    next_path, previous_path = envelope.next_cursor, envelope.previous_cursor
    paging = dotted(payload, next_path.rpartition(".")[0]) if "." in next_path else None
    if not isinstance(paging, dict):
        legacy = f"{envelope.meta}.next_cursor"  # cursors directly under meta (older backends)
        if not has_dotted(payload, legacy):
            return data, request_id
        next_path, previous_path = legacy, f"{envelope.meta}.previous_cursor"
    page = {pagination.results: data, pagination.next: dotted(payload, next_path),
            pagination.previous: dotted(payload, previous_path)}
    if has_dotted(payload, envelope.count):
        page[pagination.count] = dotted(payload, envelope.count)
    return page, request_id


def _unwrap_flag(payload: dict[str, Any], envelope: Envelope) -> tuple[Any, str | None]:
    if envelope.ok not in payload:
        return payload, None
    request_id = dotted(payload, envelope.request_id)
    if payload[envelope.ok] is False:
        message = payload.get(envelope.message) or "the backend reported a failure"
        raise errors.ClientError(str(message), code="RESULT_FALSE", request_id=request_id, response=payload)
    return payload.get(envelope.data), request_id


def flag_failure(exc: errors.ClientError, status: int, secrets: list[str]) -> errors.ClientError:
    """The failure a flag envelope reported, with the HTTP status and no secret in its message."""
    message = scrub(exc.message, secrets)
    return errors.ClientError(message, status_code=status, code=exc.code, request_id=exc.request_id,
                              response=exc.response)


def error_from_response(op_name: str, raw: RawResponse, secrets: list[str],
                        envelope: Envelope | None = None, now: float | None = None) -> errors.ClientError:
    """Map an error status and the backend's error envelope (or DRF's shapes) to an exception.
    ``now``: the caller's wall clock, for a Retry-After given as an HTTP date."""
    try:
        payload = decode(raw)
    except errors.ProtocolError:
        payload = None
    details: list[dict[str, Any]]
    if envelope is not None and envelope.style == "flag" and isinstance(payload, dict) and envelope.ok in payload:
        code, message, request_id, details = payload.get("code"), payload.get(envelope.message), None, []
    else:
        code, message, request_id, details = _error_parts(payload)
    request_id = request_id or raw.headers.get("x-request-id")
    if not message:
        message = raw.reason or f"HTTP {raw.status}"
    message = scrub(str(message), secrets)
    for d in details:
        d["message"] = scrub(str(d.get("message", "")), secrets)
    cls = errors.error_class_for(raw.status)
    kwargs: dict[str, Any] = {
        "status_code": raw.status, "code": code, "details": details, "request_id": request_id, "response": payload,
    }
    if cls is errors.RateLimitError:
        kwargs["retry_after"] = parse_retry_after(raw.headers.get("retry-after"), now)
    if cls is errors.ValidationError:
        kwargs["detail"] = {"schema": op_name, "errors": details}
    return cls(f"{message}", **kwargs)


def _error_parts(payload: Any) -> tuple[Any, Any, Any, list[dict[str, Any]]]:
    """(code, message, request id, details) from the error envelope, DRF's ``detail`` or field errors."""
    code = message = request_id = None
    details: list[dict[str, Any]] = []
    if isinstance(payload, dict):
        envelope, meta = payload.get("error"), payload.get("meta")
        if isinstance(meta, dict):
            request_id = meta.get("request_id")
        if isinstance(envelope, dict):
            code, message = envelope.get("code"), envelope.get("message")
            details = [d for d in envelope.get("details") or [] if isinstance(d, dict)]
        elif isinstance(payload.get("detail"), str):
            message, code = payload["detail"], payload.get("code")
        else:
            details = [{"field": k, "message": "; ".join(map(str, v)) if isinstance(v, list) else str(v)}
                       for k, v in payload.items() if k != "meta"]
    elif isinstance(payload, str) and payload.strip() and not payload.lstrip().startswith("<"):
        message = payload.strip().splitlines()[0][:200]
    return code, message, request_id, details


def check_page(op: Operation, payload: Any, pagination: Pagination) -> None:
    """A paginated answer must be a page object with a results list."""
    if not isinstance(payload, dict) or not isinstance(payload.get(pagination.results), list):
        keys = "; keys: " + ", ".join(sorted(payload)) if isinstance(payload, dict) else ""
        raise errors.ProtocolError(
            f"{op.qualified_name}: the response is not a page (no {pagination.results!r} list{keys})")


def plain_page(payload: Any, pagination: Pagination, request_id: str | None = None) -> Page:
    """A page of a schema-less answer (``request()``, ``api --paginate``): a page object by the
    conventions' field names, a bare list as one last page, anything else as a page of that one item."""
    if isinstance(payload, dict) and isinstance(payload.get(pagination.results), list):
        return Page(payload[pagination.results], payload.get(pagination.next), payload.get(pagination.previous),
                    payload.get(pagination.count), request_id)
    return Page(payload if isinstance(payload, list) else [payload], None, None, None, request_id)


def response_problems(session: Session, op: Operation, raw: RawResponse, payload: Any,
                      ) -> tuple[Any, list[dict[str, Any]]]:
    """(the compiled response schema or None, [{field, kind, message}] where the answer differs from it)."""
    compiled = session.validators.response(op, raw.status)
    if str(raw.status) not in op.responses and f"{str(raw.status)[0]}XX" not in op.responses:
        return compiled, [{"field": "", "kind": "status", "message": f"undocumented status {raw.status}"}]
    if compiled is not None and not compiled.is_valid(payload):
        return compiled, compiled.errors(payload)
    return compiled, []


def wrap_result(session: Session, op: Operation, payload: Any, request_id: str | None = None) -> Any:
    """A page object -> Page of Records; an object -> Record of its schema; anything else unchanged."""
    pagination = op.pagination
    if isinstance(payload, dict) and op.is_paginated and isinstance(payload.get(pagination.results), list):
        make = session.record_class(op.item_schema_name)
        results = [make(i) if type(i) is dict else i for i in payload[pagination.results]]
        return Page(results, payload.get(pagination.next), payload.get(pagination.previous),
                    payload.get(pagination.count), request_id)
    if isinstance(payload, dict):
        return session.record_class(op.result_schema_name)(payload)
    return payload
