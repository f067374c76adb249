"""The v1 chunked-upload protocol, data files, models and the upload CLI, over loopback HTTP.

``ChunkedUploadBackend`` is a faithful ``chunked_upload/`` endpoint on pytest-httpserver: it checks
each Content-Range against the upload's stored offset and the chunk's real size, stores chunks on
disk at their offset, answers with the absolute URL of the upload, and checks the MD5 of the whole
file on finish. Bodies are streamed (not cached), so 50 MiB chunks pass through as they would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import synapse_dyn.v1 as v1
from synapse_dyn.cli.upload import parse_size, upload_command

MiB = 1024 * 1024
TOKEN = "tok-0123456789"
REPO_ROOT = Path(__file__).resolve().parents[1]


class StreamingServer(HTTPServer):
    """pytest-httpserver without its eager body read and request log, so big bodies stream through."""

    def application(self, request: Request) -> Response:
        return self.dispatch(request)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


class ChunkedUploadBackend:
    """The backend side of the chunked-upload protocol, strict about offsets, sizes and the MD5."""

    def __init__(self, server: HTTPServer, store: Path) -> None:
        self.server = server
        self.store = store
        self.uploads: dict[str, dict[str, Any]] = {}
        self.chunks: list[tuple[str, int, int]] = []  # (upload id, start, bytes received) per chunk PUT
        self.drop_starts: set[int] = set()  # chunk start offsets whose connection is dropped, once each
        self.finished: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        upload = re.compile(r"^/chunked_upload/([^/]+)/$")
        server.expect_request("/chunked_upload/", method="PUT").respond_with_handler(self.put_first)
        server.expect_request(upload, method="PUT").respond_with_handler(self.put_next)
        server.expect_request(upload, method="POST").respond_with_handler(self.finish)
        server.expect_request(upload, method="GET").respond_with_handler(self.status)

    def url(self, upload_id: str) -> str:
        return self.server.url_for(f"/chunked_upload/{upload_id}/")

    def check_auth(self, request: Request) -> None:
        assert request.headers.get("Synapse-Access-Token") == f"Token {TOKEN}"

    def put_first(self, request: Request) -> Response:
        self.check_auth(request)
        upload_id = str(uuid.uuid4())
        name = request.form.get("filename")
        assert name, "the first chunk names the file"
        self.uploads[upload_id] = {"offset": 0, "filename": name, "total": None, "path": self.store / upload_id}
        return self.store_chunk(request, upload_id)

    def put_next(self, request: Request) -> Response:
        self.check_auth(request)
        upload_id = request.path.split("/")[2]
        if upload_id not in self.uploads:
            return json_response({"detail": "Not found."}, 404)
        return self.store_chunk(request, upload_id)

    def store_chunk(self, request: Request, upload_id: str) -> Response:
        upload = self.uploads[upload_id]
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("Content-Range", ""))
        assert match, f"bad Content-Range {request.headers.get('Content-Range')!r}"
        start, end, total = map(int, match.groups())
        part = request.files["file"]
        assert request.form.get("filename") == upload["filename"]
        tmp = upload["path"].with_suffix(".part")
        received = 0
        with open(tmp, "wb") as out:
            while block := part.stream.read(MiB):
                out.write(block)
                received += len(block)
        with self.lock:
            self.chunks.append((upload_id, start, received))
            drop = start in self.drop_starts
            self.drop_starts.discard(start)
        if drop:  # the connection breaks before the chunk is committed
            tmp.unlink()
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return Response("", 500)
        if start != upload["offset"]:
            return json_response({"detail": "Offsets do not match", "offset": upload["offset"]}, 400)
        assert end - start + 1 == received, "Content-Range must name exactly the chunk's bytes"
        assert upload["total"] in (None, total), "the total must not change between chunks"
        upload["total"] = total
        with open(upload["path"], "ab") as out, open(tmp, "rb") as chunk:
            while block := chunk.read(MiB):
                out.write(block)
        tmp.unlink()
        upload["offset"] = end + 1
        return json_response({"id": upload_id, "url": self.url(upload_id), "offset": upload["offset"],
                              "expires": "2030-01-01T00:00:00Z"})

    def status(self, request: Request) -> Response:
        self.check_auth(request)
        upload_id = request.path.split("/")[2]
        upload = self.uploads[upload_id]
        return json_response({"id": upload_id, "url": self.url(upload_id), "offset": upload["offset"],
                              "filename": upload["filename"], "status": 1})

    def finish(self, request: Request) -> Response:
        self.check_auth(request)
        upload_id = request.path.split("/")[2]
        upload = self.uploads[upload_id]
        digest = hashlib.md5()
        with open(upload["path"], "rb") as stored:
            while block := stored.read(4 * MiB):
                digest.update(block)
        size = upload["path"].stat().st_size
        upload["path"].unlink()
        claimed = request.get_json()["md5"]
        if claimed != digest.hexdigest() or size != upload["total"]:
            return json_response({"detail": "md5 checksum does not match"}, 400)
        self.finished.append({"id": upload_id, "md5": claimed, "size": size})
        return json_response({"id": upload_id, "file": f"/media/{upload['filename']}", "checksum": claimed,
                              "size": size})

    def sent_bytes(self, upload_id: str | None = None) -> int:
        return sum(n for uid, _, n in self.chunks if upload_id in (None, uid))


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(4 * MiB):
            digest.update(block)
    return digest.hexdigest()


def random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as out:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 8 * MiB))
            out.write(block)
            remaining -= len(block)
    return path


@pytest.fixture(scope="module")
def server() -> Any:
    srv = StreamingServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


@pytest.fixture
def backend(server: HTTPServer, tmp_path: Path) -> Any:
    store = tmp_path / "store"
    store.mkdir()
    server.clear()
    upload_backend = ChunkedUploadBackend(server, store)
    yield upload_backend
    server.check_assertions()
    server.check_handler_errors()


@pytest.fixture
def client(server: HTTPServer) -> Any:
    with v1.BackendClient(server.url_for("/"), TOKEN, allow_insecure=True) as backend_client:
        yield backend_client


# ---------------------------------------------------------------- the protocol


def test_chunks_follow_the_reply_url_and_offset_and_the_md5_matches(client, backend, tmp_path):
    source = random_file(tmp_path / "scan.bin", 640 * 1024 + 17)
    progress: list[tuple[int, int]] = []
    result = client.create_chunked_upload(source, chunk_size=256 * 1024,
                                          on_progress=lambda offset, total: progress.append((offset, total)))
    total = source.stat().st_size
    assert result["checksum"] == md5_of(source)
    assert result["size"] == total and result["file"] == "/media/scan.bin"
    assert [(start, n) for _, start, n in backend.chunks] == [(0, 262144), (262144, 262144), (524288, 131089)]
    assert len({uid for uid, _, _ in backend.chunks}) == 1
    assert progress == [(262144, total), (524288, total), (total, total)]
    assert backend.finished == [{"id": result["id"], "md5": md5_of(source), "size": total}]


def test_a_single_chunk_file_is_one_put_and_a_finish(client, backend, tmp_path):
    source = random_file(tmp_path / "small.bin", 1000)
    result = client.create_chunked_upload(source)
    assert [(start, n) for _, start, n in backend.chunks] == [(0, 1000)]
    assert result["checksum"] == md5_of(source)


def test_an_empty_file_or_a_bad_chunk_size_is_refused_before_sending(client, backend, tmp_path):
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        client.create_chunked_upload(empty)
    with pytest.raises(ValueError, match="chunk_size"):
        client.create_chunked_upload(empty, chunk_size=0)
    assert backend.chunks == []


def test_a_dropped_chunk_is_retried_and_only_that_chunk_is_resent(client, backend, tmp_path):
    source = random_file(tmp_path / "retry.bin", 3 * 256 * 1024 - 5)
    backend.drop_starts.add(262144)
    result = client.create_chunked_upload(source, chunk_size=256 * 1024)
    assert result["checksum"] == md5_of(source)
    starts = [start for _, start, _ in backend.chunks]
    assert starts == [0, 262144, 262144, 524288]


def test_an_interrupted_upload_resumes_from_its_last_reply_without_resending(client, backend, tmp_path):
    chunk = 256 * 1024
    source = random_file(tmp_path / "resume.bin", 3 * chunk - 5)
    total = source.stat().st_size
    backend.drop_starts.add(chunk)
    with pytest.raises(v1.ClientError) as caught:
        client.create_chunked_upload(source, chunk_size=chunk, retries=0)
    error = caught.value
    assert error.status_code == 500 and error.status == 500
    assert isinstance(error, v1.TransportError)
    state = error.upload_state
    assert state["offset"] == chunk and state["url"].startswith(client.base_url)
    assert any("resume" in note for note in error.__notes__)
    before = len(backend.chunks)
    assert backend.sent_bytes() == 2 * chunk  # chunk 1 stored, chunk 2 received but dropped

    progress: list[int] = []
    result = client.create_chunked_upload(source, chunk_size=chunk, resume=state,
                                          on_progress=lambda offset, _: progress.append(offset))
    resumed = backend.chunks[before:]
    assert [start for _, start, _ in resumed] == [chunk, 2 * chunk]
    assert sum(n for _, _, n in resumed) == total - chunk  # finished chunks are not re-sent
    assert result["checksum"] == md5_of(source) and result["id"] == state["id"]
    assert progress == [chunk, 2 * chunk, total]


def test_an_interrupt_between_chunks_keeps_the_state_to_resume_from(client, backend, tmp_path):
    chunk = 100_000
    source = random_file(tmp_path / "ctrl-c.bin", 3 * chunk)

    def interrupt(offset: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as caught:
        client.create_chunked_upload(source, chunk_size=chunk, on_progress=interrupt)
    state = caught.value.upload_state
    assert state["offset"] == chunk and len(backend.chunks) == 1
    result = client.create_chunked_upload(source, chunk_size=chunk, resume=state)
    assert [start for _, start, _ in backend.chunks] == [0, chunk, 2 * chunk]
    assert result["checksum"] == md5_of(source)


def test_an_upload_resumes_from_its_url_alone(client, backend, tmp_path):
    chunk = 128 * 1024
    source = random_file(tmp_path / "by-url.bin", 4 * chunk)
    backend.drop_starts.add(2 * chunk)
    with pytest.raises(v1.ClientError) as caught:
        client.create_chunked_upload(source, chunk_size=chunk, retries=0)
    url = caught.value.upload_state["url"]
    before = len(backend.chunks)
    result = client.create_chunked_upload(source, chunk_size=chunk, resume=url)
    assert [start for _, start, _ in backend.chunks[before:]] == [2 * chunk, 3 * chunk]
    assert result["checksum"] == md5_of(source)


def test_a_resumed_upload_may_use_another_chunk_size(client, backend, tmp_path):
    source = random_file(tmp_path / "resize.bin", 5 * 100_000)
    backend.drop_starts.add(100_000)
    with pytest.raises(v1.ClientError) as caught:
        client.create_chunked_upload(source, chunk_size=100_000, retries=0)
    before = len(backend.chunks)
    result = client.create_chunked_upload(source, chunk_size=300_000, resume=caught.value.upload_state)
    assert [(start, n) for _, start, n in backend.chunks[before:]] == [(100_000, 300_000), (400_000, 100_000)]
    assert result["checksum"] == md5_of(source)


def test_a_stale_saved_reply_resumes_from_the_servers_offset(client, backend, tmp_path):
    source = random_file(tmp_path / "offset.bin", 300_000)
    backend.drop_starts.add(100_000)
    with pytest.raises(v1.ClientError) as caught:
        client.create_chunked_upload(source, chunk_size=100_000, retries=0)
    state = dict(caught.value.upload_state, offset=0)  # a stale offset: the server holds 100000 bytes
    before = len(backend.chunks)
    result = client.create_chunked_upload(source, chunk_size=100_000, resume=state)
    assert [(start, n) for _, start, n in backend.chunks[before:]] == [(100_000, 100_000), (200_000, 100_000)]
    assert result["checksum"] == md5_of(source)


def test_a_reply_url_on_another_origin_is_not_followed(server, backend, tmp_path):
    source = random_file(tmp_path / "origin.bin", 2000)
    other = server.url_for("/").replace("127.0.0.1", "localhost")
    with v1.BackendClient(other, TOKEN, allow_insecure=True) as elsewhere, \
            pytest.raises(v1.ProtocolError, match="another origin"):
        elsewhere.create_chunked_upload(source, chunk_size=1000)
    assert [start for _, start, _ in backend.chunks] == [0]


def _chunk_start(request: Request) -> int:
    return int(re.match(r"bytes (\d+)-", request.headers["Content-Range"]).group(1))


@pytest.mark.parametrize("status", [500, 503])
def test_a_chunk_answered_with_5xx_is_retried(client, backend, tmp_path, status):
    chunk = 256 * 1024
    source = random_file(tmp_path / "busy.bin", 3 * chunk)
    refused: list[int] = []
    store = backend.store_chunk

    def busy_once(request: Request, upload_id: str) -> Response:
        if _chunk_start(request) == chunk and not refused:
            refused.append(len(request.files["file"].read()))
            return json_response({"detail": "busy"}, status)
        return store(request, upload_id)

    backend.store_chunk = busy_once
    result = client.create_chunked_upload(source, chunk_size=chunk)
    assert refused == [chunk]
    assert [start for _, start, _ in backend.chunks] == [0, chunk, 2 * chunk]
    assert result["checksum"] == md5_of(source)


@pytest.mark.parametrize("shift", ["skips-bytes", "no-progress", "past-the-end", "not-a-number"])
def test_a_reply_with_an_impossible_offset_stops_the_upload(client, backend, tmp_path, shift):
    chunk = 100_000
    source = random_file(tmp_path / "offset.bin", 3 * chunk)
    store = backend.store_chunk

    def lying(request: Request, upload_id: str) -> Response:
        answer = store(request, upload_id)
        reply = json.loads(answer.get_data())
        start = _chunk_start(request)
        reply["offset"] = {"skips-bytes": start + chunk + 1, "no-progress": start, "past-the-end": 3 * chunk + 1,
                           "not-a-number": str(start + chunk)}[shift]
        return json_response(reply)

    backend.store_chunk = lying
    with pytest.raises(v1.ProtocolError, match="offset") as caught:
        client.create_chunked_upload(source, chunk_size=chunk)
    assert "bytes 0-99999" in str(caught.value)
    assert len(backend.chunks) == 1 and backend.finished == []


def test_the_core_client_has_named_steps_of_the_protocol(server):
    core = v1.BackendClient(server.url_for("/"), TOKEN, allow_insecure=True).client
    assert {"start", "update", "complete", "retrieve"} <= set(dir(core.chunked_upload))
    assert core.chunked_upload.start.op.method == "put" and core.chunked_upload.complete.op.method == "post"


# ---------------------------------------------------------------- 120 MiB: memory and throughput

MEMORY_PROBE = """
import json, sys, time, tracemalloc
from synapse_dyn.v1 import BackendClient

