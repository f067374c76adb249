"""The sans-IO core: arguments -> request, response -> result. No sockets, no sleeping.

Both clients drive the same generators: a flow yields ``Send(request)`` and
``Sleep(seconds)`` actions and receives what sending produced (a RawResponse or a
TransportFailure). Retrying, envelope unwrapping, validation, error mapping and
pagination are written once, here.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from . import errors
from .auth import Credentials, check_header_value, mask_headers, mask_secret_fields, scrub
from .naming import identifier
from .observability import record_request_id
from .records import Page, Record, record_class
from .registry import Operation, Registry
from .retry import RetryPolicy
from .validation import Validators

log = logging.getLogger("synapse_dyn")

VALIDATION_MODES = ("strict", "warn", "off")
EXTRA_QUERY_EXTENSION = "x-synapse-extra-query"  # the operation accepts filters the schema does not list
USER_AGENT = "synapse-dyn"


@dataclass(slots=True)
class PreparedRequest:
    """Everything needed to send one HTTP request."""

    method: str
    url: str
    headers: dict[str, str]
    params: list[tuple[str, str]] = field(default_factory=list)
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    content: bytes | None = None
    operation: Operation | None = None
    read_timeout: float | None = None  # a longer read timeout for one slow request

    def describe(self) -> dict[str, Any]:
        """A printable, token-masked view (for --dry-run and logs)."""
        out: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.params:
            out["params"] = self.params
        out["headers"] = mask_headers(self.headers)
        if self.json is not None:
            out["json"] = mask_secret_fields(self.json)
        if self.data:
            out["data"] = mask_secret_fields(self.data)
        if self.files:
            out["files"] = sorted(self.files)
        return out


@dataclass(slots=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes
    reason: str = ""


@dataclass(slots=True)
class TransportFailure:
    """A request that produced no response. ``sent`` False means it never reached the server."""

    kind: str  # connect | timeout | read | protocol
    message: str
    sent: bool


@dataclass(slots=True)
class Send:
    request: PreparedRequest


@dataclass(slots=True)
class Sleep:
    seconds: float


Flow = Generator[Send | Sleep, Any, Any]


@dataclass
class Session:
    """Everything a call needs besides its arguments; shared by Client and AsyncClient."""

    base_url: str
    registry: Registry
    credentials: Credentials
    validators: Validators
    validate_responses: str = "strict"
    validate_requests: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    drift_log: Any = None

    _record_classes: dict[str | None, type[Record]] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        return self.credentials.secret_header_values()

    def record_class(self, schema_name: str | None) -> type[Record]:
        """The Record class of a component schema: its field names and which of them are secret."""
        try:
            return self._record_classes[schema_name]
        except KeyError:
            pass
        fields: tuple[str, ...] = ()
        secret: frozenset[str] = frozenset()
        if schema_name:
            try:
                props = self.registry.object_properties({"$ref": "#/components/schemas/" + schema_name})
            except errors.SpecError:
                props = {}
            fields = tuple(props)
            secret = frozenset(n for n, p in props.items() if isinstance(p, dict) and p.get("x-secret"))
        cls = self._record_classes[schema_name] = record_class(schema_name, fields, secret)
        return cls


@dataclass(slots=True)
class BoundCall:
    """A call's arguments sorted by where they go."""

    path: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, Any]
    body: Any
    list_all: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# -- arguments ------------------------------------------------------------


