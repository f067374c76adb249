"""The sandbox holds its limits against hostile clients on a shared machine (issue 12, items 12-16).

Every test talks to a real loopback server (``sandbox.serve``) with raw sockets where the client
library would refuse to send the hostile request, or with ``synapse-dyn sandbox serve`` as a process.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from faultserver import read_http_message

from synapse_dyn import Client, load_spec
from synapse_dyn.registry import Registry
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Faults, Sandbox
from synapse_dyn.sandbox.cli import sandbox_group
from synapse_dyn.sandbox.demo import DEMO_EMAIL, DEMO_TENANT, ensure_demo_data
from synapse_dyn.sandbox.server import Limits

REPO_ROOT = Path(__file__).resolve().parents[1]
EMAIL, PASSWORD, TENANT = "mallory@synapse.local", "not-a-secret-pw", "acme"
PROJECT = {"title": "T", "category": "image", "configuration": {}}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_spec("v2")


@pytest.fixture
def box(registry: Registry) -> Iterator[Sandbox]:
    sandbox = Sandbox(registry, max_body=64 * 1024)
    sandbox.create_user(EMAIL, PASSWORD, TENANT)
    yield sandbox
    sandbox.close()


@pytest.fixture
def served(box: Sandbox) -> Iterator[tuple[str, int, str]]:
    """(host, port, token) of the box served over loopback with short limits."""
    with box.serve(port=0, limits=Limits(idle_timeout=0.5, max_connections=3)) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        yield host, int(port), box.issue_token(EMAIL, TENANT)


def exchange(host: str, port: int, raw: bytes, *, wait: float = 5.0) -> tuple[int, dict[str, str], Any]:
    """Send raw bytes, read one answer: (status, headers, JSON body or None)."""
    with socket.create_connection((host, port), timeout=wait) as sock:
        sock.sendall(raw)
        message = read_http_message(sock)
    assert message is not None, "the server closed the connection without an answer"
    status_line, headers, body = message
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def request(host: str, port: int, token: str, method: str, path: str, extra: str = "", body: bytes = b"",
            host_header: str | None = None) -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host_header or f'{host}:{port}'}\r\n"
            f"SYNAPSE-ACCESS-TOKEN: {token}\r\nSYNAPSE-Tenant: {TENANT}\r\nContent-Type: application/json\r\n"
            f"{extra}\r\n")
    return head.encode("latin-1") + body


def error_code(answer: Any) -> str:
    return answer["error"]["code"]


# -- 12: body cap ------------------------------------------------------------------------------------


def test_a_body_above_the_cap_is_413_before_it_is_read(served: tuple[str, int, str]) -> None:
    host, port, token = served
    started = time.perf_counter()
    status, headers, answer = exchange(host, port, request(host, port, token, "POST", "/v2/projects/",
                                                           "Content-Length: 20000000000\r\n"))
    assert status == 413 and error_code(answer) == "PAYLOAD_TOO_LARGE" and "65536 bytes" in answer["error"]["message"]
    assert headers.get("connection") == "close" and time.perf_counter() - started < 2


def test_the_cap_holds_for_the_in_process_transport_and_chunked_bodies(box: Sandbox,
                                                                       served: tuple[str, int, str]) -> None:
    host, port, token = served
    with httpx.Client(transport=box.transport(), base_url=SANDBOX_ORIGIN) as http:
        big = http.post("/v2/projects/", content=b"x" * 70_000, headers={"SYNAPSE-ACCESS-TOKEN": token})
    assert big.status_code == 413 and error_code(big.json()) == "PAYLOAD_TOO_LARGE"
    chunk = b"%x\r\n%s\r\n" % (40_000, b"y" * 40_000)
    status, _headers, answer = exchange(host, port, request(host, port, token, "POST", "/v2/projects/",
                                                           "Transfer-Encoding: chunked\r\n", chunk * 2))
    assert status == 413 and error_code(answer) == "PAYLOAD_TOO_LARGE"


def test_a_large_upload_is_spooled_to_disk_not_held_in_memory(tmp_path: Path) -> None:
    """A 48 MiB chunk through ``sandbox serve``: the server's own (anonymous) memory grows far less than the
    chunk. The spooled body is parsed through a memory map of its file, whose pages are the kernel's page
    cache (file-backed, reclaimable), so they are not counted."""
    size = 48 * 1024 * 1024
    process, url, token = start_server(["--schema", "v1", "--db", str(tmp_path / "u.db"), "--demo-data"])
    try:
        before = anonymous_rss(process.pid)
        sampler = Sampler(process.pid)
        boundary = "b0undary"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="filename"\r\n\r\nbig.bin\r\n--{boundary}\r\n'
                f'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        block = b"z" * (1024 * 1024)

        def body() -> Iterator[bytes]:
            yield head
            for _ in range(size // len(block)):
                yield block
            yield tail

        headers = {"Synapse-Access-Token": f"Token {token}", "Synapse-Tenant": f"Token {DEMO_TENANT}",
                   "Content-Type": f"multipart/form-data; boundary={boundary}",
                   "Content-Length": str(len(head) + size + len(tail)), "Content-Range": f"bytes 0-{size - 1}/{size}"}
        with sampler:
            answer = httpx.put(f"{url}/chunked_upload/", content=body(), headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["offset"] == size
        grown = sampler.peak - before
        assert grown < size // 2, f"peak RSS grew by {grown / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB chunk"
    finally:
        stop(process)


# -- 13: framing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", ["abc", "-5", "1, 2", "+3"])
def test_a_malformed_content_length_is_400(served: tuple[str, int, str], length: str) -> None:
    host, port, token = served
    status, _headers, answer = exchange(host, port, request(host, port, token, "POST", "/v2/projects/",
                                                           f"Content-Length: {length}\r\n", b"{}"))
    assert status == 400 and error_code(answer) == "BAD_REQUEST" and "Content-Length" in answer["error"]["message"]


def test_a_cursor_with_a_huge_position_is_400(served: tuple[str, int, str]) -> None:
    host, port, token = served
    forged = base64.urlsafe_b64encode(json.dumps({"p": 10**30, "r": 0}).encode()).decode().rstrip("=")
    status, _headers, answer = exchange(host, port, request(host, port, token, "GET", f"/v2/projects/?cursor={forged}"))
    assert status == 400 and error_code(answer) == "INVALID_CURSOR"


def test_chunked_bodies_are_decoded_not_smuggled(served: tuple[str, int, str]) -> None:
    host, port, token = served
    body = json.dumps(PROJECT).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request(host, port, token, "POST", "/v2/projects/", "Transfer-Encoding: chunked\r\n", chunked))
        sock.shutdown(socket.SHUT_WR)
        replies = b""
        while block := sock.recv(65536):
            replies += block
    # one answer: the body was the request's body, not a second request read from the same socket
    assert replies.count(b"HTTP/1.1 ") == 1 and replies.startswith(b"HTTP/1.1 201 ")
    assert json.loads(replies.partition(b"\r\n\r\n")[2])["data"]["title"] == "T"
    both = request(host, port, token, "POST", "/v2/projects/", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                   chunked)
    assert exchange(host, port, both)[0] == 400
    other = request(host, port, token, "POST", "/v2/projects/", "Transfer-Encoding: gzip\r\n", b"x")
    status, _headers, answer = exchange(host, port, other)
    assert status == 501 and error_code(answer) == "NOT_IMPLEMENTED"
    broken = request(host, port, token, "POST", "/v2/projects/", "Transfer-Encoding: chunked\r\n", b"zz\r\n")
    assert exchange(host, port, broken)[0] == 400


# -- 14: idle connections and the connection bound ---------------------------------------------------------


def test_idle_connections_are_closed(served: tuple[str, int, str]) -> None:
    host, port, _token = served
    with socket.create_connection((host, port), timeout=5) as sock:
        started = time.perf_counter()
        assert sock.recv(1) == b""  # closed by the server, not by our timeout
        assert time.perf_counter() - started < 3


def test_connections_beyond_the_bound_get_503_and_the_server_recovers(served: tuple[str, int, str]) -> None:
    host, port, token = served
    idle = [socket.create_connection((host, port), timeout=5) for _ in range(3)]
    try:
        time.sleep(0.1)
        status, headers, answer = exchange(host, port, request(host, port, token, "GET", "/v2/projects/"))
        assert status == 503 and headers.get("retry-after") == "1" and error_code(answer) == "SERVICE_UNAVAILABLE"
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)
    assert exchange(host, port, request(host, port, token, "GET", "/v2/projects/"))[0] == 200


# -- 15: files, hashes, passwords, Host ------------------------------------------------------------------


def test_database_and_blob_files_are_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "sandbox.db"
    with Sandbox("v1", db=db) as sandbox:
        sandbox.create_user(EMAIL, PASSWORD, TENANT)
        token = sandbox.issue_token(EMAIL, TENANT)
        with httpx.Client(transport=sandbox.transport(), base_url=SANDBOX_ORIGIN) as http:
            sent = http.put("/chunked_upload/", data={"filename": "a.bin"}, files={"file": ("a.bin", b"abcd")},
                            headers={"Content-Range": "bytes 0-3/4", "Synapse-Access-Token": f"Token {token}",
                                     "Synapse-Tenant": f"Token {TENANT}"})
        assert sent.status_code == 200, sent.text
        files = [db, db.with_name("sandbox.db-wal"), db.with_name("sandbox.db-shm")]
        blobs = db.with_name("sandbox.db.files")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [*files, *blobs.iterdir()]}
        assert set(modes.values()) == {0o600}, modes
        assert stat.S_IMODE(blobs.stat().st_mode) == 0o700
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_tokens_are_stored_as_hashes(tmp_path: Path, registry: Registry) -> None:
    db = tmp_path / "h.db"
    with Sandbox(registry, db=db) as sandbox:
        sandbox.create_user(EMAIL, PASSWORD, TENANT)
        with Client(SANDBOX_ORIGIN, transport=sandbox.transport(), schema=registry, tenant=TENANT) as client:
            client.auth.login(email=EMAIL, password=PASSWORD)
            drf = client.credentials.get("drf_token")
            access = client.tokens.create({"description": "t"})["token"]
            client.set_access_token(access)
            client.set_drf_token(None)
            assert client.projects.list().results == []  # the access token works
        stored = b"".join(p.read_bytes() for p in tmp_path.glob("h.db*"))
    assert drf and access.startswith("syn_")
    for secret in (drf, access, PASSWORD):
        assert secret.encode() not in stored
    assert hashlib.sha256(access.encode()).hexdigest().encode() in stored


def test_the_demo_password_is_random_and_printed_at_start(tmp_path: Path) -> None:
    process, url, token = start_server(["--db", str(tmp_path / "d.db"), "--demo-data"])
    try:
        password = process.banner["password"]
        assert password and password != "synapse-demo"
        answer = httpx.post(f"{url}/users/login/", json={"email": DEMO_EMAIL, "password": password})
        assert answer.status_code == 200 and answer.json()["data"]["token"]
        wrong = httpx.post(f"{url}/users/login/", json={"email": DEMO_EMAIL, "password": "synapse-demo"})
        assert wrong.status_code == 400
    finally:
        stop(process)
    demo = CliRunner().invoke(sandbox_group, ["demo", "--tasks", "2"])
    assert demo.exit_code == 0 and "synapse-demo" not in demo.output


def test_a_database_from_an_older_sandbox_loses_its_plaintext_secrets(tmp_path: Path, registry: Registry) -> None:
    db = tmp_path / "old.db"
    with Sandbox(registry, db=db) as sandbox:
        ensure_demo_data(sandbox, tasks=3)
        legacy = sandbox.issue_token(DEMO_EMAIL, DEMO_TENANT)
        sandbox.store.set_meta("demo_access_token", legacy)  # how an older sandbox kept the demo token
        sandbox.store.delete_meta("demo_seeded")
    conn = sqlite3.connect(db)  # and its DRF tokens, in clear
    with conn:
        conn.execute("UPDATE users SET drf_token = 'plain-drf-token-of-the-old-kind'")
    conn.close()
    with Sandbox(registry, db=db) as sandbox:
        token = ensure_demo_data(sandbox, tasks=3)
        assert sandbox.store.get_meta("demo_access_token") is None
        assert sandbox.store.count("tasks") == 3  # not seeded twice
        assert sandbox.store.user_by_drf_token("plain-drf-token-of-the-old-kind") is not None
        with Client(SANDBOX_ORIGIN, transport=sandbox.transport(), schema=registry, access_token=token,
                    tenant=DEMO_TENANT) as client:
            assert len(client.tasks.list().results) == 3
    stored = {p.name: p.read_bytes() for p in tmp_path.glob("old.db*")}
    assert not [name for name, data in stored.items() if legacy.encode() in data], stored.keys()
    stored = b"".join(stored.values())
    assert legacy.encode() not in stored and b"plain-drf-token-of-the-old-kind" not in stored


@pytest.mark.parametrize("host_header", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost.evil:{port}"])
def test_a_foreign_host_header_is_refused(served: tuple[str, int, str], host_header: str) -> None:
    host, port, token = served
    raw = request(host, port, token, "GET", "/v2/projects/", host_header=host_header.format(port=port))
    status, _headers, answer = exchange(host, port, raw)
    assert status == 400 and error_code(answer) == "INVALID_HOST"


@pytest.mark.parametrize("host_header", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_loopback_host_headers_are_served(served: tuple[str, int, str], host_header: str) -> None:
    host, port, token = served
    raw = request(host, port, token, "GET", "/v2/projects/", host_header=host_header.format(port=port))
    assert exchange(host, port, raw)[0] == 200


# -- 16: seeding never goes through faults ------------------------------------------------------------


def test_demo_seeding_ignores_faults(registry: Registry) -> None:
    for faults in (Faults(error_rate=1.0, seed=1), Faults(drop_rate=1.0), Faults(latency=0.2)):
        started = time.perf_counter()
        with Sandbox(registry, faults=faults) as sandbox:
            token = ensure_demo_data(sandbox, tasks=5)
            assert sandbox.store.count("tasks") == 5 and token.startswith("syn_")
        assert time.perf_counter() - started < 5
        assert faults.injected == {}


def test_serve_with_demo_data_starts_under_an_error_rate_and_latency(tmp_path: Path) -> None:
    started = time.perf_counter()
    process, url, token = start_server(["--demo-data", "--error-rate", "0.3", "--latency", "0.2", "--seed", "4"])
    try:
        assert time.perf_counter() - started < 20  # seeding 30 tasks at 0.2 s each would take over 12 s
        assert url.startswith("http://127.0.0.1:") and token.startswith("syn_")
    finally:
        stop(process)


# -- helpers -----------------------------------------------------------------------------------------


def start_server(args: list[str]) -> tuple[subprocess.Popen[str], str, str]:
    """``sandbox serve --port 0`` in a process; (process, url, printed access token)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)}
    code = "from synapse_dyn.sandbox.cli import sandbox_group; sandbox_group(prog_name='sandbox')"
    process = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", "0", "--quiet", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO_ROOT)
    banner: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while ("url" not in banner or "token" not in banner) and time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            break
        if line.startswith("Listening on "):
            banner["url"] = line.split()[2]
        elif line.startswith("Access token: "):
            banner["token"] = line.split()[2]
        elif found := re.match(r"Demo user \S+ / (\S+),", line):
            banner["password"] = found.group(1)
    process.banner = banner  # type: ignore[attr-defined]
    if "url" not in banner or "token" not in banner:
        stop(process)
        pytest.fail(f"sandbox serve did not start: {banner}")
    return process, banner["url"], banner["token"]


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def anonymous_rss(pid: int) -> int:
    """The process's resident anonymous memory in bytes (RssAnon: heap, not mapped files)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        pytest.skip("no /proc: memory unavailable")
    return next(int(line.split()[1]) * 1024 for line in lines if line.startswith("RssAnon:"))


class Sampler:
    """The peak of a process's anonymous memory while the block runs, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, StopIteration):
                self.peak = max(self.peak, anonymous_rss(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        time.sleep(0.05)
        self._stop.set()
        self._thread.join()
