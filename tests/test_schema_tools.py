"""schema_tools: registry diffs, inventories and the download-validate-replace sync."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
from conftest import BUNDLED_SCHEMA, reference_release

from synapse_dyn.errors import SpecError
from synapse_dyn.registry import Registry
from synapse_dyn.schema_tools import diff_registries, inventory_rows, sync_schema
from synapse_dyn.spec import load_spec


def doc(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas or {}}}


def ok(schema_ref: str) -> dict[str, Any]:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}}


BASE = doc(
    {
        "/v2/things/": {
            "get": {"operationId": "thing_list", "parameters": [
                {"name": "per_page", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok"}}},
            "post": {"operationId": "thing_create", "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ThingIn"}}}}, "responses": ok("#/components/schemas/Thing")},
        },
        "/v2/things/{id}/": {
            "get": {"operationId": "thing_retrieve", "responses": ok("#/components/schemas/Thing")},
        },
        "/v2/things/{id}/archive/": {
            "post": {"operationId": "thing_archive", "responses": {"204": {"description": "done"}}},
        },
    },
    {
        "ThingIn": {"type": "object", "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}},
        "Thing": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
    },
)


def test_identical_registries_have_no_diff():
    assert diff_registries(Registry(BASE), Registry(copy.deepcopy(BASE))).is_empty()


def test_diff_reports_parameters_body_and_response_fields():
    new = copy.deepcopy(BASE)
    thing = new["paths"]["/v2/things/"]
    thing["get"]["parameters"] = [{"name": "cursor", "in": "query", "schema": {"type": "string"}}]
    new["components"]["schemas"]["ThingIn"]["properties"].pop("size")
    new["components"]["schemas"]["ThingIn"]["properties"]["colour"] = {"type": "string"}
    new["components"]["schemas"]["Thing"]["properties"]["created"] = {"type": "string"}
    del new["paths"]["/v2/things/{id}/archive/"]

    diff = diff_registries(Registry(BASE), Registry(new))

    assert [r.name for r in diff.removed] == ["things.archive"]
    assert diff.added == []
    changes = {c.name: c.to_dict() for c in diff.changed}
    assert changes["things.list"] == {"name": "things.list", "parameters_added": ["cursor (query)"],
                                      "parameters_removed": ["per_page (query)"]}
    assert changes["things.create"] == {"name": "things.create", "body_fields_added": ["colour"],
                                        "body_fields_removed": ["size"], "response_fields_added": ["created"]}
    assert changes["things.retrieve"] == {"name": "things.retrieve", "response_fields_added": ["created"]}


def test_moved_operation_is_matched_by_operation_id():
    new = copy.deepcopy(BASE)
    moved = new["paths"].pop("/v2/things/{id}/archive/")
    new["paths"]["/v2/things/{id}/shelve/"] = {"put": moved["post"]}

    diff = diff_registries(Registry(BASE), Registry(new))

    assert diff.added == [] and diff.removed == []
    (change,) = diff.changed
    assert change.name == "things.shelve" and change.renamed_from == "things.archive"
    assert change.method == ("POST", "PUT")
    assert change.path == ("/v2/things/{id}/archive/", "/v2/things/{id}/shelve/")
    assert change.to_dict()["method"] == ["POST", "PUT"]


def test_release_1_to_2_adds_validation_scripts():
    old = load_spec(reference_release(1), overrides=False)
    new = load_spec(reference_release(2), overrides=False)

    diff = diff_registries(old, new)

    added = {r.name for r in diff.added}
    assert {"validation_scripts.list", "validation_scripts.create", "validation_scripts.retrieve",
            "validation_scripts.destroy"} <= added
    assert all(name.startswith("validation_scripts.") for name in added)
    changed = {c.name: c for c in diff.changed}
    assert "data_collection (query)" in changed["data_files.list"].parameters_added
    assert "file_specifications" in changed["data_collections.create"].body_fields_added


def test_inventory_lists_every_operation_once():
    registry = load_spec(reference_release(2), overrides=False)
    rows = inventory_rows(registry)
    assert len(rows) == len(registry.operations)
    assert len({(r["method"], r["path"]) for r in rows}) == len(rows)
    assert {"resource": "projects.tags", "verb": "create", "method": "POST",
            "path": "/v2/projects/{project_pk}/tags/"}.items() <= next(
        r for r in rows if r["resource"] == "projects.tags" and r["verb"] == "create").items()
    assert rows == sorted(rows, key=lambda r: (r["resource"], r["path"], r["method"]))


# -- sync -------------------------------------------------------------------


def serve(httpserver, body: bytes) -> str:
    httpserver.expect_request("/schema/").respond_with_data(body, content_type="application/yaml")
    return httpserver.url_for("/schema/")


@pytest.fixture
def valid_schema() -> bytes:
    if not BUNDLED_SCHEMA.exists():
        pytest.skip("bundled schema not present")
    return BUNDLED_SCHEMA.read_bytes()


def test_sync_writes_a_valid_schema(httpserver, tmp_path: Path, valid_schema: bytes):
    out = tmp_path / "schema" / "openapi.yaml"
    result = sync_schema(serve(httpserver, valid_schema), out, allow_insecure=True)
    assert out.read_bytes() == valid_schema
    assert result.sha256 == hashlib.sha256(valid_schema).hexdigest()
    assert result.operations > 100
    assert result.validator == "passed"
    assert [p.name for p in out.parent.iterdir()] == ["openapi.yaml"]


def test_sync_refuses_plain_http_without_allow_insecure(httpserver, tmp_path: Path):
    with pytest.raises(SpecError, match="plain http"):
        sync_schema(serve(httpserver, b"openapi: 3.0.3"), tmp_path / "o.yaml")


@pytest.mark.parametrize("body", [b"openapi: 3.0.3\npaths: [\n", b"openapi: 2.0\npaths: {}\n", b"<html>nope</html>"])
def test_sync_leaves_the_target_untouched_on_a_bad_download(httpserver, tmp_path: Path, body: bytes):
    out = tmp_path / "openapi.yaml"
    out.write_text("previous")
    with pytest.raises(SpecError) as caught:
        sync_schema(serve(httpserver, body), out, allow_insecure=True)
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["openapi.yaml"]
    assert "/schema/" in str(caught.value) and ".tmp" not in str(caught.value)


def test_sync_accepts_a_published_release_whose_defects_the_patches_repair(httpserver, tmp_path: Path):
    published = reference_release(2).read_bytes()  # GroupRole.role has `enum: []`: the empty-enum patch
    out = tmp_path / "openapi.yaml"
    result = sync_schema(serve(httpserver, published), out, allow_insecure=True)
    assert out.read_bytes() == published  # written as published, judged as used
    assert result.validator == "passed" and result.problems == ()


def test_sync_strict_and_lenient_on_validator_findings(httpserver, tmp_path: Path):
    import yaml

    document = yaml.safe_load(reference_release(2).read_bytes())
    document["paths"]["/v2/projects/"]["get"]["parameters"][0]["schema"]["enum"] = []  # no patch repairs this
    body = yaml.safe_dump(document, allow_unicode=True).encode()
    url = serve(httpserver, body)
    out = tmp_path / "openapi.yaml"
    with pytest.raises(SpecError, match="openapi-spec-validator"):
        sync_schema(url, out, allow_insecure=True)
    assert not out.exists()
    result = sync_schema(url, out, allow_insecure=True, strict=False)
    assert out.read_bytes() == body
    assert result.validator == "failed" and "/v2/projects/" in result.problems[0]
