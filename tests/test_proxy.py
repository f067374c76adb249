"""The validation proxy over real loopback sockets: pass-through, faults, limits, concurrency, the drift loop."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from conftest import reference_release
from faultserver import FaultServer, reply
from helpers import TOKEN, envelope, json_response, project, project_detail
from werkzeug import Request, Response

import synapse_dyn
from synapse_dyn.drift import propose_overrides, read_log
from synapse_dyn.proxy import STATS_PATH, ValidationProxy

HEADERS = {"SYNAPSE-ACCESS-TOKEN": TOKEN, "SYNAPSE-Tenant": "acme"}


def registry(overrides: Any = None) -> synapse_dyn.Registry:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return synapse_dyn.load_spec("v2", overrides=overrides, cache=False)


REGISTRY = registry()


@pytest.fixture
def make_proxy() -> Iterator[Any]:
    """make_proxy(upstream_url, **options) -> (proxy, its URL); everything is closed after the test."""
    opened: list[tuple[ValidationProxy, Any]] = []

    def make(upstream: str, schema: synapse_dyn.Registry = REGISTRY, **options: Any) -> tuple[ValidationProxy, str]:
        proxy = ValidationProxy(upstream, schema, **options)
        serving = proxy.serve()
        url = serving.__enter__()
        opened.append((proxy, serving))
        return proxy, url

    yield make
    for proxy, serving in reversed(opened):
        serving.__exit__(None, None, None)
        proxy.close()


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# -- pass-through ------------------------------------------------------------------------------------------

UPSTREAM_ANSWER = (b"HTTP/1.1 201 Created Fine\r\nServer: upstream/1.0\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
                   b"Content-Type: application/octet-stream\r\nX-Mixed-CASE: Keep Me\r\nSet-Cookie: a=1\r\n"
                   b"Set-Cookie: b=2\r\nContent-Length: 6\r\nConnection: close\r\n\r\n\x00\xff\r\n{x")


def test_response_passes_through_byte_for_byte():
    seen: list[bytes] = []
    server = FaultServer(lambda method, target, body: seen.append(body) or UPSTREAM_ANSWER)
    request = (b"POST /v2/projects/?x=%2Fa+b HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
               b"X-Trace: t1\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"title\": 1}\n")
    with server.running():
        direct = raw_exchange(server.url, request)
        proxy = ValidationProxy(server.url, REGISTRY)
        with proxy.serve() as url:
            relayed = raw_exchange(url, request)
        proxy.close()
    assert direct == UPSTREAM_ANSWER
    assert relayed == direct  # status, reason, header order and case, duplicate headers, binary body
    assert seen == [b'{"title": 1}\n', b'{"title": 1}\n']  # the request body too
    assert server.requests == [("POST", "/v2/projects/?x=%2Fa+b")] * 2


def test_request_headers_and_body_reach_the_upstream_unchanged(httpserver, make_proxy):
    httpserver.expect_request("/v2/projects/", method="POST").respond_with_response(
        json_response(envelope(project_detail(1)), status=201))
    _, url = make_proxy(httpserver.url_for("/").rstrip("/"))
    body = b'{"title": "t", "category": "image", "configuration": {}}'
    sent = {**HEADERS, "Content-Type": "application/json", "X-Custom": "Value 1"}
    response = httpx.post(url + "/v2/projects/", content=body, headers=sent)
    upstream_request = httpserver.log[0][0]
    assert response.status_code == 201
    assert upstream_request.get_data() == body
    for name, value in sent.items():
        assert upstream_request.headers[name] == value


def test_invalid_traffic_passes_unchanged_and_is_recorded_without_values(httpserver, make_proxy, tmp_path):
    bad = envelope(project_detail(42, category="lidar-secret-value", title=None))
    httpserver.expect_request("/v2/projects/42/").respond_with_response(json_response(bad))
    log = tmp_path / "drift.jsonl"
    proxy, url = make_proxy(httpserver.url_for("/").rstrip("/"), drift_log=log)
    responses = [httpx.get(url + "/v2/projects/42/", headers=HEADERS) for _ in range(3)]
    proxy.drain()
    assert all(r.json() == bad for r in responses)
    entries = read_log(log)
    assert {(e["field"], e["kind"]) for e in entries} == {("category", "enum"), ("title", "null")}
    assert "lidar-secret-value" not in log.read_text()
    counts = {(f["field"], f["kind"]): f["count"] for f in proxy.stats()["findings"]}
    assert counts == {("category", "enum"): 3, ("title", "null"): 3}  # logged once, counted thrice


def test_request_findings_name_the_parameter_and_body_field(httpserver, make_proxy):
    httpserver.expect_request("/v2/projects/").respond_with_response(json_response(envelope([project(1)])))
    proxy, url = make_proxy(httpserver.url_for("/").rstrip("/"))
    httpx.get(url + "/v2/projects/?per_page=many", headers=HEADERS)
    httpx.post(url + "/v2/projects/", json={"title": 5, "category": "image", "configuration": {}}, headers=HEADERS)
    proxy.drain()
    found = {(f["operation"], f["direction"], f["field"], f["kind"]) for f in proxy.stats()["findings"]}
    assert ("projects.list", "request", "per_page", "type") in found
    assert ("projects.create", "request", "title", "type") in found


def test_request_findings_never_become_patches(httpserver, make_proxy, tmp_path):
    httpserver.expect_request("/v2/projects/").respond_with_response(json_response(envelope([project(1)])))
    log = tmp_path / "drift.jsonl"
    proxy, url = make_proxy(httpserver.url_for("/").rstrip("/"), drift_log=log)
    httpx.get(url + "/v2/projects/?per_page=many", headers=HEADERS)
    proxy.drain()
    assert [e["direction"] for e in read_log(log)] == ["request"]
    base = {"patches": [], "names": {}}
    assert propose_overrides(log, base=base)["patches"] == []


def test_an_unwritable_log_never_changes_the_traffic(httpserver, make_proxy, tmp_path):
    httpserver.expect_request("/v2/projects/42/").respond_with_response(
        json_response(envelope(project_detail(42, category="lidar"))))
    proxy, url = make_proxy(httpserver.url_for("/").rstrip("/"), drift_log=tmp_path)  # a directory
    response = httpx.get(url + "/v2/projects/42/", headers=HEADERS)
    proxy.drain()
    assert response.status_code == 200 and response.json()["data"]["category"] == "lidar"
    assert proxy.stats()["log_errors"] == 1 and proxy.stats()["distinct_findings"] == 1


def test_samples_are_redacted(httpserver, make_proxy, tmp_path):
    secret = "syn_plaintext0123456789"
    httpserver.expect_request("/v2/tokens/").respond_with_response(json_response(
        envelope({"id": 1, "token": secret, "password": "hunter2hunter2", "extra": "x"}), status=201))
    log = tmp_path / "drift.jsonl"
    proxy, url = make_proxy(httpserver.url_for("/").rstrip("/"), drift_log=log, samples=True)
    httpx.post(url + "/v2/tokens/", json={"description": "d"}, headers=HEADERS)
    proxy.drain()
    text = log.read_text()
    assert secret not in text and "hunter2" not in text
    sample = next(e["sample"] for e in read_log(log) if "sample" in e)
    assert sample["token"] == "***" and sample["password"] == "***" and sample["extra"] == "x"


# -- concurrency, faults, limits ---------------------------------------------------------------------------


def test_concurrent_clients_each_get_their_own_answer(httpserver, make_proxy):
    def answer(request: Request) -> Response:
        pid = int(request.path.strip("/").split("/")[-1])
        return json_response(envelope(project_detail(pid, extra_field=pid)))

    for pid in range(1, 17):
        httpserver.expect_request(f"/v2/projects/{pid}/").respond_with_handler(answer)
    proxy, url = make_proxy(httpserver.url_for("/").rstrip("/"))
    errors: list[str] = []

    def worker(pid: int) -> None:
        with httpx.Client(base_url=url, headers=HEADERS) as client:
            for _ in range(10):
                got = client.get(f"/v2/projects/{pid}/").json()["data"]
                if got["id"] != pid or got["extra_field"] != pid:
                    errors.append(f"{pid}: {got['id']}")

    threads = [threading.Thread(target=worker, args=(pid,)) for pid in range(1, 17)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    proxy.drain()
    stats = proxy.stats()
    assert errors == []
    assert stats["requests"] == 160 and stats["validated"] == 160
    assert [(f["field"], f["kind"], f["count"]) for f in stats["findings"]] == [("extra_field", "undocumented", 160)]


def test_an_upstream_that_drops_connections(make_proxy):
    good = reply(200, envelope(project_detail(42)))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    server = FaultServer(good)
    server.push("close", "reset", lambda *a: head + b'{"data": {"id"')
    with server.running():
        proxy, url = make_proxy(server.url)
        with httpx.Client(base_url=url, headers=HEADERS, timeout=10) as client:
            for _ in range(3):  # nothing at all, a reset, a body cut short: the client sees the same
                with pytest.raises(httpx.TransportError):
                    client.get("/v2/projects/42/").read()
            after = client.get("/v2/projects/42/")
    proxy.drain()
    assert after.status_code == 200 and after.json()["data"]["id"] == 42
    assert proxy.stats()["upstream_errors"] == 3 and proxy.stats()["distinct_findings"] == 0


def test_an_unreachable_upstream_drops_the_client_connection(make_proxy):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    proxy, url = make_proxy(f"http://127.0.0.1:{port}")
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/v2/projects/", headers=HEADERS)
    assert httpx.get(url + STATS_PATH).json()["upstream_errors"] == 1


def test_a_body_above_the_limit_streams_through_unvalidated(httpserver, make_proxy):
    items = [project(i, category="not-an-enum-member") for i in range(2000)]
    payload = envelope(items)
    httpserver.expect_request("/v2/projects/").respond_with_response(json_response(payload))
    httpserver.expect_request("/v2/data-units/", method="POST").respond_with_handler(
        lambda request: Response(str(len(request.get_data())), status=201))
    proxy, url = make_proxy(httpserver.url_for("/").rstrip("/"), max_body=64 * 1024)
    response = httpx.get(url + "/v2/projects/", headers=HEADERS)
    upload = b"x" * (3 * 1024 * 1024)
    posted = httpx.post(url + "/v2/data-units/", content=upload, headers=HEADERS)
    proxy.drain()
    assert len(response.content) > 64 * 1024 and response.json() == payload
    assert posted.text == str(len(upload))
    stats = proxy.stats()
    assert stats["skipped_too_large"] == 2 and stats["distinct_findings"] == 0


def test_a_chunked_request_body_is_relayed(httpserver, make_proxy):
    httpserver.expect_request("/v2/data-units/", method="POST").respond_with_handler(
        lambda request: Response(request.get_data(), status=201))
    _, url = make_proxy(httpserver.url_for("/").rstrip("/"))
    parts = [b"first,", b"second,", b"third"]
    response = httpx.post(url + "/v2/data-units/", content=iter(parts), headers=HEADERS)
    assert response.status_code == 201 and response.content == b"".join(parts)


def test_stats_endpoint_and_loopback_default(httpserver):
    proxy = ValidationProxy(httpserver.url_for("/"), REGISTRY)
    server = proxy.make_server(port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
        proxy.close()


# -- the drift loop ----------------------------------------------------------------------------------------


def newer_backend(httpserver) -> None:
    """A backend one release ahead: a new enum member, a new field, a null, an undocumented status."""
    detail = project_detail(42, category="lidar", priority=3)
    detail["description"] = None
    httpserver.expect_request("/v2/projects/42/", method="GET").respond_with_response(json_response(envelope(detail)))
    httpserver.expect_request("/v2/projects/", method="GET").respond_with_response(
        json_response(envelope([project(1, category="lidar", priority=1), project(2)])))
    httpserver.expect_request("/v2/projects/42/", method="DELETE").respond_with_response(
        json_response(envelope({"deleted": True}), status=202))


def traffic(url: str) -> None:
    with httpx.Client(base_url=url, headers=HEADERS) as client:
        client.get("/v2/projects/42/")
        client.get("/v2/projects/")
        client.delete("/v2/projects/42/")


def test_drift_loop_proxy_log_to_overrides_to_strict_validation(httpserver, make_proxy, tmp_path):
    newer_backend(httpserver)
    upstream = httpserver.url_for("/").rstrip("/")
    log = tmp_path / "drift.jsonl"
    proxy, url = make_proxy(upstream, drift_log=log)
    traffic(url)
    proxy.drain()
    kinds = {(e["operation"], e["kind"]) for e in read_log(log)}
    assert {("projects.retrieve", "enum"), ("projects.retrieve", "undocumented"), ("projects.retrieve", "null"),
            ("projects.list", "enum"), ("projects.list", "undocumented"), ("projects.destroy", "status")} <= kinds

    proposed = tmp_path / "overrides.yaml"
    proposed.write_text(yaml.safe_dump(propose_overrides(log)), encoding="utf-8")
    patched = registry(proposed)
    assert patched.report.ok, patched.report

    fixed, fixed_url = make_proxy(upstream, schema=patched)
    traffic(fixed_url)
    fixed.drain()
    assert fixed.stats()["findings"] == [] and fixed.stats()["validated"] == 3
    client = synapse_dyn.Client(upstream, schema=patched, access_token=TOKEN, tenant="acme", allow_insecure=True,
                                validate_responses="strict", retries=0)
    assert client.projects.retrieve(42).priority == 3 and client.projects.retrieve(42).description is None
    assert [p.category for p in client.projects.list().results] == ["lidar", "image"]


def release_backend(number: int) -> Any:
    """A sandbox serving a published release (three objects of every resource), and its credentials."""
    from synapse_dyn.sandbox import Sandbox

    release = registry_of(reference_release(number))
    sandbox = Sandbox(release)
    sandbox.create_user("drift@example.com", "pw", tenant="acme")
    for key, res in sandbox.app.resources.items():
        if key not in ("tenants", "tokens"):
            sandbox.seed(key, 3, tenant="acme", parent=(1,) * len(res.parent_params) or None)
    headers = {"SYNAPSE-ACCESS-TOKEN": sandbox.issue_token("drift@example.com", "acme"), "SYNAPSE-Tenant": "acme"}
    return sandbox, release, headers


def every_get(url: str, release: synapse_dyn.Registry, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for op in release.operations:
            if op.method == "get":
                path = op.path
                for name in op.path_params:
                    path = path.replace("{" + name + "}", "acme" if op.path.startswith("/v2/tenants") else "1")
                client.get(path)


def registry_of(source: Any, overrides: Any = None) -> synapse_dyn.Registry:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return synapse_dyn.load_spec(str(source), overrides=overrides, cache=False)


@pytest.mark.parametrize("number", [1, 2])
def test_a_published_release_s_answers_through_the_proxy_become_patches(number, make_proxy, tmp_path):
    """The drift radar on real releases: a backend answering per release N, the proxy judging by the bundled
    schema; the log's proposed overrides make the bundled schema accept every one of those answers."""
    sandbox, release, headers = release_backend(number)
    log, proposed = tmp_path / "drift.jsonl", tmp_path / "overrides.yaml"
    try:
        with sandbox.serve(port=0) as upstream:
            proxy, url = make_proxy(upstream, drift_log=log)
            every_get(url, release, headers)
            proxy.drain()
            found = {(f["operation"], f["field"], f["kind"]) for f in proxy.stats()["findings"]
                     if f["direction"] == "response"}
            assert ("projects.permissions", "role_source", "required") in found
            assert ("projects.get_join_requests", "", "null") in found
            proposed.write_text(yaml.safe_dump(propose_overrides(log)), encoding="utf-8")
            patched = registry(proposed)
            assert patched.report.ok
            again, again_url = make_proxy(upstream, schema=patched)
            every_get(again_url, release, headers)
            again.drain()
            assert [f for f in again.stats()["findings"] if f["direction"] == "response"] == []
    finally:
        sandbox.close()


