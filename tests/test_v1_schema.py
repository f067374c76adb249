"""Checks on the bundled v1 API description and the v1 flat-method table.

The endpoint, method and enum lists below are facts taken from the reference notes on the
original SDK's v1 ``BackendClient`` (and its docs); the tests hold the two files to them. The
files are read as plain YAML; the names the engine gives each operation come from the engine
itself (``synapse_dyn.naming`` and ``synapse_dyn.spec.load_spec``), never from a copy of its rules.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from synapse_dyn.naming import name_operations
from synapse_dyn.spec import load_spec

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = REPO_ROOT / "schema" / "synapse-v1.yaml"
METHODS_PATH = REPO_ROOT / "synapse_dyn" / "v1" / "methods.yaml"

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")

# Flat method -> the endpoint it calls (method, path with {} for any parameter),
# one row per row of the reference tables.
REFERENCE_METHODS: dict[str, tuple[str, str]] = {
    # Annotation
    "get_project": ("GET", "/projects/{}/"),
    "get_task": ("GET", "/tasks/{}/"),
    "annotate_task_data": ("PUT", "/tasks/{}/annotate_task_data/"),
    "get_task_tag": ("GET", "/task_tags/{}/"),
    "list_task_tags": ("GET", "/task_tags/"),
    "list_tasks": ("GET", "/sdk/tasks/"),
    "create_tasks": ("POST", "/tasks/"),
    "set_tags_tasks": ("POST", "/tasks/set_tags/"),
    # Core (the chunked-upload protocol's two request kinds)
    "create_chunked_upload_chunk": ("PUT", "/chunked_upload/"),
    "finish_chunked_upload": ("POST", "/chunked_upload/{}/"),
    # Data collection
    "list_data_collection": ("GET", "/data_collections/"),
    "get_data_collection": ("GET", "/data_collections/{}/"),
    "create_data_file": ("POST", "/data_files/"),
    "get_data_unit": ("GET", "/data_units/{}/"),
    "create_data_units": ("POST", "/data_units/"),
    "list_data_units": ("GET", "/data_units/"),
    "verify_data_files_checksums": ("POST", "/data_files/verify_checksums/"),
    # HITL
    "get_assignment": ("GET", "/assignments/{}/"),
    "list_assignments": ("GET", "/sdk/assignments/"),
    "set_tags_assignments": ("POST", "/assignments/set_tags/"),
    # Integration
    "list_agents": ("GET", "/agents/"),
    "health_check_agent": ("POST", "/agents/{}/connect/"),
    "get_plugin": ("GET", "/plugins/{}/"),
    "create_plugin": ("POST", "/plugins/"),
    "update_plugin": ("PUT", "/plugins/{}/"),
    "run_plugin": ("POST", "/plugins/{}/run/"),
    "get_plugin_release": ("GET", "/plugin_releases/{}/"),
    "create_plugin_release": ("POST", "/plugin_releases/"),
    "get_job": ("GET", "/jobs/{}/"),
    "list_jobs": ("GET", "/jobs/"),
    "update_job": ("PATCH", "/jobs/{}/"),
    "list_job_console_logs": ("GET", "/jobs/{}/console_logs/"),
    "tail_job_console_logs": ("GET", "/jobs/{}/tail_console_logs/"),
    "create_logs": ("POST", "/logs/"),
    "create_serve_application": ("POST", "/serve_applications/"),
    "list_serve_applications": ("GET", "/serve_applications/"),
    "list_storages": ("GET", "/storages/"),
    "get_storage": ("GET", "/storages/{}/"),
    "create_storage": ("POST", "/storages/"),
    # ML
    "list_models": ("GET", "/models/"),
    "get_model": ("GET", "/models/{}/"),
    "create_model": ("POST", "/models/"),
    "list_ground_truth_events": ("GET", "/sdk/ground_truth_events/"),
    "list_ground_truths": ("GET", "/ground_truths/"),
    "get_ground_truth_version": ("GET", "/ground_truth_dataset_versions/{}/"),
    "list_ground_truth_versions": ("GET", "/ground_truth_dataset_versions/"),
}

# Endpoints the schema describes beyond the flat methods: follow-up chunks of a
# chunked upload and its state (to resume from its URL), and the plain task list
# that gives `client.tasks.list(...)`.
EXTRA_ENDPOINTS = [("PUT", "/chunked_upload/{}/"), ("GET", "/chunked_upload/{}/"), ("GET", "/tasks/")]

EXPECTED_ENDPOINTS = sorted(set(REFERENCE_METHODS.values()) | set(EXTRA_ENDPOINTS))

# Workflows written in Python rather than bound from the table.
COMPOSITES = {
    "create_chunked_upload",
    "create_data_file",
    "upload_data_file",
    "upload_data_collection",
    "create_model",
}

# Names in REFERENCE_METHODS that are protocol steps, not flat methods.
PROTOCOL_STEPS = {"create_chunked_upload_chunk", "finish_chunked_upload"}

# Signatures exactly as the seed docs print them (defaults included where shown).
SEED_SIGNATURES = {
    "get_project": ["pk"],
    "annotate_task_data": ["pk", "data"],
    "list_tasks": ["params=None", "url_conversion=None", "list_all=False"],
    "create_tasks": ["data"],
    "set_tags_tasks": ["data", "params=None"],
    "list_data_collection": [],
    "get_data_collection": ["data_collection_id"],
    "create_data_units": ["uploaded_files"],
    "get_assignment": ["pk"],
    "list_assignments": ["params=None", "url_conversion=None", "list_all=False"],
    "set_tags_assignments": ["data", "params=None"],
    "health_check_agent": ["token"],
    "get_plugin": ["pk"],
    "create_plugin": ["data"],
    "update_plugin": ["pk", "data"],
    "run_plugin": ["pk", "data"],
    "get_plugin_release": ["pk", "params=None"],
    "get_job": ["pk", "params=None"],
    "list_jobs": ["params=None"],
    "update_job": ["pk", "data"],
    "list_job_console_logs": ["pk"],
    "list_storages": [],
    "get_storage": ["pk"],
    "create_storage": ["data"],
    "list_models": ["params=None"],
    "get_model": ["pk", "params=None", "url_conversion=None"],
}

# Methods the reference says convert file URLs, with the field and list-ness.
URL_CONVERSIONS = {
    "list_tasks": (["files"], True),
    "list_data_units": (["files"], True),
    "list_assignments": (["files"], True),
    "list_ground_truth_events": (["files"], True),
    "list_ground_truths": (["files"], True),
    "get_model": (["file"], False),
}

# GET endpoints that must return offset pages; /agents/ returns a plain array.
PAGINATED_ENDPOINTS = sorted(
    (method, path)
    for method, path in EXPECTED_ENDPOINTS
    if method == "GET" and not path.endswith("{}/") and "_logs/" not in path and path != "/agents/"
)

ENUMS = {
    "StorageCategory": ["internal", "external"],
    "StorageProvider": ["amazon_s3", "azure", "digital_ocean", "file_system", "ftp", "sftp", "minio", "gcp"],
    "JobStatus": ["pending", "running", "stopped", "succeeded", "failed"],
}

EXPECTED_AUTH = {
    "access_token": {
        "header": "Synapse-Access-Token",
        "format": "Token {}",
        "env": ["SYNAPSE_ACCESS_TOKEN", "SYNAPSE_API_TOKEN"],
    },
    "drf_token": {"header": "Authorization", "format": "Token {}"},
    "tenant": {"header": "Synapse-Tenant", "format": "Token {}"},
    "agent_token": {"header": "SYNAPSE-Agent", "format": "Token {}", "env": ["SYNAPSE_AGENT_TOKEN"]},
}

BIND_KINDS = {"query", "body", "list_all", "url_conversion"}
RETURN_KINDS = {"dict", "list", "page", "paged_or_pair", "lines"}
ENTRY_KEYS = {
    "operation",
    "signature",
    "bind",
    "fixed_query",
    "url_conversion",
    "timeout_read",
    "multipart_files",
    "body_as_list",
    "data_uri_fields",
    "returns",
}


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


SCHEMA = _load(SCHEMA_PATH)
TABLE = _load(METHODS_PATH)
ENTRIES = TABLE["methods"]


# ------------------------------------------------------------------ helpers



def normalize(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = SCHEMA
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def all_operations() -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, op)
        for path, item in SCHEMA["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


OPS_BY_ID = {op["operationId"]: (method, path, op) for method, path, op in all_operations()}
OPS_BY_ENDPOINT = {(method, normalize(path)): op for method, path, op in all_operations()}


def parameters(path: str, op: dict) -> list[dict]:
    merged = {}
    for raw in SCHEMA["paths"][path].get("parameters", []) + op.get("parameters", []):
        param = resolve(raw)
        merged[(param["in"], param["name"])] = param
    return list(merged.values())


def params_in(path: str, op: dict, location: str) -> dict[str, dict]:
    return {p["name"]: p for p in parameters(path, op) if p["in"] == location}


def success_response(op: dict) -> tuple[str, dict]:
    codes = sorted(code for code in op["responses"] if str(code).startswith("2"))
    assert len(codes) == 1, f"{op['operationId']}: expected one 2xx response, got {codes}"
    return codes[0], resolve(op["responses"][codes[0]])


def parse_signature(signature: list[str]) -> list[tuple[str, Any, bool]]:
    """(name, default, has_default) per parameter, defaults as Python literals."""
    tree = ast.parse(f"def f({', '.join(signature)}): pass")
    args = tree.body[0].args
    assert not args.vararg and not args.kwarg and not args.kwonlyargs, signature
    positional = args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    return [
        (arg.arg, ast.literal_eval(default) if default is not None else None, default is not None)
        for arg, default in zip(positional, defaults, strict=True)
    ]


# ------------------------------------------------------------------ the schema


def test_schema_is_valid_openapi():
    validate(SCHEMA)
    assert SCHEMA["openapi"] == "3.0.3"
    assert SCHEMA["info"]["title"] == "Synapse API v1"


def test_paths_are_relative_unversioned_and_keep_their_trailing_slash():
    for path in SCHEMA["paths"]:
        assert path.startswith("/") and path.endswith("/"), path
        assert not re.match(r"^/(api/)?v\d+/", path), path
        assert "//" not in path, path


@pytest.mark.parametrize(("method", "path"), EXPECTED_ENDPOINTS, ids=lambda v: str(v))
def test_reference_endpoint_is_described(method, path):
    assert (method, path) in OPS_BY_ENDPOINT


def test_schema_describes_nothing_beyond_the_expected_endpoints():
    assert sorted(OPS_BY_ENDPOINT) == EXPECTED_ENDPOINTS


def test_operation_ids_are_present_and_unique():
    ids = [op.get("operationId") for _, _, op in all_operations()]
    assert all(ids), "every operation needs an operationId"
    duplicates = [name for name, count in Counter(ids).items() if count > 1]
    assert not duplicates


@pytest.mark.parametrize("name", sorted(REFERENCE_METHODS))
def test_operation_id_is_the_flat_method_name(name):
    assert OPS_BY_ENDPOINT[REFERENCE_METHODS[name]]["operationId"] == name


def test_every_operation_has_an_english_summary():
    for _, _, op in all_operations():
        summary = op.get("summary", "")
        assert summary and summary.isascii(), op["operationId"]


def test_path_parameters_match_the_path_template():
    for method, path, op in all_operations():
        template = set(re.findall(r"\{([^}]+)\}", path))
        declared = params_in(path, op, "path")
        assert set(declared) == template, (method, path)
        assert all(p.get("required") is True for p in declared.values()), (method, path)


def derived_names() -> dict[str, tuple[tuple[str, ...], str]]:
    """operationId -> (resource chain, verb) by the engine's naming rules, before any rename."""
    entries = [(path, method.lower(), op["operationId"]) for method, path, op in all_operations()]
    names = name_operations(entries)
    return {SCHEMA["paths"][path][method]["operationId"]: (name.resources, name.verb)
            for (path, method), name in names.items()}


