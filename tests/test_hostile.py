"""Hostile input: decompression bombs, trickling servers, YAML alias bombs, schemas that try to fetch.

Every server here is real (raw sockets or pytest-httpserver on loopback); the limits are the
client's own, set small where the default would make a test slow.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

import synapse_dyn
from synapse_dyn import errors, transport
from synapse_dyn.retry import RetryPolicy
from synapse_dyn.spec import load_spec, parse_document
from synapse_dyn.validation import Validators
from tests.faultserver import FaultServer, reply

PAGE = {"data": [], "meta": {"pagination": {"next_cursor": None, "previous_cursor": None}}}
MiB = 2**20


def _client(url: str, **kwargs) -> synapse_dyn.Client:
    kwargs.setdefault("retries", 0)
    return synapse_dyn.Client(url, access_token="syn_hostile0000000000", tenant="acme", allow_insecure=True, **kwargs)


# -- 8: response size -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that expands to 1 GiB of JSON-looking zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"0" * MiB
    parts = [packer.compress(b'{"data": "')] + [packer.compress(block) for _ in range(1024)]
    parts.append(packer.flush())
    return b"".join(parts)


def test_default_limits_are_documented_values() -> None:
    assert 64 * MiB == transport.DEFAULT_MAX_RESPONSE_SIZE
    assert transport.DEFAULT_TIMEOUT["attempt"] <= 120 and transport.DEFAULT_TIMEOUT["total"] <= 300


def test_plain_body_over_the_limit_ends_in_protocol_error_naming_it() -> None:
    body = json.dumps({"data": ["x" * 1000] * 3000}).encode()  # about 3 MB
    with FaultServer(reply(200, raw=body)).running() as server:
        client = _client(server.url, max_response_size=MiB)
        with pytest.raises(errors.ProtocolError, match=r"max_response_size.*1048576 bytes"):
            client.projects.list()
        small = _client(server.url, max_response_size=4 * MiB, validate_responses="off")
        assert len(json.dumps(small.request("GET", "/v2/anything/"))) > 2 * MiB  # under the limit: read whole


def test_async_client_enforces_the_size_limit_too(gzip_bomb: bytes) -> None:
    with FaultServer(reply(200, raw=gzip_bomb, headers={"Content-Encoding": "gzip"})).running() as server:
        async def main() -> None:
            async with synapse_dyn.AsyncClient(server.url, tenant="acme", allow_insecure=True, retries=0,
                                               max_response_size=2 * MiB) as client:
                with pytest.raises(errors.ProtocolError, match="max_response_size"):
                    await client.projects.list()

        asyncio.run(main())


def test_gzip_bomb_keeps_memory_bounded(gzip_bomb: bytes) -> None:
    """1 MB of gzip expanding to 1 GiB: the default 64 MiB limit stops it; peak RSS measured in a child."""
    script = textwrap.dedent("""
        import json, sys, time, synapse_dyn

        def peak_kb():
            with open("/proc/self/status") as fh:
                return int(next(line for line in fh if line.startswith("VmHWM")).split()[1])

        client = synapse_dyn.Client(sys.argv[1], tenant="acme", allow_insecure=True, retries=0)
        client.projects.list(per_page=1)  # warm: schema, validators, connection pool
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak RSS to the current RSS
        base = peak_kb()
        started = time.monotonic()
        try:
            client.projects.list(per_page=1)
            outcome = "no error"
        except synapse_dyn.errors.ProtocolError as exc:
            outcome = str(exc)
        print(json.dumps({"outcome": outcome, "base_kb": base, "peak_kb": peak_kb(),
                          "seconds": round(time.monotonic() - started, 2)}))
    """)
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("peak RSS is measured through /proc (Linux)")
    server = FaultServer(reply(200, raw=gzip_bomb, headers={"Content-Encoding": "gzip"}))
    server.push(reply(200, PAGE))
    with server.running():
        done = subprocess.run([sys.executable, "-c", script, server.url], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"gzip bomb ({len(gzip_bomb)} bytes -> 1 GiB): {figures}")
    assert "max_response_size" in figures["outcome"] and "67108864" in figures["outcome"]
    assert figures["peak_kb"] - figures["base_kb"] < 300 * 1024  # far below the 1 GiB the body expands to


# -- 9: deadlines -----------------------------------------------------------------------------------


@contextmanager
def trickle_server(head_first: bool) -> Iterator[str]:
    """Answers every request one byte every 0.2 s, forever (until the client hangs up)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, suppress(OSError):
            conn.settimeout(5)
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            if head_first:
                conn.sendall(head)
                head = b""
            data = head + b'{"data": [' + b" " * 100000
            for byte in data:
                if stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(0.2)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize("head_first", [True, False], ids=["body-trickle", "header-trickle"])
