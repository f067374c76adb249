"""Every operation is a command: arguments, typed options, bodies, nested resources, globals anywhere."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import json

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


def test_list_sends_typed_query_and_prints_json_when_piped(backend):
    backend.expect_oneshot_request(
        "/v2/projects/", method="GET", query_string={"per_page": "20", "category": "image"},
        headers={"SYNAPSE-ACCESS-TOKEN": TOKEN, "SYNAPSE-Tenant": "acme"},
    ).respond_with_data(envelope([project_item(1), project_item(2)], "req_list"), content_type="application/json")

    result = invoke("projects", "list", "--per-page", "20", "--category", "image")

    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [p["id"] for p in page["results"]] == [1, 2]
    assert page["next"] is None
    assert "request_id=req_list" in result.stderr
    backend.check_assertions()


def test_retrieve_takes_the_path_parameter_as_an_argument(backend):
    backend.expect_oneshot_request("/v2/projects/42/", method="GET").respond_with_data(
        envelope(project_detail(42)), content_type="application/json")

    result = invoke("projects", "retrieve", "42")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["title"] == "demo"
    assert "Warning" not in result.stderr


def test_create_sends_body_fields_as_typed_json(backend):
    seen = {}

    def handler(request: Request) -> Response:
        seen["body"] = request.get_json()
        return Response(envelope(project_detail(43)), status=201, content_type="application/json")

    backend.expect_oneshot_request("/v2/projects/", method="POST").respond_with_handler(handler)

    result = invoke("projects", "create", "--title", "demo", "--category", "image", "--configuration", "{}",
                    "--data-collection", "7", "--can-discard")

    assert result.exit_code == 0, result.output
    assert seen["body"] == {"title": "demo", "category": "image", "configuration": {}, "data_collection": 7,
                            "can_discard": True}
    assert json.loads(result.stdout)["id"] == 43


def test_nested_resource_takes_the_parent_id_before_the_verb(backend):
    seen = {}

    def handler(request: Request) -> Response:
        seen["body"] = request.get_json()
        tag = {"id": 5, "project_id": 42, "name": "urgent", "category": "project", "description": "",
               "meta": None, "created": "2026-01-02T03:04:05Z"}
        return Response(envelope(tag), status=201, content_type="application/json")

    backend.expect_oneshot_request("/v2/projects/42/tags/", method="POST").respond_with_handler(handler)

    result = invoke("projects", "tags", "42", "create", "--name", "urgent", "--category", "project")

    assert result.exit_code == 0, result.output
    assert seen["body"] == {"name": "urgent", "category": "project"}
    assert json.loads(result.stdout)["project_id"] == 42


def test_nested_list_under_data_collections(backend):
    backend.expect_oneshot_request("/v2/data-collections/7/groups/", method="GET",
                                   query_string={"per_page": "5"}).respond_with_data(
        envelope([{"id": 1, "name": "g1"}]), content_type="application/json")

    result = invoke("data-collections", "groups", "7", "list", "--per-page", "5", "-o", "ndjson")

    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"id": 1, "name": "g1"}]


def test_check_permission_passes_the_permission_query(backend):
    backend.expect_oneshot_request("/v2/projects/42/check_permission/", method="GET",
                                   query_string={"permission": "view"}).respond_with_data(
        envelope({"allowed": True}), content_type="application/json")

    result = invoke("projects", "check-permission", "42", "--permission", "view")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"allowed": True}
    backend.check_assertions()


def test_data_json_file_and_stdin_with_options_overriding(backend, tmp_path):
    bodies = []

    def handler(request: Request) -> Response:
        bodies.append(request.get_json())
        return Response(envelope(project_detail(44)), status=201, content_type="application/json")

    backend.expect_request("/v2/projects/", method="POST").respond_with_handler(handler)
    body = {"title": "from data", "category": "video", "configuration": {"a": 1}}
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))

    inline = invoke("projects", "create", "--data", json.dumps(body), "--title", "override")
    from_file = invoke("projects", "create", "--data", f"@{path}")
    from_stdin = invoke("projects", "create", "--data", "-", "--category", "audio", input=json.dumps(body))

    assert [r.exit_code for r in (inline, from_file, from_stdin)] == [0, 0, 0], inline.output
    assert bodies == [{**body, "title": "override"}, body, {**body, "category": "audio"}]


def test_bad_data_is_a_usage_error(backend):
    assert invoke("projects", "create", "--data", "{nope").exit_code == 2
    missing = invoke("projects", "create", "--data", "@/does/not/exist.json")
    assert missing.exit_code == 2
    assert "cannot read /does/not/exist.json" in missing.stderr
    array = invoke("projects", "create", "--data", "[1]", "--title", "x")
    assert array.exit_code == 2
    assert "JSON object" in array.stderr
    assert len(backend.log) == 0


def test_option_types_are_checked_before_sending(backend):
    not_int = invoke("projects", "list", "--per-page", "many")
    bad_choice = invoke("projects", "list", "--category", "sculpture")

    assert not_int.exit_code == 2
    assert "'many' is not a valid integer" in not_int.stderr
    assert bad_choice.exit_code == 2
    assert "image" in bad_choice.stderr and "video" in bad_choice.stderr
    assert "Traceback" not in not_int.output + bad_choice.output
    assert len(backend.log) == 0


def test_object_option_needs_json(backend):
    result = invoke("projects", "invite", "1", "--member-roles", "not json")
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr


def test_unknown_resource_and_verb_list_valid_names(schema2):
    resource = invoke("projx", "list")
    verb = invoke("projects", "lst")

    assert resource.exit_code == 2
    assert "No such resource or command 'projx'" in resource.stderr
    assert "Did you mean 'projects'" in resource.stderr
    assert "data-collections" in resource.stderr and "validation-scripts" in resource.stderr
    assert verb.exit_code == 2
    assert "Did you mean 'list'" in verb.stderr
    assert "check-permission" in verb.stderr and "tags" in verb.stderr


def test_nested_resource_without_parent_id_explains(schema2):
    result = invoke("projects", "tags", "list")
    assert result.exit_code == 2
    assert "needs the parent's PROJECT_PK before the verb" in result.stderr


def test_underscore_spelling_is_accepted(backend):
    backend.expect_oneshot_request("/v2/projects/1/check_permission/").respond_with_data(
        envelope({"allowed": False}), content_type="application/json")
    assert invoke("projects", "check_permission", "1").exit_code == 0


def test_global_options_before_or_after_the_command(httpserver, schema2):
    httpserver.expect_request("/v2/projects/", headers={"SYNAPSE-Tenant": "t1"}).respond_with_data(
        envelope([project_item(1)], "req_g"), content_type="application/json")
    host = httpserver.url_for("/").rstrip("/")

    before = invoke("--host", host, "--tenant", "t1", "-o", "ndjson", "--quiet", "projects", "list")
    after = invoke("projects", "list", "--host", host, "--tenant=t1", "-ondjson", "--quiet")
    mixed = invoke("projects", "--host", host, "list", "--tenant", "t1", "--output", "ndjson")

    for result in (before, after, mixed):
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout.strip()) == project_item(1)
    assert before.stderr == after.stderr == ""
    assert "request_id=req_g" in mixed.stderr


def test_global_option_after_double_dash_is_not_taken(schema2):
    result = invoke("projects", "retrieve", "--", "--host")
    assert result.exit_code == 2
    assert "'--host' is not a valid integer" in result.stderr


def test_no_host_is_a_clear_error(schema2):
    result = invoke("projects", "list")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("Error: no backend host")


def test_api_escape_hatch(backend):
    seen = {}

    def handler(request: Request) -> Response:
        seen["args"] = request.args.to_dict(flat=False)
        seen["body"] = request.get_json(silent=True)
        return Response(envelope({"ok": True}, "req_api"), content_type="application/json")

    backend.expect_oneshot_request("/v2/secret-feature/", method="POST").respond_with_handler(handler)

    result = invoke("api", "post", "/v2/secret-feature/", "-q", "a=1", "-q", "a=2", "--param", "b=x",
                    "--data", '{"k": [1, 2]}')

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"ok": True}
    assert seen == {"args": {"a": ["1", "2"], "b": ["x"]}, "body": {"k": [1, 2]}}
    assert "request_id=req_api" in result.stderr


def test_api_refuses_other_hosts_and_bad_query(backend):
    other = invoke("api", "GET", "https://evil.example/steal")
    bad_query = invoke("api", "GET", "/v2/x/", "-q", "novalue")
    assert other.exit_code == 2 and "not on the configured host" in other.stderr
    assert bad_query.exit_code == 2 and "is not key=value" in bad_query.stderr
    assert len(backend.log) == 0


def test_api_errors_map_like_operations(backend):
    backend.expect_oneshot_request("/v2/nothing/").respond_with_data(
        json.dumps({"error": {"code": "NOT_FOUND", "message": "gone"}, "meta": {"request_id": "req_x"}}),
        status=404, content_type="application/json")
    result = invoke("api", "GET", "/v2/nothing/")
    assert result.exit_code == 6
    assert result.stderr.strip() == "Error: NotFoundError 404 NOT_FOUND: gone (request_id=req_x)"


def test_readonly_body_fields_have_no_option(schema2):
    result = invoke("projects", "create", "--help")
    assert result.exit_code == 0
    assert "--title" in result.stdout
    assert "--id " not in result.stdout and "--created" not in result.stdout
    assert "--server-dry-run / --no-server-dry-run" in result.stdout


def test_server_dry_run_query_is_renamed_and_sent(backend):
    backend.expect_oneshot_request("/v2/projects/", method="POST", query_string={"dry_run": "true"}
                                   ).respond_with_data(envelope(project_detail(1)), status=201,
                                                       content_type="application/json")
    result = invoke("projects", "create", "--server-dry-run", "--title", "t", "--category", "image",
                    "--configuration", "{}")
    assert result.exit_code == 0, result.output
    backend.check_assertions()


def test_null_clears_a_nullable_field(backend):
    bodies = []

    def handler(request: Request) -> Response:
        bodies.append(request.get_json())
        return Response(envelope(project_detail(42)), content_type="application/json")

    backend.expect_request("/v2/projects/42/", method="PATCH").respond_with_handler(handler)
    result = invoke("projects", "partial-update", "42", "--data-collection", "null", "--title", "renamed")
    assert result.exit_code == 0, result.output
    assert bodies == [{"data_collection": None, "title": "renamed"}]
