"""Drift patches: the bundled overrides give the seed's names; patches diagnose themselves."""

from __future__ import annotations

import warnings

import pytest
import yaml
from conftest import BUNDLED_SCHEMA, REPO_ROOT, reference_release
from helpers import envelope, make_client

from synapse_dyn import Client, load_spec
from synapse_dyn.errors import (
    DriftResolvedWarning,
    OverrideTargetMissingWarning,
    SpecError,
    UnknownArgumentError,
)
from synapse_dyn.overrides import OverrideReport, apply_patches, validate_overrides

# Every name seed 000's resource map, membership family, permission trio and examples use.
SEED_NAMES = [
    "auth.login", "tenants.list", "tenants.retrieve", "tokens.list", "tokens.create", "tokens.retrieve",
    "tokens.destroy", "schemas.annotation_configurations", "schemas.file_specifications",
    "data_files.list", "data_files.retrieve", "ground_truths.list", "ground_truths.retrieve",
    "models.list", "models.retrieve", "assignments.list", "assignments.retrieve", "reviews.list",
    "reviews.create", "reviews.retrieve", "members.list", "members.retrieve", "members.create",
    "workshops.list", "workshops.retrieve", "jobs.list", "jobs.retrieve", "job_logs.list", "job_logs.retrieve",
    "plugins.list", "plugins.retrieve", "plugin_releases.list", "plugin_releases.retrieve",
    "data_collections.groups.list", "data_collections.groups.create", "ground_truth_datasets.versions.list",
    "projects.tags.list", "projects.tags.create",
]
FULL_CRUD = ["data_collections", "data_units", "ground_truth_datasets", "experiments", "projects", "tasks",
             "groups", "validation_scripts"]
MEMBERSHIP = ["check_permission", "permissions", "roles", "grantable_roles", "default_roles", "invite",
              "get_join_requests", "request_join", "confirm_join_request", "my_join_requests",
              "my_join_request_detail"]
TRIO = ["tasks", "data_units", "assignments", "reviews", "workshops", "data_collections.groups",
        "ground_truth_datasets.versions", "projects.tags"]


def _expected_names() -> list[str]:
    names = list(SEED_NAMES)
    names += [f"{r}.{v}" for r in FULL_CRUD for v in ("list", "create", "retrieve", "update", "partial_update",
                                                     "destroy")]
    names += [f"{r}.{v}" for r in ("projects", "experiments", "data_collections") for v in MEMBERSHIP]
    names += [f"{r}.{v}" for r in TRIO for v in ("check_permission", "permissions", "roles")]
    return names


def test_bundled_schema_with_overrides_has_every_seed_name() -> None:
    registry = load_spec(BUNDLED_SCHEMA, cache=False)
    assert registry.report.ok, registry.report
    missing = [n for n in _expected_names() if not _has(registry, n)]
    assert missing == []
    assert len(_expected_names()) > 120


def _has(registry, dotted: str) -> bool:
    try:
        registry.operation(dotted)
        return True
    except SpecError:
        return False


def test_seed_keyword_aliases_and_permission_parameter(httpserver) -> None:
    httpserver.expect_request("/v2/ground-truth-datasets/3/versions/").respond_with_json(envelope([]))
    httpserver.expect_request("/v2/projects/42/tags/").respond_with_json(envelope([]))
    httpserver.expect_request("/v2/tasks/5/check_permission/", query_string="permission=edit").respond_with_data("")
    with make_client(httpserver) as client:
        assert client.ground_truth_datasets.versions(dataset_id=3).list().results == []
        assert client.projects.tags(project_id=42).list(per_page=10).results == []
        assert client.tasks.check_permission(5, permission="edit") is None
        with pytest.raises(UnknownArgumentError, match="permision.*permission"):
            client.tasks.check_permission(5, permision="edit")


def test_overrides_false_gives_raw_names() -> None:
    registry = load_spec(BUNDLED_SCHEMA, overrides=False, cache=False)
    assert "users" in registry.resources and "auth" not in registry.resources
    assert "join_requests" in registry.node("projects").verbs
    assert "permission" not in registry.operation("projects.check_permission").query_params


def test_the_bundled_schema_reproduces_the_published_bugs() -> None:
    raw = load_spec(BUNDLED_SCHEMA, overrides=False, cache=False)
    assert "data" not in raw.resolve({"$ref": "#/components/schemas/DataCollectionCategory"})["enum"]
    job = raw.lookup_pointer("#/components/schemas/JobV2Detail")
    assert "completed" in job["required"] and "completed" not in job["properties"]
    fixed = load_spec(BUNDLED_SCHEMA, cache=False)
    assert "data" in fixed.resolve({"$ref": "#/components/schemas/DataCollectionCategory"})["enum"]
    assert fixed.lookup_pointer("#/components/schemas/JobV2Detail/properties/completed")["nullable"] is True


def test_reference_release_keeps_seed_names_and_reports_resolved_drifts() -> None:
    path = reference_release(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftResolvedWarning)  # warned once per process; the report always says
        registry = load_spec(path, cache=False)
    texts = " ".join(registry.report.resolved)
    assert "data-collection-category-data" in texts and "job-completed-field" in texts
    assert registry.report.missing == []
    assert {"auth.login", "projects.request_join", "projects.check_permission"} <= {
        ".".join(a) for a, _ in registry.walk()}


def _doc() -> dict:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}, "components": {"schemas": {
        "Thing": {"type": "object", "properties": {"kind": {"type": "string", "enum": ["a", "b"]},
                                                   "size": {"type": "integer"}}, "required": ["kind"]},
        "Other": {"type": "object", "properties": {"kind": {"$ref": "#/components/schemas/Kind"}}},
        "Kind": {"type": "string", "enum": ["a"]},
    }}}