def test_trickle_hits_the_attempt_deadline(head_first: bool) -> None:
    with trickle_server(head_first) as url:
        client = _client(url, timeout={"connect": 2, "read": 2, "attempt": 1.5, "total": 10})
        started = time.monotonic()
        with pytest.raises(errors.TimeoutError, match="deadline"):
            client.projects.list()
        took = time.monotonic() - started
    print(f"trickle ({'body' if head_first else 'headers'}): attempt deadline 1.5 s, call ended after {took:.2f} s")
    assert took < 3.0


def test_trickle_with_retries_hits_the_call_deadline() -> None:
    with trickle_server(True) as url:
        client = _client(url, retries=RetryPolicy(retries=10, backoff=0.01, max_backoff=0.02),
                         timeout={"read": 2, "attempt": 1.0, "total": 2.5})
        started = time.monotonic()
        with pytest.raises(errors.TimeoutError):
            client.projects.list()
        took = time.monotonic() - started
    print(f"trickle with 10 retries: call deadline 2.5 s, call ended after {took:.2f} s")
    assert took < 4.0


def test_async_trickle_hits_the_attempt_deadline() -> None:
    async def main() -> float:
        async with synapse_dyn.AsyncClient(url, tenant="acme", allow_insecure=True, retries=0,
                                           timeout={"read": 2, "attempt": 1.5}) as client:
            started = time.monotonic()
            with pytest.raises(errors.TimeoutError, match="deadline"):
                await client.projects.list()
            return time.monotonic() - started

    with trickle_server(False) as url:
        took = asyncio.run(main())
    assert took < 3.0


def test_bad_timeout_setting_is_one_clear_line() -> None:
    with pytest.raises(errors.ConfigurationError, match="attempt"):
        _client("http://127.0.0.1:9", timeout={"attempt": -1})
    with pytest.raises(errors.ConfigurationError, match="max_response_size"):
        _client("http://127.0.0.1:9", max_response_size=0)


# -- 10: YAML alias bombs -------------------------------------------------------------------------------

LAUGHS = "".join(
    f"    {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
SCHEMA_BOMB = (
    'openapi: 3.0.3\ninfo: {title: bomb, version: "1"}\npaths: {}\ncomponents:\n  schemas:\n'
    '    a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n' + LAUGHS
)
OVERRIDES_BOMB = (
    "patches:\n  - id: bomb\n    why: alias bomb\n    target: /info/x-bomb\n    op: add\n    value:\n"
    "      a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + LAUGHS.replace("    ", "      ", 1).replace("\n    ", "\n      ")
)


def _timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def test_schema_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(SCHEMA_BOMB)
    exc, took = _timed(lambda: load_spec(path, overrides=False, cache=False))
    print(f"schema alias bomb: {path.stat().st_size} bytes, refused in {took:.3f} s: {exc}")
    assert isinstance(exc, errors.SpecError) and "bomb.yaml" in str(exc) and "alias" in str(exc)
    assert took < 2


def test_overrides_alias_bomb_is_refused_and_not_cached(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "bomb-overrides.yaml"
    path.write_text(OVERRIDES_BOMB)
    exc, took = _timed(lambda: load_spec("v2", overrides=path))
    written = sum(f.stat().st_size for f in (tmp_path / "cache").glob("registry-*"))
    print(f"overrides alias bomb: {path.stat().st_size} bytes, refused in {took:.3f} s, cache bytes {written}")
    assert isinstance(exc, errors.SpecError) and "bomb-overrides.yaml" in str(exc) and "alias" in str(exc)
    assert took < 2 and written == 0


def test_documents_over_the_size_cap_are_refused() -> None:
    with pytest.raises(errors.SpecError, match=r"big\.yaml.*larger than 1000 bytes"):
        parse_document(b"a: " + b"x" * 2000, "big.yaml", max_bytes=1000)
    assert parse_document(b"a: &x [1, 2]\nb: *x\n", "ok.yaml") == {"a": [1, 2], "b": [1, 2]}  # plain aliases work


# -- 7: nothing in a schema fetches anything ---------------------------------------------------------------


def _fetching_schemas(url: str) -> list[dict]:
    return [
        {"type": "object", "properties": {"x": {"$schema": url + "/meta", "type": "string"}}},
        {"$schema": url + "/meta", "type": "object"},
        {"type": "object", "properties": {"x": {"$id": url + "/base/", "$ref": "other.json"}}},
        {"type": "object", "properties": {"x": {"$dynamicRef": url + "/dyn"}}},
        {"type": "object", "patternProperties": {"^a": {"$ref": url + "/raw.json"}}},
        {"type": "object", "properties": {"x": {"$ref": url + "/direct.json"}}},
    ]


@pytest.mark.parametrize("engine", ["rust", "python"])
def test_no_schema_keyword_causes_a_fetch(httpserver, engine: str) -> None:
    httpserver.expect_request("/meta").respond_with_json({"type": "string"})
    httpserver.expect_request("/base/other.json").respond_with_json({"type": "string"})
    httpserver.expect_request("/dyn").respond_with_json({"type": "string"})
    httpserver.expect_request("/raw.json").respond_with_json({"type": "string"})
    httpserver.expect_request("/direct.json").respond_with_json({"type": "string"})
    url = httpserver.url_for("").rstrip("/")
    validators = Validators(load_spec("v2"), engine)
    for schema in _fetching_schemas(url):
        with suppress(errors.SpecError):  # refusing to compile is fine; fetching is not
            compiled = validators.compile(schema, "response")
            compiled.is_valid({"x": 1})
    assert httpserver.log == [], f"the {engine} validator fetched {[r.path for r, _ in httpserver.log]}"


def test_refused_retrieval_is_a_spec_error_naming_the_reference(httpserver) -> None:
    url = httpserver.url_for("/direct.json")
    validators = Validators(load_spec("v2"), "rust")
    with pytest.raises(errors.SpecError, match="direct.json"):
        validators.compile({"type": "object", "properties": {"x": {"$ref": url}}}, "response")


def _remote_schema(ref: str) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "remote", "version": "1"},
            "paths": {"/v2/things/": {"get": {"operationId": "things_list", "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": ref}}}}}}}}}