client = BackendClient(sys.argv[1], sys.argv[2], allow_insecure=True)
tracemalloc.start()
offsets = []
started = time.perf_counter()
result = client.create_chunked_upload(sys.argv[3], on_progress=lambda offset, total: offsets.append(offset))
elapsed = time.perf_counter() - started
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"peak": peak, "current": current, "elapsed": elapsed, "offsets": offsets, "result": result}))
"""


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_file(tmp_path_factory.mktemp("big") / "volume.bin", 120 * MiB)


def test_120_mib_upload_sends_three_50_mib_chunks_within_two_chunks_of_memory(server, backend, big_file, tmp_path):
    """The client runs in its own process, so tracemalloc sees only the client's allocations."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SYNAPSE_DYN_CACHE_DIR": str(tmp_path / "probe-cache")}
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, server.url_for("/"), TOKEN, str(big_file)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    chunk = 50 * MiB
    assert [(start, n) for _, start, n in backend.chunks] == [(0, chunk), (chunk, chunk), (2 * chunk, 20 * MiB)]
    assert report["offsets"] == [chunk, 2 * chunk, 120 * MiB]
    assert report["result"]["checksum"] == md5_of(big_file) == backend.finished[0]["md5"]
    assert report["result"]["size"] == 120 * MiB
    assert report["peak"] < 2 * chunk  # chunks are streamed from the file: never two chunks, never the file
    print(f"\n120 MiB chunked upload: client peak traced memory {report['peak'] / MiB:.1f} MiB "
          f"(chunk {chunk / MiB:.0f} MiB), {120 / report['elapsed']:.0f} MiB/s under tracemalloc")


