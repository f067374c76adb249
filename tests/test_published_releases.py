"""Published releases load as published: the drift patches for their defects, scoped to their family.

The real releases (reference release-1 and release-2) declare ``GroupRole.role`` with
``enum: []``, document success bodies without the ``{data, meta}`` envelope, omit
``check_permission``'s ``permission`` parameter and carry examples that disagree with their
schemas. The bundled schema never had the first two defects: those patches declare the
published family with ``applies_to`` and are "not applicable" there, not stale.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, reference_release

import synapse_dyn
from synapse_dyn.errors import SpecError
from synapse_dyn.overrides import OverrideReport, apply_patches, validate_overrides
from synapse_dyn.registry import Registry
from synapse_dyn.schema_tools import check_examples
from synapse_dyn.spec import load_spec

EXPECTED_RESOLVED = {"data-collection-category-data", "job-completed-field"}  # fixed by the real releases
FAMILY_PATCHES = {"empty-enum", "success-envelope"}
BUNDLED_OVERRIDES = REPO_ROOT / "overrides" / "openapi.yaml"


def load(source: Any, overrides: Any = None) -> synapse_dyn.Registry:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_spec(source, overrides=overrides, cache=False)


def ids(entries: list[str]) -> set[str]:
    return {e.split(":")[0] for e in entries}


def test_bundled_schema_is_clean_and_family_patches_are_not_applicable():
    report = load("v2").report
    assert report.ok and report.missing == [] and report.resolved == []
    assert set(report.not_applicable) == FAMILY_PATCHES


@pytest.mark.parametrize("number", [1, 2])
def test_reference_release_reports_only_the_expected_resolved_patches(number: int):
    report = load(reference_release(number)).report
    assert ids(report.resolved) == EXPECTED_RESOLVED
    assert report.missing == [] and report.not_applicable == []
    assert set(report.applied) >= FAMILY_PATCHES and "check-permission-parameter" in report.applied


@pytest.mark.parametrize("number", [1, 2])
def test_release_role_accepts_a_role_code_and_permission_is_a_parameter(number: int):
    registry = load(reference_release(number))
    schemas = registry.document["components"]["schemas"]
    assert "enum" not in schemas["GroupRoleRequest"]["properties"]["role"]
    assert "permission" in registry.operation("projects.check_permission").query_params
    assert registry.conventions.envelope.style == "meta"


def _family_doc(role_enum: list[str] | None, marker: bool) -> dict[str, Any]:
    role: dict[str, Any] = {"description": ""} if role_enum is None else {"enum": role_enum}
    if marker:
        role["x-spec-enum-id"] = "0000000000000001"  # any value: the family is told by the key
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
            "components": {"schemas": {"GroupRole": {"type": "object", "properties": {"role": role}}}}}


def _apply(document: dict[str, Any]) -> OverrideReport:
    import yaml

    data = yaml.safe_load(BUNDLED_OVERRIDES.read_text(encoding="utf-8"))
    patches = [p for p in data["patches"] if p["id"] == "empty-enum"]
    report = OverrideReport()
    apply_patches(document, validate_overrides({"patches": patches}, "test"), report)
    return report


def test_empty_enum_patch_applies_while_the_enum_is_empty():
    document = _family_doc([], marker=True)
    assert _apply(document).applied == ["empty-enum"]
    assert "enum" not in document["components"]["schemas"]["GroupRole"]["properties"]["role"]


def test_empty_enum_patch_reports_itself_resolved_once_the_release_fixes_it():
    report = _apply(_family_doc(["manager", "reviewer"], marker=True))
    assert ids(report.resolved) == {"empty-enum"} and report.missing == []


@pytest.mark.parametrize("role_enum", [None, ["manager"]])
def test_empty_enum_patch_is_not_applicable_to_a_schema_outside_the_family(role_enum: list[str] | None):
    report = _apply(_family_doc(role_enum, marker=False))
    assert report.not_applicable == ["empty-enum"] and report.ok and report.applied == []


def test_applies_to_entries_are_checked_when_the_file_loads():
    bad = {"patches": [{"id": "x", "target": "/a", "op": "remove", "applies_to": [{"target": "/b"}]}]}
    with pytest.raises(SpecError, match="applies_to entry needs 'target'"):
        validate_overrides(bad, "overrides.yaml")


def test_examples_of_the_bundled_schema_match_their_schemas():
    assert check_examples(load("v2")) == []


@pytest.mark.parametrize("number", [1, 2])
def test_examples_check_lists_the_published_disagreements(number: int):
    findings = check_examples(load(reference_release(number)))
    invite = {(f.schema, f.field, f.kind) for f in findings if "~1projects~1{id}~1invite~1" in f.where}
    assert {("TargetRoleCreateRequest", "member_ids", "undocumented"),
            ("TargetRoleCreateRequest", "role_code", "undocumented")} <= invite
    category = [f for f in findings if f.where.startswith("/paths/~1v2~1projects~1/post/requestBody")]
    assert [(f.field, f.kind) for f in category] == [("category", "enum")]
    assert all("IMAGE" not in f.line() for f in findings)  # messages name expectations, never values


def test_a_correct_example_is_not_listed():
    document = copy.deepcopy(load("v2").document)
    schemas = document["components"]["schemas"]
    name = next(n for n, s in schemas.items() if "category" in (s.get("properties") or {})
                and (s["properties"]["category"].get("enum") or []))
    good = schemas[name]["properties"]["category"]["enum"][0]
    schemas[name]["properties"]["category"]["example"] = good
    assert check_examples(Registry(document)) == []
    schemas[name]["properties"]["category"]["example"] = good.upper() + "-not-a-member"
    assert [(f.kind, f.where.endswith("/category/example")) for f in check_examples(Registry(document))] == [
        ("enum", True)]


def test_invite_with_a_group_role_reaches_a_release_2_backend(httpserver):
    registry = load(reference_release(2))
    answer = {"member_roles": [], "group_roles": [{"group": 3, "role": "manager"}]}
    httpserver.expect_request("/v2/projects/42/invite/", method="POST").respond_with_json(
        {"data": answer, "meta": {"request_id": "req_invite"}})
    client = synapse_dyn.Client(httpserver.url_for("/"), schema=registry, access_token="syn_x", tenant="acme",
                                allow_insecure=True)
    result = client.projects.invite(42, {"group_roles": [{"group": 3, "role": "manager"}]})
    sent = json.loads(httpserver.log[0][0].get_data())
    assert sent == {"group_roles": [{"group": 3, "role": "manager"}]}
    assert result["group_roles"][0]["role"] == "manager" and client.last_request_id == "req_invite"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synapse_dyn", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT)


def test_cli_check_overrides_with_examples_is_clean_on_the_bundled_schema():
    result = _cli("schema", "check-overrides", "--examples")
    assert result.returncode == 0, result.stderr
    assert "2 not applicable" in result.stdout and "every example matches" in result.stdout


def test_cli_check_overrides_with_examples_lists_a_release_s_disagreements():
    release = str(reference_release(2))
    result = _cli("--schema", release, "schema", "check-overrides", "--examples")
    assert result.returncode == 11
    assert "TargetRoleCreateRequest" in result.stdout and "member_ids is not in the schema" in result.stdout
    resolved = {line.split(": ")[1] for line in result.stdout.splitlines() if line.startswith("resolved")}
    assert resolved == EXPECTED_RESOLVED and "missing" not in result.stdout


def test_cli_check_overrides_on_a_release_names_only_expected_resolved_patches(tmp_path: Path):
    result = _cli("--schema", str(reference_release(1)), "schema", "check-overrides")
    assert result.returncode == 11 and "2 resolved and 0 missing" in result.stderr
