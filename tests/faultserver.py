"""A raw-socket HTTP server that misbehaves on cue: resets, truncation, garbage, slowness.

pytest-httpserver always answers well-formed HTTP; these faults need the bytes on the wire.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

Behaviour = str | Callable[[str, str, bytes], bytes | None]


def http_response(status: int, body: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None, reason: str = "") -> bytes:
    head = [f"HTTP/1.1 {status} {reason or 'X'}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
            "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body



def read_http_message(sock: socket.socket) -> tuple[str, dict[str, str], bytes] | None:
    """One HTTP/1.1 message off a raw socket: (start line, lower-cased headers, body by Content-Length);
    None when the peer closed before the head was complete."""
    data = b""
    while b"\r\n\r\n" not in data:
        block = sock.recv(65536)
        if not block:
            return None
        data += block
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        block = sock.recv(65536)
        if not block:
            break
        body += block
    return lines[0], headers, body

class _Server(socketserver.ThreadingTCPServer):
    # The default backlog (5) overflows when 200 tasks connect at once: the kernel then drops SYNs and the
    # clients see connect timeouts that have nothing to do with the code under test.
    request_queue_size = 512
    daemon_threads = True


class FaultServer:
    """Answers each request with the next queued behaviour, or with ``default`` when the queue is empty."""

    def __init__(self, default: Callable[[str, str, bytes], bytes]) -> None:
        self.default = default
        self.queue: deque[Behaviour] = deque()
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._handle(self.request)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _handle(self, sock: socket.socket) -> None:
        message = read_http_message(sock)
        if message is None:
            return
        method, target = message[0].split(" ")[:2]
        body = message[2]
        with self.lock:
            self.requests.append((method, target))
            behaviour: Behaviour = self.queue.popleft() if self.queue else self.default
        if behaviour == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return
        if behaviour == "close":
            sock.close()
            return
        if isinstance(behaviour, str) and behaviour.startswith("sleep:"):
            time.sleep(float(behaviour.split(":")[1]))
            behaviour = self.default
        assert callable(behaviour)
        payload = behaviour(method, target, body)
        if payload:
            with suppress(OSError):
                sock.sendall(payload)
        sock.close()

    def push(self, *behaviours: Behaviour) -> None:
        with self.lock:
            self.queue.extend(behaviours)

    @contextmanager
    def running(self) -> Iterator[FaultServer]:
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def reply(status: int, payload: Any = None, *, raw: bytes | None = None, content_type: str = "application/json",
          headers: dict[str, str] | None = None) -> Callable[[str, str, bytes], bytes]:
    body = raw if raw is not None else json.dumps(payload).encode()
    return lambda method, target, body_in: http_response(status, body, content_type, headers)


def truncated(payload: Any) -> Callable[[str, str, bytes], bytes]:
    body = json.dumps(payload).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body) + 500}\r\n\r\n"
    return lambda *a: head.encode() + body[: len(body) // 2]