def test_upload_throughput_against_raw_httpx_streaming(server, client, backend, big_file):
    """Reports MB/s of create_chunked_upload and of one streamed httpx PUT of the same file, same server."""
    raw_digests: list[str] = []

    def raw_sink(request: Request) -> Response:
        digest = hashlib.md5()
        while block := request.stream.read(MiB):
            digest.update(block)
        raw_digests.append(digest.hexdigest())
        return json_response({"ok": True})

    server.expect_request("/raw_upload/", method="PUT").respond_with_handler(raw_sink)
    size_mb = big_file.stat().st_size / 1e6

    started = time.perf_counter()
    result = client.create_chunked_upload(big_file)
    chunked_seconds = time.perf_counter() - started

    started = time.perf_counter()
    with httpx.Client(timeout=60) as raw, open(big_file, "rb") as fh:
        response = raw.put(server.url_for("/raw_upload/"), content=fh)
    raw_seconds = time.perf_counter() - started

    assert response.status_code == 200
    assert result["checksum"] == raw_digests[0] == md5_of(big_file)
    chunked_rate, raw_rate = size_mb / chunked_seconds, size_mb / raw_seconds
    print(f"\nupload throughput, 120 MiB over loopback: create_chunked_upload {chunked_rate:.0f} MB/s "
          f"(3 x 50 MiB multipart chunks + MD5), raw httpx streamed PUT {raw_rate:.0f} MB/s")
    assert chunked_rate > raw_rate / 10  # the protocol's overhead is bounded, not a slowdown by orders