def test_remote_schema_may_reference_only_its_own_origin(httpserver, tmp_path: Path) -> None:
    secret = tmp_path / "local.json"
    secret.write_text(json.dumps({"Thing": {"type": "object"}}))
    httpserver.expect_request("/local.yaml").respond_with_json(_remote_schema(f"{secret}#/Thing"))
    httpserver.expect_request("/fileurl.yaml").respond_with_json(_remote_schema(f"file://{secret}#/Thing"))
    httpserver.expect_request("/other.yaml").respond_with_json(_remote_schema("http://localhost:9/x.json#/Thing"))
    httpserver.expect_request("/same.yaml").respond_with_json(_remote_schema("common.json#/Thing"))
    httpserver.expect_request("/common.json").respond_with_json({"Thing": {"type": "object"}})
    for name in ("local", "fileurl", "other"):
        with pytest.raises(errors.SpecError, match="origin"):
            load_spec(httpserver.url_for(f"/{name}.yaml"), overrides=False, allow_insecure=True,
                      allow_external_refs=True, cache=False)
    registry = load_spec(httpserver.url_for("/same.yaml"), overrides=False, allow_insecure=True,
                         allow_external_refs=True, cache=False)
    assert registry is not None


# -- 6 (cache half): a registry cache that was not written by this user is ignored ----------------------


def test_tampered_cache_is_ignored_and_rebuilt(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path / "cache"))
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(_remote_schema("#/components/schemas/Thing")
                                 | {"components": {"schemas": {"Thing": {"type": "object"}}}}))
    load_spec(schema, overrides=False)
    (cache_file,) = (tmp_path / "cache").glob("registry-*.json")
    text = cache_file.read_text()
    assert "/v2/things/" in text
    cache_file.write_text(text.replace("/v2/things/", "http://evil.example/v2/things/"))
    registry = load_spec(schema, overrides=False)
    assert "http://evil.example" not in json.dumps(registry.document)
    assert "http://evil.example" not in cache_file.read_text()  # rebuilt and rewritten


# -- 4: header values --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\x0b", "\x0c", "\x7f", "\x1b", "\t", "\u00e9"])
def test_invisible_characters_in_credentials_are_refused_without_echo(bad: str) -> None:
    token = f"syn_AAAA{bad}BBBBsecretsecret"
    with pytest.raises(errors.ConfigurationError) as info:
        _client("http://127.0.0.1:9").set_access_token(token)
    text = str(info.value) + repr(info.value)
    assert "access_token" in text and "secretsecret" not in text and "BBBB" not in text
    with pytest.raises(errors.ConfigurationError):
        synapse_dyn.Client("http://127.0.0.1:9", access_token=token, allow_insecure=True)
