"""The sandbox as an in-process httpx transport, for both httpx.Client and httpx.AsyncClient.

Faults behave as they would over a socket: latency sleeps (asyncio.sleep when async),
and a dropped connection raises the exception httpx raises for a real one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

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

    def __init__(self, sandbox: Sandbox, *, faults: bool = True) -> None:
        self.sandbox = sandbox
        self.faults = faults

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Serve one request synchronously (latency via time.sleep)."""
        body = to_request(request, request.read())
        answer = self.sandbox.exchange(body) if self.faults else self.sandbox.respond(body)
        return self._reply(request, answer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = to_request(request, await request.aread())
        answer = await self.sandbox.exchange_async(body) if self.faults else self.sandbox.respond(body)
        return self._reply(request, answer)

    def _reply(self, request: httpx.Request, response: Response | None) -> httpx.Response:
        if response is None:
            raise dropped(request)
        return to_httpx(response, request)

    def close(self) -> None:
        """Nothing to release: the sandbox outlives its transports."""

    async def aclose(self) -> None:
        """Nothing to release: the sandbox outlives its transports."""