# ---------------------------------------------------------------- data files and models


def test_create_data_file_direct_is_one_multipart_post(server, client, tmp_path):
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"\xff\xd8jpeg-bytes")
    seen: list[Request] = []

    def data_files(request: Request) -> Response:
        seen.append(request)
        assert request.headers["Synapse-Access-Token"] == f"Token {TOKEN}"
        part = request.files["file"]
        assert part.filename == "photo.jpg" and part.read() == b"\xff\xd8jpeg-bytes"
        return json_response({"id": 3, "file": "/media/photo.jpg", "checksum": "abc", "size": 11}, 201)

    server.clear()
    server.expect_request("/data_files/", method="POST").respond_with_handler(data_files)
    assert client.create_data_file(source) == {"id": 3, "file": "/media/photo.jpg", "checksum": "abc", "size": 11}
    assert len(seen) == 1
    server.check_assertions()


def test_create_data_file_chunked_posts_the_upload_id(server, client, backend, tmp_path):
    source = random_file(tmp_path / "volume.nii", 3000)
    bodies: list[dict] = []

    def data_files(request: Request) -> Response:
        assert request.mimetype == "application/json"
        bodies.append(request.get_json())
        return json_response({"id": 4, "file": "/media/volume.nii", "checksum": md5_of(source), "size": 3000}, 201)

    server.expect_request("/data_files/", method="POST").respond_with_handler(data_files)
    created = client.create_data_file(source, use_chunked_upload=True)
    assert bodies == [{"chunked_upload": backend.finished[0]["id"], "meta": {"filename": "volume.nii"}}]
    assert created["checksum"] == md5_of(source)


