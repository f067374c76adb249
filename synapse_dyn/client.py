"""Client and AsyncClient: configuration and IO around the protocol core.

Both bind and build requests the same way (``_BaseClient``) and run the core's flows on
their driver: ``core.SyncDriver`` or ``core.AsyncDriver``. Public building blocks beside the
resource attributes: ``send(prepared)``, ``paginate(prepared)``, ``request(method, path)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import os
import threading
import time
import warnings
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from contextlib import ExitStack
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx

from . import core, errors, observability
from .auth import Credentials, check_header_value, mask_token
from .core import BoundCall, PreparedRequest, RawResponse, Session, TransportFailure
from .proxies import NestedAccessor, OperationMethod, ResourceProxy
from .records import ClientExtras, Page, PagerHelp, remember_exchange
from .registry import Operation, Registry
from .retry import RetryPolicy
from .spec import load_spec
from .transport import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
    AsyncHTTPClient,
    HTTPClient,
    call_deadline,
    make_timeout,
    request_kwargs,
    to_failure,
    to_raw,
)
from .util.urls import is_relative_path, join_url, origin
from .validation import Validators

__all__ = ["AsyncClient", "AsyncPager", "Client", "NestedAccessor", "OperationMethod", "ResourceProxy"]

NO_TIMEOUT = {"connect": None, "read": None, "write": None, "pool": None, "attempt": None, "total": None}
CLOSED = ("this {cls} is closed (close() was called or its `with` block ended); create a new {cls}")


class _BaseClient(ClientExtras):
    """A Synapse client built from an OpenAPI document.

    Parameters (all keyword-only after ``base_url``):

    - ``access_token``, ``drf_token``, ``tenant`` (and any other credential the schema names):
      credentials; each falls back to its environment variable. ``tenant_token_prefix=True`` sends
      the tenant as ``Token <code>``.
    - ``schema``: a path, an https URL, ``"v2"`` / ``"v1"`` or a loaded Registry; ``overrides``:
      None (bundled drift patches), a path, a dict, or False (none).
    - ``timeout``: seconds, ``{connect, read, write, pool, attempt, total}``, an httpx.Timeout, or
      None for no timeout at all (as in httpx); ``max_response_size``: bytes of one decoded body.
    - ``retries``: attempts after the first, a RetryPolicy, or 0.
    - ``validate_requests`` / ``validate_responses``: ``"strict"`` (default), ``"warn"`` or ``"off"``.
    - ``drift_log``: a JSON-lines file that records responses differing from the schema.
    - ``headers``: extra headers for every request; ``verify``, ``proxy``, ``event_hooks``,
      ``transport``: passed to httpx; ``allow_insecure``: accept plain http without a warning;
      ``allow_external_refs``: let the schema reference other documents; ``validation_engine``:
      ``"rust"`` or ``"python"``.
    - ``parse_dates``: turn ``date-time`` / ``date`` fields of results into datetime / date (off:
      records stay JSON-shaped).
    """

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        drf_token: str | None = None,
        tenant: str | None = None,
        tenant_token_prefix: bool = False,
        timeout: Any = DEFAULT_TIMEOUT,
        allow_insecure: bool = False,
        schema: str | os.PathLike[str] | Registry | None = None,
        overrides: Any = None,
        transport: Any = None,
        validate_responses: str = "strict",
        validate_requests: bool | str = True,
        retries: int | RetryPolicy | None = None,
        drift_log: str | os.PathLike[str] | None = None,
        validation_engine: str | None = None,
        allow_external_refs: bool = False,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        headers: Mapping[str, str] | None = None,
        verify: Any = True,
        proxy: Any = None,
        event_hooks: Mapping[str, list[Any]] | None = None,
        parse_dates: bool = False,
        **credentials: str | None,
    ) -> None:
        base_url = _check_base_url(str(base_url), allow_insecure)
        responses = core.validation_mode(validate_responses, "validate_responses")
        requests = core.validation_mode(validate_requests, "validate_requests")
        registry = schema if isinstance(schema, Registry) else load_spec(
            schema, overrides=overrides, allow_insecure=allow_insecure, allow_external_refs=allow_external_refs)
        self._check_credential_names(registry, credentials)
        creds = Credentials.from_arguments(
            registry.conventions.auth, tenant_token_prefix=tenant_token_prefix,
            access_token=access_token, drf_token=drf_token, tenant=tenant, **credentials,
        )
        self._session = Session(
            base_url=base_url.rstrip("/"), registry=registry, credentials=creds,
            validators=Validators(registry, validation_engine), validate_responses=responses,
            validate_requests=requests, retry=_retry_policy(retries), drift_log=_drift_log(drift_log),
            parse_dates=bool(parse_dates),
        )
        self._setup_io(make_timeout(NO_TIMEOUT if timeout is None else timeout, max_response_size=max_response_size),
                       {"transport": transport, "verify": verify, "proxy": proxy, "event_hooks": dict(event_hooks or {}),
                        "headers": {k: check_header_value(k, str(v)) for k, v in (headers or {}).items()}})

    def _setup_io(self, timeout: Any, http_options: dict[str, Any]) -> None:
        """The httpx settings (the httpx client itself is made on first use) and the driver of this client's kind."""
        self._timeout = timeout
        self._http_options = http_options
        self._http_client: Any = None
        self._http_lock = threading.Lock()
        self._closed = False
        self._driver = self._DRIVER(self._send, self._session.drift_log, scope=functools.partial(call_deadline, timeout))

    @classmethod
    def _check_credential_names(cls, registry: Registry, given: Mapping[str, Any]) -> None:
        """A keyword that is neither a parameter nor one of the schema's credentials is a typo: TypeError."""
        unknown = sorted(set(given) - set(registry.conventions.auth))
        if not unknown:
            return
        params = [p for p in inspect.signature(_BaseClient.__init__).parameters if p not in ("self", "credentials")]
        valid = sorted(set(params) | set(registry.conventions.auth))
        import difflib  # only on a typo: start-up does not pay for it
        close = difflib.get_close_matches(unknown[0], valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise errors.UnknownArgumentError(
            f"{cls.__name__}() got an unexpected keyword argument {unknown[0]!r}{hint}; valid: {', '.join(valid)}")

    _DRIVER: Any  # core.SyncDriver or core.AsyncDriver
    _HTTP: Any  # transport.HTTPClient or AsyncHTTPClient
    _send: Any

    def _make_http(self) -> Any:
        return self._HTTP(**self._http_kwargs())

    @property
    def _http(self) -> Any:
        """The httpx client, created on first use (its TLS setup is most of a client's start-up cost)."""
        if self._closed:
            raise errors.ClientClosedError(CLOSED.format(cls=type(self).__name__))
        if self._http_client is None:
            with self._http_lock:
                if self._http_client is None:
                    self._http_client = self._make_http()
        return self._http_client

    def _http_kwargs(self) -> dict[str, Any]:
        options = {k: v for k, v in self._http_options.items() if v not in (None, {})}
        return {"timeout": self._timeout, "follow_redirects": False, **options}

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
        node = self._session.registry.root.children.get(name)
        if node is None:
            raise errors.UnknownNameError(
                f"{type(self).__name__} has no resource {name!r}; available: {', '.join(self.registry.resources)}"
            )
        proxy = self.__dict__[name] = ResourceProxy(self, node)  # later reads are plain attribute reads
        return proxy

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.registry.resources))

    def __repr__(self) -> str:
        creds = self._session.credentials
        shown = ", ".join(
            f"{k}={mask_token(v) if creds.is_secret(k) else repr(v)}"
            for k, v in creds.values.items() if v is not None
        )
        return f"{type(self).__name__}({self.base_url!r}, schema={self.registry.label!r}{', ' + shown if shown else ''})"

    # -- building requests ----------------------------------------------------
    def _prepare(self, op: Operation, parents: tuple[Any, ...], args: tuple, kwargs: dict,
                 ) -> tuple[BoundCall, PreparedRequest]:
        capture = op.credential_capture  # login-like operations take set_<credential>=False
        extra = tuple(f"set_{name}" for name in capture) if capture else ()
        bound = core.bind_arguments(op, parents, args, kwargs, extra)
        return bound, core.build_request(self._session, op, bound)

    def build_request(self, op: Operation | str, *, path: Mapping[str, Any] | None = None,
                      query: Mapping[str, Any] | None = None, headers: Mapping[str, Any] | None = None,
                      body: Any = None) -> PreparedRequest:
        """The validated request for an operation whose arguments are already sorted by location."""
        if isinstance(op, str):
            op = self.registry.operation(op)
        bound = BoundCall(dict(path or {}), dict(query or {}), dict(headers or {}), body)
        return core.build_request(self._session, op, bound)

    # -- running flows (the same code for both clients; their drivers differ) --------------------
    def _run_call(self, request: PreparedRequest, session: Session, paginated: bool = False,
                  extra: Mapping[str, Any] | None = None) -> Any:
        """Run the call flow on this client's driver: the result (sync) or an awaitable of it (async).
        ``extra`` (the call's ``set_<credential>`` flags) makes the result's credential be stored."""
        flow = core.call_flow(session, request.operation, request, paginated=paginated)
        return self._driver.run(flow, functools.partial(self._finish, request, extra))

    def _finish(self, request: PreparedRequest, extra: Mapping[str, Any] | None, result: Any) -> Any:
        """A Page learns to fetch its neighbours; a credential the operation returns (``auth.login`` ->
        DRF token) is stored when the schema says so."""
        if isinstance(result, Page):
            result._fetch = functools.partial(self._neighbour, request)
        elif extra is not None and request.operation is not None and isinstance(result, dict):
            for credential, field_name in (request.operation.credential_capture or {}).items():
                if extra.get(f"set_{credential}", True) and result.get(field_name):
                    self._session.credentials.set(credential, result[field_name])
        return result

    def _neighbour(self, request: PreparedRequest, link: str | None) -> Any:
        """The page a next / previous link names (None at either end), as ``_run_call`` returns it."""
        following = core.link_request(self._session, request, link)
        if following is None:
            return self._driver.run(core.returning(None))
        return self._run_call(following, self._session, True)

    def paginate(self, prepared: PreparedRequest, *, retry: RetryPolicy | None = None) -> Any:
        """Every page of a listing from its first request on, fetched lazily (one page in memory at a time):
        an iterator of Pages (an async iterator on AsyncClient)."""
        return self._driver.pages(core.paginate_flow(self._session_for(retry), prepared))

    def prepare_request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                        data: Any = None) -> PreparedRequest:
        """The request ``request()`` would send for any path on the configured origin (e.g. for a dry run)."""
        headers = dict(self._session.credentials.base_headers())
        query = core.query_items(params) if isinstance(params, dict) else list(params or [])
        return PreparedRequest(method.upper(), self._url_for(path), headers, query, json=json, data=data)

    def _url_for(self, path: str) -> str:
        """A relative path joined to the base URL; an absolute URL only on the configured origin."""
        if is_relative_path(path):
            return join_url(self.base_url, path)
        if origin(path) != origin(self.base_url):
            scheme, netloc = origin(path)
            raise errors.ConfigurationError(
                f"refusing to send credentials to {scheme}://{netloc}: request() accepts paths on the configured "
                f"origin {'://'.join(origin(self.base_url))} only")
        return path

    def _session_for(self, retry: RetryPolicy | None) -> Session:
        return self._session if retry is None else dataclasses.replace(self._session, retry=retry)

    def _closed_error(self, exc: RuntimeError) -> errors.ClientClosedError:
        """httpx's bare RuntimeError after close(), or under a new event loop, as a one-line SynapseError."""
        if "event loop" in str(exc).lower():
            return errors.ClientClosedError(
                f"this {type(self).__name__}'s connections belong to an event loop that has closed; create the "
                f"{type(self).__name__} inside the asyncio.run() (or loop) that uses it")
        if self._closed or "closed" in str(exc):
            return errors.ClientClosedError(CLOSED.format(cls=type(self).__name__))
        raise exc


