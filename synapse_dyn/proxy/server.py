"""The pass-through: every request is relayed to the upstream as it arrives and the answer streamed back.

Status, reason, headers and body bytes are relayed unchanged (only hop-by-hop headers, which
describe one connection, are not: RFC 9110 section 7.6.1), chunk by chunk as they arrive, so
timing passes through too. A copy of each body up to ``max_body`` bytes is handed to a
background worker that validates it after the answer is sent; a larger body is streamed
through and its validation skipped and counted. When the upstream drops the connection the
client's connection is dropped the same way, and the proxy keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from ..registry import Registry
from .findings import Findings
from .inspect import Exchange, Inspector

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "trailers", "transfer-encoding", "upgrade"})
STATS_PATH = "/__proxy__/stats"
DEFAULT_MAX_BODY = 10 * 1024 * 1024
CHUNK = 64 * 1024


class _Tee:
    """Keeps a copy of what streams through, up to a limit (beyond it: None, and counted)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0
        self.parts: list[bytes] = []

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= self.limit:
            self.parts.append(chunk)
        else:
            self.parts = []

    @property
    def body(self) -> bytes | None:
        return b"".join(self.parts) if self.size <= self.limit else None


class ValidationProxy:
    """A validating reverse proxy in front of ``upstream`` for one schema (see ``serve``)."""

    def __init__(self, upstream: str, registry: Registry, *, drift_log: Any = None, samples: bool = False,
                 max_body: int = DEFAULT_MAX_BODY, timeout: float = 60.0) -> None:
        if not upstream.startswith(("http://", "https://")):
            raise ValueError("upstream must be an http(s) URL")
        self.upstream = upstream.rstrip("/")
        self.max_body = max_body
        self.findings = Findings(drift_log, samples=samples)
        self.inspector = Inspector(registry, self.findings)
        self.http = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False,
                                 limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
        self.counters = {"requests": 0, "validated": 0, "skipped_too_large": 0, "upstream_errors": 0,
                         "validation_errors": 0, "queue_full": 0}
        self._count_lock = threading.Lock()
        self._in_flight = 0
        self._idle = threading.Condition()
        self._queue: queue.Queue[Exchange | None] = queue.Queue(maxsize=10_000)
        self._worker = threading.Thread(target=self._validate_loop, name="proxy-validator", daemon=True)
        self._worker.start()
        self.started = time.time()

    def count(self, name: str, n: int = 1) -> None:
        with self._count_lock:
            self.counters[name] += n

    @contextlib.contextmanager
    def relaying(self) -> Iterator[None]:
        """Marks one exchange in flight, so ``drain`` also waits for answers still being relayed."""
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def submit(self, exchange: Exchange) -> None:
        """Queue an exchange for validation; never blocks the traffic (a full queue is counted)."""
        if exchange.request_body is None or (exchange.status and exchange.response_body is None):
            self.count("skipped_too_large")
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            self.count("queue_full")

    def _validate_loop(self) -> None:
        while True:
            exchange = self._queue.get()
            try:
                if exchange is None:
                    return
                self.inspector.inspect(exchange)
                self.count("validated")
            except Exception:  # noqa: BLE001 - a validator failure must never stop the proxy
                self.count("validation_errors")
            finally:
                self._queue.task_done()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every exchange relayed so far has been validated."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout)
        self._queue.join()

    def stats(self) -> dict[str, Any]:
        with self._count_lock:
            counters = dict(self.counters)
        findings = self.findings.snapshot()
        return {**counters, "unmatched": self.inspector.unmatched, "log_errors": self.findings.log_errors,
                "distinct_findings": len(findings), "uptime_s": round(time.time() - self.started, 1),
                "findings": findings}

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve in a background thread; yields the proxy's base URL."""
        server = self.make_server(host, port)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield f"http://{_url_host(host)}:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)

    def make_server(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        handler = type("BoundProxyHandler", (ProxyHandler,), {"proxy": self})
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        server = server_class((host, port), handler)
        server.daemon_threads = True
        return server

    def close(self) -> None:
        self.drain()
        self._queue.put(None)
        self._worker.join(5)
        self.http.close()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class ProxyHandler(BaseHTTPRequestHandler):
    """Relays one connection's requests; ``proxy`` is bound by ValidationProxy.make_server."""

    protocol_version = "HTTP/1.1"
    proxy: ValidationProxy

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Quiet: request lines may carry values (ids, filters); findings are the proxy's output."""

    def _relay(self) -> None:
        if self.path.split("?")[0] == STATS_PATH:
            return self._send_stats()
        with self.proxy.relaying():
            self._relay_one()

    def _relay_one(self) -> None:
        self.proxy.count("requests")
        tee = _Tee(self.proxy.max_body)
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"]
        body = self._request_body(tee)
        if body is not None and "content-length" not in {k.lower() for k, _ in headers}:
            headers.append(("Transfer-Encoding", "chunked"))
        request = httpx.Request(self.command, self.proxy.upstream + self.path, headers=headers, content=body)
        exchange = Exchange(self.command, self.path, dict(self.headers.items()), b"")
        try:
            response = self.proxy.http.send(request, stream=True)
        except (httpx.HTTPError, OSError):  # refused, reset, timed out, or the client's body broke off
            return self._drop(exchange, tee)
        try:
            self._stream_back(response, exchange, tee)
        finally:
            response.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _relay

    def _request_body(self, tee: _Tee) -> Iterator[bytes] | None:
        length = self.headers.get("Content-Length")
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if not chunked and length is None:
            return None
        reader = _read_chunked(self.rfile) if chunked else _read_exactly(self.rfile, int(length or 0))

        def stream() -> Iterator[bytes]:
            for chunk in reader:
                tee.add(chunk)
                yield chunk

        return stream()

    def _drop(self, exchange: Exchange, tee: _Tee) -> None:
        """The upstream failed before answering: the client's connection ends the same way."""
        self.proxy.count("upstream_errors")
        self.close_connection = True
        exchange.request_body = tee.body
        self.proxy.submit(exchange)

    def _stream_back(self, response: httpx.Response, exchange: Exchange, request_tee: _Tee) -> None:
        self.send_response_only(response.status_code, response.reason_phrase or None)
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        for key, value in raw:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        bodyless = self.command == "HEAD" or response.status_code in (204, 304) or response.status_code < 200
        chunked = not bodyless and not any(k.lower() == "content-length" for k, _ in raw)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        exchange.request_body = request_tee.body
        tee = _Tee(self.proxy.max_body)
        complete = self._copy_body(response, tee, chunked) if not bodyless else True
        exchange.status = response.status_code
        exchange.response_headers = dict(response.headers.items())
        exchange.response_body = tee.body
        if complete:
            self.proxy.submit(exchange)

    def _copy_body(self, response: httpx.Response, tee: _Tee, chunked: bool) -> bool:
        try:
            for chunk in response.iter_raw(CHUNK):
                if chunk:
                    tee.add(chunk)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            return True
        except httpx.HTTPError:  # the upstream dropped mid-body: so does the client's connection
            self.proxy.count("upstream_errors")
            self.close_connection = True
            return False
        except OSError:  # the client went away
            self.close_connection = True
            return False

    def _send_stats(self) -> None:
        body = json.dumps(self.proxy.stats(), indent=2).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _read_exactly(rfile: Any, length: int) -> Iterator[bytes]:
    while length > 0:
        chunk = rfile.read(min(CHUNK, length))
        if not chunk:
            raise ConnectionError("the client closed the connection mid-body")
        length -= len(chunk)
        yield chunk


def _read_chunked(rfile: Any) -> Iterator[bytes]:
    while True:
        size_line = rfile.readline(1024)
        if not size_line:
            raise ConnectionError("the client closed the connection mid-body")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers are hop-by-hop
            return
        yield from _read_exactly(rfile, size)
        rfile.readline(1024)