@pytest.mark.parametrize("patch,check", [
    ({"target": "/components/schemas/Thing/properties/kind/enum", "op": "add", "value": "c", "when": {"lacks": "c"}},
     lambda d: d["components"]["schemas"]["Thing"]["properties"]["kind"]["enum"] == ["a", "b", "c"]),
    ({"target": "/components/schemas/Thing/properties/size", "op": "replace", "value": {"type": "number"}},
     lambda d: d["components"]["schemas"]["Thing"]["properties"]["size"] == {"type": "number"}),
    ({"target": "/components/schemas/Thing/properties/size", "op": "remove"},
     lambda d: "size" not in d["components"]["schemas"]["Thing"]["properties"]),
    ({"target": "/components/schemas/Thing", "op": "merge", "value": {"properties": {"size": {"nullable": True}}}},
     lambda d: d["components"]["schemas"]["Thing"]["properties"]["size"] == {"type": "integer", "nullable": True}),
    ({"target": "/components/schemas/*/properties/kind/enum", "op": "add", "value": "z", "where": {"key": "^Oth"},
      "when": {"lacks": "z"}},
     lambda d: d["components"]["schemas"]["Kind"]["enum"] == ["a", "z"]
     and "z" not in d["components"]["schemas"]["Thing"]["properties"]["kind"]["enum"]),
])
def test_patch_operations(patch, check) -> None:
    document = _doc()
    report = OverrideReport()
    apply_patches(document, validate_overrides({"patches": [{"id": "p", **patch}]}, "test"), report)
    assert report.applied == ["p"] and report.ok
    assert check(document)


def test_resolved_and_missing_patches_are_skipped_and_reported() -> None:
    document = _doc()
    report = OverrideReport()
    overrides = validate_overrides({"patches": [
        {"id": "fixed", "target": "/components/schemas/Thing/properties/kind/enum", "op": "add", "value": "a",
         "when": {"lacks": "a"}},
        {"id": "typo", "target": "/components/schemas/Thingy/properties/kind", "op": "replace", "value": {}},
    ]}, "test")
    before = yaml.safe_dump(document)
    apply_patches(document, overrides, report)
    assert yaml.safe_dump(document) == before
    assert [r.split(":")[0] for r in report.resolved] == ["fixed"]
    assert [m.split(":")[0] for m in report.missing] == ["typo"]


def test_user_overrides_file_warns_once_per_process(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"patches": [
        {"id": "stale-once", "target": "/components/schemas/ProjectV2Detail/properties/title", "op": "merge",
         "value": {"nullable": True}, "when": {"absent": True}},
        {"id": "typo-once", "target": "/components/schemas/NoSuchSchema/properties/x", "op": "remove"},
    ], "names": {"verbs": {"projects.nosuchverb": "x"}}}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_spec(BUNDLED_SCHEMA, overrides=path, cache=False)
        load_spec(BUNDLED_SCHEMA, overrides=path, cache=False)
    resolved = [w for w in caught if issubclass(w.category, DriftResolvedWarning)]
    missing = [w for w in caught if issubclass(w.category, OverrideTargetMissingWarning)]
    assert len(resolved) == 1 and "stale-once" in str(resolved[0].message)
    assert len(missing) == 2 and any("nosuchverb" in str(w.message) for w in missing)


def test_malformed_overrides_are_load_errors(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"patches": [{"id": "x", "target": "/a", "op": "upsert", "value": 1}]}))
    with pytest.raises(SpecError, match="upsert.*add, replace, remove, merge"):
        load_spec(BUNDLED_SCHEMA, overrides=path, cache=False)
    path.write_text("patches: !!python/name:os.system\n")
    with pytest.raises(SpecError, match="bad.yaml"):
        load_spec(BUNDLED_SCHEMA, overrides=path, cache=False)


def test_x_secret_fields_are_masked_in_reprs(httpserver, tmp_path) -> None:
    overrides = yaml.safe_load((REPO_ROOT / "overrides" / "openapi.yaml").read_text())
    overrides["patches"].append({"id": "desc-secret", "target": "/components/schemas/AccessTokenV2Detail/properties/"
                                 "description", "op": "merge", "value": {"x-secret": True}})
    path = tmp_path / "secret.yaml"
    path.write_text(yaml.safe_dump(overrides))
    httpserver.expect_request("/v2/tokens/5/").respond_with_json(envelope(
        {"id": 5, "description": "hunter2-is-my-password", "last_used": None}))
    with make_client(httpserver, overrides=path) as client:
        token = client.tokens.retrieve(5)
    assert token.description == token["description"] == "hunter2-is-my-password"
    assert "hunter2" not in repr(token) and "description='***" in repr(token)


def test_swap_release_1_for_release_2(httpserver) -> None:
    old, new = reference_release(1), reference_release(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftResolvedWarning)
        client_old = Client("https://x", schema=old)
        client_new = Client("https://x", schema=new)
    assert "validation_scripts" in dir(client_new) and "validation_scripts" not in dir(client_old)
    assert client_new.validation_scripts.list.op.path == "/v2/validation-scripts/"
    with pytest.raises(AttributeError) as info:
        client_old.validation_scripts  # noqa: B018
    assert "validation_scripts" in str(info.value) and "projects" in str(info.value)


def test_schema_env_variable_selects_the_schema(monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_DYN_SCHEMA", str(reference_release(1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftResolvedWarning)
        client = Client("https://x")
    assert "validation_scripts" not in dir(client)
    assert client.registry.label.endswith("release-1.yaml")