def _check_base_url(base_url: str, allow_insecure: bool) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise errors.ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if parts.scheme == "http" and not allow_insecure:
        warnings.warn(
            f"{base_url} uses plain http: credentials travel unencrypted (allow_insecure silences this)",
            errors.InsecureTransportWarning,
            stacklevel=core.caller_stacklevel(),
        )
    return base_url


def _retry_policy(retries: Any) -> RetryPolicy:
    try:
        return RetryPolicy.coerce(retries)
    except ValueError as exc:
        raise errors.ConfigurationError(str(exc)) from None


def _drift_log(path: Any) -> Any:
    if path is None:
        return None
    from .drift import DriftLog

    return DriftLog(path)


class _Attempt:
    """One HTTP exchange, around either client's (awaited or plain) ``http.request`` call: the request's
    httpx arguments and open files, the timing, and the outcome (RawResponse, remembered as the client's
    last exchange, or a classified TransportFailure)."""

    __slots__ = ("client", "request", "http", "files", "kwargs", "started", "response", "outcome")

    def __init__(self, client: _BaseClient, request: PreparedRequest) -> None:
        self.client = client
        self.request = request
        self.http = client._http_client or client._http  # the property creates it (or refuses when closed)
        self.files = ExitStack()
        self.response: Any = None
        self.outcome: RawResponse | TransportFailure | None = None

    def __enter__(self) -> _Attempt:
        try:
            self.kwargs = request_kwargs(self.request, self.files, self.client._timeout)
        except BaseException:
            self.files.close()
            raise
        self.started = time.monotonic()
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, traceback: Any) -> bool:
        self.files.close()
        if exc is None:
            raw = self.outcome = to_raw(self.response)
            remember_exchange(self.client, self.request, raw, time.monotonic() - self.started)
            return False
        if isinstance(exc, httpx.HTTPError):
            self.outcome = to_failure(exc)
            return True
        if isinstance(exc, RuntimeError):
            raise self.client._closed_error(exc) from None
        return False


