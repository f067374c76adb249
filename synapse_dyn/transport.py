"""The only place httpx is spoken: PreparedRequest -> httpx arguments, httpx outcome -> RawResponse.

Shared by the sync and async clients, so mapping exceptions and bodies is written once.
"""

from __future__ import annotations

import functools
import io
import os
import time
from contextlib import ExitStack
from contextvars import ContextVar
from pathlib import PurePath
from typing import Any

import httpx

from .core import PreparedRequest, RawResponse, TransportFailure
from .errors import ConfigurationError
from .masking import scrub

DEFAULT_TIMEOUT: dict[str, float] = {"connect": 5, "read": 15, "attempt": 60, "total": 180}
DEFAULT_MAX_RESPONSE_SIZE = 64 * 2**20  # decoded bytes of one response body


class ClientTimeout(httpx.Timeout):
    """httpx's per-operation timeouts plus what httpx lacks: deadlines and a response size limit.

    ``read`` bounds each socket read, so a server trickling one byte at a time never trips it;
    ``attempt`` bounds one whole request (connect, send, headers, body) and ``total`` one call,
    retries and waits included. ``max_response_size`` bounds the decoded body.
    """

    def __init__(self, *, connect: float | None, read: float | None, write: float | None, pool: float | None,
                 attempt: float | None, total: float | None, max_response_size: int | None) -> None:
        super().__init__(connect=connect, read=read, write=write, pool=pool)
        self.attempt = attempt
        self.total = total
        self.max_response_size = max_response_size


def _seconds(settings: dict[str, Any], name: str) -> float | None:
    value = settings.get(name, DEFAULT_TIMEOUT.get(name))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"timeout[{name!r}] must be a positive number of seconds or None, not {value!r}")
    return float(value)


def make_timeout(timeout: Any, *, max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE) -> ClientTimeout:
    """``{'connect': 5, 'read': 15, 'attempt': 60, 'total': 180}`` (any subset), a number, or an httpx.Timeout."""
    if isinstance(max_response_size, bool) or not (
            max_response_size is None or isinstance(max_response_size, int) and max_response_size > 0):
        raise ConfigurationError(f"max_response_size must be a positive number of bytes or None, "
                                 f"not {max_response_size!r}")
    if isinstance(timeout, ClientTimeout):
        return timeout
    if isinstance(timeout, httpx.Timeout):
        settings: dict[str, Any] = {**timeout.as_dict()}
    elif timeout is None:
        settings = {}
    elif isinstance(timeout, int | float) and not isinstance(timeout, bool):
        settings = {"connect": timeout, "read": timeout}
    elif isinstance(timeout, dict):
        unknown = sorted(set(timeout) - {"connect", "read", "write", "pool", "attempt", "total"})
        if unknown:
            raise ConfigurationError(f"unknown timeout {unknown[0]!r}; valid: connect, read, write, pool, attempt, total")
        settings = dict(timeout)
    else:
        raise ConfigurationError(f"timeout must be seconds, a dict or an httpx.Timeout, not {type(timeout).__name__}")
    connect, read = _seconds(settings, "connect"), _seconds(settings, "read")
    write = _seconds(settings, "write") if settings.get("write") is not None else read
    pool = _seconds(settings, "pool") if settings.get("pool") is not None else connect
    attempt = _seconds(settings, "attempt")
    if "attempt" not in settings and attempt is not None:  # a long read timeout stretches the default deadline
        attempt = max(attempt, (connect or 0) + (read or 0))
    total = _seconds(settings, "total")
    if "total" not in settings and total is not None and attempt is not None:
        total = max(total, attempt)
    return ClientTimeout(connect=connect, read=read, write=write, pool=pool, attempt=attempt, total=total,
                         max_response_size=max_response_size)


def request_kwargs(request: PreparedRequest, files: ExitStack, base_timeout: httpx.Timeout) -> dict[str, Any]:
    """httpx.request keyword arguments; file paths are opened inside ``files``."""
    kwargs: dict[str, Any] = {"headers": request.headers}
    if request.read_timeout is not None and base_timeout.read is not None:
        read = max(base_timeout.read, request.read_timeout)
        kwargs["timeout"] = httpx.Timeout(connect=base_timeout.connect, read=read, write=base_timeout.write,
                                          pool=base_timeout.pool)
    if request.params:
        kwargs["params"] = request.params
    if request.json is not None and request.content is None:
        kwargs["json"] = request.json
    if request.data:
        kwargs["data"] = request.data
    if request.content is not None:
        kwargs["content"] = request.content
    if request.files:
        opened: dict[str, Any] = {}
        for key, value in request.files.items():
            if isinstance(value, PurePath | str) and not isinstance(value, bytes):
                handle = files.enter_context(open(value, "rb"))  # noqa: SIM115 - closed by the ExitStack
                opened[key] = (os.path.basename(os.fspath(value)), handle)
            elif hasattr(value, "seek"):
                value.seek(0)
                opened[key] = value
            else:
                opened[key] = value
        kwargs["files"] = opened
    return kwargs


