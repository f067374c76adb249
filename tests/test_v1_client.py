"""The v1 BackendClient over loopback HTTP: credentials, every flat method, pages, errors, signatures.

Replies that do not match the v1 schema turn into test failures here (ResponseValidationWarning is
an error), so every canned reply below is also a check that the schema describes what v1 returns.
"""

from __future__ import annotations

import inspect
import json
import pydoc
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug import Request, Response

import synapse_dyn
import synapse_dyn.errors as core_errors
import synapse_dyn.v1 as v1

pytestmark = pytest.mark.filterwarnings("error::synapse_dyn.errors.ResponseValidationWarning")

REPO_ROOT = Path(__file__).resolve().parents[1]
METHOD_TABLE = yaml.safe_load((REPO_ROOT / "synapse_dyn" / "v1" / "methods.yaml").read_text())["methods"]
CREDENTIALS = {"access_token": "acc-0123456789", "authorization_token": "drf-0123456789", "tenant": "acme",
               "agent_token": "agent-0123456789"}
V1_HEADERS = {"Synapse-Access-Token": "Token acc-0123456789", "Authorization": "Token drf-0123456789",
              "Synapse-Tenant": "Token acme", "SYNAPSE-Agent": "Token agent-0123456789"}


def empty_page() -> dict[str, Any]:
    return {"count": 0, "next": None, "previous": None, "results": []}


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


@pytest.fixture(autouse=True)
def _no_v1_tokens_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SYNAPSE_ACCESS_TOKEN", "SYNAPSE_API_TOKEN", "SYNAPSE_AGENT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(httpserver):
    httpserver.clear()
    yield httpserver
    httpserver.check_assertions()
    httpserver.check_handler_errors()


@pytest.fixture
def client(server, tmp_path):
    with v1.BackendClient(server.url_for("/"), CREDENTIALS["access_token"], allow_insecure=True,
                          authorization_token=CREDENTIALS["authorization_token"], tenant=CREDENTIALS["tenant"],
                          agent_token=CREDENTIALS["agent_token"], download_dir=tmp_path / "media") as backend:
        yield backend


# ---------------------------------------------------------------- the core Client on the v1 schema


def offset_pages(server, path: str, items: list[dict[str, Any]], per_page: int) -> list[Request]:
    """Serve ``items`` at ``path`` in offset pages whose ``next`` is an absolute URL; returns the request log."""
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        page = int(request.args.get("page", 1))
        chunk = items[(page - 1) * per_page: page * per_page]
        query = "&".join(f"{k}={v}" for k, v in request.args.items() if k != "page")
        link = server.url_for(path) + f"?page={{}}{'&' + query if query else ''}"
        return json_response({"count": len(items),
                              "next": link.format(page + 1) if page * per_page < len(items) else None,
                              "previous": link.format(page - 1) if page > 1 else None,
                              "results": chunk})

    server.expect_request(path, method="GET").respond_with_handler(handler)
    return seen


def test_the_core_client_loads_v1_and_streams_offset_pages(server):
    tasks = [{"id": i, "project": 3} for i in range(1, 8)]
    seen = offset_pages(server, "/tasks/", tasks, per_page=3)
    with synapse_dyn.Client(server.url_for("/"), schema="v1", access_token="acc-0123456789",
                            allow_insecure=True) as client:
        page = client.tasks.list(project=3, page_size=3)
        assert isinstance(page, synapse_dyn.Page) and page.count == 7 and len(page) == 3
        assert [t.id for t in client.tasks.list(project=3, page_size=3, list_all=True)] == list(range(1, 8))
    assert [r.args.to_dict() for r in seen] == [
        {"project": "3", "page_size": "3"}, {"project": "3", "page_size": "3"},
        {"page": "2", "project": "3", "page_size": "3"}, {"page": "3", "project": "3", "page_size": "3"}]
    assert {r.headers["Synapse-Access-Token"] for r in seen} == {"Token acc-0123456789"}


# ---------------------------------------------------------------- construction and credentials


