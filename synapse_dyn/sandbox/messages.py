"""The sandbox's own request and response values, independent of httpx and http.server."""

from __future__ import annotations

import json
import mmap
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..conventions import Envelope

STATUS_CODES = {
    400: "VALIDATION_ERROR",
    401: "NOT_AUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    411: "LENGTH_REQUIRED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    501: "NOT_IMPLEMENTED",
    503: "SERVICE_UNAVAILABLE",
}


def new_request_id() -> str:
    """A fresh request id (``req_`` + 16 hex digits)."""
    return "req_" + secrets.token_hex(8)


@dataclass(slots=True)
class Request:
    """One HTTP request as the sandbox sees it (header names lower-cased; a large body is a memory map)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | mmap.mmap = b""

    @property
    def path(self) -> str:
        """The URL path."""
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> list[tuple[str, str]]:
        """The query string as (name, value) pairs."""
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the request URL."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower())


@dataclass(slots=True)
class Response:
    """One HTTP response: status, headers, body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


class ApiError(Exception):
    """An error answer: status, stable code, message, per-field details, extra headers, extra body fields."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 details: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "ERROR")
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        self.extra = extra or {}


def json_response(status: int, payload: Any, request_id: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer carrying the request id header (no body for 204)."""
    out = {"Content-Type": "application/json", "X-Request-Id": request_id}
    out.update(headers or {})
    body = b"" if payload is None and status == 204 else json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    if status == 204:
        out.pop("Content-Type")
    return Response(status, out, body)


def error_payload(error: ApiError, request_id: str, envelope: Envelope) -> dict[str, Any]:
    """The backend's error shape for an envelope convention, plus ``extra``.

    ``meta`` (v2): ``{"error": {code, message, details}, "meta": {request_id}}``; ``flag``: the
    failure flag and message; ``none`` (v1, DRF): ``detail``, or field -> messages for a 400.
    """
    if envelope.style == "meta":
        inner: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.details:
            inner["details"] = error.details
        return {"error": {**inner, **error.extra}, envelope.meta: {"request_id": request_id}}
    if envelope.style == "flag":
        return {envelope.ok: False, envelope.message: error.message, envelope.data: None, "code": error.code,
                **error.extra}
    if error.status == 400 and error.details:
        fields: dict[str, Any] = {}
        for detail in error.details:
            fields.setdefault(detail.get("field") or "non_field_errors", []).append(detail["message"])
        return {**fields, **error.extra}
    return {"detail": error.message, **error.extra}


def error_response(error: ApiError, request_id: str, envelope: Envelope) -> Response:
    """An error answer in the schema family's error shape."""
    return json_response(error.status, error_payload(error, request_id, envelope), request_id, error.headers)
