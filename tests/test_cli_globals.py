"""Global options parsed by click anywhere on the line, connection precedence, and schema -> click type mapping."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import json

import click
import pytest
from click.testing import Result
from test_cli_support import cli_env, invoke, shared_cache  # noqa: F401 - fixtures

from synapse_dyn.cli.globals import GlobalOptions, resolve_connection
from synapse_dyn.cli.operations import cli_name
from synapse_dyn.cli.params import NULL, JsonType, Nullable, TypedChoice, option_shape
from synapse_dyn.cli.state import AppState
from synapse_dyn.registry import Registry
from synapse_dyn.util.urls import is_loopback_url as is_loopback


def parsed(*args: str) -> tuple[GlobalOptions, Result]:
    """Run the CLI with --dry-run and return the global options it ended with."""
    state = AppState()
    result = invoke(*args, obj=state)
    return state.options, result


def test_globals_are_taken_before_and_after_the_command():
    opts, result = parsed("-o", "yaml", "projects", "--host=https://h.example", "list", "--per-page", "3",
                          "--yes", "--profile", "p", "--dry-run", "-y", "--debug")
    assert (opts.output, opts.host, opts.profile) == ("yaml", "https://h.example", "p")
    assert opts.yes and opts.dry_run and opts.debug and not opts.quiet
    assert {"output", "host", "yes", "profile", "dry_run", "debug"} <= opts.given


def test_a_later_global_overrides_an_earlier_one_and_double_dash_ends_options():
    opts, _ = parsed("-o", "json", "projects", "list", "-o", "yaml", "--host", "https://h.example", "--dry-run")
    assert opts.output == "yaml"
    _, result = parsed("--host", "https://h.example", "--dry-run", "api", "GET", "--", "--host")
    assert result.exit_code == 0, result.output
    assert '"url": "https://h.example/--host"' in result.stdout


def test_a_value_is_never_taken_for_an_option(tmp_path):
    result = invoke("--host", "https://h.example", "--dry-run", "projects", "create", "--title", "-ops-team",
                    "--category", "image", "--configuration", "{}", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["json"]["title"] == "-ops-team"


@pytest.mark.parametrize(("args", "message"), [
    (["projects", "list", "--host"], "requires an argument"),
    (["-o", "xml", "projects", "list"], "'xml' is not one of 'table', 'wide', 'json', 'yaml', 'ndjson'"),
    (["--debug=yes", "projects", "list"], "does not take a value"),
])
def test_global_usage_errors(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_sandbox_and_host_together_are_refused():
    result = invoke("--sandbox", "--host", "https://h.example", "projects", "list")
    assert result.exit_code == 2
    assert "--sandbox and --host cannot be combined" in result.stderr


def test_schema_after_the_command_is_refused_not_ignored(tmp_path):
    result = invoke("projects", "list", "--schema", "v1", "--dry-run", "--host", "https://h.example")
    assert result.exit_code == 2
    assert "--schema must come before the command" in result.stderr


PROFILE = {"host": "https://prod.example/", "access_token": "syn_profile", "tenant": "prod"}


def test_flags_beat_env_beat_current_profile():
    env = {"SYNAPSE_BACKEND_V2_HOST": "https://prod.example", "SYNAPSE_BACKEND_V2_TENANT": "env-tenant"}
    conn = resolve_connection(GlobalOptions(token="syn_flag"), "default", PROFILE, env)
    assert (conn.host, conn.access_token, conn.tenant, conn.profile) == (
        "https://prod.example", "syn_flag", "env-tenant", "default")


def test_explicit_profile_beats_env():
    env = {"SYNAPSE_BACKEND_V2_TENANT": "env-tenant", "SYNAPSE_BACKEND_V2_DRF_TOKEN": "drf_env"}
    conn = resolve_connection(GlobalOptions(profile="prod"), "prod", PROFILE, env)
    assert (conn.tenant, conn.access_token, conn.drf_token) == ("prod", "syn_profile", "drf_env")


def test_profile_is_ignored_for_another_host():
    env = {"SYNAPSE_BACKEND_V2_HOST": "https://staging.example"}
    conn = resolve_connection(GlobalOptions(), "default", PROFILE, env)
    assert (conn.host, conn.access_token, conn.tenant, conn.profile) == ("https://staging.example", None, None, None)
    flagged = resolve_connection(GlobalOptions(host="https://other.example"), "prod", PROFILE, {})
    assert flagged.access_token is None


def test_loopback_detection():
    assert is_loopback("http://127.0.0.1:8000") and is_loopback("http://localhost/") and is_loopback("http://[::1]:1")
    assert not is_loopback("http://example.com") and not is_loopback("http://10.0.0.1")


def test_cli_names():
    assert cli_name("data_collections") == "data-collections"
    assert cli_name("check_permission") == "check-permission"
    assert cli_name("filter[name]") == "filter-name"


SCHEMAS = Registry({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}, "components": {
    "schemas": {
        "Kind": {"type": "string", "enum": ["a", "b"]},
        "Blank": {"enum": [""]},
        "Null": {"enum": [None]},
        "Level": {"type": "integer", "enum": [1, 2, 3]},
    }}})


def convert(param_type: click.ParamType, value: str):
    return param_type.convert(value, None, None)


def test_option_shapes_follow_the_schema():
    ref = {"$ref": "#/components/schemas/Kind"}
    assert isinstance(option_shape(SCHEMAS, ref, location="query").type, TypedChoice)
    assert option_shape(SCHEMAS, {"type": "boolean"}, location="body").is_flag
    assert option_shape(SCHEMAS, {"type": "integer"}, location="query").type is click.INT
    listed = option_shape(SCHEMAS, {"type": "array", "items": {"type": "integer"}}, location="query")
    assert listed.multiple and listed.type is click.INT
    assert isinstance(option_shape(SCHEMAS, {"type": "array"}, location="body").type, JsonType)
    merged = option_shape(SCHEMAS, {"oneOf": [ref, {"$ref": "#/components/schemas/Blank"},
                                              {"$ref": "#/components/schemas/Null"}]}, location="body")
    assert list(merged.type.inner.choices) == ["a", "b", ""]
    levels = option_shape(SCHEMAS, {"allOf": [{"$ref": "#/components/schemas/Level"}]}, location="query").type
    assert convert(levels, "2") == 2


def test_nullable_and_json_values():
    nullable = option_shape(SCHEMAS, {"type": "integer", "nullable": True}, location="body").type
    assert isinstance(nullable, Nullable)
    assert convert(nullable, "null") is NULL and convert(nullable, "7") == 7
    obj = JsonType("object")
    assert convert(obj, '{"a": 1}') == {"a": 1}
    with pytest.raises(click.BadParameter, match="expected a JSON object"):
        convert(obj, "[1]")
    anything = option_shape(SCHEMAS, {}, location="body").type
    assert convert(anything, "{}") == {} and convert(anything, "plain words") == "plain words"