def test_each_credential_goes_in_its_v1_header(server):
    server.expect_request("/projects/1/", method="GET", headers=V1_HEADERS).respond_with_json({"id": 1})
    with v1.BackendClient(server.url_for("/"), CREDENTIALS["access_token"], allow_insecure=True,
                          authorization_token=CREDENTIALS["authorization_token"], tenant="acme",
                          agent_token=CREDENTIALS["agent_token"]) as client:
        assert client.get_project(1) == {"id": 1}


def test_environment_fallbacks_and_the_older_api_token_name(monkeypatch):
    def headers(**kwargs: Any) -> dict[str, str]:
        return v1.BackendClient("https://synapse.test", **kwargs).client.credentials.headers()

    monkeypatch.setenv("SYNAPSE_API_TOKEN", "from-api-env")
    assert headers() == {"Synapse-Access-Token": "Token from-api-env"}
    monkeypatch.setenv("SYNAPSE_ACCESS_TOKEN", "from-access-env")
    monkeypatch.setenv("SYNAPSE_AGENT_TOKEN", "from-agent-env")
    assert headers() == {"Synapse-Access-Token": "Token from-access-env", "SYNAPSE-Agent": "Token from-agent-env"}
    assert headers(api_token="explicit")["Synapse-Access-Token"] == "Token explicit"
    assert headers(access_token="explicit")["Synapse-Access-Token"] == "Token explicit"
    with pytest.raises(v1.ConfigurationError, match="api_token"):
        v1.BackendClient("https://synapse.test", "one", api_token="two")


def test_the_repr_masks_secrets():
    text = repr(v1.BackendClient("https://synapse.test", "acc-0123456789", tenant="acme"))
    assert text.startswith("BackendClient('https://synapse.test'")
    assert "0123456789" not in text and "acme" in text


# ---------------------------------------------------------------- every flat method


def case(args: tuple = (), method: str = "GET", path: str = "", query: dict | None = None, body: Any = None,
         reply: Any = None, status: int = 200, kwargs: dict | None = None) -> dict[str, Any]:
    return {"args": args, "kwargs": kwargs or {}, "method": method, "path": path, "query": query or {},
            "body": body, "reply": {"id": 1} if reply is None else reply, "status": status}


