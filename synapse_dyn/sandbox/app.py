"""The sandbox as a pure function: Request -> Response.

Routing, authentication, parameter and body validation (with the engine's own
request validators), dispatch to the generic handlers, and the backend's envelopes:
``{"data", "meta"}`` for success and ``{"error", "meta"}`` for failure in the v2
family; plain DRF shapes for the v1 schema.
"""

from __future__ import annotations

import logging
from typing import Any

from ..registry import Operation, Registry
from ..validation import CompiledSchema, Validators
from .accounts import Accounts
from .documents import Documents
from .fake import Faker
from .faults import Fault
from .files import FileService
from .handlers import Call, Handlers, Result
from .messages import ApiError, Request, Response, error_response, json_response, new_request_id
from .parsing import TRUE, Parser, UploadedFile
from .resources import build_resources
from .routing import Router
from .store import Store

log = logging.getLogger("synapse_dyn.sandbox")


def is_enveloped(registry: Registry) -> bool:
    """v2-family schemas answer inside ``{data, meta}``; v1 (offset pages, no prefix) does not."""
    title = str((registry.document.get("info") or {}).get("title", ""))
    if title.rstrip().endswith("v1"):
        return False
    return not any(op.pagination_param == "page" for op in registry.operations)


class App:
    """Serves every operation of one registry from one store."""

    def __init__(self, registry: Registry, store: Store, *, enveloped: bool | None = None) -> None:
        self.registry = registry
        self.store = store
        self.enveloped = is_enveloped(registry) if enveloped is None else enveloped
        self.validators = Validators(registry)
        self.faker = Faker(registry)
        self.docs = Documents(registry, self.validators, self.faker)
        self.accounts = Accounts(registry, store)
        self.resources = build_resources(registry)
        self.handlers = Handlers(self.resources, store, self.docs, self.accounts)
        self.router = Router(registry)
        self.parser = Parser(registry)
        self.files = FileService(self.handlers, store)
        self._body_validators: dict[tuple[int, str], CompiledSchema | None] = {}

    def __call__(self, request: Request) -> Response:
        request_id = new_request_id()
        try:
            download = self.files.download(request)
            if download is not None:
                return download
            return self.respond(self.handle(request), request_id)
        except ApiError as error:
            return error_response(error, request_id, enveloped=self.enveloped)
        except Exception:  # noqa: BLE001 - a sandbox bug must still answer like a server
            log.exception("sandbox error on %s %s", request.method, request.path)
            return error_response(ApiError(500, "Internal server error."), request_id, enveloped=self.enveloped)

    def fault_response(self, fault: Fault) -> Response:
        """The answer for an injected error or rate-limit fault."""
        headers = {}
        if fault.status == 429:
            headers["Retry-After"] = _seconds(fault.retry_after or 0)
            message = "Request was throttled."
        else:
            message = {502: "Bad gateway.", 503: "Service temporarily unavailable."}.get(
                fault.status or 500, "Internal server error.")
        error = ApiError(fault.status or 500, message, headers=headers)
        return error_response(error, new_request_id(), enveloped=self.enveloped)

    # -- pipeline ------------------------------------------------------------
    def handle(self, request: Request) -> Result:
        """Route, authenticate, validate and dispatch one request."""
        match, allowed = self.router.match(request.method, request.path)
        if match is None:
            if allowed:
                raise ApiError(405, f'Method "{request.method}" not allowed.', headers={"Allow": ", ".join(allowed)})
            raise ApiError(404, "Not found.")
        op = match.op
        principal = None if self.accounts.is_public(op) else self.accounts.authenticate(request, op)
        path, query = self.parameters(op, request, match.path_params)
        body = self.body(op, request)
        call = Call(op, request, path, query, body, principal, _truthy(_last(request.query, "dry_run")))
        special = self.files.handler(op)
        return special(call) if special is not None else self.handlers.dispatch(call)

    def respond(self, result: Result, request_id: str) -> Response:
        """A handler's result in the schema family's envelope."""
        if result.status == 204:
            return json_response(204, None, request_id, result.headers)
        if not self.enveloped:
            if result.data is None:
                return Response(result.status, {"X-Request-Id": request_id, **result.headers}, b"")
            return json_response(result.status, result.data, request_id, result.headers)
        meta: dict[str, Any] = {"request_id": request_id}
        if result.pagination is not None:
            meta["pagination"] = result.pagination
        return json_response(result.status, {"data": result.data, "meta": meta}, request_id, result.headers)

    def parameters(self, op: Operation, request: Request, raw_path: dict[str, str]) -> tuple[dict, dict]:
        """Coerce and validate path, query and header parameters (path failures are 404s)."""
        coerce = self.parser.coerce
        path = {name: coerce(raw_path[name], op.path_param_specs.get(name, {}).get("schema")) for name in raw_path}
        query: dict[str, Any] = {}
        raw_query = request.query
        for name, spec in op.query_params.items():
            values = [v for k, v in raw_query if k == name]
            if values:
                query[name] = coerce(values if self.parser.is_array(spec) else values[-1], spec.get("schema"))
        headers: dict[str, Any] = {}
        for name, spec in op.header_params.items():
            value = request.header(name)
            if value is not None:
                headers[name] = coerce(value, spec.get("schema"))
        compiled = self.validators.parameters(op)
        values = {**path, **query, **headers}
        if not compiled.is_valid(values):
            problems = compiled.errors(values)
            if any(p["field"].split("/")[0] in path for p in problems):
                raise ApiError(404, "Not found.")
            raise ApiError(400, "Invalid query parameters.", details=_details(problems))
        return path, query

    def body(self, op: Operation, request: Request) -> Any:
        """Parse (JSON, form or multipart) and validate the request body against the schema."""
        if op.body is None:
            return None
        body = self.parser.body(op, request)
        if body is None:
            if not op.body.required:
                return None
            body = {}
        compiled = self.body_validator(op, request)
        checked = {k: "" if isinstance(v, UploadedFile) else v for k, v in body.items()} if isinstance(
            body, dict) else body
        if compiled is not None and not compiled.is_valid(checked):
            raise ApiError(400, "Invalid input.", details=_details(compiled.errors(checked)))
        return body

    def body_validator(self, op: Operation, request: Request) -> CompiledSchema | None:
        """The request schema of the body's media type (``data_files/`` takes JSON or multipart)."""
        assert op.body is not None
        media = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
        if media == op.body.content_type or media not in op.body.content_types:
            return self.validators.body(op)
        key = (id(op), media)
        if key not in self._body_validators:
            content = self.registry.resolve(op.raw["requestBody"])["content"][media] or {}
            schema = content.get("schema")
            self._body_validators[key] = self.validators.compile(schema, "request") if schema else None
        return self._body_validators[key]


def _details(problems: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"field": p["field"] or "non_field_errors", "message": p["message"]} for p in problems]


def _last(pairs: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in pairs if k == name]
    return values[-1] if values else None


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in TRUE


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
