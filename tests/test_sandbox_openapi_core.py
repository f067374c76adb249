"""The sandbox validates requests with openapi-core, not with the client's validators (issue 15, A1).

A schema where OpenAPI 3.0 semantics matter (readOnly in a request, nullable, formats, path
parameter types) is answered as openapi-core judges it, in the backend's 400 envelope, with field
names from the error's path and no values.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synapse_dyn.registry import Operation, Registry
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox
from synapse_dyn.sandbox.checking import (
    CheckedRequest,
    RequestChecker,
    checker_for,
    parameter_problems,
    raw_parameters,
    unmarshal_prebuilt,
    verdict,
)
from synapse_dyn.sandbox.messages import ApiError, Request
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
def box(tmp_path: Path) -> Iterator[Sandbox]:
    path = tmp_path / "semantics.json"
    path.write_text(json.dumps(SCHEMA))
    with Sandbox(load_spec(path, overrides=False, cache=False)) as sandbox:
        yield sandbox


@pytest.fixture()
def http(box: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=box.transport(), base_url=SANDBOX_ORIGIN) as client:
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


# Every simple parameter shape the prebuilt path handles, next to one (deepObject) it leaves to openapi-core.
_ITEM_QUERY = [
    {"name": "mode", "in": "query", "schema": {"type": "string", "enum": ["view", "edit"], "default": "view"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    {"name": "ratio", "in": "query", "schema": {"type": "number"}},
    {"name": "flag", "in": "query", "schema": {"type": "boolean"}},
    {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}},
    {"name": "ids", "in": "query", "style": "form", "explode": False,
     "schema": {"type": "array", "items": {"type": "integer"}}},
    {"name": "X-Trace", "in": "header", "schema": {"type": "integer"}},
]
PARAMS: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Parameters", "version": "1"},
    "paths": {
        "/items/{item_id}/": {
            "parameters": [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                           {"name": "mode", "in": "query", "schema": {"type": "integer"}}],  # overridden below
            "get": {"operationId": "items_retrieve", "parameters": _ITEM_QUERY,
                    "responses": {"200": {"description": "one"}}}},
        "/search/": {"get": {
            "operationId": "search",
            "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string", "minLength": 2}},
                           {"name": "page", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "found"}}}},
        "/filtered/": {"get": {
            "operationId": "filtered",
            "parameters": [{"name": "filter", "in": "query", "style": "deepObject",
                            "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}],
            "responses": {"200": {"description": "found"}}}},
    },
}


@cache
def params_checker() -> tuple[Registry, RequestChecker]:
    return Registry(PARAMS), RequestChecker(PARAMS)


def judged(op_id: str, path: dict[str, str] | None = None, query: list[tuple[str, str]] | None = None,
           headers: dict[str, str] | None = None) -> tuple[dict, dict] | ApiError:
    """The prebuilt verdict, after asserting openapi-core's own unmarshal_request reaches the same one."""
    registry, checker = params_checker()
    op: Operation = registry.by_operation_id[op_id]
    request = Request("GET", f"http://sandbox{op.path}?{urlencode(query or [])}", dict(headers or {}))
    path = dict(path or {})
    header = bool(op.header_params)
    with checker._walking:
        prebuilt = checker.prebuilt(op)
        assert prebuilt is not None, op_id
        values, errors = unmarshal_prebuilt(prebuilt, raw_parameters(request, path, header))
        reference = checker.openapi.unmarshal_request(CheckedRequest(op, request, path, header))
    assert [_summary(e) for e in errors] == [_summary(e) for e in reference.errors]
    assert _shown(values) == _shown(reference.parameters)
    ours, theirs = verdict(values, errors), verdict(reference.parameters, list(reference.errors))
    assert _answer(ours) == _answer(theirs)
    return ours


def _summary(error: Exception) -> tuple[Any, ...]:
    return (type(error).__name__, getattr(error, "name", None), getattr(error, "location", None),
            type(error.__cause__).__name__, list(parameter_problems([error])))


def _shown(values: Any) -> tuple[dict, dict, dict]:
    return dict(values.path), dict(values.query), dict(values.header)


def _answer(result: tuple[dict, dict] | ApiError) -> Any:
    return (result.status, result.message, result.details) if isinstance(result, ApiError) else result


def problems(result: tuple[dict, dict] | ApiError) -> dict[str, str]:
    assert isinstance(result, ApiError) and result.status == 400, result
    return {d["field"]: d["message"] for d in result.details}