class _SkippedCookieWork(httpx.Cookies):
    """httpx's cookies, handed to the jar only by a response that sets a cookie.

    httpx passes every response to ``http.cookiejar`` (a urllib Request is built and the headers
    scanned), about as much work as the rest of the client's per call; without a Set-Cookie
    header the jar would store nothing, so skipping it changes nothing.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        for name, _ in response.headers.raw:
            if name.lower() in (b"set-cookie", b"set-cookie2"):
                super().extract_cookies(response)
                return


class _ReusedRequestParts:
    """Reuse the parts of a request that repeat from call to call, where httpx rebuilds them each time.

    - Headers: every call carries the same Accept, User-Agent and credential headers, and httpx
      merges them case-insensitively on each request. An identical headers dict (same items in the
      same order, same client headers) gets a copy of the previous result.
    - URLs: a URL without a query string (listing a collection, polling one item) is parsed once
      per client and kept in a small table; URLs with a query are never kept (they may carry
      signatures).
    - Cookies: see ``_SkippedCookieWork``.
    """

    _last_merge: tuple[tuple[tuple[Any, Any], ...], Any, httpx.Headers] | None = None
    _PARSED_URLS_KEPT = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # the httpx client
        self._parsed_urls: dict[str, httpx.URL] = {}
        self._cookies = _SkippedCookieWork(self._cookies)  # type: ignore[has-type]

    def _merge_url(self, url: Any) -> Any:
        if type(url) is str and "?" not in url:
            parsed = self._parsed_urls.get(url)
            if parsed is None:
                if len(self._parsed_urls) >= self._PARSED_URLS_KEPT:
                    self._parsed_urls.clear()
                parsed = self._parsed_urls[url] = httpx.URL(url)
            url = parsed
        return super()._merge_url(url)  # type: ignore[misc]

    def _merge_headers(self, headers: Any = None) -> Any:
        if type(headers) is not dict:
            return super()._merge_headers(headers)  # type: ignore[misc]
        items = tuple(headers.items())
        client_headers = self.headers  # type: ignore[attr-defined]
        last = self._last_merge
        if last is not None and last[1] is client_headers and last[0] == items:
            return httpx.Headers(last[2])
        merged = super()._merge_headers(headers)  # type: ignore[misc]
        self._last_merge = (items, client_headers, httpx.Headers(merged))
        return merged


# -- deadlines and the size limit -----------------------------------------------------------------------

_deadline: ContextVar[tuple[float, str] | None] = ContextVar("synapse_dyn_deadline", default=None)
_call_deadline: ContextVar[tuple[float, str] | None] = ContextVar("synapse_dyn_call_deadline", default=None)


class DeadlineExceeded(httpx.ReadTimeout):
    """An attempt or a call ran past its total deadline (however steadily bytes were arriving)."""


class ResponseTooLarge(httpx.DecodingError):
    """The decoded response body grew past max_response_size."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the response body exceeded max_response_size ({limit} bytes decoded); "
                         "pass a larger max_response_size to accept it")


@functools.lru_cache(maxsize=64)
def _label(kind: str, seconds: float) -> str:
    """``the attempt deadline of 60 s``: made once per setting, not on every call (a hot path)."""
    return f"the {kind} deadline of {seconds:g} s"


class call_deadline:  # noqa: N801 - a context manager used like a function; a class costs less per call
    """Bound one call, retries and waits included, by ``timeout.total`` (a ClientTimeout); nests safely."""

    __slots__ = ("_total", "_token")

    def __init__(self, timeout: Any) -> None:
        self._total = getattr(timeout, "total", None)
        self._token: Any = None

    def __enter__(self) -> None:
        total = self._total
        if total is not None and _call_deadline.get() is None:
            self._token = _call_deadline.set((time.monotonic() + total, _label("call", total)))

    def __exit__(self, *exc: Any) -> None:
        if self._token is not None:
            _call_deadline.reset(self._token)
            self._token = None


