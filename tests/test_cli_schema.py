"""The ``schema`` commands: diff, inventory, check-overrides, sync and drift-report."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import BUNDLED_SCHEMA, reference_release
from test_cli_support import cli_env, invoke, schema2, shared_cache  # noqa: F401 - fixtures


def test_diff_release_1_to_2_as_json():
    old, new = reference_release(1), reference_release(2)
    result = invoke("schema", "diff", str(old), str(new), "--json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    added = {entry["name"] for entry in diff["added"]}
    assert "validation_scripts.list" in added and "validation_scripts.create" in added
    assert diff["removed"] == []
    changed = {entry["name"]: entry for entry in diff["changed"]}
    assert changed["data_files.list"]["parameters_added"] == ["data_collection (query)"]


def test_diff_release_1_to_2_as_table():
    result = invoke("schema", "diff", str(reference_release(1)), str(reference_release(2)))
    assert result.exit_code == 0, result.output
    assert "6 added, 0 removed" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["added", "validation_scripts.list", "GET", "/v2/validation-scripts/"] in rows
    assert any(row[:2] == ["changed", "data_files.list"] for row in rows)


def test_diff_of_a_schema_with_itself_is_empty():
    release = str(reference_release(2))
    result = invoke("schema", "diff", release, release)
    assert result.exit_code == 0
    assert "no operation changes" in result.stdout


def test_inventory_lists_resources_and_verbs(schema2):
    result = invoke("schema", "inventory", "-o", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"resource": "projects tags", "verb": "create", "method": "POST",
            "path": "/v2/projects/{project_pk}/tags/"}.items() <= next(
        r for r in rows if r["resource"] == "projects tags" and r["verb"] == "create").items()
    assert any(r["resource"] == "data-collections" and r["verb"] == "check-permission" for r in rows)
    assert len(rows) == 141


def test_inventory_of_an_explicit_schema_as_table():
    result = invoke("schema", "inventory", str(reference_release(1)), "-o", "table")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["resource", "verb", "method", "path", "summary"]
    assert "validation-scripts" not in result.stdout


def test_check_overrides_reports_resolved_patches():
    result = invoke("schema", "check-overrides", "--schema", str(reference_release(2)))
    assert result.exit_code == 11
    assert "resolved (remove the patch): data-collection-category-data" in result.stdout
    assert result.stderr.startswith("Error: 2 resolved and 0 missing override(s)")


def test_check_overrides_reports_missing_targets(tmp_path: Path):
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(yaml.safe_dump({"patches": [
        {"id": "ghost", "target": "/components/schemas/NoSuchSchema/properties/x", "op": "replace", "value": 1}],
        "names": {"resources": {"no_such_resource": "x"}}}))
    result = invoke("schema", "check-overrides", "--overrides", str(overrides), "--schema",
                    str(reference_release(2)))
    assert result.exit_code == 11
    assert "missing (fix the patch): ghost: target /components/schemas/NoSuchSchema/properties/x" in result.stdout
    assert "resource rename 'no_such_resource'" in result.stdout


def test_check_overrides_passes_when_every_patch_applies(tmp_path: Path):
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(yaml.safe_dump({"patches": [
        {"id": "extra-status", "target": "/components/schemas/ProjectV2List/properties/title/maxLength",
         "op": "add", "value": 200, "when": {"absent": True}}]}))
    result = invoke("schema", "check-overrides", "--overrides", str(overrides), "--schema",
                    str(reference_release(2)))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"all 1 patches apply to {reference_release(2)}"


def test_check_overrides_of_the_bundled_schema():
    if not BUNDLED_SCHEMA.exists():
        pytest.skip("bundled schema not present")
    result = invoke("schema", "check-overrides")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("all ") and "patches apply to v2" in result.stdout


def test_sync_refuses_http_without_allow_insecure(tmp_path: Path):
    result = invoke("schema", "sync", "--url", "http://127.0.0.1:9/schema", "--out", str(tmp_path / "o.yaml"))
    assert result.exit_code == 2
    assert "plain http is refused" in result.stderr


def test_sync_downloads_checks_and_writes(httpserver, tmp_path: Path):
    published = reference_release(2).read_bytes()
    httpserver.expect_request("/api/schema/").respond_with_data(published, content_type="application/yaml")
    out = tmp_path / "openapi.yaml"
    url = httpserver.url_for("/api/schema/")

    strict = invoke("schema", "sync", "--url", url, "--out", str(out), "--allow-insecure")
    lenient = invoke("schema", "sync", "--url", url, "--out", str(out), "--allow-insecure", "--lenient")

    assert strict.exit_code == 11 and "fails openapi-spec-validator" in strict.stderr
    assert lenient.exit_code == 0, lenient.output
    assert out.read_bytes() == published
    assert "141 operations" in lenient.stdout and "openapi-spec-validator: failed" in lenient.stdout
    assert "Warning: openapi-spec-validator:" in lenient.stderr


def test_drift_report_prints_proposed_overrides(tmp_path: Path):
    pytest.importorskip("synapse_dyn.drift")
    log = tmp_path / "drift.jsonl"
    log.write_text("")
    out = tmp_path / "proposed.yaml"
    printed = invoke("schema", "drift-report", str(log))
    written = invoke("schema", "drift-report", str(log), "--out", str(out))
    assert printed.exit_code == 0, printed.output
    assert written.exit_code == 0, written.output
    proposal = yaml.safe_load(printed.stdout)
    assert proposal["version"] == 1 and "patches" in proposal
    assert yaml.safe_load(out.read_text()) == proposal