@pytest.fixture(scope="module")
def registry():
    return load_spec("v1", cache=False)


def test_no_two_operations_get_the_same_generated_name():
    names = derived_names()
    assert len(names) == len(all_operations())
    assert len(set(names.values())) == len(names)


def test_generated_names_for_a_few_known_operations():
    names = derived_names()
    assert names["list_tasks_plain"] == (("tasks",), "list")
    assert names["get_task"] == (("tasks",), "retrieve")
    assert names["annotate_task_data"] == (("tasks",), "annotate_task_data")
    assert names["set_tags_tasks"] == (("tasks",), "set_tags")
    assert names["update_job"] == (("jobs",), "partial_update")
    assert names["append_chunked_upload_chunk"] == (("chunked_upload",), "update")
    assert names["get_chunked_upload"] == (("chunked_upload",), "retrieve")
    # PUT on a collection and POST on an item have no standard verb.
    assert names["create_chunked_upload_chunk"][1] not in {"create", "update", "list"}
    assert names["finish_chunked_upload"][1] not in {"create", "update", "retrieve"}


def test_the_engine_loads_the_schema_with_its_overrides(registry):
    assert not registry.report.missing and not registry.report.resolved
    assert registry.operation("chunked_upload.start").operation_id == "create_chunked_upload_chunk"
    assert registry.operation("chunked_upload.complete").operation_id == "finish_chunked_upload"
    assert registry.operation("tasks.list").operation_id == "list_tasks_plain"
    from synapse_dyn.conventions import auth_scheme

    expected = {name: auth_scheme(name, spec, name) for name, spec in EXPECTED_AUTH.items()}
    assert dict(registry.conventions.auth) == expected
    assert registry.conventions.family == "v1"
    assert registry.conventions.pagination.style == "offset"