def bind_arguments(
    op: Operation, parents: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any],
    extra_keywords: tuple[str, ...] = (),
) -> BoundCall:
    """Sort positional and keyword arguments into path, query, header and body parts.

    Raises UnknownArgumentError (a TypeError) naming the bad argument and listing the valid ones.
    """
    path = dict(zip(op.bound_path_params, parents, strict=False))
    own = op.own_path_params
    args = list(args)
    body: Any = None
    for name in own:
        if not args:
            break
        path[name] = args.pop(0)
    if args and op.body is not None and isinstance(args[0], Mapping | list):
        body = args.pop(0)
    if args:
        takes = ", ".join(own + (["body"] if op.body else [])) or "no positional arguments"
        raise errors.UnknownArgumentError(
            f"{op.qualified_name}() got {len(args)} unexpected positional argument(s); it takes: {takes}"
        )
    header_names = {identifier(h).lower(): h for h in op.header_params} if op.header_params else {}
    query: dict[str, Any] = {}
    headers: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    bound = BoundCall(path, query, headers, None)
    for key, value in kwargs.items():
        name = op.keyword_aliases.get(key, key)
        if name == "list_all" and op.is_paginated:
            bound.list_all = bool(value)
        elif name == "body" and op.body is not None:
            body = value
        elif name in extra_keywords:
            bound.extra[name] = value
        elif name in op.path_param_specs and name not in op.bound_path_params:
            if name in path:
                raise errors.UnknownArgumentError(f"{op.qualified_name}() got multiple values for {name!r}")
            path[name] = value
        elif name in op.query_params:
            query[name] = value
        elif name in op.header_params or name.lower() in header_names:
            headers[op.header_params.get(name) and name or header_names[name.lower()]] = value
        elif name in op.body_fields:
            fields[name] = value
        elif op.raw.get(EXTRA_QUERY_EXTENSION):
            query[name] = value
        else:
            valid = sorted(set(op.accepted_keywords()) | set(extra_keywords))
            raise errors.UnknownArgumentError(
                f"{op.qualified_name}() got an unexpected keyword argument {key!r}; valid: {', '.join(valid)}"
            )
    missing = [] if all(map(path.__contains__, op.path_params)) else [n for n in op.path_params if n not in path]
    if missing:
        raise errors.ValidationError(
            f"{op.qualified_name}() is missing path parameter(s): {', '.join(missing)}",
            code="REQUEST_INVALID",
            detail={"schema": f"{op.qualified_name} parameters",
                    "errors": [{"field": m, "kind": "required", "message": "required field is missing"} for m in missing]},
        )
    if fields:
        if body is not None and not isinstance(body, Mapping):
            raise errors.UnknownArgumentError(f"{op.qualified_name}(): body fields as keywords need a mapping body")
        body = {**(dict(body) if body is not None else {}), **fields}
    bound.body = body
    return bound


# -- requests ---------------------------------------------------------------


