"""The sandbox validates requests with openapi-core, not with the client's validators (issue 15, A1).

A schema where OpenAPI 3.0 semantics matter (readOnly in a request, nullable, formats, path
parameter types) is answered as openapi-core judges it, in the backend's 400 envelope, with field
names from the error's path and no values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox
from synapse_dyn.sandbox.checking import checker_for
from synapse_dyn.spec import load_spec

THING = {"$ref": "#/components/schemas/Thing"}
SCHEMA: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Semantics", "version": "1"},
    "security": [],
    "paths": {
        "/things/": {
            "get": {"operationId": "things_list",
                    "parameters": [{"name": "size", "in": "query", "schema": {"type": "integer", "maximum": 5}},
                                   {"name": "tags", "in": "query", "style": "form", "explode": False,
                                    "schema": {"type": "array", "items": {"type": "string"}}}],
                    "responses": {"200": {"description": "all", "content": {"application/json": {
                        "schema": {"type": "array", "items": THING}}}}}},
            "post": {"operationId": "things_create",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": THING}}},
                     "responses": {"201": {"description": "made", "content": {"application/json": {
                         "schema": THING}}}}},
        },
        "/things/{id}/": {"get": {
            "operationId": "things_retrieve",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "one", "content": {"application/json": {"schema": THING}}}}}},
    },
    "components": {"schemas": {"Thing": {"type": "object", "required": ["name"], "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string", "minLength": 2},
        "when": {"type": "string", "format": "date", "nullable": True},
        "secret_code": {"type": "string", "writeOnly": True}}}}},
}


@pytest.fixture()
def http(tmp_path: Path) -> Iterator[httpx.Client]:
    path = tmp_path / "semantics.json"
    path.write_text(json.dumps(SCHEMA))
    with Sandbox(load_spec(path, overrides=False, cache=False)) as box, httpx.Client(
            transport=box.transport(), base_url=SANDBOX_ORIGIN) as client:
        yield client


def details(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    return {d["field"]: d["message"] for d in response.json()["error"]["details"]}


def test_a_read_only_property_in_a_request_is_refused(http: httpx.Client) -> None:
    found = details(http.post("/things/", json={"id": 41, "name": "ok"}))
    assert found == {"id": "This field is read-only."}
    made = http.post("/things/", json={"name": "ok", "secret_code": "s3cr3t-value", "when": None})
    assert made.status_code == 201 and "secret_code" not in made.json()["data"]  # writeOnly: accepted, not shown


def test_body_errors_name_fields_and_never_values(http: httpx.Client) -> None:
    response = http.post("/things/", json={"name": "x", "when": "not-a-date-SECRET"})
    assert details(response) == {"name": "Fails minLength 2.", "when": "Not a valid date."}
    assert "SECRET" not in response.text
    assert details(http.post("/things/", json={})) == {"name": "This field is required."}


def test_parameters_are_cast_and_checked_by_openapi_core(http: httpx.Client) -> None:
    for name in ("a1", "b2", "c3"):
        http.post("/things/", json={"name": name})
    assert len(http.get("/things/", params={"size": "2", "tags": "x,y"}).json()["data"]) == 3
    assert details(http.get("/things/", params={"size": "many"})) == {"size": "Not a valid value for size."}
    assert details(http.get("/things/", params={"size": "9"})) == {"size": "Fails maximum 5."}
    assert http.get("/things/not-a-number/").status_code == 404  # a path value that does not fit: 404
    assert http.get("/things/1/").json()["data"]["name"] == "a1"


def test_one_openapi_object_per_schema_document(tmp_path: Path) -> None:
    path = tmp_path / "semantics.json"
    path.write_text(json.dumps(SCHEMA))
    registry = load_spec(path, overrides=False, cache=False)
    with Sandbox(registry) as first, Sandbox(registry) as second:
        assert first.app.checker is second.app.checker is checker_for(registry)
        assert type(first.app.checker.openapi).__module__.startswith("openapi_core")
