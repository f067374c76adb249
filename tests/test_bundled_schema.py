"""Checks on the bundled v2 description, schema/openapi.yaml.

The bundled file is the project's own, hand-written description of Synapse backend
release v2026.1.6. These tests pin its size, its agreement with the published
release-2 schema (methods, paths, operationIds, parameters), the operations the
product spec adds on top, and the three published drifts it deliberately keeps so
that the override patches have something to repair.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BUNDLED_SCHEMA, reference_release

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")

EXTRA_OPERATIONS = {
    ("get", "/v2/schemas/annotation-configurations/"): "schemas_annotation_configurations",
    ("get", "/v2/schemas/file-specifications/"): "schemas_file_specifications",
    ("get", "/v2/projects/my_join_requests/"): "project_my_join_requests",
    ("get", "/v2/projects/my_join_requests/{join_request_id}/"): "project_my_join_request_detail",
    ("get", "/v2/experiments/my_join_requests/"): "experiment_my_join_requests",
    ("get", "/v2/experiments/my_join_requests/{join_request_id}/"): "experiment_my_join_request_detail",
    ("get", "/v2/data-collections/my_join_requests/"): "data_collection_my_join_requests",
    (
        "get",
        "/v2/data-collections/my_join_requests/{join_request_id}/",
    ): "data_collection_my_join_request_detail",
}

# Schemas whose `required` list names a property they do not define, on purpose.
DELIBERATELY_INCOMPLETE = {"JobV2Detail": {"completed"}, "JobV2List": {"completed"}}

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


@functools.cache
def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return _load(BUNDLED_SCHEMA)


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s until a non-reference node is reached."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref not in seen, f"reference cycle at {ref}"
        seen.add(ref)
        node = _pointer(doc, ref)
    return node


def _pointer(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"non-local reference {ref}"
    node: Any = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable reference {ref}"
        node = node[part]
    return node


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def _parameter_keys(doc: dict[str, Any], path: str, method: str) -> set[tuple[str, str]]:
    """(name, in) of every parameter of an operation, path-level ones merged in."""
    item = doc["paths"][path]
    keys = set()
    for raw in [*item.get("parameters", []), *item[method].get("parameters", [])]:
        param = _resolve(doc, raw)
        keys.add((param["name"], param["in"]))
    return keys


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _schemas_with_required(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object (named or nested) that declares a `required` list."""

    def visit(label: str, node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if isinstance(node.get("required"), list):
                yield label, node
            for key, value in node.items():
                yield from visit(f"{label}.{key}", value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from visit(f"{label}[{index}]", value)

    yield from visit("#", doc)


# --- document-level checks -------------------------------------------------


def test_is_a_valid_openapi_document(bundled: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(bundled)
    assert bundled["openapi"] == "3.0.3"


def test_info_block(bundled: dict[str, Any]) -> None:
    info = bundled["info"]
    assert info["title"] == "Synapse API v2"
    assert info["version"] == "2.0.0"
    assert info["x-backend-release"] == "v2026.1.6"
    assert info.get("description")


def test_path_and_operation_counts(bundled: dict[str, Any]) -> None:
    assert len(bundled["paths"]) == 102
    assert len(list(_operations(bundled))) == 149


def test_operation_ids_are_unique(bundled: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(bundled)]
    assert len(ids) == len(set(ids))


def test_every_operation_has_summary_and_success_response(bundled: dict[str, Any]) -> None:
    for method, path, op in _operations(bundled):
        assert op.get("summary", "").strip(), f"{method.upper()} {path} has no summary"
        codes = set(op["responses"])
        assert codes & {"200", "201", "204"}, f"{method.upper()} {path} lists no success response"


def test_v2_operations_reference_shared_error_responses(bundled: dict[str, Any]) -> None:
    expected = {
        "400": "#/components/responses/BadRequest",
        "401": "#/components/responses/Unauthorized",
        "403": "#/components/responses/Forbidden",
        "404": "#/components/responses/NotFound",
    }
    envelope = "#/components/schemas/ErrorEnvelope"
    for name in ("BadRequest", "Unauthorized", "Forbidden", "NotFound"):
        response = bundled["components"]["responses"][name]
        assert response["content"]["application/json"]["schema"] == {"$ref": envelope}
    for method, path, op in _operations(bundled):
        if not path.startswith("/v2/"):
            continue
        for code, ref in expected.items():
            assert op["responses"].get(code) == {"$ref": ref}, f"{method.upper()} {path} {code}"


def test_error_envelope_shape(bundled: dict[str, Any]) -> None:
    envelope = bundled["components"]["schemas"]["ErrorEnvelope"]
    error = envelope["properties"]["error"]
    assert {"code", "message", "details"} <= set(error["properties"])
    detail = _resolve(bundled, error["properties"]["details"]["items"])
    assert {"field", "message"} <= set(detail["properties"])
    assert "request_id" in envelope["properties"]["meta"]["properties"]


def test_security_schemes_and_login(bundled: dict[str, Any]) -> None:
    schemes = bundled["components"]["securitySchemes"]
    expected_headers = {
        "AccessTokenAuth": "SYNAPSE-ACCESS-TOKEN",
        "TokenAuth": "Authorization",
        "TenantHeader": "SYNAPSE-Tenant",
    }
    for name, header in expected_headers.items():
        assert (schemes[name]["type"], schemes[name]["in"], schemes[name]["name"]) == (
            "apiKey",
            "header",
            header,
        )
    assert bundled["security"], "root-level security must list the accepted combinations"
    for requirement in bundled["security"]:
        assert set(requirement) <= set(schemes)

    login = bundled["paths"]["/users/login/"]["post"]
    assert login["operationId"] == "user_login"
    assert login["security"] == []
    body = _resolve(bundled, login["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["properties"]) == {"email", "password"}
    assert body["properties"]["password"].get("writeOnly") is True
    reply = _resolve(
        bundled, _resolve(bundled, login["responses"]["200"])["content"]["application/json"]["schema"]
    )
    assert "token" in reply["properties"]


def test_success_payloads_are_not_enveloped(bundled: dict[str, Any]) -> None:
    """Responses are described as the client sees them after unwrapping {data, meta}."""
    for name, schema in bundled["components"]["schemas"].items():
        if name.startswith("Paginated"):
            assert set(schema["properties"]) == {"next", "previous", "results"}, name
        elif name != "ErrorEnvelope":
            properties = set(schema.get("properties", {}))
            assert not (properties and properties <= {"data", "meta"}), f"{name} looks like an envelope"


def test_every_ref_resolves(bundled: dict[str, Any]) -> None:
    refs = [node["$ref"] for node in _walk(bundled) if isinstance(node, dict) and "$ref" in node]
    assert refs
    for ref in refs:
        _pointer(bundled, ref)


def test_no_foreign_markers() -> None:
    text = BUNDLED_SCHEMA.read_text(encoding="utf-8")
    assert "x-spec-enum-id" not in text
    assert not HANGUL.search(text), "the bundled schema must be written in English"


def test_only_allowed_extension_keys(bundled: dict[str, Any]) -> None:
    found: list[str] = []

    def visit(label: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{label}.{key}"
                if key.startswith("x-"):
                    found.append(where)
                visit(where, value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                visit(f"{label}[{index}]", value)

    visit("#", bundled)
    assert found == ["#.info.x-backend-release"]


def test_required_names_only_defined_properties(bundled: dict[str, Any]) -> None:
    named = bundled["components"]["schemas"]
    for label, schema in _schemas_with_required(bundled):
        if "properties" not in schema and schema.get("type") != "object":
            continue  # e.g. a parameter's `required: true` is not a list
        missing = set(schema["required"]) - set(schema.get("properties", {}))
        name = label.removeprefix("#.components.schemas.")
        if schema is named.get(name):
            missing -= DELIBERATELY_INCOMPLETE.get(name, set())
        assert not missing, f"{label} requires undefined {sorted(missing)}"


# --- agreement with the published release ------------------------------------


def test_release2_operations_are_all_present(bundled: dict[str, Any], release2: Path) -> None:
    reference = _load(release2)
    ours = {(method, path): op for method, path, op in _operations(bundled)}
    theirs = list(_operations(reference))
    assert len(theirs) == 141
    for method, path, op in theirs:
        label = f"{method.upper()} {path}"
        assert (method, path) in ours, f"{label} is missing"
        assert ours[(method, path)]["operationId"] == op["operationId"], label
        assert _parameter_keys(bundled, path, method) == _parameter_keys(reference, path, method), label


def test_release2_schema_names_are_all_present(bundled: dict[str, Any], release2: Path) -> None:
    reference = _load(release2)
    assert set(reference["components"]["schemas"]) <= set(bundled["components"]["schemas"])


def test_release2_required_lists_match(bundled: dict[str, Any], release2: Path) -> None:
    theirs = _load(release2)["components"]["schemas"]
    ours = bundled["components"]["schemas"]
    for name, schema in theirs.items():
        assert sorted(ours[name].get("required", [])) == sorted(schema.get("required", [])), name


def test_only_extra_operations_go_beyond_release2(bundled: dict[str, Any]) -> None:
    reference = _load(reference_release(2))
    theirs = {(method, path) for method, path, _ in _operations(reference)}
    extra = {
        (method, path): op["operationId"]
        for method, path, op in _operations(bundled)
        if (method, path) not in theirs
    }
    assert extra == EXTRA_OPERATIONS


# --- operations documented by the product spec beyond release-2 ---------------


@pytest.mark.parametrize(("key", "operation_id"), sorted(EXTRA_OPERATIONS.items()))
def test_extra_operation_exists(bundled: dict[str, Any], key: tuple[str, str], operation_id: str) -> None:
    method, path = key
    op = bundled["paths"][path][method]
    assert op["operationId"] == operation_id
    if "{join_request_id}" in path:
        assert ("join_request_id", "path") in _parameter_keys(bundled, path, method)
        params = [_resolve(bundled, p) for p in op["parameters"]]
        (param,) = [p for p in params if p["name"] == "join_request_id"]
        assert param["required"] is True
        assert param["schema"]["type"] == "integer"


def test_my_join_requests_return_join_request_records(bundled: dict[str, Any]) -> None:
    join_request = "#/components/schemas/JoinRequest"
    for (method, path), _ in EXTRA_OPERATIONS.items():
        if "my_join_requests" not in path:
            continue
        response = _resolve(bundled, bundled["paths"][path][method]["responses"]["200"])
        schema = response["content"]["application/json"]["schema"]
        if path.endswith("{join_request_id}/"):
            assert schema == {"$ref": join_request}
        else:
            assert schema["type"] == "array" and schema["items"] == {"$ref": join_request}
    record = bundled["components"]["schemas"]["JoinRequest"]
    assert record["properties"]["status"]["enum"] == ["pending", "approved", "rejected"]
    assert {"id", "role", "message", "status", "created"} <= set(record["required"])


# --- deliberate published drifts ---------------------------------------------


def test_data_collection_category_lacks_data(bundled: dict[str, Any]) -> None:
    schemas = bundled["components"]["schemas"]
    category = schemas["DataCollectionCategory"]
    assert category["type"] == "string"
    assert category["enum"] == ["image", "video", "audio", "text", "pcd"]
    ref = {"$ref": "#/components/schemas/DataCollectionCategory"}
    for name in (
        "DataCollectionV2Detail",
        "DataCollectionV2List",
        "DataCollectionV2CreateRequest",
        "DataCollectionV2UpdateRequest",
        "PatchedDataCollectionV2UpdateRequest",
    ):
        assert schemas[name]["properties"]["category"] == ref, name
    listing = bundled["paths"]["/v2/data-collections/"]["get"]
    (param,) = [
        p for p in map(functools.partial(_resolve, bundled), listing["parameters"]) if p["name"] == "category"
    ]
    assert "data" not in _resolve(bundled, param["schema"])["enum"]


@pytest.mark.parametrize("name", ["JobV2Detail", "JobV2List"])
def test_job_completed_required_but_undefined(bundled: dict[str, Any], name: str) -> None:
    schema = bundled["components"]["schemas"][name]
    assert "completed" in schema["required"]
    assert "completed" not in schema["properties"]


def test_check_permission_has_no_permission_parameter(bundled: dict[str, Any]) -> None:
    checks = [(m, p) for m, p, _ in _operations(bundled) if p.endswith("/check_permission/")]
    assert len(checks) == 11
    for method, path in checks:
        names = {name for name, _ in _parameter_keys(bundled, path, method)}
        assert "permission" not in names, f"{method.upper()} {path}"
