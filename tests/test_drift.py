"""Drift report: warn-mode mismatches logged without values, turned into overrides that fix them."""

from __future__ import annotations

import json
import warnings

import pytest
import yaml
from helpers import envelope, make_client, project, project_detail

from synapse_dyn import errors
from synapse_dyn.drift import propose_overrides, read_log

SECRET = "VALUE-THAT-MUST-NOT-BE-LOGGED"


def _drifted_detail() -> dict:
    detail = project_detail(42, category=SECRET, title=None, created="not-a-date", new_field={"x": SECRET})
    detail.pop("task_count")
    detail["tenant_id"] = "1"
    return detail


def _serve(httpserver) -> None:
    httpserver.expect_request("/v2/projects/42/").respond_with_json(envelope(_drifted_detail()))
    httpserver.expect_request("/v2/projects/").respond_with_json(envelope([project(1, extra_list_field=SECRET)]))
    httpserver.expect_request("/v2/tokens/9/", method="DELETE").respond_with_json(envelope({"deleted": 9}),
                                                                                status=200)


def _exercise(client) -> None:
    client.projects.retrieve(42)
    client.projects.list()
    client.tokens.destroy(9)


def test_drift_round_trip(httpserver, tmp_path) -> None:
    _serve(httpserver)
    log = tmp_path / "drift.jsonl"
    with make_client(httpserver) as strict, pytest.raises(errors.ValidationError):
        strict.projects.retrieve(42)
    with make_client(httpserver, validate_responses="warn", drift_log=log) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ResponseValidationWarning)
        _exercise(client)

    text = log.read_text()
    assert SECRET not in text and "not-a-date" not in text
    kinds = {(e["operation"], e["field"], e["kind"]) for e in read_log(log)}
    assert {
        ("projects.retrieve", "category", "enum"),
        ("projects.retrieve", "title", "null"),
        ("projects.retrieve", "created", "format"),
        ("projects.retrieve", "task_count", "required"),
        ("projects.retrieve", "tenant_id", "type"),
        ("projects.retrieve", "new_field", "undocumented"),
        ("projects.list", "results/0/extra_list_field", "undocumented"),
        ("tokens.destroy", "", "status"),
    } <= kinds

    proposed = propose_overrides(log)
    assert {"auth"} <= set(proposed["names"]["resources"].values())  # the overrides in effect are kept
    path = tmp_path / "proposed.yaml"
    path.write_text(yaml.safe_dump(proposed))
    with make_client(httpserver, overrides=path) as fixed, warnings.catch_warnings():
        warnings.simplefilter("error")
        detail = fixed.projects.retrieve(42)
        assert detail.category == SECRET and detail.title is None
        assert fixed.projects.list().results[0].id == 1
        assert fixed.tokens.destroy(9) == {"deleted": 9}


def test_log_lines_are_json_with_operation_and_kind(httpserver, tmp_path) -> None:
    _serve(httpserver)
    log = tmp_path / "d.jsonl"
    with make_client(httpserver, validate_responses="warn", drift_log=log) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.projects.retrieve(42)
    lines = log.read_text().splitlines()
    assert len(lines) >= 5  # enum, null, format, required, type, undocumented: at least five distinct fields
    for line in lines:
        entry = json.loads(line)
        assert {"operation", "method", "path", "status", "field", "kind", "time"} <= set(entry)


def test_drift_report_command_turns_a_recorded_log_into_working_overrides(httpserver, tmp_path) -> None:
    from click.testing import CliRunner

    from synapse_dyn.cli import cli

    _serve(httpserver)
    log, out = tmp_path / "drift.jsonl", tmp_path / "overrides.yaml"
    with make_client(httpserver, validate_responses="warn", drift_log=log) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ResponseValidationWarning)
        _exercise(client)
    assert len(read_log(log)) >= 8
    result = CliRunner().invoke(cli, ["schema", "drift-report", str(log), "--out", str(out)], prog_name="synapse-dyn")
    assert result.exit_code == 0, result.output
    assert SECRET not in out.read_text() and SECRET not in result.output
    with make_client(httpserver, overrides=out) as fixed, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fixed.projects.retrieve(42).title is None
        assert fixed.projects.list().results[0].extra_list_field == SECRET
        assert fixed.tokens.destroy(9) == {"deleted": 9}
