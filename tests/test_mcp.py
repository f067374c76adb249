"""The MCP server in process: the SDK's own client against the server, the sandbox behind the client."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from conftest import BUNDLED_SCHEMA, REPO_ROOT  # noqa: E402
from mcp import Client as McpClient  # noqa: E402

import synapse_dyn  # noqa: E402
from synapse_dyn.errors import NotFoundError  # noqa: E402
from synapse_dyn.mcp import Catalog, Policy, PolicyError  # noqa: E402
from synapse_dyn.mcp.server import create_server, tool_list_size  # noqa: E402
from synapse_dyn.sandbox import Sandbox  # noqa: E402

READ_ONLY_BUDGET = 40_000  # bytes of tools/list, bundled schema, read-only: 33,386 when this was written
TENANT = "acme"


@pytest.fixture
def sandbox() -> Any:
    with Sandbox() as box:
        box.create_user("agent@example.com", "pw-agent-1", tenant=TENANT)
        yield box


@pytest.fixture
def token(sandbox: Any) -> str:
    return sandbox.issue_token("agent@example.com", TENANT)


@pytest.fixture
def client(sandbox: Any, token: str) -> Any:
    with synapse_dyn.Client("https://sandbox.local", transport=sandbox.transport(), access_token=token,
                            tenant=TENANT, schema=sandbox.registry, retries=0) as api:
        for index in range(5):
            api.projects.create(title=f"project {index}", category="image", configuration={})
        yield api


def talk(client: Any, policy: Policy, body: Callable[[McpClient], Awaitable[Any]]) -> Any:
    """Run ``body`` with an SDK client connected to a server over ``client`` with ``policy``."""
    server = create_server(client, Catalog(client.registry, policy))

    async def main() -> Any:
        async with McpClient(server) as mcp:
            return await body(mcp)

    return anyio.run(main)


def call(client: Any, policy: Policy, name: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    async def body(mcp: McpClient) -> Any:
        return await mcp.call_tool(name, arguments)

    result = talk(client, policy, body)
    return result.is_error, result.content[0].text


def list_tools(client: Any, policy: Policy) -> Any:
    async def body(mcp: McpClient) -> Any:
        return await mcp.list_tools()

    return talk(client, policy, body)


def wire_size(listing: Any) -> int:
    return len(listing.model_dump_json(by_alias=True, exclude_none=True).encode())


# -- the tool list ---------------------------------------------------------------
def test_read_only_lists_every_get_operation_and_the_meta_tools(client):
    listing = list_tools(client, Policy())
    names = [tool.name for tool in listing.tools]
    gets = [op for op in client.registry.operations if op.method == "get"]

    assert names[:2] == ["search_operations", "call_operation"]
    assert len(names) == len(gets) + 2 == len(set(names))
    assert "projects_list" in names and "projects_tags_list" in names
    assert not {"projects_create", "projects_destroy", "auth_login"} & set(names)
    assert all(tool.annotations.read_only_hint for tool in listing.tools if tool.name != "call_operation")


def test_read_only_tool_list_stays_under_its_byte_budget(client):
    listing = list_tools(client, Policy())
    size = wire_size(listing)

    assert size < READ_ONLY_BUDGET, f"tools/list is {size} bytes"
    assert abs(size - tool_list_size(listing.tools)) < 0.05 * size
    assert "$ref" not in listing.model_dump_json()


def test_tool_names_are_safe_for_every_client_and_unique(client):
    catalog = Catalog(client.registry, Policy(allow_writes=True, allow_deletes=True))

    assert len(catalog.specs) == len(client.registry.operations)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name) for name in catalog.specs)


def test_input_schema_is_compact_and_keeps_enums_and_required_fields(client):
    listing = list_tools(client, Policy(allow_writes=True, max_tools=None))
    create = next(tool for tool in listing.tools if tool.name == "projects_create").input_schema
    tags = next(tool for tool in listing.tools if tool.name == "projects_tags_list").input_schema

    assert set(create["required"]) == {"title", "category", "configuration"}
    assert "image" in create["properties"]["category"]["enum"]
    assert create["properties"]["dry_run"]["type"] == "boolean"
    assert "server_dry_run" in create["properties"]  # the schema's own dry_run query parameter
    assert "id" not in create["properties"]  # read-only fields are not inputs
    assert tags["required"] == ["project_pk"]
    assert "dry_run" not in tags["properties"]


def test_tools_cap_lists_top_level_lists_first_and_search_reaches_the_rest(client):
    listing = list_tools(client, Policy(max_tools=5))
    names = [tool.name for tool in listing.tools]

    assert len(names) == 5 and names[2:] == ["tenants_list", "tokens_list", "data_collections_list"]
    assert "95 not listed" in listing.tools[0].description

    is_error, text = call(client, Policy(max_tools=5), "search_operations", {"query": "project tags", "limit": 3})
    found = json.loads(text)["operations"]
    assert not is_error and found[0]["tool"].startswith("projects_tags_")
    assert found[0]["input_schema"]["required"] == ["project_pk"]

    is_error, text = call(client, Policy(max_tools=5), "call_operation",
                          {"operation": "projects_retrieve", "arguments": {"id": 1}})
    assert not is_error and json.loads(text)["title"] == "project 0"


def test_modes_list_what_the_readme_states(client):
    """Default, --allow-writes and --tools 20, with the command's default cap of 100 tools."""
    figures = {}
    for mode, policy in (("default", Policy(max_tools=100)), ("writes", Policy(allow_writes=True, max_tools=100)),
                         ("twenty", Policy(max_tools=20))):
        listing = list_tools(client, policy)
        figures[mode] = (len(listing.tools), wire_size(listing))

    assert [count for count, _ in figures.values()] == [100, 100, 20]
    assert figures["twenty"][1] < 12_000 < figures["default"][1] < READ_ONLY_BUDGET < figures["writes"][1] < 56_000


