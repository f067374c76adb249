"""Client and AsyncClient: thin IO shells over the sans-IO core.

Attribute access walks the registry: ``client.projects`` is a ResourceProxy,
``client.projects.tags(42)`` a proxy bound to project 42, ``client.projects.list`` an
OperationMethod whose help and signature come from the schema, built on first use.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import core, errors, observability
from .auth import Credentials, mask_token
from .core import Flow, Paginator, PreparedRequest, RawResponse, Send, Session, TransportFailure
from .records import Page
from .registry import Operation, Registry, ResourceNode
from .retry import RetryPolicy
from .spec import load_spec
from .transport import AsyncHTTPClient, HTTPClient, make_timeout, request_kwargs, to_failure, to_raw
from .validation import Validators

CREDENTIAL_EXTENSION = "x-synapse-credential"


class OperationMethod:
    """A callable operation bound to a client (and to parent ids for nested resources)."""

    __slots__ = ("_client", "op", "_parents")

    def __init__(self, client: _BaseClient, op: Operation, parents: tuple[Any, ...]) -> None:
        self._client = client
        self.op = op
        self._parents = parents

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._client._invoke(self.op, self._parents, args, kwargs)

    def prepare(self, *args: Any, **kwargs: Any) -> PreparedRequest:
        """The request this call would send (validated), without sending it."""
        bound = core.bind_arguments(self.op, self._parents, args, kwargs, self._client._extra_keywords(self.op))
        return core.build_request(self._client._session, self.op, bound)

    def __get__(self, instance: Any, owner: Any = None) -> OperationMethod:
        return self  # makes pydoc treat it as a routine, so help() shows our docstring

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        from .docs import help_text

        return help_text(self.op)

    @property
    def __signature__(self) -> Any:
        from .docs import signature

        return signature(self.op)

    @property
    def __name__(self) -> str:
        return self.op.verb

    def __repr__(self) -> str:
        return f"<operation {self.op.qualified_name}: {self.op.method.upper()} {self.op.path}>"


class NestedAccessor:
    """``client.projects.tags`` before the parent id is given: call it with the id."""

    __slots__ = ("_client", "_node", "_parents")

    def __init__(self, client: _BaseClient, node: ResourceNode, parents: tuple[Any, ...]) -> None:
        self._client = client
        self._node = node
        self._parents = parents

    def __call__(self, *args: Any, **kwargs: Any) -> ResourceProxy:
        names = [self._node.depth_param] + [a for a, r in self._node.keyword_aliases.items() if r == self._node.depth_param]
        if len(args) == 1 and not kwargs:
            value = args[0]
        elif not args and len(kwargs) == 1 and next(iter(kwargs)) in names:
            value = next(iter(kwargs.values()))
        else:
            raise errors.UnknownArgumentError(
                f"{'.'.join(self._node.path)}() takes exactly one parent id, positionally or as "
                f"{' / '.join(n for n in names if n)}"
            )
        return ResourceProxy(self._client, self._node, self._parents + (value,))

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return (f"Nested resource {'.'.join(self._node.path)}: call with the parent's "
                f"{self._node.depth_param} to reach {', '.join(self._node.attributes())}.")

    def __dir__(self) -> list[str]:
        return self._node.attributes()

    def __repr__(self) -> str:
        return f"<nested resource {'.'.join(self._node.path)}({self._node.depth_param})>"


class ResourceProxy:
    """A resource: its verbs and nested resources are attributes."""

    __slots__ = ("_client", "_node", "_parents", "_cache")

    def __init__(self, client: _BaseClient, node: ResourceNode, parents: tuple[Any, ...] = ()) -> None:
        self._client = client
        self._node = node
        self._parents = parents
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cache = self._cache
        if name in cache:
            return cache[name]
        node = self._node
        if name in node.verbs:
            value: Any = OperationMethod(self._client, node.verbs[name], self._parents)
        elif name in node.children:
            value = NestedAccessor(self._client, node.children[name], self._parents)
        else:
            raise errors.UnknownNameError(
                f"{'.'.join(node.path)} has no verb or resource {name!r}; available: {', '.join(node.attributes())}"
            )
        cache[name] = value
        return value

    def __dir__(self) -> list[str]:
        return self._node.attributes()

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        lines = [f"Resource {'.'.join(self._node.path)}"]
        for verb, op in sorted(self._node.verbs.items()):
            lines.append(f"  {verb}: {op.method.upper()} {op.path}  {op.summary}")
        for child in sorted(self._node.children):
            lines.append(f"  {child}(...): nested resource")
        return "\n".join(lines)

    def __repr__(self) -> str:
        bound = f" {self._parents}" if self._parents else ""
        return f"<resource {'.'.join(self._node.path)}{bound}: {', '.join(self._node.attributes())}>"


def _caller_stacklevel() -> int:
    """The warnings stacklevel of the first frame outside this package (wrappers included)."""
    import sys

    package = __name__.rsplit(".", 1)[0] + "."
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(package):
        frame, level = frame.f_back, level + 1
    return level


class _BaseClient:
    """Everything both clients share: configuration, attribute access, argument binding."""

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        drf_token: str | None = None,
        tenant: str | None = None,
        tenant_token_prefix: bool = False,
        timeout: Any = None,
        allow_insecure: bool = False,
        schema: str | os.PathLike[str] | Registry | None = None,
        overrides: Any = None,
        transport: Any = None,
        validate_responses: str = "strict",
        validate_requests: bool = True,
        retries: int | RetryPolicy | None = None,
        drift_log: str | os.PathLike[str] | None = None,
        validation_engine: str | None = None,
        allow_external_refs: bool = False,
        **credentials: str | None,
    ) -> None:
        base_url = str(base_url)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise errors.ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
        if parts.scheme == "http" and not allow_insecure:
            warnings.warn(
                f"{base_url} uses plain http: credentials travel unencrypted (allow_insecure silences this)",
                errors.InsecureTransportWarning,
                stacklevel=_caller_stacklevel(),
            )
        if validate_responses not in core.VALIDATION_MODES:
            raise errors.ConfigurationError(
                f"validate_responses must be one of {', '.join(core.VALIDATION_MODES)}, not {validate_responses!r}"
            )
        registry = schema if isinstance(schema, Registry) else load_spec(
            schema, overrides=overrides, allow_insecure=allow_insecure, allow_external_refs=allow_external_refs)
        creds = Credentials.from_arguments(
            registry.auth_scheme, tenant_token_prefix=tenant_token_prefix,
            access_token=access_token, drf_token=drf_token, tenant=tenant, **credentials,
        )
        drift = None
        if drift_log is not None:
            from .drift import DriftLog

            drift = DriftLog(drift_log)
        try:
            policy = RetryPolicy.coerce(retries)
        except ValueError as exc:
            raise errors.ConfigurationError(str(exc)) from None
        self._session = Session(
            base_url=base_url.rstrip("/"),
            registry=registry,
            credentials=creds,
            validators=Validators(registry, validation_engine),
            validate_responses=validate_responses,
            validate_requests=validate_requests,
            retry=policy,
            drift_log=drift,
        )
        self._resources: dict[str, ResourceProxy] = {}
        self._timeout = make_timeout(timeout)
        self._transport = transport
        self._http_client: Any = None
        self._http_lock = threading.Lock()

    def _make_http(self, timeout: httpx.Timeout, transport: Any) -> Any:
        raise NotImplementedError

    @property
    def _http(self) -> Any:
        """The httpx client, created on first use (its TLS setup is most of a client's start-up cost)."""
        if self._http_client is None:
            with self._http_lock:
                if self._http_client is None:
                    self._http_client = self._make_http(self._timeout, self._transport)
        return self._http_client

    # -- public surface ---------------------------------------------------
    @property
    def registry(self) -> Registry:
        return self._session.registry

    @property
    def base_url(self) -> str:
        return self._session.base_url

    @property
    def credentials(self) -> Credentials:
        return self._session.credentials

    @property
    def last_request_id(self) -> str | None:
        """The request id of the most recent response in this thread / task."""
        return observability.last_request_id()

    def capture_request_ids(self) -> contextlib.AbstractContextManager[None]:
        """Scope a block to its own request ids; the outer value is restored on exit."""
        return observability.capture_request_ids()

    def set_access_token(self, token: str | None) -> None:
        self._session.credentials.set("access_token", token)

    def set_drf_token(self, token: str | None) -> None:
        self._session.credentials.set("drf_token", token)

    def set_tenant(self, tenant: str | None) -> None:
        self._session.credentials.set("tenant", tenant)

    def __getattr__(self, name: str) -> ResourceProxy:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._resources[name]
        except KeyError:
            pass
        node = self._session.registry.root.children.get(name)
        if node is None:
            raise errors.UnknownNameError(
                f"{type(self).__name__} has no resource {name!r}; available: {', '.join(self.registry.resources)}"
            )
        proxy = self._resources[name] = ResourceProxy(self, node)
        return proxy

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.registry.resources))

    def __repr__(self) -> str:
        creds = self._session.credentials
        shown = ", ".join(
            f"{k}={mask_token(v) if k != 'tenant' else repr(v)}" for k, v in creds.values.items() if v is not None
        )
        return f"{type(self).__name__}({self.base_url!r}, schema={self.registry.label!r}{', ' + shown if shown else ''})"

    # -- shared call machinery ---------------------------------------------
    def _extra_keywords(self, op: Operation) -> tuple[str, ...]:
        stored = op.raw.get(CREDENTIAL_EXTENSION)
        return tuple(f"set_{name}" for name in stored) if stored else ()

    def _bind(self, op: Operation, parents: tuple[Any, ...], args: tuple, kwargs: dict) -> core.BoundCall:
        return core.bind_arguments(op, parents, args, kwargs, self._extra_keywords(op))

    def _after_call(self, op: Operation, bound: core.BoundCall, result: Any) -> Any:
        """Store a credential an operation returns (``auth.login`` -> DRF token), when the schema says so."""
        for credential, field_name in (op.raw.get(CREDENTIAL_EXTENSION) or {}).items():
            if bound.extra.get(f"set_{credential}", True) and isinstance(result, dict) and result.get(field_name):
                self._session.credentials.set(credential, result[field_name])
        return result

    def prepare_request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                        data: Any = None) -> PreparedRequest:
        """The request ``request()`` would send for any path (e.g. for a dry run)."""
        headers = dict(self._session.credentials.base_headers())
        query = core.query_items(params) if isinstance(params, dict) else list(params or [])
        return PreparedRequest(method.upper(), core.join_url(self.base_url, path), headers, query, json=json,
                               data=data)


