"""The sandbox over real HTTP: a threaded stdlib server, in the foreground or a background thread."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .messages import Request

if TYPE_CHECKING:  # pragma: no cover
    from .service import Sandbox

log = logging.getLogger("synapse_dyn.sandbox")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class SandboxServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer bound to one sandbox."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default backlog (5) refuses bursts of concurrent clients

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8765,
                 access_log: Callable[[str], None] | None = None) -> None:
        self.sandbox = sandbox
        self.access_log = access_log
        super().__init__((host, port), SandboxRequestHandler)

    @property
    def url(self) -> str:
        """The base URL clients use."""
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}"


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a sandbox Request; a dropped request closes the socket unanswered."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, no delayed-ACK stalls
    server: SandboxServer
    server_version = "synapse-sandbox"

    def _handle(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = headers.get("host") or "{}:{}".format(*self.server.server_address[:2])
        request = Request(self.command, f"http://{host}{self.path}", headers, body)
        sandbox = self.server.sandbox
        fault = sandbox.faults.decide()
        if fault.latency:
            time.sleep(fault.latency)
        response = sandbox.respond(request, fault)
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self._log(request, "dropped", started)
            return
        self._write(response.status, response.headers, response.body)
        self._log(request, str(response.status), started)

    def _write(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Status line, headers and body in a single write (no small-packet stalls)."""
        reason = self.responses.get(status, ("",))[0]
        lines = [f"{self.protocol_version} {status} {reason}", f"Server: {self.version_string()}",
                 f"Date: {self.date_time_string()}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + (body if self.command != "HEAD" else b""))

    def _log(self, request: Request, outcome: str, started: float) -> None:
        if self.server.access_log is not None:
            elapsed = (time.perf_counter() - started) * 1000
            self.server.access_log(f"{request.method} {self.path} -> {outcome} ({elapsed:.1f} ms)")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug(format, *args)


for _method in METHODS:
    setattr(SandboxRequestHandler, f"do_{_method}", SandboxRequestHandler._handle)


@contextlib.contextmanager
def background(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve in a daemon thread; yields the base URL and stops the server on exit."""
    server = SandboxServer(sandbox, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="synapse-sandbox", daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