def test_every_table_entry_calls_an_operation_the_engine_knows(registry):
    for name, entry in ENTRIES.items():
        op = registry.by_operation_id[entry["operation"]]
        method, path, _ = OPS_BY_ID[entry["operation"]]
        assert (op.method.upper(), op.path) == (method, path), name
        assert op.is_paginated == (entry["returns"] in {"page", "paged_or_pair"}), name


def _assert_offset_page(schema: dict, where: str) -> None:
    page = resolve(schema)
    assert page.get("type") == "object", where
    assert {"count", "next", "previous", "results"} <= set(page.get("required", [])), where
    props = {name: resolve(value) for name, value in page["properties"].items()}
    assert props["count"]["type"] == "integer", where
    for link in ("next", "previous"):
        assert props[link]["type"] == "string", where
        assert props[link].get("format") == "uri", where
        assert props[link].get("nullable") is True, where
    assert props["results"]["type"] == "array", where
    assert "items" in props["results"], where


@pytest.mark.parametrize(("method", "path"), PAGINATED_ENDPOINTS, ids=lambda v: str(v))
def test_list_endpoint_uses_offset_pagination(method, path):
    op = OPS_BY_ENDPOINT[(method, path)]
    refs = {raw.get("$ref") for raw in op.get("parameters", [])}
    assert "#/components/parameters/Page" in refs
    assert "#/components/parameters/PageSize" in refs
    _, response = success_response(op)
    schema = response["content"]["application/json"]["schema"]
    assert schema["$ref"].startswith("#/components/schemas/Paginated")
    _assert_offset_page(schema, path)