def test_create_data_file_goes_chunked_above_50_mib_on_its_own(server, client, backend, tmp_path):
    source = tmp_path / "sparse.bin"
    with open(source, "wb") as fh:
        fh.truncate(50 * MiB + 1)
    bodies: list[dict] = []
    server.expect_request("/data_files/", method="POST").respond_with_handler(
        lambda request: bodies.append(request.get_json()) or json_response(
            {"id": 5, "file": "/media/sparse.bin", "checksum": "x", "size": 50 * MiB + 1}, 201))
    client.create_data_file(source)
    assert [(start, n) for _, start, n in backend.chunks] == [(0, 50 * MiB), (50 * MiB, 1)]
    assert bodies[0]["chunked_upload"] == backend.finished[0]["id"]


def test_create_model_uploads_the_file_then_posts_json_without_it(server, client, backend, tmp_path):
    source = random_file(tmp_path / "model.pt", 5000)
    data = {"name": "detector", "project": 9, "file": str(source)}
    bodies: list[dict] = []
    server.expect_request("/models/", method="POST").respond_with_handler(
        lambda request: bodies.append(request.get_json()) or json_response({"id": 12, "name": "detector"}, 201))
    model = client.create_model(data)
    assert model == {"id": 12, "name": "detector"}
    assert bodies == [{"name": "detector", "project": 9, "chunked_upload": backend.finished[0]["id"]}]
    assert data["file"] == str(source)  # the caller's dict is left alone
    with pytest.raises(TypeError, match="file"):
        client.create_model({"name": "no file"})


