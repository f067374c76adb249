"""The conventions layer, sandbox half: a schema whose list answers are offset pages with a ``count``
is served by the sandbox once an overrides file says so (and only then), and the CLI lists it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from synapse_dyn import Client
from synapse_dyn.cli import cli
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox
from synapse_dyn.spec import load_spec

THING = {"$ref": "#/components/schemas/Thing"}
OFFSET_SCHEMA: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Offset-paged backend", "version": "1"},
    "security": [],
    "paths": {
        "/v2/things/": {
            "get": {
                "operationId": "things_list",
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                               {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["count", "results"],
                    "properties": {"count": {"type": "integer"},
                                   "next": {"type": "string", "nullable": True},
                                   "previous": {"type": "string", "nullable": True},
                                   "results": {"type": "array", "items": THING}}}}}}},
            },
            "post": {
                "operationId": "things_create",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {"schema": THING}}}},
            },
        },
    },
    "components": {"schemas": {"Thing": {"type": "object", "required": ["id", "name"], "properties": {
        "id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}}}}},
}
CONVENTIONS = {"envelope": {"style": "none"},
               "pagination": {"style": "offset", "size_param": "limit", "offset_param": "offset", "count": "count"}}
OFFSET_OVERRIDES = """
conventions:
  envelope: {style: none}
  pagination: {style: offset, size_param: limit, offset_param: offset, count: count}
"""


@pytest.fixture()
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    schema = tmp_path / "offset.json"
    schema.write_text(json.dumps(OFFSET_SCHEMA))
    overrides = tmp_path / "offset-overrides.yaml"
    overrides.write_text(OFFSET_OVERRIDES)
    box = Sandbox(load_spec(schema, overrides=overrides, cache=False))
    with httpx.Client(transport=box.transport(), base_url=SANDBOX_ORIGIN) as http:
        for index in range(1, 6):
            assert http.post("/v2/things/", json={"name": f"thing {index}"}).status_code == 201
    yield box
    box.close()


def test_the_sandbox_answers_offset_pages_with_a_count(sandbox: Sandbox) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url=SANDBOX_ORIGIN) as http:
        first = http.get("/v2/things/", params={"limit": 2}).json()
        middle = http.get("/v2/things/", params={"limit": 2, "offset": 2}).json()
        last = http.get("/v2/things/", params={"limit": 2, "offset": 4}).json()
    assert first["count"] == 5 and [t["id"] for t in first["results"]] == [1, 2] and first["previous"] is None
    assert first["next"] == f"{SANDBOX_ORIGIN}/v2/things/?limit=2&offset=2"
    assert [t["id"] for t in middle["results"]] == [3, 4]
    assert middle["previous"] == f"{SANDBOX_ORIGIN}/v2/things/?limit=2"
    assert [t["id"] for t in last["results"]] == [5] and last["next"] is None
    assert "data" not in first and "meta" not in first  # envelope: none


def test_without_the_overrides_file_the_same_schema_gets_cursor_pages(tmp_path: Path) -> None:
    schema = tmp_path / "plain.json"
    schema.write_text(json.dumps(OFFSET_SCHEMA))
    with Sandbox(load_spec(schema, overrides=False, cache=False)) as box, httpx.Client(
            transport=box.transport(), base_url=SANDBOX_ORIGIN) as http:
        http.post("/v2/things/", json={"name": "x"})
        answer = http.get("/v2/things/").json()
    assert set(answer) == {"data", "meta"} and "pagination" in answer["meta"]  # the v2 defaults


def test_the_client_lists_every_item_through_the_sandbox(sandbox: Sandbox) -> None:
    with Client(SANDBOX_ORIGIN, transport=sandbox.transport(), schema=sandbox.registry, retries=0) as client:
        page = client.things.list(limit=2)
        assert page.count == 5 and len(page.results) == 2
        assert [t.id for t in client.things.list(limit=2, list_all=True)] == [1, 2, 3, 4, 5]


def test_the_cli_lists_it(sandbox: Sandbox, tmp_path: Path) -> None:
    # The same conventions carried by the schema itself, as an extension (no overrides file).
    schema = tmp_path / "cli.json"
    schema.write_text(json.dumps({**OFFSET_SCHEMA, "x-synapse-conventions": CONVENTIONS}))
    with httpx.Client(transport=sandbox.transport(), base_url=SANDBOX_ORIGIN) as http:
        for index in range(6, 26):  # 25 things: two of the sandbox's default 20-item pages
            http.post("/v2/things/", json={"name": f"thing {index}"})
    with sandbox.serve(port=0) as url:
        every = CliRunner().invoke(cli, ["--schema", str(schema), "--host", url, "--quiet", "-o", "ndjson",
                                         "things", "list", "--all"])
        first = CliRunner().invoke(cli, ["--schema", str(schema), "--host", url, "--quiet", "-o", "json",
                                         "things", "list"])
    assert every.exit_code == 0, every.output
    assert [json.loads(line)["id"] for line in every.stdout.splitlines()] == list(range(1, 26))
    assert first.exit_code == 0, first.output
    page = json.loads(first.stdout)
    assert page["count"] == 25 and len(page["results"]) == 20 and page["next"].endswith("/v2/things/?offset=20")


def test_the_cli_applies_an_overrides_file_and_keeps_the_schemas_limit(sandbox: Sandbox, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The plain schema (cursor defaults) becomes offset-paged by --overrides / SYNAPSE_DYN_OVERRIDES alone;
    # ``--limit`` is then the schema's page size, ``--max-items`` the CLI's own item cap.
    schema = tmp_path / "plain.json"
    schema.write_text(json.dumps(OFFSET_SCHEMA))
    overrides = tmp_path / "offset-overrides.yaml"
    overrides.write_text(OFFSET_OVERRIDES)
    base = ["--schema", str(schema), "--quiet", "-o", "json"]
    with sandbox.serve(port=0) as url:
        paged = CliRunner().invoke(cli, [*base, "--overrides", str(overrides), "--host", url,
                                         "things", "list", "--limit", "2"])
        capped = CliRunner().invoke(cli, [*base, "--overrides", str(overrides), "--host", url,
                                          "things", "list", "--limit", "2", "--max-items", "3"])
        monkeypatch.setenv("SYNAPSE_DYN_OVERRIDES", str(overrides))
        from_env = CliRunner().invoke(cli, [*base, "--host", url, "things", "list", "--limit", "4"])
    assert paged.exit_code == 0, paged.output
    page = json.loads(paged.stdout)
    assert page["count"] == 5 and [t["id"] for t in page["results"]] == [1, 2]
    assert capped.exit_code == 0, capped.output
    assert [t["id"] for t in json.loads(capped.stdout)["results"]] == [1, 2, 3]
    assert from_env.exit_code == 0, from_env.output
    assert [t["id"] for t in json.loads(from_env.stdout)["results"]] == [1, 2, 3, 4]
