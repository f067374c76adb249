"""One request/response pair -> findings, with the client's compiled validators (never on the traffic path).

Requests: the path is routed to its operation, path and query strings are typed as their
schemas declare, then parameters and a JSON body are validated. Responses: the envelope is
stripped per the document's conventions, then status, content type and body are checked and
located in the schema exactly as the client's drift log does, so ``schema drift-report``
turns the proxy's log into patches.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..registry import Operation, Registry
from ..validation import Validators
from .envelope import unwrap
from .findings import Findings
from .redact import redact, secret_fields

_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass
class Exchange:
    """What passed through: bodies are None when they were larger than the validation limit."""

    method: str
    target: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes | None = b""


class Router:
    """Concrete path -> operation and its path parameters (static segments beat parameters)."""

    def __init__(self, registry: Registry) -> None:
        self._routes: list[tuple[tuple[int, ...], re.Pattern[str], Operation]] = []
        for op in registry.operations:
            segments = [s for s in op.path.split("/") if s]
            regex = "^/" + "/".join(f"(?P<{_group(s)}>[^/]+)" if _is_param(s) else re.escape(s) for s in segments)
            regex += ("/" if op.path.endswith("/") and segments else "") + "$"
            rank = tuple(1 if _is_param(s) else 0 for s in segments)
            self._routes.append((rank, re.compile(regex), op))
        self._routes.sort(key=lambda r: (len(r[0]), r[0]))

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for _rank, regex, op in self._routes:
            if op.method == method.lower():
                found = regex.match(path)
                if found:
                    return op, {_name(k): unquote(v) for k, v in found.groupdict().items()}
        return None


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _group(segment: str) -> str:
    return "p_" + segment[1:-1].encode().hex()


def _name(group: str) -> str:
    return bytes.fromhex(group[2:]).decode()


def coerce(registry: Registry, value: str | list[str], schema: Any) -> Any:
    """A path/query string as its schema's type (left as text when it does not parse: a finding)."""
    schema = registry.resolve(schema) if isinstance(schema, dict) else {}
    kind = schema.get("type")
    if kind == "array":
        items = value if isinstance(value, list) else value.split(",")
        return [coerce(registry, v, schema.get("items") or {}) for v in items]
    text = value[-1] if isinstance(value, list) else value
    if kind == "integer" and _INTEGER.match(text.strip()):
        return int(text)
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def decode_json(body: bytes | None, headers: dict[str, str]) -> tuple[bool, Any]:
    """(True, value) for a JSON body (gzip/deflate undone), else (False, None)."""
    if not body:
        return False, None
    encoding = headers.get("content-encoding", "").lower()
    try:
        if encoding in ("gzip", "deflate"):
            body = zlib.decompress(body, 47 if encoding == "gzip" else zlib.MAX_WBITS)
        elif encoding not in ("", "identity"):
            return False, None
        if "json" not in headers.get("content-type", "") and body.lstrip()[:1] not in (b"{", b"["):
            return False, None
        return True, json.loads(body)
    except (ValueError, zlib.error):
        return False, None


class Inspector:
    """Validates exchanges against one registry and records what disagrees."""

    def __init__(self, registry: Registry, findings: Findings) -> None:
        self.registry = registry
        self.findings = findings
        self.validators = Validators(registry)
        self.router = Router(registry)
        self.unmatched = 0
        self._secret = secret_fields(registry)

    def inspect(self, exchange: Exchange) -> None:
        parts = urlsplit(exchange.target)
        found = self.router.match(exchange.method, parts.path)
        if found is None:
            self.unmatched += 1
            return
        op, path_params = found
        self._request(op, path_params, parse_qsl(parts.query, keep_blank_values=True), exchange)
        if exchange.status:
            self._response(op, exchange)

    def _request(self, op: Operation, path_params: dict[str, str], query: list[tuple[str, str]],
                 exchange: Exchange) -> None:
        specs = {p["name"]: p for p in op.parameters}
        values: dict[str, Any] = {}
        for name, raw in path_params.items():
            values[name] = coerce(self.registry, raw, (specs.get(name) or {}).get("schema"))
        grouped: dict[str, list[str]] = {}
        for name, raw in query:
            grouped.setdefault(name, []).append(raw)
        for name, raws in grouped.items():
            if name in op.query_params:
                values[name] = coerce(self.registry, raws, op.query_params[name].get("schema"))
        headers = {k.lower(): v for k, v in exchange.request_headers.items()}
        for name, spec in op.header_params.items():
            if name.lower() in headers:
                values[name] = coerce(self.registry, headers[name.lower()], spec.get("schema"))
        entries = self._problems(op, "request", self.validators.parameters(op), values)
        is_json, body = decode_json(exchange.request_body, headers)
        compiled = self.validators.body(op)
        if is_json and compiled is not None:
            entries += self._problems(op, "request", compiled, body)
        if entries:
            self.findings.add(entries, self._sample(body) if is_json else None)

    def _problems(self, op: Operation, direction: str, compiled: Any, value: Any) -> list[dict[str, Any]]:
        if compiled.is_valid(value):
            return []
        base = {"operation": op.qualified_name, "method": op.method.upper(), "path": op.path,
                "direction": direction}
        return [{**base, "field": e["field"], "kind": e["kind"], "message": e["message"]}
                for e in compiled.errors(value)]

    def _response(self, op: Operation, exchange: Exchange) -> None:
        headers = {k.lower(): v for k, v in exchange.response_headers.items()}
        is_json, payload = decode_json(exchange.response_body, headers)
        payload = unwrap(payload, op.envelope, op.pagination) if is_json else None
        status = exchange.status
        problems: list[dict[str, Any]] = []
        if str(status) not in op.responses and f"{str(status)[0]}XX" not in op.responses:
            problems = [{"field": "", "kind": "status", "message": f"undocumented status {status}"}]
        elif is_json:
            compiled = self.validators.response(op, status)
            if compiled is not None and not compiled.is_valid(payload):
                problems = compiled.errors(payload)
        if not is_json and not problems:
            return
        self.findings.check_response(op, status, headers.get("content-type", ""), payload, problems,
                                     sample=self._sample(payload) if is_json else None)

    def _sample(self, value: Any) -> Any:
        return redact(value, self._secret) if self.findings.samples else None
