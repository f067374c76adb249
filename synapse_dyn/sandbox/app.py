"""The sandbox as a pure function: Request -> Response.

Routing, authentication, parameter and body validation (by openapi-core, never the
client's validators), dispatch to the operation's behaviour (resolved once, at start, from
the behaviours registry), and the backend's envelopes, per operation (``op.envelope``):
``{"data", "meta"}`` for success and ``{"error", "meta"}`` for failure in the v2
family; ``{result, msg, data}`` for Ray's; plain DRF shapes for v1 and for operations
declaring ``x-synapse-envelope: {style: none}``.
"""

from __future__ import annotations

import logging
from typing import Any

from ..conventions import Envelope
from ..registry import Operation, Registry
from ..validation import Validators
from .accounts import Accounts
from .behaviours import BEHAVIOURS, Behaviours, Handler, Services
from .behaviours.traits import Traits
from .blobs import Blobs, blob_directory, download
from .calls import Call, Result
from .checking import checker_for
from .documents import Documents
from .fake import Faker
from .faults import Fault
from .messages import ApiError, Request, Response, error_response, json_response, new_request_id
from .parsing import TRUE, Parser, UploadedFile
from .resources import build_resources
from .routing import Match, Router
from .store import Store

log = logging.getLogger("synapse_dyn.sandbox")


def envelope_style(registry: Registry, enveloped: bool | None = None) -> Envelope:
    """The schema's envelope convention; ``enveloped`` forces ``meta`` (True) or ``none`` (False)."""
    envelope = registry.conventions.envelope
    if enveloped is None:
        return envelope
    return envelope._replace(style="meta" if enveloped else "none")


class App:
    """Serves every operation of one registry from one store."""

    def __init__(self, registry: Registry, store: Store, *, enveloped: bool | None = None,
                 traits: dict[str, frozenset[str]] | None = None, behaviours: Behaviours | None = None) -> None:
        self.registry = registry
        self.store = store
        self.envelope = envelope_style(registry, enveloped)
        self.enveloped = self.envelope.style != "none"
        self.forced = enveloped is not None
        self.accounts = Accounts(registry, store)
        self.resources = build_resources(registry)
        docs = Documents(registry, Validators(registry), Faker(registry))
        self.services = Services(registry, store, docs, self.accounts, self.resources,
                                 Blobs(blob_directory(store.path)), extra={"traits": Traits(store, traits)})
        self.router = Router(registry)
        self.parser = Parser(registry)
        self.checker = checker_for(registry)
        chosen = behaviours or BEHAVIOURS
        self.behaviours: dict[int, Handler] = {id(op): chosen.resolve(op, self.services)
                                               for op in registry.operations}

    def __call__(self, request: Request) -> Response:
        request_id = new_request_id()
        op = None
        try:
            blob = download(self.services.blobs, request)
            if blob is not None:
                return blob
            match = self.route(request)
            op = match.op
            return self.respond(self.handle(request, match), request_id, op)
        except ApiError as error:
            return self.error(error, request_id, op)
        except Exception:  # noqa: BLE001 - a sandbox bug must still answer like a server
            log.exception("sandbox error on %s %s", request.method, request.path)
            return self.error(ApiError(500, "Internal server error."), request_id, op)

    def envelope_for(self, op: Operation | None) -> Envelope:
        """The envelope of an operation's answers (``op.envelope``), unless the sandbox forces one for all."""
        return self.envelope if op is None or self.forced else op.envelope

    def error(self, error: ApiError, request_id: str | None = None, op: Operation | None = None) -> Response:
        """An error answer in the operation's (else the schema family's) error shape."""
        return error_response(error, request_id or new_request_id(), self.envelope_for(op))

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
        return self.error(error)

    # -- pipeline ------------------------------------------------------------
    def route(self, request: Request) -> Match:
        """The matched route (operation and path parameters); 404 or 405 when there is none."""
        match, allowed = self.router.match(request.method, request.path)
        if match is None:
            if allowed:
                raise ApiError(405, f'Method "{request.method}" not allowed.', headers={"Allow": ", ".join(allowed)})
            raise ApiError(404, "Not found.")
        return match

    def handle(self, request: Request, match: Match) -> Result:
        """Authenticate, validate and dispatch one routed request."""
        op = match.op
        principal = None if self.accounts.is_public(op) else self.accounts.authenticate(request, op)
        path, query = self.parameters(op, request, match.path_params)
        body = self.body(op, request)
        call = Call(op, request, path, query, body, principal, _truthy(_last(request.query, "dry_run")))
        return self.behaviours[id(op)](call)

    def respond(self, result: Result, request_id: str, op: Operation | None = None) -> Response:
        """A handler's result in the operation's envelope."""
        envelope = self.envelope_for(op)
        if result.status == 204:
            return json_response(204, None, request_id, result.headers)
        if envelope.style == "none":
            if result.data is None:
                return Response(result.status, {"X-Request-Id": request_id, **result.headers}, b"")
            return json_response(result.status, result.data, request_id, result.headers)
        return json_response(result.status, wrap(envelope, result, request_id), request_id, result.headers)

    def parameters(self, op: Operation, request: Request, raw_path: dict[str, str]) -> tuple[dict, dict]:
        """Path and query values as openapi-core unmarshals them (path failures are 404s)."""
        return self.checker.parameters(op, request, raw_path)

    def body(self, op: Operation, request: Request) -> Any:
        """Parse (JSON, form or multipart) and have openapi-core validate the body against the schema."""
        if op.body is None:
            return None
        body = self.parser.body(op, request)
        if body is None:
            if not op.body.required:
                return None
            body = {}
        media = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
        if media not in op.body.content_types:
            media = op.body.content_type
        checked = {k: "" if isinstance(v, UploadedFile) else v for k, v in body.items()} if isinstance(
            body, dict) else body
        self.checker.body(op, media, checked)
        return body


def wrap(envelope: Envelope, result: Result, request_id: str) -> dict[str, Any]:
    """A successful answer inside the envelope: data, request id and cursors where the convention puts them."""
    if envelope.style == "flag":
        payload: dict[str, Any] = {envelope.ok: True, envelope.message: "", envelope.data: result.data}
    else:
        payload = {envelope.data: result.data, envelope.meta: {}}
    put_dotted(payload, envelope.request_id, request_id)
    if result.pagination is not None:
        put_dotted(payload, envelope.next_cursor, result.pagination["next_cursor"])
        put_dotted(payload, envelope.previous_cursor, result.pagination["previous_cursor"])
        parent = envelope.next_cursor.rpartition(".")[0]
        put_dotted(payload, f"{parent}.per_page" if parent else "per_page", result.pagination["per_page"])
    return payload


def put_dotted(payload: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts, making the missing levels."""
    *parents, last = path.split(".")
    for name in parents:
        payload = payload.setdefault(name, {})
    payload[last] = value


def _last(pairs: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in pairs if k == name]
    return values[-1] if values else None


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in TRUE


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