def _attempt_deadline(limits: ClientTimeout | None, request: httpx.Request) -> tuple[float, str] | None:
    """The earlier of this attempt's and this call's deadlines; a slow endpoint's longer read stretches it."""
    now = time.monotonic()
    attempt = getattr(limits, "attempt", None)
    slow_read = (request.extensions.get("timeout") or {}).get("read")
    base_read = getattr(limits, "read", None)
    if attempt is not None and slow_read and base_read and slow_read > base_read:
        return now + max(attempt, slow_read), _label("attempt", max(attempt, slow_read))
    found = (now + attempt, _label("attempt", attempt)) if attempt is not None else None
    call = _call_deadline.get()
    if call is not None and (found is None or call[0] < found[0]):
        found = call
    return found


def _left(error: type[Exception]) -> float | None:
    """Seconds left before the current deadline; raise ``error`` naming it when none are."""
    current = _deadline.get()
    if current is None:
        return None
    left = current[0] - time.monotonic()
    if left <= 0:
        raise error(f"{current[1]} passed")
    return left


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to the time left before the current deadline (``_left`` inlined: every socket op)."""
    current = _deadline.get()
    if current is None:
        return timeout
    left = current[0] - time.monotonic()
    if left <= 0:
        raise error(f"{current[1]} passed")
    return left if timeout is None or left < timeout else timeout


class _BoundedBody:
    """The decoded body with a running count: stops at the limit, never holds more than it.

    One of these serves the sync and the async read loop, which differ only in how they iterate.
    """

    __slots__ = ("buffer", "limit", "size")

    def __init__(self, response: httpx.Response, limit: int | None) -> None:
        if limit is not None and not response.headers.get("content-encoding"):
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(limit)
        self.buffer, self.size, self.limit = io.BytesIO(), 0, limit

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise ResponseTooLarge(self.limit)
        self.buffer.write(chunk)

    def store(self, response: httpx.Response) -> None:
        response._content = self.buffer.getvalue()  # what response.read() sets; BytesIO hands it over uncopied


def _read_bounded(response: httpx.Response, limit: int | None) -> None:
    body = _BoundedBody(response, limit)
    for chunk in response.iter_bytes():
        body.add(chunk)
        _left(DeadlineExceeded)  # custom transports have no socket reads to bound
    body.store(response)


async def _aread_bounded(response: httpx.Response, limit: int | None) -> None:
    body = _BoundedBody(response, limit)
    async for chunk in response.aiter_bytes():
        body.add(chunk)
    body.store(response)


def _install_deadlines(client: httpx.Client) -> None:
    """Bound every socket operation of the client's own connection pools by the current deadline."""
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not getattr(backend, "bounded_by_deadline", False):
            pool._network_backend = _deadline_backend_class()(backend)  # type: ignore[union-attr]


_BACKEND_CLASS: list[type] = []


def _deadline_backend_class() -> type:
    """httpcore's network backend, with every connect, read and write cut short at the deadline.

    Built on first use, so importing this module does not import httpcore.
    """
    if _BACKEND_CLASS:
        return _BACKEND_CLASS[0]
    import httpcore

    deadline_stream = _deadline_stream_class(httpcore)

    class DeadlineBackend(httpcore.NetworkBackend):
        bounded_by_deadline = True

        def __init__(self, backend: Any) -> None:
            self._backend = backend

        def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                        socket_options: Any = None) -> Any:
            stream = self._backend.connect_tcp(host, port, _clamp(timeout, httpcore.ConnectTimeout), local_address,
                                               socket_options)
            return deadline_stream(stream)

        def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
            return deadline_stream(self._backend.connect_unix_socket(path, _clamp(timeout, httpcore.ConnectTimeout),
                                                                     socket_options))

        def sleep(self, seconds: float) -> None:
            self._backend.sleep(seconds)

    _BACKEND_CLASS.append(DeadlineBackend)
    return DeadlineBackend