def encode_path_value(value: Any) -> str:
    """Percent-encode one path parameter so it can never change the route ('/', '..', '?', '#')."""
    text = _scalar(value)
    encoded = quote(text.encode("utf-8", "surrogatepass"), safe="")
    if encoded in ("", ".", ".."):
        encoded = encoded.replace(".", "%2E") or "%20"
    return encoded


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def query_items(query: dict[str, Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for name, value in query.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set):
            items.extend((name, _scalar(v)) for v in value)
        elif isinstance(value, dict):
            items.append((name, json.dumps(value)))
        else:
            items.append((name, _scalar(value)))
    for name, text in items:
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise errors.ValidationError(
                    f"query parameter {name!r} holds a character that cannot be encoded", code="REQUEST_INVALID",
                    detail={"schema": "query", "errors": [{"field": name, "kind": "encoding",
                                                           "message": "not valid UTF-8 text"}]},
                ) from None
    return items


def _is_file(value: Any) -> bool:
    return isinstance(value, PurePath | bytes | bytearray) or hasattr(value, "read")


def _validation_error(where: str, detail_errors: list[dict[str, Any]], *, status: int | None = None,
                      request_id: str | None = None, response: Any = None) -> errors.ValidationError:
    fields = ", ".join(f"{e['field'] or '<root>'} ({e['message']})" for e in detail_errors[:5])
    more = f" and {len(detail_errors) - 5} more" if len(detail_errors) > 5 else ""
    return errors.ValidationError(
        f"{where} does not match the schema: {fields}{more}",
        status_code=status,
        code="SCHEMA_MISMATCH" if status else "REQUEST_INVALID",
        request_id=request_id,
        response=response,
        detail={"schema": where, "errors": detail_errors},
    )


def validate_request(session: Session, op: Operation, bound: BoundCall) -> None:
    """Check parameters and body against the schema; nothing is sent when this raises."""
    params = {**bound.path, **bound.query, **bound.headers}
    compiled = session.validators.parameters(op)
    if not compiled.is_valid(params):
        raise _validation_error(f"{op.qualified_name} parameters", compiled.errors(params)) from \
            compiled.first_error(params)
    if op.body is None:
        return
    if bound.body is None:
        if op.body.required:
            raise errors.ValidationError(
                f"{op.qualified_name}() needs a request body ({', '.join(op.body_fields) or 'see help'})",
                code="REQUEST_INVALID",
                detail={"schema": op.qualified_name, "errors": [{"field": "body", "kind": "required",
                                                                 "message": "request body is required"}]},
            )
        return
    body = bound.body
    if isinstance(body, Mapping):
        body = {k: ("" if _is_file(v) else v) for k, v in body.items()}
    compiled_body = session.validators.body(op)
    if compiled_body is not None and not compiled_body.is_valid(body):
        raise _validation_error(compiled_body.name, compiled_body.errors(body)) from compiled_body.first_error(body)


def build_request(session: Session, op: Operation, bound: BoundCall) -> PreparedRequest:
    """Validate the call and turn it into a PreparedRequest."""
    if session.validate_requests:
        validate_request(session, op, bound)
    path = op.path
    for name, value in bound.path.items():
        path = path.replace("{" + name + "}", encode_path_value(value))
    headers = dict(session.credentials.base_headers())
    for name, value in bound.headers.items():
        headers[name] = check_header_value(name, _scalar(value))
    request = PreparedRequest(op.method.upper(), join_url(session.base_url, path), headers,
                              query_items(bound.query), operation=op)
    if bound.body is not None:
        _attach_body(op, request, bound.body)
    return request


def _attach_body(op: Operation, request: PreparedRequest, body: Any) -> None:
    assert op.body is not None
    has_files = isinstance(body, Mapping) and any(_is_file(v) for v in body.values())
    multipart = next((c for c in op.body.content_types if c.startswith("multipart/")), None)
    if has_files and multipart:
        request.files, request.data = {}, {}
        for key, value in body.items():
            if _is_file(value):
                request.files[key] = value
            elif isinstance(value, dict | list):
                request.data[key] = json.dumps(value)
            else:
                request.data[key] = _scalar(value)
    elif op.body.content_type.startswith("application/x-www-form-urlencoded") and isinstance(body, Mapping):
        request.data = {k: _scalar(v) for k, v in body.items()}
    else:
        request.json = body
        request.content = encode_json(body, f"{op.qualified_name}() body")
        request.headers["Content-Type"] = "application/json"


def _mapping_as_dict(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)


def encode_json(value: Any, where: str) -> bytes:
    """Strict JSON bytes (no NaN/Infinity, no lone surrogates); anything else is a ValidationError."""
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"),
                          default=_mapping_as_dict).encode("utf-8")
    except (ValueError, TypeError, RecursionError, UnicodeEncodeError) as exc:
        problem = type(exc).__name__ if not isinstance(exc, TypeError) else "a value that is not JSON"
        raise errors.ValidationError(
            f"{where} cannot be sent as JSON ({problem})", code="REQUEST_INVALID",
            detail={"schema": where, "errors": [{"field": "body", "kind": "json",
                                                  "message": "not representable as strict JSON"}]},
        ) from None


