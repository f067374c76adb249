"""A sink server for transfer benchmarks: it reads request bodies into one reused buffer and discards them.

Runs in its own process (``python bench/sink.py``; prints the port). It does the least an HTTP/1.1
server can, so a transfer's figure is the client's cost plus the kernel's, not a parser's:

- ``PUT /chunked_upload/`` and ``PUT /chunked_upload/{id}/``: the chunked-upload protocol's replies
  (``{id, url, offset}``, the offset taken from ``Content-Range``), no storage, no MD5 check;
- ``POST /chunked_upload/{id}/``: ``{id, file, checksum, size}``;
- ``PUT`` / ``POST`` anything else: the body is drained, ``{"received": n}`` answered;
- ``GET /blob/{n}``: ``n`` bytes of a repeating pattern, written from one preallocated buffer.

Bodies may carry ``Content-Length`` or ``Transfer-Encoding: chunked``.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading

BUFFER = 1 << 20
PATTERN = bytes(range(256)) * (BUFFER // 256)
_RANGE = re.compile(rb"bytes (\d+)-(\d+)/(\d+)")
_UPLOAD = re.compile(r"^/chunked_upload/([^/]+)/$")


class Connection:
    """One keep-alive connection: requests read and answered in turn."""

    def __init__(self, sock: socket.socket, base: str) -> None:
        self.sock = sock
        self.base = base
        self.pending = b""  # bytes read past the previous request's end
        self.scratch = bytearray(BUFFER)

    def head(self) -> tuple[str, str, dict[bytes, bytes]] | None:
        data = self.pending
        while b"\r\n\r\n" not in data:
            more = self.sock.recv(65536)
            if not more:
                return None
            data += more
        head, _, self.pending = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].decode("latin-1").split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return method, target, headers

    def drain(self, length: int) -> int:
        """Read and discard ``length`` body bytes (some may already be in ``pending``)."""
        used = min(length, len(self.pending))
        self.pending = self.pending[used:]
        left = length - used
        view = memoryview(self.scratch)
        while left:
            n = self.sock.recv_into(view, min(left, BUFFER))
            if not n:
                raise ConnectionError("the client closed mid-body")
            left -= n
        return length

    def read_line(self) -> bytes:
        while b"\r\n" not in self.pending:
            more = self.sock.recv(65536)
            if not more:
                raise ConnectionError("the client closed mid-body")
            self.pending += more
        line, _, self.pending = self.pending.partition(b"\r\n")
        return line

    def body(self, headers: dict[bytes, bytes]) -> int:
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            total = 0
            while size := int(self.read_line().split(b";")[0], 16):
                total += self.drain(size)
                self.read_line()
            while self.read_line():  # trailers, then the blank line
                pass
            return total
        return self.drain(int(headers.get(b"content-length", b"0")))

    def send(self, payload: bytes, status: str = "200 OK", content_type: str = "application/json") -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n"
        self.sock.sendall(head.encode() + payload)

    def blob(self, size: int) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
        self.sock.sendall(head.encode())
        view = memoryview(PATTERN)
        while size:
            n = min(size, BUFFER)
            self.sock.sendall(view[:n])
            size -= n

    def serve(self) -> None:
        while (request := self.head()) is not None:
            method, target, headers = request
            received = self.body(headers)
            path = target.split("?", 1)[0]
            if method == "GET" and path.startswith("/blob/"):
                self.blob(int(path[6:]))
            elif method == "PUT" and (path == "/chunked_upload/" or _UPLOAD.match(path)):
                found = _RANGE.search(headers.get(b"content-range", b""))
                offset = int(found[2]) + 1 if found else received
                upload_id = m[1] if (m := _UPLOAD.match(path)) else "0d8657d0-20d2-430b-b4f1-bb83fce299dd"
                self.send(json.dumps({"id": upload_id, "url": f"{self.base}/chunked_upload/{upload_id}/",
                                      "offset": offset}).encode())
            elif method == "POST" and (m := _UPLOAD.match(path)):
                self.send(json.dumps({"id": m[1], "file": f"{self.base}/files/{m[1]}", "checksum": "-",
                                      "size": 0}).encode())
            else:
                self.send(json.dumps({"received": received}).encode())


def handle(sock: socket.socket, base: str) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Connection(sock, base).serve()
    except (ConnectionError, OSError):
        pass
    finally:
        sock.close()


def main() -> None:
    listener = socket.create_server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), backlog=128)
    port = listener.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    print(port, flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=handle, args=(sock, base), daemon=True).start()


if __name__ == "__main__":
    main()
