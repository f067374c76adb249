"""Output formats, --all streaming across pages, request ids on stderr, --dry-run and confirmation."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import json

import yaml
from test_cli_support import (  # noqa: F401 - fixtures
    TOKEN,
    backend,
    cli_env,
    envelope,
    invoke,
    project_detail,
    project_item,
    schema2,
    shared_cache,
)
from werkzeug import Request, Response


def three_pages(server) -> list[str]:
    """GET /v2/projects/ answers 2 + 2 + 1 items over three cursor pages; returns the cursors seen."""
    seen: list[str] = []

    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor", "")
        seen.append(cursor)
        page = {"": ([1, 2], "c2", "req_p1"), "c2": ([3, 4], "c3", "req_p2"), "c3": ([5], None, "req_p3")}[cursor]
        ids, nxt, rid = page
        return Response(envelope([project_item(i) for i in ids], rid, next_cursor=nxt),
                        content_type="application/json")

    server.expect_request("/v2/projects/", method="GET").respond_with_handler(handler)
    return seen


def test_all_ndjson_streams_every_page(backend):
    cursors = three_pages(backend)
    result = invoke("projects", "list", "--all", "-o", "ndjson", "--per-page", "2")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [1, 2, 3, 4, 5]
    assert cursors == ["", "c2", "c3"]
    assert result.stderr.strip() == "request_id=req_p3"


def test_all_json_has_the_shape_of_one_page(backend):
    three_pages(backend)
    result = invoke("projects", "list", "--all", "-o", "json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [p["id"] for p in page["results"]] == [1, 2, 3, 4, 5]
    assert (page["next"], page["previous"]) == (None, None)


def test_all_yaml_has_the_shape_of_one_page(backend):
    three_pages(backend)
    result = invoke("projects", "list", "--all", "-o", "yaml")
    assert result.exit_code == 0, result.output
    assert [p["id"] for p in yaml.safe_load(result.stdout)["results"]] == [1, 2, 3, 4, 5]


def test_all_table_has_every_row(backend):
    three_pages(backend)
    result = invoke("projects", "list", "--all", "-o", "table")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "title", "category"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3", "4", "5"]


def test_empty_all_json_is_an_empty_page(backend):
    backend.expect_request("/v2/projects/").respond_with_data(envelope([], "req_e"),
                                                              content_type="application/json")
    result = invoke("projects", "list", "--all", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"results": [], "next": None, "previous": None}


def test_single_page_table_hints_the_next_cursor(backend):
    backend.expect_request("/v2/projects/").respond_with_data(
        envelope([project_item(1), project_item(2)], "req_t", next_cursor="c2"), content_type="application/json")
    result = invoke("projects", "list", "-o", "table")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0].split()
    assert header[0] == "id"
    assert "category_display" not in header  # duplicates category
    assert "more results: add --cursor c2 (or --all, or --max-items N)" in result.stderr
    assert "request_id=req_t" in result.stderr


def test_table_skips_long_and_nested_fields(backend):
    backend.expect_request("/v2/validation-scripts/").respond_with_data(envelope([{
        "id": 3, "name": "check", "is_active": True, "timeout": 30, "created": "2026-01-02T03:04:05Z",
        "updated": "2026-01-02T03:04:05Z", "created_by_id": None}]), content_type="application/json")
    result = invoke("validation-scripts", "list", "-o", "table")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split()[:4] == ["id", "name", "is_active", "timeout"]
    assert "true" in result.stdout.splitlines()[1]


def test_record_table_and_yaml(backend):
    backend.expect_request("/v2/projects/42/").respond_with_data(envelope(project_detail(42), "req_r"),
                                                                 content_type="application/json")
    table = invoke("projects", "retrieve", "42", "-o", "table")
    as_yaml = invoke("-o", "yaml", "projects", "retrieve", "42")
    assert table.exit_code == as_yaml.exit_code == 0
    rows = {line.split()[0]: line.split()[1:] for line in table.stdout.splitlines() if line.strip()}
    assert rows["title"] == ["demo"] and rows["id"] == ["42"]
    assert yaml.safe_load(as_yaml.stdout) == project_detail(42)


def test_quiet_drops_the_request_id(backend):
    backend.expect_request("/v2/projects/42/").respond_with_data(envelope(project_detail(42), "req_q"),
                                                                 content_type="application/json")
    loud = invoke("projects", "retrieve", "42")
    quiet = invoke("projects", "retrieve", "42", "--quiet")
    assert loud.stderr.strip() == "request_id=req_q"
    assert quiet.stderr == ""
    assert json.loads(quiet.stdout)["id"] == 42


def test_dry_run_prints_the_request_with_the_token_masked(backend):
    result = invoke("--dry-run", "projects", "tags", "42", "create", "--name", "urgent", "--category", "project")
    assert result.exit_code == 0, result.output
    described = json.loads(result.stdout)
    assert described["method"] == "POST"
    assert described["url"].endswith("/v2/projects/42/tags/")
    assert described["json"] == {"name": "urgent", "category": "project"}
    assert described["headers"]["SYNAPSE-ACCESS-TOKEN"] == "syn_***CRET"
    assert TOKEN not in result.output
    assert len(backend.log) == 0


def test_dry_run_still_validates(backend):
    result = invoke("projects", "create", "--title", "only", "--dry-run")
    assert result.exit_code == 3
    assert "configuration" in result.stderr and "category" in result.stderr


def test_delete_without_a_terminal_is_refused(backend):
    result = invoke("projects", "destroy", "42")
    assert result.exit_code == 2
    assert "refusing to send DELETE" in result.stderr and "pass --yes" in result.stderr
    assert len(backend.log) == 0


def test_delete_with_yes_is_sent(backend):
    backend.expect_oneshot_request("/v2/projects/42/", method="DELETE").respond_with_data("", status=204)
    result = invoke("projects", "destroy", "42", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    backend.check_assertions()


def test_api_delete_asks_too(backend):
    result = invoke("api", "DELETE", "/v2/anything/1/")
    assert result.exit_code == 2
    assert "refusing to send DELETE" in result.stderr


def test_api_dry_run_masks_tokens(backend):
    result = invoke("api", "GET", "/v2/x/", "-q", "a=1", "--dry-run", "--drf-token", "drf_abcdefghijkl")
    assert result.exit_code == 0
    described = json.loads(result.stdout)
    assert described["params"] == [["a", "1"]]
    assert described["headers"]["Authorization"] == "Token drf_***ijkl"
    assert described["headers"]["SYNAPSE-ACCESS-TOKEN"] == "syn_***CRET"
    assert len(backend.log) == 0