def _deadline_stream_class(httpcore: Any) -> type:
    """httpcore's network stream with every read and write cut short at the current deadline."""

    def bounded(call: Any, timeout: float | None, error: type[Exception], *args: Any) -> Any:
        try:
            return call(*args, _clamp(timeout, error))
        except httpcore.TimeoutException:
            _left(error)  # raises naming the deadline when that is what ran out
            raise

    class DeadlineStream(httpcore.NetworkStream):
        def __init__(self, stream: Any) -> None:
            self._stream = stream

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return bounded(self._stream.read, timeout, httpcore.ReadTimeout, max_bytes)

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            if buffer:  # httpcore writes an empty buffer at the end of a bodiless request: nothing to bound
                bounded(self._stream.write, timeout, httpcore.WriteTimeout, buffer)

        def close(self) -> None:
            self._stream.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                      timeout: float | None = None) -> Any:
            return DeadlineStream(bounded(self._stream.start_tls, timeout, httpcore.ConnectTimeout, ssl_context,
                                          server_hostname))

        def get_extra_info(self, info: str) -> Any:
            return self._stream.get_extra_info(info)

    return DeadlineStream


class HTTPClient(_ReusedRequestParts, httpx.Client):
    """httpx.Client that bounds each response's size and each attempt's and call's total time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        timeout = kwargs.get("timeout")
        self.limits: ClientTimeout | None = timeout if isinstance(timeout, ClientTimeout) else None
        super().__init__(*args, **kwargs)
        _install_deadlines(self)

    def send(self, request: httpx.Request, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        token = _deadline.set(_attempt_deadline(self.limits, request))
        try:
            _left(DeadlineExceeded)
            response = super().send(request, stream=True, **kwargs)
            if stream:
                return response
            try:
                _read_bounded(response, getattr(self.limits, "max_response_size", DEFAULT_MAX_RESPONSE_SIZE))
            finally:
                response.close()
            return response
        finally:
            _deadline.reset(token)


class AsyncHTTPClient(_ReusedRequestParts, httpx.AsyncClient):
    """httpx.AsyncClient that bounds each response's size and each attempt's and call's total time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        timeout = kwargs.get("timeout")
        self.limits: ClientTimeout | None = timeout if isinstance(timeout, ClientTimeout) else None
        super().__init__(*args, **kwargs)

    async def send(self, request: httpx.Request, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        import asyncio

        deadline = _attempt_deadline(self.limits, request)
        left = None if deadline is None else deadline[0] - time.monotonic()
        if left is not None and left <= 0:
            raise DeadlineExceeded(f"{deadline[1]} passed", request=request)  # type: ignore[index]
        try:
            async with asyncio.timeout(left):
                response = await super().send(request, stream=True, **kwargs)
                if stream:
                    return response
                try:
                    await _aread_bounded(response, getattr(self.limits, "max_response_size",
                                                           DEFAULT_MAX_RESPONSE_SIZE))
                finally:
                    await response.aclose()
                return response
        except TimeoutError:
            raise DeadlineExceeded(f"{deadline[1]} passed", request=request) from None  # type: ignore[index]


_READ_BODY = httpx.ByteStream(b"")


def to_raw(response: httpx.Response) -> RawResponse:
    raw = RawResponse(response.status_code, response.headers, response.content, response.reason_phrase)
    if response.is_closed:
        # httpx links a response and its stream in a reference cycle; cut it, so the body is freed
        # as soon as the caller is done with it instead of at the next cyclic garbage collection.
        response.stream = _READ_BODY
    return raw


def to_failure(exc: httpx.HTTPError) -> TransportFailure:
    """Classify an httpx exception; ``sent=False`` only when the server was provably never reached."""
    text = _scrubbed(exc)
    if isinstance(exc, ResponseTooLarge):
        return TransportFailure("too_large", str(exc), sent=True)
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportFailure("timeout", f"connect timeout ({text})", sent=False)
    if isinstance(exc, httpx.ConnectError):
        return TransportFailure("connect", f"cannot connect ({text})", sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return TransportFailure("timeout", f"the server did not answer in time ({text})", sent=True)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return TransportFailure("read", f"the connection broke ({text})", sent=True)
    return TransportFailure("protocol", text, sent=True)


_PLAIN_HEADERS = frozenset({"accept", "accept-encoding", "connection", "content-length", "content-type", "host",
                            "user-agent", "transfer-encoding"})


def _scrubbed(exc: httpx.HTTPError) -> str:
    """The exception as text, with every credential of its request (and every registered one) masked."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    try:
        headers = exc.request.headers
    except RuntimeError:  # an exception raised before a request existed
        return scrub(text)
    return scrub(text, [v for k, v in headers.items() if k.lower() not in _PLAIN_HEADERS])
