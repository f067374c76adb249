"""v1 workflows over loopback HTTP: url_conversion and its download cache, bulk data-collection
upload with bounded parallelism, and streamed console logs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import synapse_dyn.v1 as v1

TOKEN = "tok-0123456789"
FILE_PATH = re.compile(r"^/files/[^/]+$")


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def page(results: list[Any], next_url: str | None = None) -> dict[str, Any]:
    return {"count": len(results), "next": next_url, "previous": None, "results": results}


@pytest.fixture(scope="module")
def threaded_server() -> Any:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def server(threaded_server: HTTPServer) -> Any:
    threaded_server.clear()
    yield threaded_server
    threaded_server.check_assertions()
    threaded_server.check_handler_errors()


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def client(server: HTTPServer, media: Path) -> Any:
    with v1.BackendClient(server.url_for("/"), TOKEN, allow_insecure=True, download_dir=media) as backend:
        yield backend


class FileHost:
    """Serves file bytes at /files/<name>, counting downloads and refusing requests that carry credentials."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.downloads: list[str] = []
        self.lock = threading.Lock()
        self.files: dict[str, bytes] = {}
        server.expect_request(FILE_PATH, method="GET").respond_with_handler(self.handle)

    def add(self, name: str, content: bytes) -> str:
        self.files[name] = content
        return self.server.url_for(f"/files/{name}")

    def handle(self, request: Request) -> Response:
        assert "Synapse-Access-Token" not in request.headers, "file downloads carry no credentials"
        name = request.path.rsplit("/", 1)[1]
        with self.lock:
            self.downloads.append(name)
        if name not in self.files:
            return Response("gone", status=404)
        return Response(self.files[name], content_type="application/octet-stream")


# ---------------------------------------------------------------- url_conversion


def test_list_tasks_replaces_file_urls_by_cached_local_paths(server, client, media):
    host = FileHost(server)
    image = host.add("scan.png", b"png-bytes")
    label = host.add("labels.json", b'{"boxes": []}')
    tasks = [
        {"id": 1, "files": {"image": image + "?X-Amz-Signature=one", "label": {"url": label, "checksum": "c1"}}},
        {"id": 2, "files": {"image": image + "?X-Amz-Signature=two"}},
    ]
    server.expect_request("/sdk/tasks/").respond_with_json(page(tasks))
    result = client.list_tasks()
    first, second = result["results"]
    expected_name = hashlib.md5(image.encode()).hexdigest() + ".png"
    assert first["files"]["image"] == media / expected_name == second["files"]["image"]
    assert first["files"]["image"].read_bytes() == b"png-bytes"
    assert first["files"]["label"] == {"checksum": "c1", "path": media / (hashlib.md5(label.encode()).hexdigest()
                                                                          + ".json")}
    assert first["files"]["label"]["path"].read_bytes() == b'{"boxes": []}'
    assert sorted(host.downloads) == ["labels.json", "scan.png"]  # one download per URL without its query

    client.list_tasks()
    assert len(host.downloads) == 2  # served from the cache the second time


def test_a_dotted_field_a_coerce_hook_and_data_uris(server, client):
    payload = base64.b64encode(b"inline bytes").decode()
    server.expect_request("/sdk/assignments/").respond_with_json(page([
        {"id": 1, "data": {"files": {"note": f"data:text/plain;base64,{payload}"}}},
        {"id": 2, "data": {}},
    ]))
    result = client.list_assignments(url_conversion={"files_fields": ["data.files"], "coerce": lambda p: p.read_text()})
    assert result["results"][0]["data"]["files"]["note"] == "inline bytes"
    assert result["results"][1] == {"id": 2, "data": {}}


def test_get_model_converts_its_single_file_field(server, client):
    host = FileHost(server)
    weights = host.add("model.pt", b"weights")
    server.expect_request("/models/12/").respond_with_json({"id": 12, "file": weights})
    model = client.get_model(12)
    assert isinstance(model["file"], Path) and model["file"].read_bytes() == b"weights"
    assert model["file"].suffix == ".pt"


def test_url_conversion_can_be_switched_off(server, client):
    host = FileHost(server)
    url = host.add("raw.bin", b"raw")
    server.expect_request("/data_units/").respond_with_json(page([{"id": 1, "files": {"raw": url}}]))
    result = client.list_data_units(url_conversion={"files_fields": []})
    assert result["results"][0]["files"]["raw"] == url and host.downloads == []
    with pytest.raises(TypeError, match="unknown keys"):
        client.list_data_units(url_conversion={"fields": ["files"]})


def test_list_all_converts_each_page_as_it_is_reached(server, client):
    host = FileHost(server)
    urls = [host.add(f"f{i}.bin", f"file {i}".encode()) for i in range(4)]
    second = server.url_for("/ground_truths/") + "?page=2&page_size=100"
    server.expect_request("/ground_truths/", query_string="page=2&page_size=100").respond_with_json(
        {"count": 4, "next": None, "previous": None, "results": [{"id": i, "files": {"f": urls[i]}} for i in (2, 3)]})
    server.expect_request("/ground_truths/").respond_with_json(
        {"count": 4, "next": second, "previous": None, "results": [{"id": i, "files": {"f": urls[i]}} for i in (0, 1)]})
    generator, count = client.list_ground_truths(list_all=True)
    assert count == 4 and host.downloads == []
    first = next(generator)
    assert sorted(host.downloads) == ["f0.bin", "f1.bin"]  # the first page, converted as a whole
    items = [first, *generator]
    assert [item["files"]["f"].read_text() for item in items] == ["file 0", "file 1", "file 2", "file 3"]
    assert sorted(host.downloads) == ["f0.bin", "f1.bin", "f2.bin", "f3.bin"]