def _cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synapse_dyn", *args], capture_output=True, text=True, timeout=120,
                          **kwargs)


def test_cli_drift_report_turns_the_proxy_log_into_overrides(httpserver, make_proxy, tmp_path):
    newer_backend(httpserver)
    log, out = tmp_path / "drift.jsonl", tmp_path / "overrides.yaml"
    proxy, url = make_proxy(httpserver.url_for("/").rstrip("/"), drift_log=log)
    traffic(url)
    proxy.drain()
    result = _cli("schema", "drift-report", str(log), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert registry(out).report.ok
    check = _cli("schema", "check-overrides", "--overrides", str(out))
    assert check.returncode == 0, check.stdout + check.stderr


def test_cli_proxy_serves_until_interrupted(httpserver, tmp_path):
    httpserver.expect_request("/v2/projects/42/").respond_with_response(
        json_response(envelope(project_detail(42, category="lidar"))))
    log = tmp_path / "drift.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "synapse_dyn", "proxy", "--upstream",
                                httpserver.url_for("/").rstrip("/"), "--port", "0", "--drift-log", str(log),
                                "--status-every", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Validating proxy: http://127.0.0.1:"), first + process.stderr.read()
        url = first.split()[2]
        assert httpx.get(url + "/v2/projects/42/", headers=HEADERS).json()["data"]["category"] == "lidar"
        for _ in range(50):
            if httpx.get(url + STATS_PATH).json()["validated"] == 1:
                break
        assert httpx.get(url + STATS_PATH).json()["distinct_findings"] == 1
    finally:
        process.send_signal(2)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0 and "1 distinct findings" in err
    assert [e["kind"] for e in read_log(log)] == ["enum"]


def test_cli_proxy_refuses_a_non_http_upstream():
    result = _cli("proxy", "--upstream", "ftp://example", "--port", "0")
    assert result.returncode == 2 and "expected an http(s) URL" in result.stderr


def test_cli_proxy_judges_by_the_global_schema(httpserver):
    release = str(reference_release(2))
    process = subprocess.Popen([sys.executable, "-m", "synapse_dyn", "--schema", release, "proxy", "--upstream",
                                httpserver.url_for("/").rstrip("/"), "--port", "0", "--status-every", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
    finally:
        process.send_signal(2)
        process.communicate(timeout=20)
    assert first.startswith("Validating proxy:") and f"({release} schema" in first, first
