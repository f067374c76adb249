"""The sandbox over real HTTP: a threaded stdlib server, in the foreground or a background thread.

A developer may run it on a shared machine, so it holds its limits against hostile clients: a body
cap (413), strict framing (a bad ``Content-Length`` is 400; ``Transfer-Encoding: chunked`` is
decoded, any other transfer coding is 501, both headers at once are 400), the Host header checked
against the bound address (DNS rebinding), idle connections closed after ``idle_timeout`` seconds,
and at most ``max_connections`` connections served at once (503 beyond). Bodies above one MiB are
spooled to a private temporary file and parsed from a memory map, never held whole in memory.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from ..util.urls import is_loopback_host
from .messages import ApiError, Request, Response

if TYPE_CHECKING:  # pragma: no cover
    from .service import Sandbox

log = logging.getLogger("synapse_dyn.sandbox")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MEMORY_BODY = 1024 * 1024
READ_BLOCK = 256 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Limits:
    """How long an idle connection stays open (seconds) and how many connections are served at once.

    The body cap is the sandbox's own (``Sandbox(max_body=...)``), the same for both transports.
    """

    idle_timeout: float = 30.0
    max_connections: int = 64


class Spool:
    """Bytes in memory up to ``MEMORY_BODY``, then in an anonymous temporary file (mode 0600, unlinked)."""

    def __init__(self) -> None:
        self.memory = bytearray()
        self.file: Any = None
        self.size = 0

    def write(self, block: bytes) -> None:
        """Append a block, moving to disk once the spool outgrows memory."""
        self.size += len(block)
        if self.file is None and len(self.memory) + len(block) <= MEMORY_BODY:
            self.memory += block
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix="synapse-sandbox-body-")  # noqa: SIM115 - closed in close()
            self.file.write(self.memory)
            self.memory = bytearray()
        self.file.write(block)

    @contextlib.contextmanager
    def contents(self) -> Iterator[Any]:
        """The whole body: bytes, or a read-only memory map of the file."""
        if self.file is None:
            yield bytes(self.memory)
            return
        self.file.flush()
        mapped = mmap.mmap(self.file.fileno(), self.size, access=mmap.ACCESS_READ)
        try:
            yield mapped
        finally:
            with contextlib.suppress(BufferError):  # a view still alive: the collector unmaps it later
                mapped.close()

    def close(self) -> None:
        """Remove the temporary file, if any."""
        if self.file is not None:
            self.file.close()


class SandboxServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer bound to one sandbox."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default backlog (5) refuses bursts of concurrent clients

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8765,
                 access_log: Callable[[str], None] | None = None, limits: Limits | None = None) -> None:
        self.sandbox = sandbox
        self.access_log = access_log
        self.limits = limits or Limits()
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        super().__init__((host, port), SandboxRequestHandler)

    @property
    def url(self) -> str:
        """The base URL clients use."""
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a connection in a thread, or answer 503 and close when every slot is taken."""
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(busy_response())
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def host_allowed(self, header: str | None) -> bool:
        """Whether a Host header names this server (a wildcard bind accepts any name)."""
        bound, port = str(self.server_address[0]), self.server_address[1]
        if bound in ("0.0.0.0", "::"):  # noqa: S104 - an explicit choice, warned about at start
            return True
        if not header:
            return False
        name, _, given_port = header.rpartition(":") if not header.endswith("]") else (header, "", "")
        if not name or "]" in given_port:
            name, given_port = header, ""
        if given_port and given_port != str(port):
            return False
        name = name.strip("[]").lower()
        return name == bound.lower() or name in LOOPBACK_NAMES and is_loopback_host(bound)