def test_shared_page_parameters():
    params = SCHEMA["components"]["parameters"]
    assert (params["Page"]["name"], params["Page"]["in"]) == ("page", "query")
    assert (params["PageSize"]["name"], params["PageSize"]["in"]) == ("page_size", "query")
    assert params["Page"]["schema"]["type"] == params["PageSize"]["schema"]["type"] == "integer"


def test_every_paginated_schema_has_the_offset_shape():
    pages = {name: schema for name, schema in SCHEMA["components"]["schemas"].items() if name.startswith("Paginated")}
    assert len(pages) >= 5, sorted(pages)
    for name, schema in pages.items():
        _assert_offset_page(schema, name)


def test_agents_list_is_a_plain_array():
    _, response = success_response(OPS_BY_ENDPOINT[("GET", "/agents/")])
    assert response["content"]["application/json"]["schema"]["type"] == "array"


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enum_holds_the_reference_values(name):
    assert SCHEMA["components"]["schemas"][name]["enum"] == ENUMS[name]


def test_storage_shape():
    schemas = SCHEMA["components"]["schemas"]
    storage = schemas["Storage"]
    assert {"id", "name", "category", "provider", "configuration", "is_default"} <= set(storage["properties"])
    assert storage["properties"]["category"]["$ref"] == "#/components/schemas/StorageCategory"
    assert storage["properties"]["provider"]["$ref"] == "#/components/schemas/StorageProvider"
    assert "id" in storage["required"]


def test_job_status_is_used_by_job_and_its_update():
    schemas = SCHEMA["components"]["schemas"]
    for name in ("Job", "JobUpdate"):
        assert schemas[name]["properties"]["status"]["$ref"] == "#/components/schemas/JobStatus"


