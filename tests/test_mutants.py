"""Behaviours a mutation-testing pass showed no test held: each test here fails when its mutation is applied.

The small schema below has what the shipped schemas lack: a field named like a secret without
``x-secret``, optional fields of every checked format, and two success responses with different bodies.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import httpx
import pytest
import yaml
from conftest import BUNDLED_SCHEMA
from helpers import envelope, make_client, project
from pytest_httpserver import HTTPServer

from synapse_dyn import Client, errors, load_spec
from synapse_dyn.errors import DriftResolvedWarning
from synapse_dyn.naming import name_operations

ENGINES = ["rust", "python"]
SECRET = "s3cr3t-VALUE-0123456789"

THING = {"type": "object", "required": ["id"], "properties": {
    "id": {"type": "integer"},
    "api_key": {"type": "string"},
    "note": {"type": "string"},
    "uid": {"type": "string", "format": "uuid"},
    "at": {"type": "string", "format": "date-time"},
    "day": {"type": "string", "format": "date"},
}}
RECEIPT = {"type": "object", "required": ["queued"], "properties": {"queued": {"type": "boolean"}}}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


THINGS_SCHEMA = {
    "openapi": "3.0.3",
    "info": {"title": "things", "version": "1"},
    "paths": {"/v2/things/{id}/": {"get": {
        "operationId": "thing_retrieve",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"202": {"description": "queued", "content": _json("Receipt")},
                      "200": {"description": "ok", "content": _json("Thing")}},
    }}},
    "components": {"schemas": {"Thing": THING, "Receipt": RECEIPT}},
}


@pytest.fixture(scope="module")
def things_schema(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("things") / "things.yaml"
    path.write_text(yaml.safe_dump(THINGS_SCHEMA))
    return str(path)


def _thing(httpserver: HTTPServer, things_schema: str, body: dict[str, Any], engine: str = "rust") -> Any:
    httpserver.expect_request("/v2/things/1/").respond_with_json(envelope(body))
    with make_client(httpserver, schema=things_schema, overrides=False, validation_engine=engine) as client:
        return client.things.retrieve(1)


# -- 1. next-page links: the origin is scheme, host and port ---------------------------------------------


class _Backend(httpx.BaseTransport):
    """An in-process backend whose first page points its next link at ``next_link``; records every request."""

    def __init__(self, next_link: str) -> None:
        self.next_link = next_link
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        page = envelope([project(len(self.seen))], next_cursor=self.next_link if len(self.seen) == 1 else None)
        return httpx.Response(200, json=page)


def test_a_next_link_downgrading_https_to_http_is_not_followed() -> None:
    backend = _Backend("http://api.example.test/v2/projects/?cursor=2")
    with Client("https://api.example.test", transport=backend, access_token="syn_abcdefgh12345678",
                tenant="acme", retries=0) as client, pytest.raises(errors.ProtocolError, match="another origin"):
        list(client.projects.list(list_all=True))
    assert [str(r.url) for r in backend.seen] == ["https://api.example.test/v2/projects/"]


def test_a_next_link_to_another_port_of_the_same_host_is_not_followed(httpserver: HTTPServer) -> None:
    other = HTTPServer(host=httpserver.host, port=0)
    other.start()
    try:
        other.expect_request("/v2/projects/").respond_with_json(envelope([project(2)]))
        link = other.url_for("/v2/projects/?cursor=2")
        assert link.startswith(f"http://{httpserver.host}:") and other.port != httpserver.port
        httpserver.expect_request("/v2/projects/").respond_with_json(envelope([project(1)], next_cursor=link))
        with make_client(httpserver) as client, pytest.raises(errors.ProtocolError, match="another origin"):
            list(client.projects.list(list_all=True))
        assert other.log == []
    finally:
        other.clear()
        other.stop()


# -- 2. / 3. records -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["api_key", "client_secret", "password", "refresh_token"])
def test_a_field_named_like_a_secret_is_masked_without_x_secret(httpserver: HTTPServer, tmp_path, name) -> None:
    schema = json.loads(json.dumps(THINGS_SCHEMA))
    schema["components"]["schemas"]["Thing"]["properties"][name] = {"type": "string"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(schema))
    record = _thing(httpserver, str(path), {"id": 1, name: SECRET, "note": "visible-note"})
    assert "x-secret" not in json.dumps(schema)
    assert SECRET not in repr(record) and SECRET not in str(record)
    assert "visible-note" in repr(record) and re.search(rf"{name}='[^']*\*\*\*[^']*'", repr(record)), repr(record)
    assert getattr(record, name) == SECRET  # masked in the repr only


def test_an_absent_schema_field_reads_as_none_and_an_unknown_one_names_the_fields(httpserver, things_schema) -> None:
    record = _thing(httpserver, things_schema, {"id": 1})
    assert type(record).__name__ == "Thing"
    assert record.note is None and record.uid is None and record.api_key is None
    with pytest.raises(AttributeError, match=r"Thing has no field 'colour'; fields: .*note"):
        record.colour  # noqa: B018


# -- 4. / 5. formats: a malformed value fails strict validation, on both engines ---------------------------

FORMAT_CASES = {
    "uid": (["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
             "ABCDEF01-2345-6789-ABCD-EF0123456789"],
            ["nope", "", "00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-0000000000000",
             "0000000g-0000-0000-0000-000000000000", "{00000000-0000-0000-0000-000000000000}",
             "urn:uuid:00000000-0000-0000-0000-000000000000"]),
    "at": (["2026-01-15T00:00:00Z", "2026-01-15T23:59:59Z", "2026-12-31T23:59:60Z", "2024-02-29T12:00:00Z",
            "2026-01-15T09:00:00.123456+09:00", "2026-01-15t09:00:00z", "2026-01-15T09:00:00-23:59"],
           ["2026-01-15T24:00:00Z", "2026-01-15T23:60:00Z", "2026-01-15T23:59:61Z", "2026-01-15T09:00:00+24:00",
            "2026-01-15T09:00:00+09:60", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
            "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-15T09:00:00", "2026-01-15 09:00:00Z",
            "2026-01-15T9:00:00Z", "2026-01-15T09:00:00.Z"]),
    "day": (["2024-02-29", "2026-01-01", "2026-12-31"],
            ["2023-02-29", "2026-13-01", "2026-00-01", "2026-01-32", "2026-1-01", "20260101",
             "2026-01-01T00:00:00Z"]),
}
BOUNDARIES = [(field, value, ok) for field, (good, bad) in FORMAT_CASES.items()
              for ok, values in ((True, good), (False, bad)) for value in values]


@pytest.mark.parametrize("engine", ENGINES)
def test_every_checked_format_at_its_boundaries(httpserver: HTTPServer, things_schema: str, engine: str) -> None:
    """Each value goes through a real response in strict mode: a bad one is a ValidationError naming the field."""
    wrong = []
    for field, value, ok in BOUNDARIES:
        httpserver.clear()
        try:
            _thing(httpserver, things_schema, {"id": 1, field: value}, engine)
            accepted, named = True, True
        except errors.ValidationError as exc:
            accepted = False
            named = any(e["field"] == field and e["kind"] == "format" for e in exc.detail["errors"])
            assert value not in str(exc) or len(value) < 3
        if accepted != ok or not named:
            wrong.append((field, value, "accepted" if accepted else "refused"))
    assert not wrong, wrong


@pytest.mark.parametrize("schema,value", [({"format": "uuid"}, "00000000000000000000000000000000"),
                                          ({"format": "uuid"}, "00000000-0000-0000-0000000000000000"),
                                          ({"format": "date"}, "0000-01-01"), ({"format": "date"}, "0000-02-29"),
                                          ({"format": "date"}, "0001-02-29"),
                                          ({"format": "date-time"}, "0000-01-01T00:00:00Z")])
def test_both_engines_agree_on_format_edge_cases(schema: dict[str, Any], value: str) -> None:
    from synapse_dyn.validation import CompiledSchema

    full = {"type": "string", **schema}
    assert CompiledSchema(full, "x", "rust").is_valid(value) == CompiledSchema(full, "x", "python").is_valid(value)


# -- 7. the registry cache follows the overrides' content ---------------------------------------------------


def test_editing_an_overrides_file_rebuilds_the_registry(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path / "cache"))
    overrides = tmp_path / "overrides.yaml"
    resources = []
    for name in ("alpha_users", "beta_users", "alpha_users"):
        overrides.write_text(yaml.safe_dump({"names": {"resources": {"users": name}}}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DriftResolvedWarning)
            resources.append(load_spec(BUNDLED_SCHEMA, overrides=overrides).resources)
    assert ["alpha_users" in r for r in resources] == [True, False, True]
    assert ["beta_users" in r for r in resources] == [False, True, False]
    assert len(list((tmp_path / "cache").glob("registry-*.json"))) == 2


def test_overrides_given_as_a_dict_key_the_cache_by_content(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path / "cache"))
    first = load_spec(BUNDLED_SCHEMA, overrides={"names": {"resources": {"users": "alpha_users"}}})
    second = load_spec(BUNDLED_SCHEMA, overrides={"names": {"resources": {"users": "beta_users"}}})
    assert "alpha_users" in first.resources and "beta_users" in second.resources and "alpha_users" not in second.resources


# -- the two equivalent mutants on the shipped schemas --------------------------------------------------------


def test_the_shared_operation_id_prefix_is_never_a_whole_operation_id() -> None:
    """'report' and 'report_retrieve' share 'report', which is a whole id: no prefix is stripped."""
    names = name_operations([
        ("/v2/reports/", "get", "report"),
        ("/v2/reports/{id}/", "get", "report_retrieve"),
        ("/v2/reports/{id}/share/", "get", "report_share_get"),
        ("/v2/reports/{id}/share/", "post", "report_share_set"),
    ])
    verbs = {(path, method): name.verb for (path, method), name in names.items()}
    assert verbs[("/v2/reports/{id}/share/", "get")] == "report_share_get"
    assert verbs[("/v2/reports/{id}/share/", "post")] == "report_share_set"
    trimmed = name_operations([("/v2/reports/", "get", "report_list"), ("/v2/reports/{id}/", "get", "report_get"),
                               ("/v2/reports/{id}/share/", "get", "report_share_get"),
                               ("/v2/reports/{id}/share/", "post", "report_share_set")])
    assert trimmed[("/v2/reports/{id}/share/", "post")].verb == "share_set"


def test_the_lowest_documented_2xx_is_the_success_response(httpserver: HTTPServer, things_schema: str) -> None:
    registry = load_spec(things_schema, overrides=False, cache=False)
    op = registry.operation("things.retrieve")
    assert op.success_status == 200 and op.success_schema == {"$ref": "#/components/schemas/Thing"}
    record = _thing(httpserver, things_schema, {"id": 7, "note": "n"})
    assert repr(record).startswith("Thing(id=7") and record.uid is None
