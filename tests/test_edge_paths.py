"""Paths the suite did not reach before: each test names the behaviour a user relies on there."""

from __future__ import annotations

import asyncio
import socket
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import AsyncClient, envelope, make_client, project_detail, request_json
from pytest_httpserver import HTTPServer

from synapse_dyn import Client, errors, load_spec
from synapse_dyn.errors import DriftResolvedWarning
from synapse_dyn.retry import RetryPolicy

# -- a connect timeout is "never sent": even a POST is retried ---------------------------------------------


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops new SYNs, so connecting times out (not refused)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    yield port
    for sock in (*fillers, server):
        sock.close()


def test_a_connect_timeout_counts_as_never_sent_so_a_post_is_retried(full_backlog: int) -> None:
    policy = RetryPolicy(retries=2, backoff=0.01, max_backoff=0.02, max_total=10)
    with Client(f"http://127.0.0.1:{full_backlog}", allow_insecure=True, retries=policy,
                timeout={"connect": 0.2, "read": 1}) as client, pytest.raises(errors.TimeoutError) as info:
        client.projects.create({"title": "t", "category": "image", "configuration": {}})
    assert info.value.sent is False
    assert "connect timeout" in str(info.value) and "3 attempts" in str(info.value)


# -- override conditions ----------------------------------------------------------------------------------

DOC = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/v2/things/{id}/": {"get": {
    "operationId": "thing_retrieve",
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Thing"}}}}}}}},
    "components": {"schemas": {"Thing": {"type": "object", "required": ["id", "ghost"], "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": []},
        "mode": {"type": "string", "default": "fast"}}}}}}


def _load(tmp_path, patch: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    import yaml

    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(DOC))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftResolvedWarning)
        registry = load_spec(str(path), overrides={"patches": [{"id": "p", "why": "test", **patch}]}, cache=False)
    return registry.resolve({"$ref": "#/components/schemas/Thing"}), list(registry.report.resolved)


@pytest.mark.parametrize("when,applies", [({"equals": []}, True), ({"equals": ["x"]}, False),
                                          ({"not_equals": ["x"]}, True), ({"not_equals": []}, False)])
def test_equals_and_not_equals_conditions(tmp_path, when: dict[str, Any], applies: bool) -> None:
    thing, resolved = _load(tmp_path, {"target": "/components/schemas/Thing/properties/kind/enum", "op": "remove",
                                       "when": when})
    assert ("enum" not in thing["properties"]["kind"]) is applies
    assert bool(resolved) is not applies


@pytest.mark.parametrize("field,applies", [("ghost", True), ("id", False), ("absent", False)])
def test_required_without_property_condition(tmp_path, field: str, applies: bool) -> None:
    thing, resolved = _load(tmp_path, {"target": "/components/schemas/Thing", "op": "merge",
                                       "value": {"required": ["id"]}, "when": {"required_without_property": field}})
    assert (thing["required"] == ["id"]) is applies
    assert bool(resolved) is not applies


# -- responses and arguments ------------------------------------------------------------------------------------


def test_an_error_response_with_malformed_json_keeps_its_status(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v2/projects/42/").respond_with_data('{"error": {"code": "X", ', status=404,
                                                                    content_type="application/json")
    with make_client(httpserver) as client, pytest.raises(errors.NotFoundError) as info:
        client.projects.retrieve(42)
    assert info.value.status_code == 404 and "404" in str(info.value)


def test_a_path_parameter_given_twice_is_refused(httpserver: HTTPServer) -> None:
    with make_client(httpserver) as client:
        with pytest.raises(errors.UnknownArgumentError, match="multiple values for 'id'"):
            client.projects.retrieve(42, id=43)
        with pytest.raises(errors.UnknownArgumentError, match="already given by tags"):
            client.projects.tags(1).list(project_pk=2)
    assert httpserver.log == []


def test_a_body_that_is_not_a_mapping(httpserver: HTTPServer) -> None:
    with make_client(httpserver) as client:
        with pytest.raises(errors.ValidationError, match="expected object"):
            client.projects.create(["not", "an", "object"])
        with pytest.raises(errors.UnknownArgumentError, match="need a mapping body"):
            client.projects.create(["a"], title="x")
    assert httpserver.log == []


def test_async_client_request_calls_a_path_the_schema_lacks(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v2/some-new-endpoint/", method="POST", query_string="page=2").respond_with_json(
        envelope(project_detail(7)))

    async def call() -> Any:
        async with make_client(httpserver, cls=AsyncClient) as client:
            return await client.request("POST", "/v2/some-new-endpoint/", params={"page": 2}, json={"a": 1})

    assert asyncio.run(call())["id"] == 7
    assert request_json(httpserver.log[0][0]) == {"a": 1}