def _drive(flow: Flow, send: Callable[[PreparedRequest], Any], sleep: Callable[[float], None]) -> Any:
    """Run a sans-IO flow synchronously."""
    try:
        action = next(flow)
        while True:
            if isinstance(action, Send):
                action = flow.send(send(action.request))
            else:
                sleep(action.seconds)
                action = flow.send(None)
    except StopIteration as stop:
        return stop.value


class Client(_BaseClient):
    """The synchronous client. Use as a context manager to close its connection pool."""

    def _make_http(self, timeout: httpx.Timeout, transport: Any) -> httpx.Client:
        return HTTPClient(timeout=timeout, transport=transport, follow_redirects=False)

    def _send(self, request: PreparedRequest) -> RawResponse | TransportFailure:
        with ExitStack() as files:
            try:
                return to_raw(self._http.request(request.method, request.url, **request_kwargs(request, files, self._timeout)))
            except httpx.HTTPError as exc:
                return to_failure(exc)

    def _run(self, flow: Flow) -> Any:
        return _drive(flow, self._send, time.sleep)

    def _invoke(self, op: Operation, parents: tuple[Any, ...], args: tuple, kwargs: dict) -> Any:
        bound = self._bind(op, parents, args, kwargs)
        if bound.list_all:
            return self._iterate(Paginator(self._session, op, bound))
        request = core.build_request(self._session, op, bound)
        return self._after_call(op, bound, self._run(core.call_flow(self._session, op, request)))

    def _iterate(self, paginator: Paginator) -> Iterator[Any]:
        request: PreparedRequest | None = paginator.first()
        while request is not None:
            page: Page = self._run(core.call_flow(self._session, paginator.op, request, paginated=True))
            yield from page.results
            request = paginator.next(page)
            del page  # not held while the next page is fetched: memory stays at about one page

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None, data: Any = None) -> Any:
        """Call any path the schema lacks; returns the unwrapped JSON (errors still raise)."""
        prepared = self.prepare_request(method, path, params=params, json=json, data=data)
        return self._run(core.call_flow(self._session, None, prepared))

    def close(self) -> None:
        if self._http_client is not None:
            self._http_client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncPager:
    """What async ``list`` returns: ``await`` it (or ``first_page()``) for one Page, ``async for`` for every item."""

    def __init__(self, client: AsyncClient, paginator: Paginator) -> None:
        self._client = client
        self._paginator = paginator

    async def first_page(self) -> Page:
        return await self._client._run(
            core.call_flow(self._client._session, self._paginator.op, self._paginator.first(), paginated=True))

    def __await__(self) -> Generator[Any, None, Page]:
        return self.first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[Any]:
        request: PreparedRequest | None = self._paginator.first()
        while request is not None:
            page: Page = await self._client._run(
                core.call_flow(self._client._session, self._paginator.op, request, paginated=True))
            for item in page.results:
                yield item
            request = self._paginator.next(page)
            del page  # not held while the next page is fetched