def busy_response() -> bytes:
    """The whole 503 answer for a connection beyond the limit."""
    body = b'{"error":{"code":"SERVICE_UNAVAILABLE","message":"Too many connections."},"meta":{}}'
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a sandbox Request; a dropped request closes the socket unanswered."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, no delayed-ACK stalls
    server: SandboxServer
    server_version = "synapse-sandbox"

    def setup(self) -> None:
        self.timeout = self.server.limits.idle_timeout  # socket timeout: idle keep-alive connections close
        super().setup()

    def _handle(self) -> None:
        started = time.perf_counter()
        try:
            with self._body() as body:
                request = self._request(body)
                response = self.server.sandbox.exchange(request)
                self._answer(request, response, started)
        except ApiError as error:
            self.close_connection = True
            answer = self.server.sandbox.app.error(error)
            self._write(answer.status, answer.headers, answer.body)

    def _request(self, body: Any) -> Request:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if not self.server.host_allowed(headers.get("host")):
            raise ApiError(400, "Invalid Host header: this sandbox answers only to the address it is bound to.",
                           code="INVALID_HOST")
        host = headers["host"] if headers.get("host") else "{}:{}".format(*self.server.server_address[:2])
        return Request(self.command, f"http://{host}{self.path}", headers, body)

    def _answer(self, request: Request, response: Response | None, started: float) -> None:
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self._log(request, "dropped", started)
            return
        self._write(response.status, response.headers, response.body)
        self._log(request, str(response.status), started)

    @contextlib.contextmanager
    def _body(self) -> Iterator[Any]:
        """The request body: bytes when small, a memory map of a private temporary file when large."""
        spool = Spool()
        try:
            self._read_body(spool)
            with spool.contents() as body:
                yield body
        finally:
            spool.close()

    def _read_body(self, sink: Any) -> int:
        """Copy the body into ``sink`` under the framing rules and the size cap (checked before reading)."""
        coding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        length_header = self.headers.get("Content-Length")
        if coding and length_header is not None:
            raise ApiError(400, "A request may not carry both Content-Length and Transfer-Encoding.")
        if coding:
            if coding != "chunked":
                raise ApiError(501, f"Transfer-Encoding {coding!r} is not supported; use chunked or Content-Length.",
                               code="NOT_IMPLEMENTED")
            return self._read_chunked(sink)
        length = parse_length(length_header)
        if length > self.server.sandbox.max_body:
            raise too_large(self.server.sandbox.max_body)
        return _copy(self.rfile, sink, length)

    def _read_chunked(self, sink: Any) -> int:
        total = 0
        while True:
            line = self.rfile.readline(1024)
            size = parse_chunk_size(line)
            if size == 0:
                break
            total += size
            if total > self.server.sandbox.max_body:
                raise too_large(self.server.sandbox.max_body)
            _copy(self.rfile, sink, size)
            if self.rfile.read(2) != b"\r\n":
                raise ApiError(400, "Malformed chunked body: a chunk does not end with CRLF.")
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):  # trailers are ignored
            pass
        return total

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


def parse_length(header: str | None) -> int:
    """A Content-Length value, or ApiError 400 (digits only: no sign, no spaces inside, no list)."""
    if header is None or header.strip() == "":
        return 0
    text = header.strip()
    if not text.isdigit() or not text.isascii():
        raise ApiError(400, "Content-Length must be a non-negative integer.", code="BAD_REQUEST")
    return int(text)


def parse_chunk_size(line: bytes) -> int:
    """The size of one chunk from its size line (extensions ignored), or ApiError 400."""
    text = line.split(b";", 1)[0].strip()
    if not line.endswith(b"\n") or not text or len(text) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in text):
        raise ApiError(400, "Malformed chunked body: bad chunk size line.", code="BAD_REQUEST")
    return int(text, 16)


def too_large(cap: int) -> ApiError:
    """The 413 answer naming the cap."""
    return ApiError(413, f"Request body too large: the sandbox accepts at most {cap} bytes.",
                    code="PAYLOAD_TOO_LARGE")


def _copy(source: Any, sink: Any, length: int) -> int:
    left = length
    while left > 0:
        block = source.read(min(READ_BLOCK, left))
        if not block:
            raise ApiError(400, "The request body ended before its declared length.", code="BAD_REQUEST")
        sink.write(block)
        left -= len(block)
    return length


@contextlib.contextmanager
def background(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, limits: Limits | None = None
               ) -> Iterator[str]:
    """Serve in a daemon thread; yields the base URL and stops the server on exit."""
    server = SandboxServer(sandbox, host, port, limits=limits)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="synapse-sandbox", daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