STORAGE = {"id": 3, "name": "s3", "category": "external", "provider": "amazon_s3"}
FLAT_CASES: dict[str, dict[str, Any]] = {
    "get_project": case((7,), path="/projects/7/"),
    "get_task": case((7, {"expand": "data_unit"}), path="/tasks/7/", query={"expand": ["data_unit"]}),
    "annotate_task_data": case((7, {"annotations": [{"type": "bbox"}]}), "PUT", "/tasks/7/annotate_task_data/",
                               body={"annotations": [{"type": "bbox"}]}, reply={"ok": True}),
    "get_task_tag": case((7,), path="/task_tags/7/"),
    "list_task_tags": case(({"project": 3},), path="/task_tags/", query={"project": ["3"]}, reply=empty_page()),
    "list_tasks": case(({"project": 3, "status": "done"},), path="/sdk/tasks/",
                       query={"project": ["3"], "status": ["done"]}, reply=empty_page()),
    "create_tasks": case(([{"project": 3, "data_unit": 5}],), "POST", "/tasks/",
                         body=[{"project": 3, "data_unit": 5}], reply=[{"id": 1, "project": 3}], status=201),
    "set_tags_tasks": case(({"ids": [1], "tags": [2], "action": "add"}, {"project": 3}), "POST", "/tasks/set_tags/",
                           query={"project": ["3"]}, body={"ids": [1], "tags": [2], "action": "add"}, reply={}),
    "list_data_collection": case(path="/data_collections/", reply=empty_page()),
    "get_data_collection": case((4,), path="/data_collections/4/", query={"expand": ["file_specifications"]},
                                reply={"id": 4, "file_specifications": [{"name": "image", "is_required": True}]}),
    "get_data_unit": case((5, {"fields": "id"}), path="/data_units/5/", query={"fields": ["id"]}),
    "create_data_units": case(({"data_collection": 4, "files": {"image": {"checksum": "c", "path": "a.jpg"}}},),
                              "POST", "/data_units/", status=201,
                              body={"data_collection": 4, "files": {"image": {"checksum": "c", "path": "a.jpg"}}}),
    "list_data_units": case(({"data_collection": 4},), path="/data_units/", query={"data_collection": ["4"]},
                            reply=empty_page()),
    "verify_data_files_checksums": case((["c1", "c2"],), "POST", "/data_files/verify_checksums/",
                                        body={"checksums": ["c1", "c2"]}, reply={"checksums": ["c1"]}),
    "get_assignment": case((8,), path="/assignments/8/"),
    "list_assignments": case(({"project": 3},), path="/sdk/assignments/", query={"project": ["3"]},
                             reply=empty_page()),
    "set_tags_assignments": case(({"ids": [8], "tags": [1], "action": "remove"},), "POST", "/assignments/set_tags/",
                                 body={"ids": [8], "tags": [1], "action": "remove"}, reply={}),
    "list_agents": case(({"is_active": "true"},), path="/agents/", query={"is_active": ["true"]},
                        reply=[{"id": 1, "name": "gpu-1"}]),
    "health_check_agent": case(("agent-tok",), "POST", "/agents/agent-tok/connect/", reply={"connected": True}),
    "get_plugin": case(("yolo",), path="/plugins/yolo/"),
    "create_plugin": case(({"name": "yolo", "code": "yolo"},), "POST", "/plugins/",
                          body={"name": "yolo", "code": "yolo"}, status=201),
    "update_plugin": case((2, {"description": "faster"}), "PUT", "/plugins/2/", body={"description": "faster"}),
    "run_plugin": case(("yolo", {"agent": 1, "action": "train", "params": {"epochs": 2}}), "POST",
                       "/plugins/yolo/run/", body={"agent": 1, "action": "train", "params": {"epochs": 2}},
                       reply={"job_id": 9}),
    "get_plugin_release": case((6, {"expand": "plugin"}), path="/plugin_releases/6/", query={"expand": ["plugin"]}),
    "create_plugin_release": case(method="POST", path="/plugin_releases/", status=201),  # multipart: see below
    "get_job": case((9, {"expand": "logs"}), path="/jobs/9/", query={"expand": ["logs"]},
                    reply={"id": 9, "status": "running"}),
    "list_jobs": case(({"status": "running"},), path="/jobs/", query={"status": ["running"]}, reply=empty_page()),
    "update_job": case((9, {"status": "succeeded", "progress_record": {"train": 1.0}}), "PATCH", "/jobs/9/",
                       body={"status": "succeeded", "progress_record": {"train": 1.0}},
                       reply={"id": 9, "status": "succeeded"}),
    "list_job_console_logs": case((9,), path="/jobs/9/console_logs/", reply={"logs": ["started"]}),
    "tail_job_console_logs": case((9,), path="/jobs/9/tail_console_logs/", reply="line one\n\nline two\n"),
    "create_logs": case(({"message": "done", "level": "info"},), "POST", "/logs/",
                        body=[{"message": "done", "level": "info"}], reply=[{"id": 1}], status=201),
    "create_serve_application": case(({"name": "svc", "plugin_release": 6},), "POST", "/serve_applications/",
                                     body={"name": "svc", "plugin_release": 6}, status=201),
    "list_serve_applications": case(({"page": 2},), path="/serve_applications/", query={"page": ["2"]},
                                    reply=empty_page()),
    "list_storages": case(path="/storages/", reply={**empty_page(), "count": 1, "results": [STORAGE]}),
    "get_storage": case((3,), path="/storages/3/", query={"with_configuration": ["true"]}, reply=STORAGE),
    "create_storage": case(({"name": "s3", "provider": v1.StorageProvider.AMAZON_S3,
                             "category": v1.StorageCategory.EXTERNAL, "configuration": {"bucket": "b"}},),
                           "POST", "/storages/", status=201, reply=STORAGE,
                           body={"name": "s3", "provider": "amazon_s3", "category": "external",
                                 "configuration": {"bucket": "b"}}),
    "list_models": case(({"project": 3},), path="/models/", query={"project": ["3"]}, reply=empty_page()),
    "get_model": case((12, {"expand": "metrics"}), path="/models/12/", query={"expand": ["metrics"]},
                      reply={"id": 12, "name": "detector"}),
    "list_ground_truth_events": case(({"ground_truth_dataset_versions": [1, 2]},),
                                     path="/sdk/ground_truth_events/",
                                     query={"ground_truth_dataset_versions": ["1", "2"]}, reply=empty_page()),
    "list_ground_truths": case(({"ground_truth_dataset": 1},), path="/ground_truths/",
                               query={"ground_truth_dataset": ["1"]}, reply=empty_page()),
    "get_ground_truth_version": case((1,), path="/ground_truth_dataset_versions/1/"),
    "list_ground_truth_versions": case(({"is_archived": False},), path="/ground_truth_dataset_versions/",
                                       query={"is_archived": ["false"]}, reply=empty_page()),
}