# ---------------------------------------------------------------- the upload command


def test_parse_size():
    assert parse_size("50MiB") == 50 * MiB
    assert parse_size("8 MB") == 8_000_000
    assert parse_size("1024") == 1024
    for bad in ("", "12 parsecs", "0", "-3MiB"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_upload_command_uploads_in_chunks_and_prints_the_reply(server, backend, tmp_path):
    source = random_file(tmp_path / "cli.bin", 700_000)
    result = CliRunner().invoke(upload_command, [
        str(source), "--chunk-size", "256KiB", "--host", server.url_for("/"), "--token", TOKEN,
        "--allow-insecure", "--quiet"])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.stdout)
    assert reply["checksum"] == md5_of(source) and reply["size"] == 700_000
    assert [n for _, _, n in backend.chunks] == [262144, 262144, 175712]


def test_upload_command_names_the_resume_url_when_interrupted(server, backend, tmp_path, monkeypatch):
    source = random_file(tmp_path / "cli-drop.bin", 300_000)
    backend.drop_starts.add(100_000)
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_HOST", server.url_for("/"))
    monkeypatch.setenv("SYNAPSE_DYN_CONFIG_DIR", str(tmp_path / "config"))
    runner = CliRunner()
    args = [str(source), "--chunk-size", "100000", "--allow-insecure", "-q"]
    failed = runner.invoke(upload_command, [*args, "--retries", "0"])
    assert failed.exit_code == 10  # transport: the connection dropped
    match = re.search(r"--resume (\S+)", failed.output)
    assert match, failed.output
    before = len(backend.chunks)
    resumed = runner.invoke(upload_command, [*args, "--resume", match.group(1)])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["checksum"] == md5_of(source)
    assert [start for _, start, _ in backend.chunks[before:]] == [100_000, 200_000]
