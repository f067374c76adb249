"""The only place httpx is spoken: PreparedRequest -> httpx arguments, httpx outcome -> RawResponse.

Shared by the sync and async clients, so mapping exceptions and bodies is written once.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import PurePath
from typing import Any

import httpx

from .core import PreparedRequest, RawResponse, TransportFailure

DEFAULT_TIMEOUT = {"connect": 5, "read": 15}


def make_timeout(timeout: Any) -> httpx.Timeout:
    """``{'connect': 5, 'read': 15}``, a number, or an httpx.Timeout."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if isinstance(timeout, int | float):
        return httpx.Timeout(timeout)
    connect = timeout.get("connect", DEFAULT_TIMEOUT["connect"])
    read = timeout.get("read", DEFAULT_TIMEOUT["read"])
    return httpx.Timeout(connect=connect, read=read, write=timeout.get("write", read), pool=timeout.get("pool", connect))


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


class _ReusedHeaderMerge:
    """Reuse the last merge of per-request headers into the client's own headers.

    Every call carries the same Accept, User-Agent and credential headers, and httpx merges
    them case-insensitively on each request, which costs more than the rest of the client's
    work per call. An identical headers dict (same items in the same order, same client
    headers) gets a copy of the previous result; anything else is merged as usual.
    """

    _last_merge: tuple[tuple[tuple[Any, Any], ...], Any, httpx.Headers] | None = None

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


class HTTPClient(_ReusedHeaderMerge, httpx.Client):
    """httpx.Client that reuses its last header merge."""


class AsyncHTTPClient(_ReusedHeaderMerge, httpx.AsyncClient):
    """httpx.AsyncClient that reuses its last header merge."""


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
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportFailure("timeout", f"connect timeout ({text})", sent=False)
    if isinstance(exc, httpx.ConnectError):
        return TransportFailure("connect", f"cannot connect ({text})", sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return TransportFailure("timeout", f"the server did not answer in time ({text})", sent=True)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return TransportFailure("read", f"the connection broke ({text})", sent=True)
    return TransportFailure("protocol", text, sent=True)