def test_the_cases_cover_the_whole_method_table():
    assert set(FLAT_CASES) == set(METHOD_TABLE)


@pytest.mark.parametrize("name", sorted(FLAT_CASES))
def test_flat_method_sends_the_v1_request(name, server, client, tmp_path):
    spec = FLAT_CASES[name]
    args = spec["args"]
    if name == "create_plugin_release":
        archive = tmp_path / "plugin.zip"
        archive.write_bytes(b"PK\x03\x04zip")
        args = ({"plugin": 2, "version": "1.0.0", "config": {"actions": ["train"]}, "file": str(archive)},)
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if isinstance(spec["reply"], str):
            return Response(spec["reply"], status=spec["status"], content_type="text/plain")
        return json_response(spec["reply"], spec["status"])

    server.expect_request(spec["path"], method=spec["method"]).respond_with_handler(handler)
    result = getattr(client, name)(*args, **spec["kwargs"])
    if name == "tail_job_console_logs":
        result = list(result)
    assert len(seen) == 1
    request = seen[0]
    assert request.args.to_dict(flat=False) == spec["query"]
    for header, value in V1_HEADERS.items():
        assert request.headers.get(header) == value
    if name == "create_plugin_release":
        assert request.mimetype == "multipart/form-data"
        assert request.form.to_dict() == {"plugin": "2", "version": "1.0.0", "config": '{"actions": ["train"]}'}
        assert request.files["file"].filename == "plugin.zip" and request.files["file"].read() == b"PK\x03\x04zip"
    elif spec["body"] is None:
        assert request.get_data() == b""
    else:
        assert request.mimetype == "application/json" and request.get_json() == spec["body"]
    if name == "tail_job_console_logs":
        assert result == ["line one\n", "line two\n"]
    else:
        assert result == spec["reply"]
        assert type(result) is type(spec["reply"])  # plain dicts and lists, as v1 returned
        if isinstance(result, dict) and "results" in result:
            assert all(type(item) is dict for item in result["results"])


def test_create_logs_sends_a_file_inline_as_a_data_uri(server, client, tmp_path):
    attachment = tmp_path / "trace.txt"
    attachment.write_text("stack")
    bodies: list[Any] = []
    server.expect_request("/logs/", method="POST").respond_with_handler(
        lambda request: bodies.append(request.get_json()) or json_response([{"id": 1}], 201))
    entry = {"message": "failed", "level": "error", "file": str(attachment)}
    client.create_logs(entry)
    assert bodies == [[{"message": "failed", "level": "error", "file": "data:text/plain;base64,c3RhY2s="}]]
    assert entry["file"] == str(attachment)


# ---------------------------------------------------------------- (generator, count)


def test_list_all_returns_a_lazy_generator_and_the_count(server, client):
    tasks = [{"id": i, "project": 3} for i in range(1, 251)]
    seen = offset_pages(server, "/sdk/tasks/", tasks, per_page=100)
    generator, count = client.list_tasks(params={"project": 3}, list_all=True)
    assert count == 250 and len(seen) == 1
    assert seen[0].args.to_dict() == {"project": "3", "page_size": "100"}
    first = next(generator)
    assert first == {"id": 1, "project": 3} and type(first) is dict and len(seen) == 1
    rest = list(generator)
    assert [t["id"] for t in [first, *rest]] == list(range(1, 251))
    assert [r.args.to_dict() for r in seen[1:]] == [{"page": "2", "project": "3", "page_size": "100"},
                                                    {"page": "3", "project": "3", "page_size": "100"}]