def test_the_ten_times_schema_keeps_the_list_capped_and_search_reaches_every_copy(tmp_path):
    import sys

    sys.path.insert(0, str(REPO_ROOT / "bench"))
    from bigschema import synthesize

    from synapse_dyn.spec import load_spec

    big = tmp_path / "big.yaml"
    big.write_text(synthesize(BUNDLED_SCHEMA.read_text(), 10))
    catalog = Catalog(load_spec(str(big)), Policy(max_tools=100))
    found = catalog.search("projects-7 tags", limit=50)

    assert len(catalog.specs) == 980 and len(catalog.listed) == 98
    assert any(spec.op.path.startswith("/v2/projects-7/{project_pk}/tags/") for spec in found)


# -- calls -------------------------------------------------------------------------
def test_read_tool_returns_unwrapped_pages_and_the_cursor_continues(client):
    async def body(mcp: McpClient) -> list[dict[str, Any]]:
        pages, cursor = [], None
        while True:
            arguments = {"per_page": 2, **({"cursor": cursor} if cursor else {})}
            result = await mcp.call_tool("projects_list", arguments)
            assert not result.is_error, result.content[0].text
            assert result.meta["synapse-dyn/request_id"].startswith("req_")
            pages.append(json.loads(result.content[0].text))
            cursor = pages[-1]["next"]
            if not cursor:
                return pages

    pages = talk(client, Policy(), body)

    assert [len(page["results"]) for page in pages] == [2, 2, 1]
    assert [p["title"] for page in pages for p in page["results"]] == [f"project {i}" for i in range(5)]
    assert set(pages[0]) == {"results", "next"}


def test_writes_are_refused_without_allow_writes_and_nothing_is_sent(client):
    arguments = {"title": "new", "category": "image", "configuration": {}}
    direct = call(client, Policy(), "projects_create", arguments)
    indirect = call(client, Policy(), "call_operation", {"operation": "projects.create", "arguments": arguments})

    for is_error, text in (direct, indirect):
        assert is_error
        assert text == "projects.create is a write (POST); the server is read-only (start it with --allow-writes)"
    assert len(client.projects.list(per_page=50).results) == 5


def test_deletes_need_allow_deletes_even_with_writes(client):
    is_error, text = call(client, Policy(allow_writes=True), "projects_destroy", {"id": 1})
    assert is_error and "--allow-deletes" in text
    assert client.projects.retrieve(1).id == 1

    is_error, text = call(client, Policy(allow_writes=True, allow_deletes=True), "projects_destroy", {"id": 1})
    assert (is_error, json.loads(text)) == (False, {"ok": True})
    with pytest.raises(NotFoundError):
        client.projects.retrieve(1)


def test_dry_run_returns_the_masked_request_and_sends_nothing(client, token):
    is_error, text = call(client, Policy(allow_writes=True), "projects_create",
                          {"title": "dry", "category": "image", "configuration": {}, "dry_run": True})
    request = json.loads(text)["request"]

    assert not is_error
    assert (request["method"], request["url"]) == ("POST", "https://sandbox.local/v2/projects/")
    assert request["json"] == {"title": "dry", "category": "image", "configuration": {}}
    assert request["headers"]["SYNAPSE-ACCESS-TOKEN"] != token and token not in text
    assert len(client.projects.list(per_page=50).results) == 5


def test_writes_and_nested_resources_through_call_operation(client):
    policy = Policy(allow_writes=True)
    is_error, text = call(client, policy, "call_operation", {"operation": "projects_tags_create", "arguments": {
        "project_pk": 2, "name": "urgent", "category": "project"}})

    assert not is_error, text
    assert [tag.name for tag in client.projects.tags(2).list().results] == ["urgent"]