def join_url(base_url: str, path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def same_origin_url(base_url: str, link: str, purpose: str) -> str:
    """An absolute or root-relative link resolved against base_url's origin; another origin is refused
    (the request would carry our credentials there)."""
    base = urlsplit(base_url)
    url = f"{base.scheme}://{base.netloc}{link}" if link.startswith("/") else join_url(base_url, link)
    target = urlsplit(url)
    if (target.scheme, target.netloc) != (base.scheme, base.netloc):
        raise errors.ProtocolError(f"refusing to {purpose} to another origin ({target.scheme}://{target.netloc})")
    return url


def user_agent() -> str:
    from . import __version__

    return f"{USER_AGENT}/{__version__}"


# -- responses --------------------------------------------------------------


def unwrap_envelope(payload: Any) -> tuple[Any, str | None]:
    """Strip the backend's ``{data, meta}`` envelope (only when both are at the root)."""
    if not (isinstance(payload, dict) and "data" in payload and "meta" in payload):
        return payload, None
    meta = payload.get("meta") or {}
    request_id = meta.get("request_id") if isinstance(meta, dict) else None
    data = payload["data"]
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    if isinstance(data, list) and isinstance(pagination, dict):
        page: dict[str, Any] = {
            "results": data,
            "next": pagination.get("next_cursor"),
            "previous": pagination.get("previous_cursor"),
        }
        if "count" in pagination:
            page["count"] = pagination["count"]
        return page, request_id
    if isinstance(data, list) and pagination is None and isinstance(meta, dict) and "next_cursor" in meta:
        return {"results": data, "next": meta.get("next_cursor"), "previous": meta.get("previous_cursor")}, request_id
    return data, request_id


def _decode(raw: RawResponse) -> Any:
    if not raw.content:
        return None
    if (raw.content[:1] not in (b"{", b"[") and "json" not in raw.headers.get("content-type", "")
            and raw.content.lstrip()[:1] not in (b"{", b"[")):
        return raw.content.decode("utf-8", "replace")
    try:
        return json.loads(raw.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.ProtocolError(f"the server sent malformed JSON ({len(raw.content)} bytes, HTTP {raw.status})") from exc


def error_from_response(op_name: str, raw: RawResponse, secrets: list[str]) -> errors.ClientError:
    """Map an error status and the backend's error envelope (or DRF's shapes) to an exception."""
    try:
        payload = _decode(raw)
    except errors.ProtocolError:
        payload = None
    code = message = request_id = None
    details: list[dict[str, Any]] = []
    if isinstance(payload, dict):
        envelope = payload.get("error")
        meta = payload.get("meta")
        if isinstance(meta, dict):
            request_id = meta.get("request_id")
        if isinstance(envelope, dict):
            code, message = envelope.get("code"), envelope.get("message")
            details = [d for d in envelope.get("details") or [] if isinstance(d, dict)]
        elif isinstance(payload.get("detail"), str):
            message = payload["detail"]
            code = payload.get("code")
        else:
            details = [{"field": k, "message": "; ".join(map(str, v)) if isinstance(v, list) else str(v)}
                       for k, v in payload.items() if k != "meta"]
    elif isinstance(payload, str) and payload.strip() and not payload.lstrip().startswith("<"):
        message = payload.strip().splitlines()[0][:200]
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
        from .retry import parse_retry_after

        kwargs["retry_after"] = parse_retry_after(raw.headers.get("retry-after"))
    if cls is errors.ValidationError:
        kwargs["detail"] = {"schema": op_name, "errors": details}
    record_request_id(request_id)
    return cls(f"{message}", **kwargs)


def _op_name(op: Operation | None) -> str:
    return op.qualified_name if op else "request"


def handle_response(session: Session, op: Operation | None, raw: RawResponse, *, paginated: bool = False) -> Any:
    """A response -> Record / Page / None / raw value, or the matching exception."""
    if raw.status >= 400:
        raise error_from_response(_op_name(op), raw, session.secrets())
    record_request_id(raw.headers.get("x-request-id"))
    if raw.status == 204 or (not raw.content and op is not None and op.success_schema is None):
        return None
    if not raw.content:
        raise errors.ProtocolError(f"{_op_name(op)}: the server sent an empty body with HTTP {raw.status}; expected JSON")
    payload, request_id = unwrap_envelope(_decode(raw))
    record_request_id(request_id)
    if op is None:
        return payload
    if (paginated or op.is_paginated) and (
        not isinstance(payload, dict) or not isinstance(payload.get("results"), list)
    ):
        raise errors.ProtocolError(
            f"{op.qualified_name}: the response is not a page (no 'results' list"
            f"{'; keys: ' + ', '.join(sorted(payload)) if isinstance(payload, dict) else ''})"
        )
    _check_response(session, op, raw, payload, request_id)
    return wrap_result(session, op, payload, request_id)


def _check_response(session: Session, op: Operation, raw: RawResponse, payload: Any, request_id: str | None) -> None:
    mode = session.validate_responses
    if mode == "off":
        return
    compiled = session.validators.response(op, raw.status)
    problems: list[dict[str, Any]] = []
    if str(raw.status) not in op.responses and f"{str(raw.status)[0]}XX" not in op.responses:
        problems = [{"field": "", "kind": "status", "message": f"undocumented status {raw.status}"}]
    elif compiled is not None and not compiled.is_valid(payload):
        problems = compiled.errors(payload)
    if session.drift_log is not None:
        session.drift_log.check(op, raw.status, raw.headers.get("content-type", ""), payload, problems)
    if not problems:
        return
    where = compiled.name if compiled is not None else op.qualified_name
    if mode == "strict":
        cause = compiled.first_error(payload) if compiled is not None else None
        raise _validation_error(f"{where} (HTTP {raw.status} response)", problems, status=raw.status,
                                request_id=request_id) from cause
    warnings.warn(f"{op.qualified_name}: response does not match {where}: "
                  + "; ".join(f"{p['field'] or '<root>'}: {p['message']}" for p in problems[:5]),
                  errors.ResponseValidationWarning, stacklevel=6)


def wrap_result(session: Session, op: Operation, payload: Any, request_id: str | None = None) -> Any:
    if isinstance(payload, dict) and op.is_paginated and isinstance(payload.get("results"), list):
        make = session.record_class(op.item_schema_name)
        results = [make(i) if type(i) is dict else i for i in payload["results"]]
        return Page(results, payload.get("next"), payload.get("previous"), payload.get("count"), request_id)
    if isinstance(payload, dict):
        return session.record_class(op.result_schema_name)(payload)
    return payload


# -- flows ------------------------------------------------------------------


def send_flow(session: Session, request: PreparedRequest) -> Flow:
    """Send with retries; returns the final RawResponse (or raises TransportError)."""
    started = time.monotonic()
    attempt = 0
    while True:
        sent_at = time.monotonic()
        outcome = yield Send(request)
        elapsed = time.monotonic() - started
        if log.isEnabledFor(logging.DEBUG):
            result = (f"{outcome.kind} failure" if isinstance(outcome, TransportFailure)
                      else f"HTTP {outcome.status} request_id={outcome.headers.get('x-request-id', '-')}")
            log.debug("%s %s -> %s (%.1f ms)", request.method, urlsplit(request.url).path, result,
                      (time.monotonic() - sent_at) * 1000)
        if isinstance(outcome, TransportFailure):
            wait = session.retry.delay(request.method, attempt, elapsed, failure_sent=outcome.sent)
            reason = f"{outcome.kind} error"
        else:
            wait = session.retry.delay(request.method, attempt, elapsed, status=outcome.status,
                                       retry_after=outcome.headers.get("retry-after"))
            reason = f"HTTP {outcome.status}"
        if wait is None:
            break
        attempt += 1
        log.info("retrying %s %s (attempt %d of %d) in %.2fs after %s", request.method,
                 urlsplit(request.url).path, attempt + 1, session.retry.retries + 1, wait, reason)
        yield Sleep(wait)
    if isinstance(outcome, TransportFailure):
        cls = errors.TimeoutError if outcome.kind == "timeout" else (
            errors.ProtocolError if outcome.kind == "protocol" else errors.TransportError)
        suffix = f" after {attempt + 1} attempts" if attempt else ""
        raise cls(f"{request.method} {urlsplit(request.url).path}: {outcome.message}{suffix}", sent=outcome.sent)
    return outcome


def call_flow(session: Session, op: Operation | None, request: PreparedRequest, *, paginated: bool = False) -> Flow:
    raw = yield from send_flow(session, request)
    return handle_response(session, op, raw, paginated=paginated)


class Paginator:
    """Produces the request for each page: the first from the call, the next from the page's cursor."""

    def __init__(self, session: Session, op: Operation, bound: BoundCall) -> None:
        self.session = session
        self.op = op
        self.bound = bound

    def first(self) -> PreparedRequest:
        return build_request(self.session, self.op, self.bound)

    def next(self, page: Page) -> PreparedRequest | None:
        link = page.next
        if not link:
            return None
        if link.startswith(("http://", "https://", "/")):
            url = same_origin_url(self.session.base_url, link, "follow a next-page link")
            target = urlsplit(url)
            request = build_request(self.session, self.op, self.bound)
            request.url, request.params = url.split("?", 1)[0], parse_qsl(target.query, keep_blank_values=True)
            return request
        param = self.op.pagination_param or "cursor"
        self.bound.query[param] = link
        return build_request(self.session, self.op, self.bound)