class Client(_BaseClient):
    """The synchronous client. Use as a context manager to close its connection pool."""

    __doc__ = (__doc__ or "") + "\n\n" + (_BaseClient.__doc__ or "").split("\n", 1)[1]

    _DRIVER = core.SyncDriver
    _HTTP = HTTPClient

    def _send(self, request: PreparedRequest) -> RawResponse | TransportFailure:
        with _Attempt(self, request) as attempt:
            attempt.response = attempt.http.request(request.method, request.url, **attempt.kwargs)
        assert attempt.outcome is not None  # set by _Attempt.__exit__, or it raised
        return attempt.outcome

    def _invoke(self, op: Operation, parents: tuple[Any, ...], args: tuple, kwargs: dict) -> Any:
        bound, request = self._prepare(op, parents, args, kwargs)
        if bound.list_all:
            return self._items(request)
        return self._run_call(request, self._session, False, bound.extra)

    def _items(self, request: PreparedRequest) -> Iterator[Any]:
        for page in self.paginate(request):
            items = page.results
            del page  # neither the page nor its items are held while the next page is fetched
            yield from items
            del items

    def send(self, prepared: PreparedRequest, *, paginated: bool = False, retry: RetryPolicy | None = None) -> Any:
        """Send a prepared request (from ``op.prepare()`` or ``build_request``) with retries; returns its result."""
        return self._run_call(prepared, self._session_for(retry), paginated, {})

    def iter_lines(self, prepared: PreparedRequest) -> Iterator[str]:
        """Each non-empty line of a streamed text answer, newline-terminated, as it arrives (no retries)."""
        name = prepared.operation.qualified_name if prepared.operation else "request"
        try:
            with self._http.stream(prepared.method, prepared.url, headers=prepared.headers,
                                   params=prepared.params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise core.error_from_response(name, to_raw(response), self._session.secrets())
                for line in response.iter_lines():
                    if line:
                        yield line + "\n"
        except httpx.HTTPError as exc:
            raise core.transport_error(prepared, to_failure(exc), 0) from None  # the message holds it, scrubbed

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None, data: Any = None) -> Any:
        """Call any path the schema lacks (on the configured origin); returns the unwrapped JSON."""
        return self.send(self.prepare_request(method, path, params=params, json=json, data=data))

    def close(self) -> None:
        self._closed = True
        if self._http_client is not None:
            self._http_client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncPager(PagerHelp):
    """What async ``list`` returns: ``await`` it (or ``first_page()``) for one Page — or, with
    ``list_all=True``, a list of every item — and ``async for`` for every item of every page."""

    def __init__(self, client: AsyncClient, request: PreparedRequest, bound: BoundCall) -> None:
        self._client = client
        self._request = request
        self._paginator = _Listing(request.operation, bound)

    async def first_page(self) -> Page:
        return await self._client._run_call(self._request, self._client._session, True)

    async def all(self) -> list[Any]:
        """Every item of every page, as one list."""
        return [item async for item in self]

    def __await__(self) -> Generator[Any, None, Any]:
        return (self.all() if self._paginator.bound.list_all else self.first_page()).__await__()

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for page in self._client.paginate(self._request):
            items = page.results
            del page  # neither the page nor its items are held while the next page is fetched
            for item in items:
                yield item
            del items


