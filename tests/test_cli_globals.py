"""Global option pre-scan, connection precedence, and schema -> click type mapping."""

from __future__ import annotations

import click
import pytest

from synapse_dyn.cli.globals import GlobalOptions, is_loopback, prescan, resolve_connection
from synapse_dyn.cli.operations import cli_name
from synapse_dyn.cli.params import NULL, JsonType, Nullable, TypedChoice, option_shape
from synapse_dyn.registry import Registry


def test_prescan_takes_globals_anywhere():
    opts, rest = prescan(["-o", "yaml", "projects", "--host=https://h", "list", "--per-page", "3", "--yes",
                          "--profile", "p", "--dry-run", "-y", "--debug"])
    assert rest == ["projects", "list", "--per-page", "3"]
    assert (opts.output, opts.host, opts.profile) == ("yaml", "https://h", "p")
    assert opts.yes and opts.dry_run and opts.debug and not opts.quiet
    assert opts.given == {"output", "host", "yes", "profile", "dry_run", "debug"}


def test_prescan_short_output_forms_and_double_dash():
    assert prescan(["-ojson", "x"])[0].output == "json"
    opts, rest = prescan(["api", "GET", "/x", "--", "--host", "h"])
    assert opts.host is None and rest == ["api", "GET", "/x", "--", "--host", "h"]


@pytest.mark.parametrize(("args", "message"), [
    (["projects", "--host"], "requires an argument"),
    (["-o", "xml"], "'xml' is not one of table, json, yaml, ndjson"),
    (["--debug=yes"], "is a flag"),
])
def test_prescan_usage_errors(args, message):
    with pytest.raises(click.UsageError, match=message):
        prescan(args)


def test_prescan_leaves_a_commands_own_options_after_its_name():
    opts, rest = prescan(["--host", "h", "sandbox", "serve", "--host", "0.0.0.0", "--quiet"],
                         local=("sandbox", frozenset({"--host", "--quiet"})))
    assert opts.host == "h" and not opts.quiet
    assert rest == ["sandbox", "serve", "--host", "0.0.0.0", "--quiet"]


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