def test_list_all_keeps_the_callers_page_size_and_list_all_false_is_one_page(server, client):
    seen = offset_pages(server, "/serve_applications/", [{"id": i} for i in range(1, 6)], per_page=2)
    generator, count = client.list_serve_applications({"page_size": 2}, list_all=True)
    assert count == 5 and [a["id"] for a in generator] == [1, 2, 3, 4, 5]
    assert seen[0].args.to_dict() == {"page_size": "2"} and len(seen) == 3
    page = client.list_serve_applications({"page_size": 2})
    assert set(page) == {"count", "next", "previous", "results"} and len(page["results"]) == 2


def test_a_next_link_to_another_origin_is_refused(server, client):
    server.expect_request("/sdk/assignments/").respond_with_json(
        {"count": 2, "next": "http://elsewhere.test/sdk/assignments/?page=2", "previous": None,
         "results": [{"id": 1}]})
    generator, count = client.list_assignments(list_all=True)
    assert next(generator) == {"id": 1}
    with pytest.raises(core_errors.ProtocolError, match="another origin"):
        next(generator)


# ---------------------------------------------------------------- errors


def test_http_errors_are_the_core_classes_with_the_older_attributes(server, client):
    assert v1.ClientError is core_errors.ClientError and v1.NotFoundError is core_errors.NotFoundError
    server.expect_request("/projects/404/").respond_with_json({"detail": "Not found."}, status=404)
    server.expect_request("/plugins/", method="POST").respond_with_json({"name": ["required"]}, status=400)
    with pytest.raises(v1.NotFoundError) as missing:
        client.get_project(404)
    assert (missing.value.status_code, missing.value.status) == (404, 404)
    assert missing.value.response == {"detail": "Not found."} and missing.value.reason == "Not found."
    with pytest.raises(v1.ClientError) as invalid:
        client.create_plugin({})
    assert isinstance(invalid.value, v1.ValidationError) and invalid.value.status == 400
    assert invalid.value.reason == {"name": ["required"]} == invalid.value.response


def test_posts_are_not_retried_on_503_but_reads_are(server, client):
    server.expect_oneshot_request("/projects/5/").respond_with_data("busy", status=503)
    server.expect_oneshot_request("/projects/5/").respond_with_json({"id": 5})
    assert client.get_project(5) == {"id": 5}
    server.expect_request("/tasks/", method="POST").respond_with_data("busy", status=503)
    with pytest.raises(v1.ServerError) as failed:
        client.create_tasks([{"project": 1, "data_unit": 2}])
    assert failed.value.status == 503
    assert len([r for r, _ in server.log if r.path == "/tasks/"]) == 1


def test_a_timeout_is_a_408_client_error_and_slow_endpoints_wait_longer(server):
    def slow(request: Request) -> Response:
        time.sleep(0.5)
        return json_response(empty_page())

    server.expect_request("/sdk/tasks/").respond_with_handler(slow)
    server.expect_request("/data_units/").respond_with_handler(slow)
    with v1.BackendClient(server.url_for("/"), "tok", allow_insecure=True, retries=0,
                          timeout={"connect": 2, "read": 0.2}) as client:
        with pytest.raises(v1.ClientError) as timed_out:
            client.list_tasks()
        assert timed_out.value.status_code == 408 and timed_out.value.status == 408
        assert isinstance(timed_out.value, core_errors.TimeoutError)
        assert isinstance(timed_out.value, v1.RequestTimeoutError)
        assert client.list_data_units() == empty_page()  # read timeout raised to 60 s for this endpoint