class _Listing(NamedTuple):
    op: Operation | None
    bound: BoundCall


class AsyncClient(_BaseClient):
    """The asyncio client: every verb is a coroutine except list, which returns an AsyncPager."""

    __doc__ = (__doc__ or "") + "\n\n" + (_BaseClient.__doc__ or "").split("\n", 1)[1]

    _DRIVER = core.AsyncDriver
    _HTTP = AsyncHTTPClient

    async def _send(self, request: PreparedRequest) -> RawResponse | TransportFailure:
        with _Attempt(self, request) as attempt:
            attempt.response = await attempt.http.request(request.method, request.url, **attempt.kwargs)
        assert attempt.outcome is not None  # set by _Attempt.__exit__, or it raised
        return attempt.outcome

    def _invoke(self, op: Operation, parents: tuple[Any, ...], args: tuple, kwargs: dict) -> Any:
        bound, request = self._prepare(op, parents, args, kwargs)
        if op.is_paginated:
            return AsyncPager(self, request, bound)
        return self._run_call(request, self._session, False, bound.extra)  # an awaitable

    async def send(self, prepared: PreparedRequest, *, paginated: bool = False,
                   retry: RetryPolicy | None = None) -> Any:
        """Send a prepared request (from ``op.prepare()`` or ``build_request``) with retries; returns its result."""
        return await self._run_call(prepared, self._session_for(retry), paginated, {})

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None, data: Any = None) -> Any:
        """Call any path the schema lacks (on the configured origin); returns the unwrapped JSON."""
        return await self.send(self.prepare_request(method, path, params=params, json=json, data=data))

    async def aclose(self) -> None:
        self._closed = True
        if self._http_client is not None:
            await self._http_client.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
