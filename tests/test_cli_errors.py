"""Each failure is one stderr line with an exit code of its own; --debug adds the traceback."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import socket

import pytest
from test_cli_support import (  # noqa: F401 - fixtures
    backend,
    cli_env,
    envelope,
    error_body,
    invoke,
    schema2,
    shared_cache,
)

from synapse_dyn import errors
from synapse_dyn.cli import exitcodes

HTTP_CASES = [
    (400, "VALIDATION_ERROR", "ValidationError", 3),
    (422, "UNPROCESSABLE", "ValidationError", 3),
    (401, "NOT_AUTHENTICATED", "AuthenticationError", 4),
    (403, "PERMISSION_DENIED", "AuthorizationError", 5),
    (404, "NOT_FOUND", "NotFoundError", 6),
    (409, "CONFLICT", "ConflictError", 7),
    (429, "THROTTLED", "RateLimitError", 8),
    (500, "SERVER_ERROR", "ServerError", 9),
    (418, "TEAPOT", "ClientError", 1),
]


@pytest.mark.parametrize(("status", "code", "cls", "exit_code"), HTTP_CASES)
def test_http_error_is_one_line_with_its_exit_code(backend, status, code, cls, exit_code):
    backend.expect_request("/v2/projects/42/").respond_with_data(
        error_body(code, "it failed", f"req_{status}"), status=status, content_type="application/json",
        headers={"Retry-After": "0"})

    result = invoke("projects", "retrieve", "42")

    assert result.exit_code == exit_code
    assert result.stdout == ""
    assert result.stderr == f"Error: {cls} {status} {code}: it failed (request_id=req_{status})\n"


def test_error_details_are_on_the_line(backend):
    backend.expect_request("/v2/projects/", method="POST").respond_with_data(
        error_body("VALIDATION_ERROR", "invalid", "req_v", [{"field": "title", "message": "too long"}]),
        status=400, content_type="application/json")
    result = invoke("projects", "create", "--title", "t" * 5, "--category", "image", "--configuration", "{}")
    assert result.exit_code == 3
    assert result.stderr.strip() == "Error: ValidationError 400 VALIDATION_ERROR: invalid [title: too long] (request_id=req_v)"


def test_client_side_validation_exits_3_without_sending(backend):
    result = invoke("projects", "create", "--title", "x")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ValidationError REQUEST_INVALID:")
    assert len(backend.log) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_transport_failure_exits_10(schema2):
    result = invoke("--host", f"http://127.0.0.1:{free_port()}", "projects", "create", "--title", "t",
                    "--category", "image", "--configuration", "{}")
    assert result.exit_code == 10
    line = result.stderr.strip()
    assert line.startswith("Error: TransportError: POST /v2/projects/: cannot connect")
    assert "\n" not in line


def test_unusable_schema_exits_11(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.3\npaths: [\n")
    result = invoke("--schema", str(broken), "projects", "list")
    assert result.exit_code == 11
    assert result.stderr.startswith("Error: SpecError: ")
    assert "not valid YAML/JSON" in result.stderr
    assert "Traceback" not in result.output


def test_root_help_survives_a_broken_schema(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 2.0\npaths: {}\n")
    result = invoke("--schema", str(broken), "--help")
    assert result.exit_code == 0
    assert "cannot load the schema" in result.stdout
    assert "schema" in result.stdout and "login" in result.stdout


def test_debug_shows_the_traceback_and_debug_logs(backend):
    backend.expect_request("/v2/projects/42/").respond_with_data(
        error_body("NOT_FOUND", "no such project", "req_dbg"), status=404, content_type="application/json")

    quiet = invoke("projects", "retrieve", "42")
    debug = invoke("projects", "retrieve", "42", "--debug")

    assert "Traceback" not in quiet.stderr
    assert debug.exit_code == quiet.exit_code == 6
    assert "Traceback (most recent call last)" in debug.stderr
    assert "DEBUG synapse_dyn.cli.operations: projects.retrieve: GET /v2/projects/{id}/" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == \
        "Error: NotFoundError 404 NOT_FOUND: no such project (request_id=req_dbg)"


def test_exit_code_table_covers_every_error_class():
    assert exitcodes.exit_code_for(errors.ValidationError("x")) == exitcodes.VALIDATION
    assert exitcodes.exit_code_for(errors.TimeoutError("x")) == exitcodes.TRANSPORT
    assert exitcodes.exit_code_for(errors.ProtocolError("x")) == exitcodes.TRANSPORT
    assert exitcodes.exit_code_for(errors.SpecError("x")) == exitcodes.SCHEMA
    assert exitcodes.exit_code_for(errors.UnknownArgumentError("x")) == exitcodes.USAGE
    assert exitcodes.exit_code_for(errors.ConfigurationError("x")) == exitcodes.USAGE
    assert exitcodes.exit_code_for(RuntimeError("x")) == exitcodes.OTHER
    codes = [exitcodes.OK, exitcodes.OTHER, exitcodes.USAGE, exitcodes.VALIDATION, exitcodes.AUTH,
             exitcodes.FORBIDDEN, exitcodes.NOT_FOUND, exitcodes.CONFLICT, exitcodes.RATE_LIMITED,
             exitcodes.SERVER, exitcodes.TRANSPORT, exitcodes.SCHEMA]
    assert codes == list(range(12))
    for code in codes:
        assert f"\n{code} " in exitcodes.__doc__


def test_error_line_joins_multiline_messages():
    assert exitcodes.error_line(errors.SpecError("first\n  second")) == "Error: SpecError: first second"