def test_errors_are_tool_errors_with_one_line_and_the_request_id(client):
    async def body(mcp: McpClient) -> Any:
        return await mcp.call_tool("projects_retrieve", {"id": 999})

    missing = talk(client, Policy(), body)
    text = missing.content[0].text
    assert missing.is_error
    found = re.fullmatch(r"NotFoundError 404 NOT_FOUND: .+ \(request_id=(req_\w+)\)", text)
    assert found, text
    assert missing.meta["synapse-dyn/request_id"] == found[1]

    is_error, text = call(client, Policy(), "projects_list", {"per_page": 2, "colour": "red"})
    assert is_error and text == "projects_list: unknown argument(s) colour; valid: category, cursor, " \
                                "data_collection, per_page"

    is_error, text = call(client, Policy(allow_writes=True), "projects_create",
                          {"title": "x", "category": "sculpture", "configuration": {}})
    assert is_error and "\n" not in text and "category" in text and "sculpture" not in text

    is_error, text = call(client, Policy(), "no_such_tool", {})
    assert is_error and text == "no operation 'no_such_tool'; use search_operations to find one"


def test_no_secret_in_results_logs_or_errors(client, token, caplog):
    caplog.set_level(logging.DEBUG)
    policy = Policy(allow_writes=True)
    outputs = [
        call(client, policy, "tokens_create", {"description": "for the agent"})[1],
        call(client, policy, "tokens_list", {})[1],
        call(client, policy, "projects_create", {"title": token, "category": "image", "configuration": {},
                                                 "dry_run": True})[1],
        call(client, policy, "projects_retrieve", {"id": token})[1],
    ]
    created = client.tokens.list(per_page=50).results
    assert len(created) == 2  # the fixture's and the agent's
    assert json.loads(outputs[0])["token"].startswith("syn_***")
    for text in outputs + [caplog.text]:
        assert token not in text
    assert "projects_retrieve" in caplog.text


# -- policy --------------------------------------------------------------------------
def test_allow_and_deny_patterns_shape_the_list_and_the_calls(client):
    policy = Policy(allow=("projects", "tasks.list"), deny=("projects.tags", "*.roles"))
    names = {tool.name for tool in list_tools(client, policy).tools}

    assert "projects_list" in names and "tasks_list" in names and "projects_retrieve" in names
    assert not any(n.startswith(("projects_tags", "tasks_retrieve")) for n in names)
    assert "projects_roles" not in names and "projects_grantable_roles" in names
    is_error, text = call(client, policy, "tasks_retrieve", {"id": 1})
    assert is_error and text == "tasks.retrieve is not covered by --allow projects tasks.list"
    is_error, text = call(client, policy, "projects_roles", {"id": 1})
    assert is_error and text == "projects.roles is excluded by --deny"


def test_a_pattern_matching_nothing_is_refused(client):
    with pytest.raises(PolicyError, match=r"^--deny 'projcts' matches no operation; resources: assignments, auth, "):
        Policy(deny=("projcts",)).check_patterns(client.registry)
    with pytest.raises(PolicyError, match="--tools must be at least 2"):
        Policy(max_tools=1).check_patterns(client.registry)
    Policy(allow=("*.list", "projects.tags.create")).check_patterns(client.registry)


# -- the command -------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["--deny", "projx"], "--deny 'projx' matches no operation; resources: assignments, auth, "),
    (["--tools", "many"], "--tools must be a number or 'all', got 'many'"),
    (["--tools", "1"], "--tools must be at least 2 (search_operations and call_operation), got 1"),
])
def test_command_refuses_bad_options_in_one_line(args, message):
    from click.testing import CliRunner

    from synapse_dyn.cli.app import cli

    result = CliRunner().invoke(cli, ["mcp", *args], prog_name="synapse-dyn")

    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {message}") and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_recursive_schemas_are_cut_at_a_fixed_depth():
    from synapse_dyn.mcp.catalog import ToolSpec
    from synapse_dyn.registry import Registry

    node = {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "description": "Shown in the tree. Unique among siblings."},
        "id": {"type": "integer", "readOnly": True},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}
    document = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "components": {"schemas": {"Node": node}},
                "paths": {"/v2/nodes/": {"post": {"operationId": "node_create", "summary": "Create a node",
                                                  "requestBody": {"required": True, "content": {"application/json": {
                                                      "schema": {"$ref": "#/components/schemas/Node"}}}},
                                                  "responses": {"201": {"description": "made"}}}}}}
    spec = ToolSpec("nodes_create", Registry(document).operation("nodes.create"))
    schema = spec.input.schema
    text = json.dumps(schema)

    assert schema["required"] == ["name"] and "id" not in schema["properties"]
    assert schema["properties"]["name"]["description"] == "Shown in the tree."
    assert text.count('"children"') == 2 and "$ref" not in text  # top level, then one level down