def test_a_refused_connection_is_a_503_client_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with v1.BackendClient(f"http://127.0.0.1:{port}", "tok", allow_insecure=True, retries=0) as client, \
            pytest.raises(v1.ClientError) as refused:
        client.get_project(1)
    error = refused.value
    assert (error.status_code, error.status) == (503, 503)
    assert isinstance(error, v1.ConnectionFailedError) and isinstance(error, core_errors.TransportError)
    assert error.sent is False and "503" in str(error)


# ---------------------------------------------------------------- signatures, docs, enums

SEED_SIGNATURES = {
    "get_project": "(pk)",
    "get_task": "(pk, params=None)",
    "annotate_task_data": "(pk, data)",
    "list_tasks": "(params=None, url_conversion=None, list_all=False)",
    "create_tasks": "(data)",
    "set_tags_tasks": "(data, params=None)",
    "create_chunked_upload": "(file_path, *, chunk_size=52428800, on_progress=None, resume=None, retries=3)",
    "list_data_collection": "()",
    "get_data_collection": "(data_collection_id)",
    "create_data_file": "(file_path, use_chunked_upload=False)",
    "upload_data_file": "(organized_file, collection_id, use_chunked_upload=False)",
    "upload_data_collection": "(collection_id, data, project_id=None, batch_size=1000, workers=10)",
    "create_data_units": "(uploaded_files)",
    "get_assignment": "(pk)",
    "list_assignments": "(params=None, url_conversion=None, list_all=False)",
    "set_tags_assignments": "(data, params=None)",
    "health_check_agent": "(token)",
    "get_plugin": "(pk)",
    "create_plugin": "(data)",
    "update_plugin": "(pk, data)",
    "run_plugin": "(pk, data)",
    "create_plugin_release": "(data)",
    "get_plugin_release": "(pk, params=None)",
    "list_jobs": "(params=None)",
    "get_job": "(pk, params=None)",
    "update_job": "(pk, data)",
    "list_job_console_logs": "(pk)",
    "tail_job_console_logs": "(pk)",
    "list_storages": "()",
    "get_storage": "(pk)",
    "create_storage": "(data)",
    "list_models": "(params=None)",
    "get_model": "(pk, params=None, url_conversion=None)",
    "create_model": "(data)",
    "list_ground_truth_events": "(params=None, url_conversion=None, list_all=False)",
    "get_ground_truth_version": "(pk)",
}


def bare(signature: inspect.Signature) -> str:
    return str(signature.replace(parameters=[p.replace(annotation=inspect.Parameter.empty)
                                             for p in signature.parameters.values()],
                                 return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize("name", sorted(SEED_SIGNATURES))
def test_the_seed_signature(name):
    client = v1.BackendClient("https://synapse.test")
    assert bare(inspect.signature(getattr(client, name))) == SEED_SIGNATURES[name]


def test_flat_methods_are_real_functions_with_schema_docs():
    method = v1.BackendClient.get_data_collection
    assert inspect.isfunction(method) and method.__name__ == "get_data_collection"
    assert "GET /data_collections/{id}/?expand=file_specifications" in method.__doc__
    rendered = pydoc.render_doc(v1.BackendClient.list_tasks, renderer=pydoc.plaintext)
    assert "list_tasks(self, params: dict[str, typing.Any] | None = None" in rendered
    assert "GET /sdk/tasks/" in rendered and "(generator over every item, total count)" in rendered
    assert {"list_tasks", "create_chunked_upload", "upload_data_collection"} <= set(dir(v1.BackendClient))
    with pytest.raises(TypeError, match=r"get_project\(\).*pk"):
        v1.BackendClient("https://synapse.test").get_project()


def test_enums_are_str_enums_holding_the_schema_values():
    schemas = v1.BackendClient("https://synapse.test").client.registry.document["components"]["schemas"]
    for enum in (v1.StorageCategory, v1.StorageProvider, v1.JobStatus):
        assert [member.value for member in enum] == schemas[enum.__name__]["enum"]
        assert all(isinstance(member, str) for member in enum)
    assert v1.StorageProvider.AMAZON_S3 == "amazon_s3" and f"{v1.StorageCategory.INTERNAL}" == "internal"
    assert v1.JobStatus("succeeded") is v1.JobStatus.SUCCEEDED
