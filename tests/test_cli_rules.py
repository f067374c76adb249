"""One set of rules for every command (issue 14, items 6-19; issue 12, item 5): upload follows the
globals, --allow-insecure, credential hints, JSON options, prompts, pipes, help, tokens, api, config."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from test_cli_profiles import PASSWORD, serve_login
from test_cli_support import (  # noqa: F401 - fixtures
    DRF,
    TOKEN,
    backend,
    cli_env,
    envelope,
    error_body,
    invoke,
    project_detail,
    project_item,
    run_module,
    schema2,
    shared_cache,
)
from werkzeug import Request, Response

from synapse_dyn.cli.config import Config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- 6: upload follows the global options ----------------------------------------------------------
def test_upload_uses_the_global_host_and_dry_run_sends_nothing(httpserver, tmp_path):
    source = tmp_path / "f.bin"
    source.write_bytes(b"x" * 1000)
    result = invoke("--host", httpserver.url_for("/"), "--token", TOKEN, "--dry-run", "upload", str(source),
                    "--chunk-size", "300")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chunks"] == 4
    assert httpserver.log == []  # --dry-run uploads nothing


def test_upload_maps_401_and_refused_connections_to_their_exit_codes(httpserver, tmp_path):
    source = tmp_path / "f.bin"
    source.write_bytes(b"x" * 10)
    httpserver.expect_request("/chunked_upload/").respond_with_data(
        json.dumps({"detail": "Invalid token."}), status=401, content_type="application/json")
    denied = invoke("upload", str(source), "--host", httpserver.url_for("/"), "--token", TOKEN, "-q")
    assert denied.exit_code == 4, denied.output
    refused = invoke("upload", str(source), "--host", f"http://127.0.0.1:{free_port()}", "--token", TOKEN, "-q")
    assert refused.exit_code == 10, refused.output
    assert refused.stderr.startswith("Error: ") and "503" not in refused.stderr


# -- 8: one global --allow-insecure -----------------------------------------------------------------
def test_plain_http_warning_names_the_flag_and_the_flag_silences_it(httpserver):
    httpserver.expect_request("/v2/projects/42/").respond_with_data(envelope(project_detail(42)),
                                                                    content_type="application/json")
    host = httpserver.url_for("/").replace("localhost", "lvh.invalid")
    del host  # plain http to a non-loopback name cannot be served here; test the global flag and help
    help_text = invoke("--help").stdout
    assert "--allow-insecure" in help_text
    result = invoke("--allow-insecure", "--host", "http://example.invalid", "--dry-run", "projects", "list")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr
    warned = invoke("--host", "http://example.invalid", "--token", TOKEN, "--dry-run", "projects", "list")
    assert "--allow-insecure silences this" in warned.stderr and "allow_insecure" not in warned.stderr


# -- 9: why no credentials were sent ---------------------------------------------------------------
def test_another_host_says_why_the_profile_is_not_used_and_a_logged_out_profile_asks_for_login(httpserver,
                                                                                                  cli_env):
    config = Config.load()
    config.profiles["prod"] = {"host": "https://prod.example", "access_token": TOKEN}
    config.profiles["gone"] = {"host": httpserver.url_for("/").rstrip("/"), "email": "me@example.com"}
    config.current = "prod"
    config.save()
    httpserver.expect_request("/v2/projects/").respond_with_data(error_body("UNAUTHENTICATED", "no"), status=401,
                                                                 content_type="application/json")
    other = invoke("--host", httpserver.url_for("/"), "projects", "list")
    assert other.exit_code == 4
    assert "not using the credentials of profile 'prod'" in other.stderr
    logged_out = invoke("--profile", "gone", "projects", "list")
    assert logged_out.exit_code == 4 and "run synapse-dyn login" in logged_out.stderr
    assert len(httpserver.log) == 1  # the logged-out profile sent nothing


# -- 10: invalid JSON for an object option ---------------------------------------------------------
def test_invalid_json_for_an_object_option_is_refused(backend):
    result = invoke("projects", "create", "--title", "t", "--category", "image", "--configuration", "{bad")
    assert result.exit_code == 2
    assert "--configuration" in result.stderr and "not valid JSON" in result.stderr
    assert backend.log == []


# -- 11: prompts, pipes -----------------------------------------------------------------------------
def test_login_with_no_input_is_one_clear_error(backend):
    result = invoke("login", input="")
    assert result.exit_code == 2
    assert "stdin ended" in result.stderr and "Aborted" not in result.stderr


def test_wrong_password_is_reported_once(httpserver, schema2):
    httpserver.expect_request("/users/login/").respond_with_data(
        json.dumps({"non_field_errors": ["Unable to log in with provided credentials."]}), status=400,
        content_type="application/json")
    result = invoke("login", "--host", httpserver.url_for("/"), input=f"me@example.com\n{PASSWORD}\n")
    assert result.exit_code == 3
    assert result.stderr.count("Unable to log in") == 1


def test_a_closed_pipe_exits_quietly(backend):
    backend.expect_request("/v2/projects/").respond_with_data(
        envelope([project_item(i) for i in range(1, 3000)]), content_type="application/json")
    script = ("import subprocess, sys\n"
              "p = subprocess.Popen([sys.executable, '-m', 'synapse_dyn', 'projects', 'list', '-o', 'ndjson'], "
              "stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
              "p.stdout.readline(); p.stdout.close(); err = p.stderr.read().decode(); code = p.wait()\n"
              "print(code); print(err)\n")
    done = run_module_script(script)
    code, _, err = done.stdout.partition("\n")
    assert code == "0", done.stdout
    assert "Error" not in err and "Traceback" not in err


def run_module_script(script: str) -> subprocess.CompletedProcess[str]:
    import os

    from conftest import REPO_ROOT

    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


# -- 12: help -----------------------------------------------------------------------------------------
def test_bare_command_prints_help_and_version_has_a_short_flag():
    bare = invoke()
    assert bare.exit_code == 0 and "Usage: synapse-dyn" in bare.stdout
    assert invoke("-V").stdout.startswith("synapse-dyn, version")


def test_did_you_mean_for_other_tools_words(schema2):
    get = invoke("projects", "get", "42")
    delete = invoke("projects", "delete", "42")
    assert get.exit_code == delete.exit_code == 2
    assert "Did you mean 'retrieve'" in get.stderr and "Did you mean 'destroy'" in delete.stderr


def test_help_shows_empty_enum_values_and_whole_sentences(schema2):
    result = invoke("projects", "create", "--help")
    assert result.exit_code == 0
    assert '|""]' in result.stdout or '""|' in result.stdout
    assert "list_all" not in invoke("projects", "list", "--help").stdout
    assert "--drift-log" in invoke("--help").stdout
    assert "--drift-log FILE" in invoke("schema", "drift-report", "--help").stdout


def test_drift_log_records_from_the_cli(backend, tmp_path):
    backend.expect_request("/v2/projects/42/").respond_with_data(envelope({**project_detail(42), "surprise": 1}),
                                                                 content_type="application/json")
    log = tmp_path / "drift.jsonl"
    result = invoke("--drift-log", str(log), "projects", "retrieve", "42")
    assert result.exit_code == 0, result.output
    assert "surprise" in log.read_text()


# -- 15: tokens, re-login, api bodies, dry-run ----------------------------------------------------------
def test_tokens_list_shows_the_description(backend):
    backend.expect_request("/v2/tokens/").respond_with_data(
        envelope([{"id": 1, "description": "ci runner", "last_used": None}]), content_type="application/json")
    result = invoke("tokens", "list", "-o", "table")
    assert result.stdout.splitlines()[0].split() == ["id", "description", "last_used"]


def test_logging_in_again_revokes_the_previous_access_token(httpserver, schema2):
    serve_login(httpserver)
    revoked: list[str] = []
    httpserver.expect_request("/v2/tokens/9/", method="DELETE").respond_with_handler(
        lambda request: revoked.append(request.path) or Response(status=204))
    host = httpserver.url_for("/").rstrip("/")
    first = invoke("login", "--host", host, "--tenant", "acme", input=f"me@example.com\n{PASSWORD}\n")
    second = invoke("login", "--host", host, "--tenant", "acme", "--email", "me@example.com", "--password-stdin",
                    input=f"{PASSWORD}\n")
    assert first.exit_code == second.exit_code == 0, second.output
    assert revoked == []  # same token id and value: nothing to revoke
    config = Config.load()
    config.profiles["default"]["access_token"] = "syn_previous_token_value"
    config.save()
    third = invoke("login", "--host", host, "--tenant", "acme", "--email", "me@example.com", "--password-stdin",
                   input=f"{PASSWORD}\n")
    assert third.exit_code == 0, third.output
    assert revoked == ["/v2/tokens/9/"]


def test_api_prints_a_text_body_raw_and_dry_run_shows_the_query(backend):
    backend.expect_request("/v2/export/").respond_with_data("line one\nline two\n", content_type="text/plain")
    raw = invoke("api", "GET", "/v2/export/")
    assert raw.exit_code == 0, raw.output
    assert raw.stdout == "line one\nline two\n"
    dry = invoke("--dry-run", "projects", "list", "--category", "image", "--per-page", "5")
    assert json.loads(dry.stdout)["url"].endswith("/v2/projects/?category=image&per_page=5")
    curl = invoke("--curl", "projects", "list", "--per-page", "5")
    assert curl.stdout.startswith("curl -X GET ") and "per_page=5" in curl.stdout
    assert TOKEN not in curl.stdout and "SYNAPSE-ACCESS-TOKEN" in curl.stdout


# -- 16: config, environment, auth status, profiles ------------------------------------------------------
def test_config_get_set_unset_and_output_default(backend, monkeypatch):
    backend.expect_request("/v2/projects/").respond_with_data(envelope([project_item(1)]),
                                                              content_type="application/json")
    assert invoke("config", "set", "output", "yaml").exit_code == 0
    assert invoke("config", "get", "output").stdout == "yaml\n"
    assert "results:" in invoke("projects", "list").stdout
    monkeypatch.setenv("SYNAPSE_DYN_OUTPUT", "ndjson")
    assert json.loads(invoke("projects", "list").stdout)["id"] == 1
    assert invoke("config", "unset", "output").exit_code == 0
    assert invoke("config", "get", "output").exit_code == 1
    assert invoke("config", "set", "colour", "x").exit_code == 2


def test_config_host_default_and_profile_env(httpserver, monkeypatch, schema2):
    httpserver.expect_request("/v2/projects/").respond_with_data(envelope([project_item(1)]),
                                                                 content_type="application/json")
    assert invoke("config", "set", "host", httpserver.url_for("/").rstrip("/")).exit_code == 0
    result = invoke("projects", "list", "--token", TOKEN, "-o", "json")
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("SYNAPSE_DYN_PROFILE", "missing")
    missing = invoke("projects", "list")
    assert missing.exit_code == 2 and "no profile named 'missing'" in missing.stderr


def test_auth_status_reports_masked_credentials(backend):
    backend.expect_request("/v2/tokens/").respond_with_data(envelope([]), content_type="application/json")
    result = invoke("auth", "status", "-o", "json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["logged_in"] is True and status["tenant"] == "acme"
    assert TOKEN not in result.stdout and status["access_token"].startswith("syn_***")


def test_profiles_rename_and_delete(cli_env):
    config = Config.load()
    config.profiles["a"] = {"host": "https://a.example"}
    config.current = "a"
    config.save()
    assert invoke("profiles", "rename", "a", "b").exit_code == 0
    assert Config.load().current == "b" and "b" in Config.load().profiles
    assert invoke("profiles", "delete", "b").exit_code == 0
    assert Config.load().profiles == {} and Config.load().current is None
    assert invoke("profiles", "delete", "nope").exit_code == 2


# -- 17: api --------------------------------------------------------------------------------------------
def test_api_fields_headers_and_paginate(backend):
    seen: dict = {}

    def create(request: Request) -> Response:
        seen.update(body=request.get_json(), header=request.headers.get("X-Trace"))
        return Response(envelope({"ok": True}), content_type="application/json")

    def pages(request: Request) -> Response:
        cursor = request.args.get("cursor")
        ids, nxt = ([1, 2], "c2") if not cursor else ([3], None)
        return Response(envelope([{"id": i} for i in ids], next_cursor=nxt), content_type="application/json")

    backend.expect_request("/v2/things/", method="POST").respond_with_handler(create)
    backend.expect_request("/v2/things/", method="GET").respond_with_handler(pages)
    made = invoke("api", "POST", "/v2/things/", "-f", "title=demo", "-f", "count=3", "-H", "X-Trace: abc")
    assert made.exit_code == 0, made.output
    assert seen == {"body": {"title": "demo", "count": 3}, "header": "abc"}
    listed = invoke("api", "GET", "/v2/things/", "--paginate", "-o", "ndjson")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [1, 2, 3]
    clash = invoke("api", "GET", "/v2/things/", "-H", "SYNAPSE-ACCESS-TOKEN: other")
    assert clash.exit_code == 2


# -- 18: watch and follow ------------------------------------------------------------------------------
JOB = "0d8657d0-20d2-430b-b4f1-bb83fce299dd"


def job(status: str) -> dict:
    return {"id": JOB, "status": status, "action": "train", "is_active": True,
            "params": {}, "progress_record": {}, "metrics_record": {}, "result": None, "completed": None,
            "created": "2026-01-02T03:04:05Z", "modified": "2026-01-02T03:04:05Z", "plugin_release_id": 1}


def test_jobs_retrieve_watch_polls_until_a_terminal_state(backend):
    states = iter(["PENDING", "RUNNING", "RUNNING", "SUCCEEDED", "FAILED"])
    backend.expect_request("/v2/jobs/0d8657d0-20d2-430b-b4f1-bb83fce299dd/").respond_with_handler(
        lambda request: Response(envelope(job(next(states))), content_type="application/json"))
    result = invoke("jobs", "retrieve", "0d8657d0-20d2-430b-b4f1-bb83fce299dd", "--watch", "--interval", "0",
                    "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "SUCCEEDED"
    assert "status RUNNING" in result.stderr and len(backend.log) == 4


def test_job_logs_follow_prints_new_lines_until_the_job_ends(backend):
    job_states = iter(["RUNNING", "SUCCEEDED"])
    log_pages = iter([[1, 2], [1, 2, 3]])

    def line(i: int) -> dict:
        return {"id": i, "job_id": JOB, "event": f"e{i}", "step": "s", "level": "info",
                "datetime": "2026-01-02T03:04:05Z", "created": "2026-01-02T03:04:05Z"}

    backend.expect_request(f"/v2/jobs/{JOB}/").respond_with_handler(
        lambda request: Response(envelope(job(next(job_states))), content_type="application/json"))
    backend.expect_request("/v2/job-logs/").respond_with_handler(
        lambda request: Response(envelope([line(i) for i in next(log_pages)]), content_type="application/json"))
    result = invoke("job-logs", "list", "--job", JOB, "--follow", "--interval", "0", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["event"] for x in result.stdout.splitlines()] == ["e1", "e2", "e3"]


# -- 19 and issue 12 item 5: completion and tokens from stdin ---------------------------------------------
def complete(words: str) -> list[str]:
    done = run_module(env={"_SYNAPSE_DYN_COMPLETE": "bash_complete", "COMP_WORDS": f"synapse-dyn {words}",
                           "COMP_CWORD": str(len(words.split()) + (1 if words.endswith(" ") else 0))})
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]


def test_completion_of_outputs_profiles_globals_and_data_files(cli_env, tmp_path):
    config = Config.load()
    config.profiles["staging"] = {"host": "https://s.example"}
    config.save()
    assert complete("projects list -o ") == ["table", "wide", "json", "yaml", "ndjson"]
    assert "staging" in complete("--profile ")
    assert "--allow-insecure" in complete("projects list --")
    (tmp_path / "body.json").write_text("{}")
    assert complete(f"projects create --data @{tmp_path}/bo") == [f"@{tmp_path}/body.json"]


def test_token_from_stdin_is_sent_and_named_in_help(httpserver, schema2):
    seen: list[str] = []
    httpserver.expect_request("/v2/projects/").respond_with_handler(
        lambda request: seen.append(request.headers.get("SYNAPSE-ACCESS-TOKEN")) or Response(
            envelope([]), content_type="application/json"))
    result = invoke("--host", httpserver.url_for("/"), "--token-stdin", "projects", "list", input=f"{TOKEN}\n")
    assert result.exit_code == 0, result.output
    assert seen == [TOKEN]
    help_text = invoke("--help").stdout
    assert "--token-stdin" in help_text and "--drf-token-stdin" in help_text
    assert "--password-stdin" in invoke("login", "--help").stdout


@pytest.mark.parametrize("args", [["--token-stdin", "projects", "create", "--data", "-"]])
def test_stdin_cannot_carry_a_token_and_a_body(backend, args):
    result = invoke(*args, input=f"{TOKEN}\n")
    assert result.exit_code == 2 and TOKEN not in result.output


# -- help text and module structure ------------------------------------------------------------------
def test_option_help_is_not_cut_at_abbreviations():
    from synapse_dyn.cli.operations import _first_sentence

    text = "Filter by category, e.g. image or video. Other text follows."
    assert _first_sentence(text) == "Filter by category, e.g. image or video."
    assert _first_sentence("One. Two.") == "One."


def test_operations_does_not_import_resources():
    import ast
    from pathlib import Path

    import synapse_dyn.cli.operations as operations

    tree = ast.parse(Path(operations.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "resources" not in imported  # resources imports operations, never the other way round


def test_api_include_prints_the_status_line_and_headers(backend):
    backend.expect_request("/v2/things/").respond_with_data(envelope({"ok": True}), content_type="application/json",
                                                            headers={"X-Custom": "yes"})
    result = invoke("api", "GET", "/v2/things/", "--include", "-o", "json")
    assert result.exit_code == 0, result.output
    head, _, body = result.stdout.partition("\n\n")
    assert head.startswith(("HTTP/1.1 200", "HTTP/1.0 200")) and "x-custom: yes" in head.lower()
    assert json.loads(body) == {"ok": True}
