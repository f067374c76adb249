"""Request text -> typed values: query, path and form strings as their schemas declare them,
and bodies in JSON, form or multipart encoding."""

from __future__ import annotations

import json
import math
import mmap
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from ..registry import Operation, Registry
from .messages import ApiError, Request

_INTEGER = re.compile(r"^[+-]?\d+$")
_BOUNDARY = re.compile(r'boundary=("[^"]+"|[^;\s]+)', re.IGNORECASE)
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


class UploadedFile(dict):
    """A file part of a multipart body: ``{filename, size}``, with its bytes in ``content`` (not stored)."""

    def __init__(self, filename: str, content: bytes | memoryview = b"") -> None:
        super().__init__(filename=filename, size=len(content))
        self.content = content


class Parser:
    """Typed values for one registry's parameters and bodies."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def coerce(self, value: Any, schema: Any) -> Any:
        """A query/path/form string as the type its schema declares (left alone when it does not parse)."""
        schema = self.registry.resolve(schema) if isinstance(schema, dict) else {}
        kind = schema.get("type")
        if kind is None:
            for option in schema.get("anyOf") or schema.get("oneOf") or []:
                converted = self.coerce(value, option)
                if converted is not value:
                    return converted
            return value
        if kind == "array":
            items = value if isinstance(value, list) else str(value).split(",")
            return [self.coerce(v, schema.get("items") or {}) for v in items]
        if isinstance(value, list):
            value = value[-1] if value else ""
        if not isinstance(value, str):
            return value
        if kind == "integer" and _INTEGER.match(value.strip()):
            return int(value)
        if kind == "boolean" and value.lower() in TRUE + FALSE:
            return value.lower() in TRUE
        if kind in ("number", "object"):
            try:
                return float(value) if kind == "number" else json.loads(value)
            except ValueError:
                return value
        return value

    def is_array(self, spec: dict[str, Any]) -> bool:
        """Whether a parameter takes several values."""
        return (self.registry.resolve(spec.get("schema") or {}) or {}).get("type") == "array"

    def body(self, op: Operation, request: Request) -> Any:
        """The decoded body (None when empty); 400 for malformed JSON, 415 for an unknown encoding."""
        if not len(request.body):
            return None
        raw_type = request.header("content-type") or "application/json"
        content_type = raw_type.lower()
        if "multipart/form-data" in content_type:
            return self.form(op, multipart(request.body, raw_type))
        data = request.body if isinstance(request.body, bytes) else bytes(request.body)
        if "application/x-www-form-urlencoded" in content_type:
            return self.form(op, dict(parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True)))
        if "json" not in content_type and data.lstrip()[:1] not in (b"{", b"["):
            raise ApiError(415, f'Unsupported media type "{content_type}" in request.')
        try:
            value = json.loads(data, parse_constant=_refuse_constant)
            _check_strict_json(value)
            return value
        except (ValueError, UnicodeError, RecursionError):
            raise ApiError(400, "JSON parse error.", code="PARSE_ERROR") from None

    def form(self, op: Operation, form: dict[str, Any]) -> dict[str, Any]:
        """Form fields coerced to the types of the body schema's properties."""
        fields = op.body_fields
        return {k: v if isinstance(v, UploadedFile) or k not in fields else self.coerce(v, fields[k])
                for k, v in form.items()}


def multipart(body: bytes | mmap.mmap, content_type: str) -> dict[str, Any]:
    """Form fields as strings and file parts as UploadedFile; 400 when the body is not multipart.

    Parts are found by searching for the boundary, so a 50 MB chunk is sliced, not parsed line by line;
    ``body`` may be a memory map of a spooled file (file parts are then views of it, not copies).
    """
    boundary = _boundary(content_type)
    if not boundary:
        raise ApiError(400, "Multipart form parse error - Invalid boundary in multipart: None")
    delimiter = b"--" + boundary
    view = memoryview(body)
    out: dict[str, Any] = {}
    start = body.find(delimiter)
    while start >= 0:
        start += len(delimiter)
        if body[start:start + 2] == b"--":
            return out
        head_end = body.find(b"\r\n\r\n", start)
        end = body.find(b"\r\n" + delimiter, head_end + 4) if head_end >= 0 else -1
        if end < 0:
            break
        part = BytesParser(policy=HTTP).parsebytes(body[start:head_end + 4].lstrip(b"\r\n"), headersonly=True)
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = view[head_end + 4:end]
            filename = part.get_filename()
            out[str(name)] = UploadedFile(filename, payload) if filename else bytes(payload).decode("utf-8", "replace")
        start = end + 2
    raise ApiError(400, "Multipart form parse error - the body does not end with its closing boundary.")


def _boundary(content_type: str) -> bytes | None:
    """The boundary parameter of a multipart Content-Type header."""
    match = _BOUNDARY.search(content_type)
    return match.group(1).strip('"').encode("latin-1") if match else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_strict_json(value: Any) -> None:
    """Refuse what standard JSON cannot carry back: infinite numbers (1e999) and lone surrogates."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("number out of range")
        if isinstance(item, str):
            item.encode("utf-8")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