def test_chunked_upload_protocol():
    first = OPS_BY_ENDPOINT[("PUT", "/chunked_upload/")]
    follow = OPS_BY_ENDPOINT[("PUT", "/chunked_upload/{}/")]
    finish = OPS_BY_ENDPOINT[("POST", "/chunked_upload/{}/")]
    for op, path in ((first, "/chunked_upload/"), (follow, "/chunked_upload/{id}/")):
        header = params_in(path, op, "header")["Content-Range"]
        assert header["required"] is True
        body = resolve(op["requestBody"]["content"]["multipart/form-data"]["schema"])
        file_part = body["properties"]["file"]
        assert (file_part["type"], file_part["format"]) == ("string", "binary")
        _, response = success_response(op)
        reply = resolve(response["content"]["application/json"]["schema"])
        assert set(reply["required"]) == {"id", "url", "offset"}
    status = OPS_BY_ENDPOINT[("GET", "/chunked_upload/{}/")]
    _, response = success_response(status)
    assert {"id", "offset"} <= set(resolve(response["content"]["application/json"]["schema"])["required"])
    first_body = resolve(first["requestBody"]["content"]["multipart/form-data"]["schema"])
    assert first_body["properties"]["filename"]["type"] == "string"
    assert {"filename", "file"} <= set(first_body["required"])
    finish_body = resolve(finish["requestBody"]["content"]["application/json"]["schema"])
    assert finish_body["required"] == ["md5"]
    _, response = success_response(finish)
    reply = resolve(response["content"]["application/json"]["schema"])
    assert set(reply["required"]) == {"id", "file", "checksum", "size"}


def test_data_files_accepts_multipart_and_json():
    content = OPS_BY_ENDPOINT[("POST", "/data_files/")]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
    direct = resolve(content["multipart/form-data"]["schema"])
    assert direct["properties"]["file"]["format"] == "binary"
    chunked = resolve(content["application/json"]["schema"])
    assert "chunked_upload" in chunked["required"]
    assert "filename" in chunked["properties"]["meta"]["properties"]


def test_plugin_release_is_multipart_with_a_file_part():
    content = OPS_BY_ENDPOINT[("POST", "/plugin_releases/")]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data"}
    body = resolve(content["multipart/form-data"]["schema"])
    assert body["properties"]["file"]["format"] == "binary"
    assert "plugin" in body["properties"]


def test_media_types():
    multipart = {
        ("PUT", "/chunked_upload/"),
        ("PUT", "/chunked_upload/{}/"),
        ("POST", "/data_files/"),
        ("POST", "/plugin_releases/"),
    }
    for (method, path), op in OPS_BY_ENDPOINT.items():
        if "requestBody" in op:
            kinds = set(op["requestBody"]["content"])
            if (method, path) in multipart:
                assert "multipart/form-data" in kinds, path
            else:
                assert kinds == {"application/json"}, path
        _, response = success_response(op)
        expected = {"text/plain"} if path == "/jobs/{}/tail_console_logs/" else {"application/json"}
        assert set(response["content"]) == expected, (method, path)


def test_required_fields_are_declared_properties():
    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, dict):
            if "required" in schema and isinstance(schema["required"], list) and "properties" in schema:
                missing = set(schema["required"]) - set(schema["properties"])
                assert not missing, (where, missing)
            for key, value in schema.items():
                walk(value, f"{where}.{key}")
        elif isinstance(schema, list):
            for index, value in enumerate(schema):
                walk(value, f"{where}[{index}]")

    walk(SCHEMA["components"]["schemas"], "schemas")


def test_auth_extension_and_security_schemes():
    assert SCHEMA["x-synapse-auth"] == EXPECTED_AUTH
    schemes = SCHEMA["components"]["securitySchemes"]
    headers = {s["name"] for s in schemes.values() if s["type"] == "apiKey" and s["in"] == "header"}
    assert headers == {entry["header"] for entry in EXPECTED_AUTH.values()}
    for requirement in SCHEMA["security"]:
        assert set(requirement) <= set(schemes)


# ------------------------------------------------------------------ the method table


def test_table_header():
    assert TABLE["version"] == 1
    assert not set(ENTRIES) & COMPOSITES


def test_table_covers_every_simple_reference_method():
    simple = set(REFERENCE_METHODS) - COMPOSITES - PROTOCOL_STEPS
    assert set(ENTRIES) == simple


