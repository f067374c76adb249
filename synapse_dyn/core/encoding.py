"""BoundCall -> PreparedRequest: request validation, path and query encoding, the body in its media type."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .. import errors
from ..auth import check_header_value
from ..registry import Operation
from .binding import BoundCall, unknown_body_keys
from .coercion import is_file
from .messages import PreparedRequest
from .session import Session


def encode_path_value(value: Any) -> str:
    """Percent-encode one path parameter so it can never change the route ('/', '..', '?', '#')."""
    text = scalar(value)
    encoded = quote(text.encode("utf-8", "surrogatepass"), safe="")
    if encoded in ("", ".", ".."):
        encoded = encoded.replace(".", "%2E") or "%20"
    return encoded


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def query_items(query: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query parameters as (name, text) pairs: lists repeat the name, objects are JSON, None is left out."""
    items: list[tuple[str, str]] = []
    for name, value in query.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set):
            items.extend((name, scalar(v)) for v in value)
        elif isinstance(value, dict):
            items.append((name, json.dumps(value)))
        else:
            items.append((name, scalar(value)))
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


def validation_error(where: str, detail_errors: list[dict[str, Any]], *, status: int | None = None,
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


def request_problems(session: Session, op: Operation, bound: BoundCall) -> list[str]:
    """Check parameters and body against the schema: raise in strict mode, else return the problems as text."""
    strict = session.validate_requests == "strict"
    params = {**bound.path, **bound.query, **bound.headers}
    compiled = session.validators.parameters(op)
    problems: list[str] = []
    if not compiled.is_valid(params):
        error = validation_error(f"{op.qualified_name} parameters", compiled.errors(params))
        if strict:
            raise error from compiled.first_error(params)
        problems.append(str(error))
    if op.body is None:
        return problems
    if bound.body is None:
        if op.body.required:
            raise errors.ValidationError(
                f"{op.qualified_name}() needs a request body ({', '.join(op.body_fields) or 'see help'})",
                code="REQUEST_INVALID",
                detail={"schema": op.qualified_name, "errors": [{"field": "body", "kind": "required",
                                                                 "message": "request body is required"}]},
            )
        return problems
    return problems + _body_problems(session, op, bound.body, strict)


def _body_problems(session: Session, op: Operation, body: Any, strict: bool) -> list[str]:
    unknown = unknown_body_keys(op, body)
    problems = [f"{op.qualified_name}(): {text}" for text in unknown] if unknown else []
    if problems and strict:
        raise errors.UnknownArgumentError(problems[0])
    if isinstance(body, Mapping) and any(map(is_file, body.values())):  # files are checked as strings
        body = {k: ("" if is_file(v) else v) for k, v in body.items()}
    compiled = session.validators.body(op)
    if compiled is not None and not compiled.is_valid(body):
        error = validation_error(compiled.name, compiled.errors(body))
        if strict:
            raise error from compiled.first_error(body)
        problems.append(str(error))
    return problems


def build_request(session: Session, op: Operation, bound: BoundCall) -> PreparedRequest:
    """Validate the call (per the session's mode) and turn it into a PreparedRequest."""
    problems = request_problems(session, op, bound) if session.validate_requests != "off" else []
    path = op.relative_path
    for name, value in bound.path.items():
        path = path.replace("{" + name + "}", encode_path_value(value))
    headers = dict(session.credentials.base_headers())
    for name, value in bound.headers.items():
        headers[name] = check_header_value(name, scalar(value))
    request = PreparedRequest(op.method.upper(), session.base_url + "/" + path.lstrip("/"), headers,
                              query_items(bound.query), operation=op, warnings=tuple(problems))
    if bound.body is not None:
        attach_body(op, request, bound.body)
    return request


def attach_body(op: Operation, request: PreparedRequest, body: Any) -> None:
    """The body as multipart (when it holds files), a form, or strict JSON bytes."""
    assert op.body is not None
    has_files = isinstance(body, Mapping) and any(map(is_file, body.values()))
    multipart = next((c for c in op.body.content_types if c.startswith("multipart/")), None)
    if has_files and multipart:
        request.files, request.data = {}, {}
        for key, value in body.items():
            if is_file(value):
                request.files[key] = value
            elif isinstance(value, dict | list):
                request.data[key] = json.dumps(value)
            else:
                request.data[key] = scalar(value)
    elif op.body.content_type.startswith("application/x-www-form-urlencoded") and isinstance(body, Mapping):
        request.data = {k: scalar(v) for k, v in body.items()}
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