class AsyncClient(_BaseClient):
    """The asyncio client: every verb is a coroutine except list, which returns an AsyncPager."""

    def _make_http(self, timeout: httpx.Timeout, transport: Any) -> httpx.AsyncClient:
        return AsyncHTTPClient(timeout=timeout, transport=transport, follow_redirects=False)

    async def _send(self, request: PreparedRequest) -> RawResponse | TransportFailure:
        with ExitStack() as files:
            try:
                return to_raw(await self._http.request(request.method, request.url, **request_kwargs(request, files, self._timeout)))
            except httpx.HTTPError as exc:
                return to_failure(exc)

    async def _run(self, flow: Flow) -> Any:
        try:
            action = next(flow)
            while True:
                if isinstance(action, Send):
                    action = flow.send(await self._send(action.request))
                else:
                    import asyncio

                    await asyncio.sleep(action.seconds)
                    action = flow.send(None)
        except StopIteration as stop:
            return stop.value

    def _invoke(self, op: Operation, parents: tuple[Any, ...], args: tuple, kwargs: dict) -> Any:
        bound = self._bind(op, parents, args, kwargs)
        if op.is_paginated:
            return AsyncPager(self, Paginator(self._session, op, bound))
        request = core.build_request(self._session, op, bound)
        return self._call(op, bound, request)

    async def _call(self, op: Operation, bound: core.BoundCall, request: PreparedRequest) -> Any:
        return self._after_call(op, bound, await self._run(core.call_flow(self._session, op, request)))

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None, data: Any = None) -> Any:
        """Call any path the schema lacks; returns the unwrapped JSON (errors still raise)."""
        prepared = self.prepare_request(method, path, params=params, json=json, data=data)
        return await self._run(core.call_flow(self._session, None, prepared))

    async def aclose(self) -> None:
        if self._http_client is not None:
            await self._http_client.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
