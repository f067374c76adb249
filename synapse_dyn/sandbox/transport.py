"""The sandbox as an in-process httpx transport, for both httpx.Client and httpx.AsyncClient.

Faults behave as they would over a socket: latency sleeps (asyncio.sleep when async),
and a dropped connection raises the exception httpx raises for a real one.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

from .faults import Fault
from .messages import Request, Response

if TYPE_CHECKING:  # pragma: no cover
    from .service import Sandbox

DROP_MESSAGE = "Server disconnected without sending a response."


def to_request(request: httpx.Request, body: bytes) -> Request:
    """An httpx request as a sandbox Request."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
    return Request(request.method, str(request.url), headers, body)


def to_httpx(response: Response, request: httpx.Request) -> httpx.Response:
    """A sandbox Response as an httpx response."""
    return httpx.Response(response.status, headers=response.headers, content=response.body, request=request)


def dropped(request: httpx.Request) -> httpx.RemoteProtocolError:
    """The error httpx raises when a server closes the connection without answering."""
    return httpx.RemoteProtocolError(DROP_MESSAGE, request=request)


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """``Client('https://sandbox.local', transport=sandbox.transport())``: no sockets involved."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Serve one request synchronously (latency via time.sleep)."""
        fault = self.sandbox.faults.decide()
        if fault.latency:
            time.sleep(fault.latency)
        return self._serve(request, request.read(), fault)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.sandbox.faults.decide()
        if fault.latency:
            await asyncio.sleep(fault.latency)
        return self._serve(request, await request.aread(), fault)

    def _serve(self, request: httpx.Request, body: bytes, fault: Fault) -> httpx.Response:
        response = self.sandbox.respond(to_request(request, body), fault)
        if response is None:
            raise dropped(request)
        return to_httpx(response, request)

    def close(self) -> None:
        """Nothing to release: the sandbox outlives its transports."""

    async def aclose(self) -> None:
        """Nothing to release: the sandbox outlives its transports."""
