"""Sandbox: a local Synapse-compatible backend built from a schema, with real persistence."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..registry import Registry
from ..spec import load_spec
from .app import App
from .behaviours import Behaviours
from .behaviours.crud import crud
from .behaviours.traits import ISSUES_ACCESS_TOKEN
from .faults import NO_FAULT, Fault, Faults
from .messages import ApiError, Request, Response
from .store import Store, User
from .transport import SandboxTransport

if TYPE_CHECKING:  # pragma: no cover
    from .server import Limits

SANDBOX_ORIGIN = "https://sandbox.local"
MAX_BODY = 64 * 1024 * 1024


class Sandbox:
    """A Synapse backend on this machine.

    ``schema``: a path, ``'v2'`` / ``'v1'`` (bundled), or a Registry (default: the bundled v2
    schema). ``db``: a SQLite file (created when missing; data survives restarts) or None
    for memory. ``faults``: a Faults to inject latency, errors, 429s and dropped
    connections. ``max_body``: the largest request body in bytes (413 above; both transports).
    ``traits``: which resources behave specially (default ``behaviours.traits.RESOURCE_TRAITS``);
    ``behaviours``: a behaviours registry (default ``behaviours.BEHAVIOURS``; ``BEHAVIOURS.copy()`` to extend).
    Reach it with ``Client(SANDBOX_ORIGIN, transport=sandbox.transport())`` or over HTTP with
    ``with sandbox.serve(port=0) as url: ...``.
    """

    def __init__(self, schema: str | os.PathLike[str] | Registry | None = None, *,
                 db: str | os.PathLike[str] | None = None, faults: Faults | None = None,
                 overrides: Any = None, enveloped: bool | None = None, max_body: int = MAX_BODY,
                 traits: dict[str, frozenset[str]] | None = None, behaviours: Behaviours | None = None) -> None:
        self.registry = schema if isinstance(schema, Registry) else load_spec(schema, overrides=overrides)
        self.store = Store(db)
        self.faults = faults or Faults()
        self.max_body = max_body
        self.app = App(self.registry, self.store, enveloped=enveloped, traits=traits, behaviours=behaviours)

    @property
    def db_path(self) -> Path | None:
        """The SQLite file (None when in memory)."""
        return self.store.path

    def __repr__(self) -> str:
        where = str(self.db_path) if self.db_path else "memory"
        return f"<Sandbox schema={self.registry.label!r} db={where}>"

    # -- seeding ----------------------------------------------------------
    def create_user(self, email: str, password: str, tenant: str | list[str] = "default") -> User:
        """Add a user (or update their password) and make them a member of the tenant(s)."""
        tenants = [tenant] if isinstance(tenant, str) else list(tenant)
        return self.app.accounts.create_user(email, password, tenants)

    def issue_token(self, email: str, tenant: str | None = None, description: str = "sandbox") -> str:
        """A ready ``syn_`` access token for a seeded user in one of their tenants."""
        found = self.store.user_by_email(email)
        if found is None:
            raise KeyError(f"no sandbox user {email!r}; add one with create_user()")
        user = found[0]
        tenants = {t.code: t for t in self.store.tenants_of(user.id)}
        code = tenant or next(iter(tenants), None)
        if code not in tenants:
            raise KeyError(f"{email} is not a member of tenant {code!r}")
        serving = crud(self.app.services)
        res = serving.traits.resource_with(self.app.resources, ISSUES_ACCESS_TOKEN)
        context = {"tenant_id": tenants[code].id, "user_id": user.id}
        if res is not None:
            _row, extra = serving.insert(res, tenant=code, scope="", body={"description": description},
                                         context=context, user_id=user.id)
            return extra["token"]
        from .accounts import new_access_token

        secret = new_access_token()
        self.store.add_access_token(secret, user.id, code, self.store.next_id("access_tokens"))
        return secret

    def seed(self, resource: str, count: int = 1, *, tenant: str = "default", parent: Any = None,
             **fields: Any) -> list[dict[str, Any]]:
        """Store ``count`` generated objects of a resource (``'data_files'``, ``'projects.tags'``).

        ``parent`` is the parent's id for a nested resource (a tuple for deeper nesting);
        ``fields`` override generated values. Returns the objects as retrieve would show them.
        """
        try:
            res = self.app.resources[resource]
        except KeyError:
            raise KeyError(f"no resource {resource!r}; known: {', '.join(sorted(self.app.resources))}") from None
        parents = () if parent is None else (parent if isinstance(parent, tuple) else (parent,))
        if len(parents) != len(res.parent_params):
            raise ValueError(f"{resource} needs {len(res.parent_params)} parent id(s): {', '.join(res.parent_params)}")
        info = self.store.ensure_tenant(tenant)
        made = []
        for _ in range(count):
            (object_id, doc), _extra = crud(self.app.services).insert(
                res, tenant=tenant, scope="/".join(str(p) for p in parents), body=dict(fields),
                parent=parents[-1] if parents else None, context={"tenant_id": info.id})
            made.append(self.app.services.docs.project(doc, res.schemas[0], seed=object_id) if res.schemas else doc)
        return made

    # -- serving ----------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer one request (no faults)."""
        return self.app(request)

    def respond(self, request: Request, fault: Fault = NO_FAULT) -> Response | None:
        """Answer one request under a fault decision; None means the connection is dropped."""
        if fault.drop and self.faults.drop_phase == "before":
            return None
        if fault.status is not None:
            return self.app.fault_response(fault)
        if len(request.body) > self.max_body:
            return self.app.error(ApiError(413, f"Request body too large: the sandbox accepts at most "
                                                f"{self.max_body} bytes.", code="PAYLOAD_TOO_LARGE"))
        response = self.app(request)
        return None if fault.drop else response

    def exchange(self, request: Request) -> Response | None:
        """Decide the request's fault, wait out its latency, answer: the one place faults apply (sync)."""
        fault = self.faults.decide()
        if fault.latency:
            time.sleep(fault.latency)
        return self.respond(request, fault)

    async def exchange_async(self, request: Request) -> Response | None:
        """``exchange`` for asyncio: the latency is awaited, so concurrent requests wait together."""
        fault = self.faults.decide()
        if fault.latency:
            await asyncio.sleep(fault.latency)
        return self.respond(request, fault)

    def transport(self, *, faults: bool = True) -> SandboxTransport:
        """An httpx transport (sync and async) that calls this sandbox in-process.

        ``faults=False`` bypasses fault injection (seeding uses it, so it never fails or waits).
        """
        return SandboxTransport(self, faults=faults)

    def serve(self, host: str = "127.0.0.1", port: int = 0, limits: Limits | None = None
              ) -> contextlib.AbstractContextManager[str]:
        """Serve over HTTP in a background thread: ``with sandbox.serve(port=0) as url: ...``."""
        from .server import background

        return background(self, host, port, limits)

    def client_kwargs(self, *, access_token: str | None = None, tenant: str | None = None) -> dict[str, Any]:
        """Keyword arguments for Client/AsyncClient that reach this sandbox in-process."""
        out: dict[str, Any] = {"base_url": SANDBOX_ORIGIN, "transport": self.transport()}
        if access_token is not None:
            out["access_token"] = access_token
        if tenant is not None:
            out["tenant"] = tenant
        return out

    def close(self) -> None:
        """Close the database (and remove the blob directory of an in-memory sandbox)."""
        self.app.services.blobs.close()
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