def test_prebuilt_parameters_cast_like_openapi_core() -> None:
    path, query = judged("items_retrieve", {"item_id": "7"}, [("tags", "a"), ("tags", "b"), ("ids", "1,2"),
                                                              ("limit", "3"), ("ratio", "1.5"), ("flag", "true")])
    assert path == {"item_id": 7}
    assert query == {"mode": "view", "tags": ["a", "b"], "ids": [1, 2], "limit": 3, "ratio": 1.5, "flag": True}
    assert judged("items_retrieve", {"item_id": "7"}, [("mode", "edit")])[1] == {"mode": "edit"}
    assert judged("search", query=[("q", "cats"), ("page", "2")]) == ({}, {"q": "cats", "page": 2})


def test_prebuilt_parameters_refuse_like_openapi_core() -> None:
    missing = judged("items_retrieve", {"item_id": "seven"})
    assert isinstance(missing, ApiError) and missing.status == 404  # a path value that does not fit
    assert problems(judged("items_retrieve", {"item_id": "7"}, [("mode", "delete")])) == {
        "mode": "Not one of view or edit."}
    assert problems(judged("items_retrieve", {"item_id": "7"}, [("limit", "many"), ("tags", "c")])) == {
        "limit": "Not a valid value for limit.", "tags/0": "Not one of a or b."}
    assert problems(judged("items_retrieve", {"item_id": "7"}, [("limit", "0"), ("ids", "1,x")])) == {
        "limit": "Fails minimum 1.", "ids": "Not a valid value for ids."}
    assert problems(judged("items_retrieve", {"item_id": "7"}, headers={"x-trace": "abc"})) == {
        "X-Trace": "Not a valid value for X-Trace."}
    assert problems(judged("search", query=[("page", "1")])) == {"q": "This field is required."}
    assert problems(judged("search", query=[("q", "")])) == {"q": "Not a valid value for q."}


_RAW = st.one_of(st.integers(-5, 200).map(str), st.sampled_from(["", "view", "edit", "a", "b", "true", "1.5", "1,2"]),
                 st.text(string.ascii_letters + string.digits + "-.,_", max_size=6))
_NAMES = st.sampled_from(["mode", "limit", "ratio", "flag", "tags", "ids", "other"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item_id=_RAW, query=st.lists(st.tuples(_NAMES, _RAW), max_size=5), trace=st.none() | _RAW)
def test_prebuilt_parameters_agree_with_unmarshal_request(item_id: str, query: list[tuple[str, str]],
                                                          trace: str | None) -> None:
    judged("items_retrieve", {"item_id": item_id}, query, {} if trace is None else {"x-trace": trace})


@settings(max_examples=50, deadline=None)
@given(query=st.lists(st.tuples(st.sampled_from(["q", "page"]), _RAW), max_size=3))
def test_prebuilt_required_parameters_agree_with_unmarshal_request(query: list[tuple[str, str]]) -> None:
    judged("search", query=query)


def test_deep_objects_are_left_to_unmarshal_request(monkeypatch: pytest.MonkeyPatch) -> None:
    registry, checker = params_checker()
    op = registry.by_operation_id["filtered"]
    calls: list[Any] = []
    unmarshal_request = checker.openapi.unmarshal_request
    monkeypatch.setattr(checker.openapi, "unmarshal_request", lambda request: calls.append(request) or
                        unmarshal_request(request))
    checker.unmarshal_parameters(op, Request("GET", "http://sandbox/filtered/?filter%5Ba%5D=1"), {})
    assert len(calls) == 1
    assert checker.prebuilt(op) is None


def test_distinct_ids_never_reach_unmarshal_request(box: Sandbox, http: httpx.Client,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    http.post("/things/", json={"name": "first"})
    checker = box.app.checker
    calls: list[Any] = []
    unmarshal_request = checker.openapi.unmarshal_request
    monkeypatch.setattr(checker.openapi, "unmarshal_request", lambda request: calls.append(request) or
                        unmarshal_request(request))
    judged_before = len(checker._verdicts)
    statuses = {http.get(f"/things/{n}/").status_code for n in range(1000, 1040)}
    assert statuses == {404} and len(checker._verdicts) == judged_before + 40  # each id judged afresh
    assert http.get("/things/1/").json()["data"]["name"] == "first"
    assert calls == []
    assert http.get("/things/not-a-number/").status_code == 404 and calls == []
