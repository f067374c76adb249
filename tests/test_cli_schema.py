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
    result = invoke("schema", "diff", str(reference_release(1)), str(reference_release(2)), "-o", "table")
    assert result.exit_code == 0, result.output
    assert "6 added, 0 removed" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["added", "validation-scripts", "list", "validation_scripts.list", "GET", "/v2/validation-scripts/"] in rows
    assert any(row[:4] == ["changed", "data-files", "list", "data_files.list"] for row in rows)
    assert "\x1b" not in result.stdout  # not a terminal: no decoration


def test_diff_of_a_schema_with_itself_is_empty():
    release = str(reference_release(2))
    result = invoke("schema", "diff", release, release, "-o", "table", "--exit-code")
    assert result.exit_code == 0
    assert "no operation changes" in result.stdout


def test_diff_exit_code_and_both_names():
    result = invoke("schema", "diff", str(reference_release(1)), str(reference_release(2)), "--exit-code")
    assert result.exit_code == 1  # as git diff --exit-code: they differ
    added = {e["name"]: e["command"] for e in json.loads(result.stdout)["added"]}
    assert added["validation_scripts.list"] == "validation-scripts list"


def test_inventory_lists_resources_and_verbs(schema2):
    result = invoke("schema", "inventory", "-o", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"resource": "projects tags", "verb": "create", "method": "POST",
            "path": "/v2/projects/{project_pk}/tags/"}.items() <= next(
        r for r in rows if r["resource"] == "projects tags" and r["verb"] == "create").items()
    assert any(r["resource"] == "data-collections" and r["verb"] == "check-permission" for r in rows)
    assert len(rows) == 149  # the bundled schema's operations


def test_inventory_of_an_explicit_schema_as_table():
    result = invoke("schema", "inventory", str(reference_release(1)), "-o", "table")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["resource", "verb", "python", "method", "path", "summary"]
    assert any(line.split()[:3] == ["projects", "list", "projects.list"] for line in result.stdout.splitlines())
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

    assert strict.exit_code == 0, strict.output  # its `enum: []` is repaired by the empty-enum patch
    assert out.read_bytes() == published
    assert "141 operations" in strict.stdout and "0 remaining" in strict.stdout
    assert "finding (fixed by the bundled overrides)" in strict.stderr and "minItems" in strict.stderr


def test_sync_writes_to_the_data_dir_and_the_cli_uses_it(httpserver, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SYNAPSE_DYN_DATA_DIR", str(tmp_path / "data"))
    httpserver.expect_request("/api/schema/").respond_with_data(reference_release(2).read_bytes(),
                                                                content_type="application/yaml")
    result = invoke("schema", "sync", "--url", httpserver.url_for("/api/schema/"), "--allow-insecure", "--strict")
    assert result.exit_code == 0, result.output
    target = tmp_path / "data" / "schemas" / "openapi.yaml"
    assert target.exists() and str(target) in result.stdout
    assert invoke("validation-scripts", "list", "--help").exit_code == 0  # release 2 has them; the bundled v2 too


def test_sync_exit_codes_for_refused_connection_and_bad_schema(httpserver, tmp_path: Path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = invoke("schema", "sync", "--url", f"http://127.0.0.1:{port}/s.yaml", "--allow-insecure",
                     "--out", str(tmp_path / "a.yaml"))
    assert refused.exit_code == 10, refused.output
    assert refused.stderr.count("\n") == 1 and "ConnectError" in refused.stderr
    httpserver.expect_request("/odd").respond_with_data("openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
                                                        "paths: {/x/: {get: {responses: 7}}}\n")
    odd = [invoke("schema", "sync", "--url", httpserver.url_for("/odd"), "--allow-insecure", *strict,
                  "--out", str(tmp_path / f"odd{len(strict)}.yaml")) for strict in ((), ("--strict",))]
    assert odd[0].exit_code == 0 and "remaining)" in odd[0].stdout and "finding: " in odd[0].stderr
    assert odd[1].exit_code == 11 and not (tmp_path / "odd1.yaml").exists()
    assert all(len(line) < 200 for line in odd[1].stderr.splitlines())
    httpserver.expect_request("/bad").respond_with_data("openapi: 2.0\npaths: {}\n")
    bad = invoke("schema", "sync", "--url", httpserver.url_for("/bad"), "--allow-insecure",
                 "--out", str(tmp_path / "b.yaml"))
    assert bad.exit_code == 11, bad.output
    assert not (tmp_path / "b.yaml").exists()
    assert len(bad.stderr.strip().splitlines()[-1]) < 400


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
