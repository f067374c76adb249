"""Loader and registry: every operation on exactly one attribute path, clear load errors."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
import yaml
from conftest import BUNDLED_SCHEMA, reference_release

from synapse_dyn import load_spec
from synapse_dyn.errors import DriftResolvedWarning, SpecError
from synapse_dyn.naming import HTTP_METHODS, name_operations
from synapse_dyn.registry import Registry


def _operations(path) -> set[tuple[str, str]]:
    document = yaml.safe_load(path.read_text())
    return {(p, m) for p, item in document["paths"].items() for m in item if m in HTTP_METHODS}


@pytest.mark.parametrize("release,expected", [(1, 135), (2, 141)])
def test_every_reference_operation_has_exactly_one_attribute_path(release: int, expected: int) -> None:
    path = reference_release(release)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftResolvedWarning)
        registry = load_spec(path, cache=False)
    walked = list(registry.walk())
    assert len(walked) == expected
    attribute_paths = [attrs for attrs, _ in walked]
    assert len(set(attribute_paths)) == expected, "two operations share an attribute path"
    assert {(op.path, op.method) for _, op in walked} == _operations(path)
    for attrs, op in walked:
        node = registry.node(*attrs[:-1])
        assert node.verbs[attrs[-1]] is op


def test_bundled_schema_has_149_operations_on_distinct_paths() -> None:
    registry = load_spec(BUNDLED_SCHEMA, cache=False)
    walked = list(registry.walk())
    assert len(walked) == 149
    assert len({attrs for attrs, _ in walked}) == 149


def test_naming_rules_cover_every_shape() -> None:
    names = name_operations([
        ("/v2/projects/", "get", "project_list"),
        ("/v2/projects/", "post", "project_create"),
        ("/v2/projects/{id}/", "get", "project_retrieve"),
        ("/v2/projects/{id}/", "patch", "project_partial_update"),
        ("/v2/projects/{id}/roles/", "get", "project_roles"),
        ("/v2/projects/default_roles/", "get", "project_default_roles"),
        ("/v2/projects/{id}/join_requests/", "get", "project_get_join_requests"),
        ("/v2/projects/{id}/join_requests/", "post", "project_join_requests"),
        ("/v2/projects/{project_pk}/tags/", "get", "task_tag_list"),
        ("/v2/projects/{project_pk}/tags/{id}/", "delete", "task_tag_destroy"),
        ("/v2/projects/my_join_requests/{join_request_id}/", "get", "project_my_join_request_detail"),
        ("/v2/data-collections/", "get", "data_collection_list"),
    ])
    got = {(p, m): (".".join(n.resources), n.verb) for (p, m), n in names.items()}
    assert got[("/v2/projects/", "get")] == ("projects", "list")
    assert got[("/v2/projects/", "post")] == ("projects", "create")
    assert got[("/v2/projects/{id}/", "get")] == ("projects", "retrieve")
    assert got[("/v2/projects/{id}/", "patch")] == ("projects", "partial_update")
    assert got[("/v2/projects/{id}/roles/", "get")] == ("projects", "roles")
    assert got[("/v2/projects/default_roles/", "get")] == ("projects", "default_roles")
    assert got[("/v2/projects/{id}/join_requests/", "get")] == ("projects", "get_join_requests")
    assert got[("/v2/projects/{id}/join_requests/", "post")] == ("projects", "join_requests")
    assert got[("/v2/projects/{project_pk}/tags/", "get")] == ("projects.tags", "list")
    assert got[("/v2/projects/{project_pk}/tags/{id}/", "delete")] == ("projects.tags", "destroy")
    assert got[("/v2/projects/my_join_requests/{join_request_id}/", "get")] == ("projects", "my_join_request_detail")
    assert got[("/v2/data-collections/", "get")] == ("data_collections", "list")
    assert names[("/v2/projects/{project_pk}/tags/", "get")].depth_params == ("project_pk",)


def _write(tmp_path, document, name="schema.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document) if name.endswith(".yaml") else json.dumps(document))
    return str(path)


def _minimal(paths: dict) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}


def test_collision_is_a_load_error_naming_both_paths(tmp_path) -> None:
    ok = {"responses": {"200": {"description": "ok"}}}
    document = _minimal({
        "/v2/things/{id}/run/": {"get": {**ok, "operationId": "a"}},
        "/v1/things/{pk}/run/": {"get": {**ok, "operationId": "b"}},
    })
    with pytest.raises(SpecError) as info:
        load_spec(_write(tmp_path, document), overrides=False, cache=False)
    message = str(info.value)
    assert "/v2/things/{id}/run/" in message and "/v1/things/{pk}/run/" in message
    assert "things.run" in message


def test_unparseable_document_names_source_and_line(tmp_path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("openapi: 3.0.3\npaths:\n  /x/: {get: [unclosed\n")
    with pytest.raises(SpecError) as info:
        load_spec(str(path), overrides=False, cache=False)
    assert "broken.yaml" in str(info.value) and "line" in str(info.value)


def test_not_openapi_is_refused(tmp_path) -> None:
    with pytest.raises(SpecError, match="not an OpenAPI 3 document"):
        load_spec(_write(tmp_path, {"swagger": "2.0", "paths": {}}), overrides=False, cache=False)


def test_json_documents_load(tmp_path) -> None:
    document = _minimal({"/v2/things/": {"get": {"operationId": "thing_list",
                                                  "responses": {"200": {"description": "ok"}}}}})
    registry = load_spec(_write(tmp_path, document, "schema.json"), overrides=False, cache=False)
    assert registry.operation("things.list").operation_id == "thing_list"


def test_python_tags_are_refused_by_the_safe_loader(tmp_path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("openapi: 3.0.3\npaths: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpecError, match="evil.yaml"):
        load_spec(str(path), overrides=False, cache=False)


def test_external_refs_are_refused_unless_allowed(tmp_path) -> None:
    (tmp_path / "parts.yaml").write_text(yaml.safe_dump({"Thing": {"type": "object",
                                                                    "properties": {"id": {"type": "integer"}}}}))
    document = _minimal({"/v2/things/{id}/": {"get": {"operationId": "thing_retrieve", "responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "parts.yaml#/Thing"}}}}}}}})
    path = _write(tmp_path, document)
    with pytest.raises(SpecError, match="outside the document"):
        load_spec(path, overrides=False, cache=False)
    with pytest.raises(SpecError, match="outside the document"):
        load_spec(_write(tmp_path, {**document, "x": {"$ref": "https://evil.example/x.yaml"}}, "u.yaml"),
                  overrides=False, cache=False)
    registry = load_spec(path, overrides=False, cache=False, allow_external_refs=True)
    schema = registry.operation("things.retrieve").success_schema
    assert schema["properties"]["id"] == {"type": "integer"}


def test_schema_from_plain_http_url_is_refused() -> None:
    with pytest.raises(SpecError, match="plain http"):
        load_spec("http://127.0.0.1:9/openapi.yaml", cache=False)


def test_schema_from_https_url_loads(httpserver, tmp_path) -> None:
    # pytest-httpserver speaks plain http; allow_insecure is the documented opt-in for it.
    document = _minimal({"/v2/things/": {"get": {"operationId": "thing_list",
                                                  "responses": {"200": {"description": "ok"}}}}})
    httpserver.expect_request("/openapi.yaml").respond_with_data(yaml.safe_dump(document))
    registry = load_spec(httpserver.url_for("/openapi.yaml"), overrides=False, cache=False, allow_insecure=True)
    assert registry.resources == ["things"]


def test_warm_cache_parses_no_yaml_and_gives_the_same_registry(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path / "cache"))
    cold = load_spec(BUNDLED_SCHEMA)
    assert list((tmp_path / "cache").glob("registry-*.json"))
    import synapse_dyn.spec as spec

    def no_yaml(*args, **kwargs):
        raise AssertionError("YAML parsed on a warm start")

    monkeypatch.setattr(spec, "parse_document", no_yaml)
    warm = load_spec(BUNDLED_SCHEMA)
    assert [a for a, _ in warm.walk()] == [a for a, _ in cold.walk()]


def test_corrupt_cache_is_rebuilt(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path / "cache"))
    load_spec(BUNDLED_SCHEMA)
    for file in (tmp_path / "cache").glob("registry-*.json"):
        file.write_text("{not json")
    registry = load_spec(BUNDLED_SCHEMA)
    assert len(registry.operations) == 149
    assert json.loads(next((tmp_path / "cache").glob("registry-*.json")).read_text())["key"]


def test_cache_key_changes_with_overrides(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path / "cache"))
    with_overrides = load_spec(BUNDLED_SCHEMA)
    without = load_spec(BUNDLED_SCHEMA, overrides=False)
    assert "auth" in with_overrides.resources and "users" in without.resources
    assert len(list((tmp_path / "cache").glob("registry-*.json"))) == 2


def _naming_view(registry: Any) -> list[Any]:
    """Everything naming decides: each operation's place, aliases and the accessors' bindings."""
    ops = [(path, op.path, op.method, op.original, sorted(op.keyword_aliases.items()), op.operation_id)
           for path, op in registry.walk()]
    nodes = sorted((node_path, node.depth_param, sorted(node.keyword_aliases.items()))
                   for node_path, node in registry._nodes())
    return [ops, nodes, sorted(registry.by_operation_id)]


@pytest.mark.parametrize("family", ["v2", "v1"])
def test_a_warm_start_rebuilds_the_same_names_from_the_cached_index(family: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(tmp_path))
    cold = load_spec(family)
    assert list(tmp_path.glob("registry-*.json")), "the first load writes the cache"
    warm = load_spec(family)
    assert warm is not cold and warm.report.missing == cold.report.missing
    assert _naming_view(warm) == _naming_view(cold)
    assert any(op.keyword_aliases for op in cold.operations) or family == "v1"
    rebuilt = Registry(cold.document, index=json.loads(json.dumps(cold.index())), label=family)
    assert _naming_view(rebuilt) == _naming_view(cold)