def test_a_failed_download_raises_with_its_status_and_leaves_no_partial_file(server, client, media):
    host = FileHost(server)
    server.expect_request("/sdk/tasks/").respond_with_json(page([{"id": 1, "files": {"x": host.add("x", b"")[:-1]
                                                                                       + "missing"}}]))
    with pytest.raises(v1.NotFoundError) as missing:
        client.list_tasks()
    assert missing.value.status == 404 and "missing" in str(missing.value)
    assert not media.exists() or list(media.iterdir()) == []


async def test_url_conversion_inside_a_running_event_loop(server, client):
    host = FileHost(server)
    urls = [host.add(f"clip{i}.mp4", f"clip {i}".encode()) for i in range(3)]
    server.expect_request("/sdk/ground_truth_events/").respond_with_json(
        page([{"id": i, "files": {"video": url}} for i, url in enumerate(urls)]))
    assert asyncio.get_running_loop().is_running()
    result = client.list_ground_truth_events()  # called directly on the loop's thread
    assert [e["files"]["video"].read_text() for e in result["results"]] == ["clip 0", "clip 1", "clip 2"]
    again = await asyncio.to_thread(client.list_ground_truth_events)
    assert again["results"][0]["files"]["video"] == result["results"][0]["files"]["video"]


def test_the_default_download_dir_is_under_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path / "cache"))
    assert v1.BackendClient("https://synapse.test").download_dir == str(tmp_path / "cache" / "media")


# ---------------------------------------------------------------- upload_data_collection


def test_upload_data_collection_keeps_at_most_workers_uploads_in_flight(server, client, tmp_path):
    state = {"in_flight": 0, "peak": 0, "files": 0}
    lock = threading.Lock()

    def data_file(request: Request) -> Response:
        with lock:
            state["in_flight"] += 1
            state["peak"] = max(state["peak"], state["in_flight"])
            state["files"] += 1
        time.sleep(0.05)
        content = request.files["file"].read()
        with lock:
            state["in_flight"] -= 1
        return json_response({"id": state["files"], "file": "/media/x", "size": len(content),
                              "checksum": hashlib.md5(content).hexdigest()}, 201)

    units_bodies: list[Any] = []
    task_bodies: list[Any] = []

    def data_units(request: Request) -> Response:
        body = request.get_json()
        units_bodies.append(body)
        return json_response([{"id": 100 + len(units_bodies) * 10 + i} for i in range(len(body))], 201)

    server.expect_request("/data_collections/4/").respond_with_json({"id": 4})
    server.expect_request("/data_files/", method="POST").respond_with_handler(data_file)
    server.expect_request("/data_units/", method="POST").respond_with_handler(data_units)
    server.expect_request("/tasks/", method="POST").respond_with_handler(
        lambda request: task_bodies.append(request.get_json()) or json_response([], 201))

    data = []
    for i in range(12):
        image, label = tmp_path / f"img{i}.jpg", tmp_path / f"img{i}.json"
        image.write_bytes(f"image {i}".encode())
        label.write_bytes(f"label {i}".encode())
        data.append({"files": {"image": str(image), "label": label}, "meta": {"index": i}})

    units = client.upload_data_collection(4, data, project_id=9, batch_size=5, workers=3)

    assert state["files"] == 24
    assert 2 <= state["peak"] <= 3  # parallel, and never more than `workers` at once
    assert [len(body) for body in units_bodies] == [5, 5, 2]
    assert units_bodies[0][0] == {
        "data_collection": 4, "meta": {"index": 0},
        "files": {"image": {"checksum": hashlib.md5(b"image 0").hexdigest(), "path": str(tmp_path / "img0.jpg")},
                  "label": {"checksum": hashlib.md5(b"label 0").hexdigest(), "path": str(tmp_path / "img0.json")}}}
    assert len(units) == 12
    assert [t["data_unit"] for body in task_bodies for t in body] == [u["id"] for u in units]
    assert {t["project"] for body in task_bodies for t in body} == {9}


def test_upload_data_collection_stops_on_a_missing_collection(server, client, tmp_path):
    server.expect_request("/data_collections/5/").respond_with_json({"detail": "Not found."}, status=404)
    with pytest.raises(v1.NotFoundError):
        client.upload_data_collection(5, [{"files": {"a": str(tmp_path)}}])
    with pytest.raises(ValueError, match="workers"):
        client.upload_data_collection(5, [], workers=0)


# ---------------------------------------------------------------- tail_job_console_logs


def test_tail_job_console_logs_yields_lines_as_they_arrive(server, client):
    release = threading.Event()

    def tail(request: Request) -> Response:
        def lines():
            yield "epoch 1\n"
            release.wait(5)
            yield "epoch 2\n"
        return Response(lines(), content_type="text/plain")

    server.expect_request("/jobs/9/tail_console_logs/").respond_with_handler(tail)
    lines = client.tail_job_console_logs(9)
    assert next(lines) == "epoch 1\n"
    assert not release.is_set()  # the first line arrived while the server still held the second
    release.set()
    assert list(lines) == ["epoch 2\n"]


def test_tail_job_console_logs_raises_the_backend_error(server, client):
    server.expect_request("/jobs/8/tail_console_logs/").respond_with_json({"detail": "Not found."}, status=404)
    with pytest.raises(v1.NotFoundError) as missing:
        list(client.tail_job_console_logs(8))
    assert missing.value.response == {"detail": "Not found."}