def test_composites_have_their_endpoints():
    for name in COMPOSITES & set(REFERENCE_METHODS):
        assert name in OPS_BY_ID


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_entry_is_well_formed(name):
    entry = ENTRIES[name]
    assert set(entry) <= ENTRY_KEYS, set(entry) - ENTRY_KEYS
    assert entry["operation"] in OPS_BY_ID
    assert entry["returns"] in RETURN_KINDS
    if "timeout_read" in entry:
        assert isinstance(entry["timeout_read"], int | float) and entry["timeout_read"] > 0


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_entry_calls_the_reference_endpoint(name):
    method, path, _ = OPS_BY_ID[ENTRIES[name]["operation"]]
    assert (method, normalize(path)) == REFERENCE_METHODS[name]


@pytest.mark.parametrize("name", sorted(SEED_SIGNATURES))
def test_entry_signature_matches_the_seed(name):
    assert ENTRIES[name]["signature"] == SEED_SIGNATURES[name]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_entry_binds_every_parameter_to_a_real_target(name):
    entry = ENTRIES[name]
    method, path, op = OPS_BY_ID[entry["operation"]]
    signature = parse_signature(entry["signature"])
    names = [param for param, _, _ in signature]
    bind = entry["bind"] or {}
    assert set(bind) == set(names), "every signature parameter is bound, and nothing else"

    path_params = params_in(path, op, "path")
    bound_path = [target.split(".", 1)[1] for target in bind.values() if target.startswith("path.")]
    assert sorted(bound_path) == sorted(path_params), "each path parameter is bound exactly once"

    for param, default, has_default in signature:
        target = bind[param]
        if target.startswith("path."):
            assert not has_default, f"{param}: a path parameter cannot be optional"
        elif target.startswith("body"):
            assert "requestBody" in op
            if target.startswith("body."):
                body = resolve(op["requestBody"]["content"]["application/json"]["schema"])
                assert target.split(".", 1)[1] in body["properties"]
        elif target == "query":
            assert params_in(path, op, "query") or op.get("x-synapse-extra-query"), param
            assert not has_default or default is None
        elif target == "list_all":
            assert has_default and default is False
            assert entry["returns"] == "paged_or_pair"
        elif target == "url_conversion":
            assert has_default and default is None
            assert "url_conversion" in entry
        else:
            pytest.fail(f"{param}: unknown bind target {target!r}")
        assert target.split(".", 1)[0] in BIND_KINDS | {"path"}
    assert method.lower() in SCHEMA["paths"][path]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_entry_returns_match_the_operation(name):
    entry = ENTRIES[name]
    _, _, op = OPS_BY_ID[entry["operation"]]
    _, response = success_response(op)
    kind = entry["returns"]
    if kind == "lines":
        assert set(response["content"]) == {"text/plain"}
        return
    schema = response["content"]["application/json"]["schema"]
    if kind in {"page", "paged_or_pair"}:
        _assert_offset_page(schema, name)
    elif kind == "list":
        assert resolve(schema)["type"] == "array"
    else:
        assert "results" not in resolve(schema).get("properties", {})


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_entry_url_conversion_only_where_the_reference_says(name):
    entry = ENTRIES[name]
    if name in URL_CONVERSIONS:
        fields, is_list = URL_CONVERSIONS[name]
        assert entry["url_conversion"] == {"files_fields": fields, "is_list": is_list}
    else:
        assert "url_conversion" not in entry


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_entry_extras_fit_the_operation(name):
    entry = ENTRIES[name]
    _, path, op = OPS_BY_ID[entry["operation"]]
    for param in entry.get("fixed_query", {}):
        assert param in params_in(path, op, "query")
    if "multipart_files" in entry:
        body = resolve(op["requestBody"]["content"]["multipart/form-data"]["schema"])
        for field in entry["multipart_files"]:
            assert body["properties"][field]["format"] == "binary"
    if "data_uri_fields" in entry or "body_as_list" in entry:
        body = resolve(op["requestBody"]["content"]["application/json"]["schema"])
        assert any(resolve(choice).get("type") == "array" for choice in body["anyOf"])


def test_fixed_queries_from_the_reference():
    assert ENTRIES["get_data_collection"]["fixed_query"] == {"expand": "file_specifications"}
    assert ENTRIES["get_storage"]["fixed_query"] == {"with_configuration": True}


def test_create_plugin_release_sends_its_file_as_a_part():
    assert ENTRIES["create_plugin_release"]["multipart_files"] == ["file"]


def test_tail_job_console_logs_streams_lines():
    assert ENTRIES["tail_job_console_logs"]["returns"] == "lines"
