"""Help at every level, lazily: every operation has a command, and --help builds only what it shows."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import pytest
from conftest import BUNDLED_SCHEMA, reference_release
from test_cli_support import cli_env, invoke, schema2, shared_cache  # noqa: F401 - fixtures

from synapse_dyn.cli.operations import cli_name
from synapse_dyn.cli.params import argument_type
from synapse_dyn.cli.state import AppState
from synapse_dyn.registry import Registry
from synapse_dyn.spec import load_spec


def command_line(registry: Registry, path: tuple[str, ...]) -> list[str]:
    """The words that reach an operation, with a placeholder id for every parent resource."""
    *resources, verb = path
    words = [cli_name(resources[0])]
    node = registry.root.children[resources[0]]
    for resource in resources[1:]:
        node = node.children[resource]
        op = next(o for o in registry.operations if o.name.resources[: len(node.path)] == node.path)
        spec = op.path_param_specs.get(node.depth_param, {})
        placeholder = "1" if argument_type(registry, spec.get("schema")).name == "integer" else "x"
        words += [cli_name(resource), placeholder]
    return words + [cli_name(verb)]


def walk_help(schema: str) -> int:
    registry = load_spec(schema)
    checked = 0
    for path, op in registry.walk():
        words = command_line(registry, path)
        result = invoke("--schema", schema, *words, "--help")
        assert result.exit_code == 0, (words, result.output)
        assert (op.summary or op.qualified_name) in result.stdout, words
        assert f"{op.method.upper()} {op.path}" in result.stdout, words
        for name in op.own_path_params:
            assert cli_name(name).upper().replace("-", "_") in result.stdout, (words, name)
        checked += 1
    assert checked == len(registry.operations)
    return checked


@pytest.mark.filterwarnings("ignore::synapse_dyn.errors.DriftResolvedWarning")
def test_every_operation_of_release_2_has_a_command_with_help():
    assert walk_help(str(reference_release(2))) == 141


def test_every_operation_of_the_bundled_schema_has_a_command_with_help():
    if not BUNDLED_SCHEMA.exists():
        pytest.skip("bundled schema not present")
    assert walk_help("v2") > 100


def test_root_help_lists_resources_without_building_them(schema2):
    state = AppState()
    result = invoke("--help", obj=state)
    assert result.exit_code == 0
    assert state.built == []
    lines = result.stdout.splitlines()
    resources = lines[lines.index("Resources:") + 1:lines.index("Commands:")]
    names = [line.split()[0] for line in resources if line.startswith("  ") and not line.startswith("    ")]
    assert "data-collections" in names and "validation-scripts" in names and "projects" in names
    projects = next(line for line in resources if line.split()[0] == "projects")
    assert "Annotation projects" in projects  # the bundled schema's tag description
    for option in ("--host", "--tenant", "--token", "--drf-token", "--profile", "-o, --output", "--debug",
                   "--quiet", "--sandbox", "--schema", "-y, --yes", "--dry-run"):
        assert option in result.stdout, option


def test_resource_help_builds_only_that_resource(schema2):
    state = AppState()
    result = invoke("projects", "--help", obj=state)
    assert result.exit_code == 0
    assert state.built == ["projects"]
    assert "check-permission" in result.stdout
    assert "tags PROJECT_PK VERB" in result.stdout


def test_operation_help_builds_only_that_command(schema2):
    state = AppState()
    result = invoke("projects", "list", "--help", obj=state)
    assert result.exit_code == 0
    assert state.built == ["projects", "projects.list"]
    for expected in ("--per-page INTEGER", "--category [", "--cursor TEXT", "--all", "GET /v2/projects/"):
        assert expected in result.stdout


def test_nested_help_at_each_level(schema2):
    group = invoke("projects", "tags", "--help")
    verb = invoke("projects", "tags", "1", "create", "--help")
    assert group.exit_code == verb.exit_code == 0
    assert "PROJECT_PK COMMAND" in group.stdout and "create" in group.stdout
    assert "Usage: synapse-dyn projects tags PROJECT_PK create" in verb.stdout
    assert "--name TEXT" in verb.stdout and "--category [export|project]" in verb.stdout


def test_body_help_shows_fields_and_types(schema2):
    result = invoke("projects", "create", "-h")
    assert result.exit_code == 0
    assert "title: string (required)" in result.stdout
    assert "--access-level [public|partially_public|private]" in result.stdout
    assert "--can-discard / --no-can-discard" in result.stdout
    assert "--data JSON|@FILE|-" in result.stdout


def test_completion_scripts():
    bash = invoke("completion", "bash")
    zsh = invoke("completion", "zsh")
    fish = invoke("completion", "fish")
    assert bash.exit_code == zsh.exit_code == fish.exit_code == 0
    assert "_SYNAPSE_DYN_COMPLETE=bash_complete" in bash.stdout
    assert "#compdef synapse-dyn" in zsh.stdout
    assert "complete --no-files --command synapse-dyn" in fish.stdout
    assert invoke("completion", "tcsh").exit_code == 2


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert "synapse-dyn" in result.stdout
