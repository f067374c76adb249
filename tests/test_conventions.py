"""The conventions layer: a backend's envelope, pagination and credentials are data, set by an overrides file.

The client half: a schema whose list answers are offset pages with a ``count`` (no cursor, no
envelope) is listed completely, sync and async, once an overrides file says so, and only then.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from werkzeug import Request, Response

import synapse_dyn
from synapse_dyn import conventions, errors
from synapse_dyn.spec import load_spec

ITEMS = [{"id": i, "name": f"item {i}"} for i in range(1, 8)]

OFFSET_SCHEMA: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Offset-paged backend", "version": "1"},
    "paths": {"/v2/items/": {"get": {
        "operationId": "items_list",
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}},
                       {"name": "offset", "in": "query", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {
            "type": "object", "required": ["count", "results"],
            "properties": {"count": {"type": "integer"},
                           "results": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}}}}},
    }}},
    "components": {"schemas": {"Item": {"type": "object", "required": ["id"],
                                        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}},
}
OFFSET_OVERRIDES = """
conventions:
  envelope: {style: none}
  pagination: {style: offset, size_param: limit, offset_param: offset}
"""


@pytest.fixture()
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "offset.json"
    path.write_text(json.dumps(OFFSET_SCHEMA))
    return path


@pytest.fixture()
def overrides_file(tmp_path: Path) -> Path:
    path = tmp_path / "offset-overrides.yaml"
    path.write_text(OFFSET_OVERRIDES)
    return path


def serve_offset_pages(httpserver) -> list[dict[str, str]]:
    """A backend answering limit/offset with {count, results} and no next link; returns the queries seen."""
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.args))
        limit, offset = int(request.args.get("limit", 3)), int(request.args.get("offset", 0))
        body = {"count": len(ITEMS), "results": ITEMS[offset:offset + limit]}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/v2/items/").respond_with_handler(handler)
    return seen


def test_the_registry_reads_pagination_and_envelope_from_the_overrides_file(schema_file, overrides_file) -> None:
    registry = load_spec(schema_file, overrides=overrides_file, cache=False)
    assert registry.conventions.pagination.style == "offset"
    assert registry.conventions.pagination.size_param == "limit"
    assert registry.conventions.envelope.style == "none"
    assert registry.operation("items.list").pagination_param == "offset"
    plain = load_spec(schema_file, overrides=False, cache=False)
    assert plain.conventions == conventions.build(OFFSET_SCHEMA)  # v2 defaults when nothing says otherwise
    assert plain.conventions.pagination.style == "cursor" and plain.conventions.family == "v2"


def test_offset_pages_are_listed_completely_by_the_overrides_file_alone(httpserver, schema_file,
                                                                        overrides_file) -> None:
    seen = serve_offset_pages(httpserver)
    url = httpserver.url_for("/").rstrip("/")
    with synapse_dyn.Client(url, schema=schema_file, overrides=overrides_file, allow_insecure=True) as client:
        items = list(client.items.list(limit=3, list_all=True))
    assert [i.id for i in items] == [1, 2, 3, 4, 5, 6, 7]
    assert [q.get("offset") for q in seen] == [None, "3", "6"]
    seen.clear()
    with synapse_dyn.Client(url, schema=schema_file, overrides=False, allow_insecure=True) as client:
        assert len(list(client.items.list(limit=3, list_all=True))) == 3  # cursor defaults: no next, one page


def test_async_list_all_returns_every_item_of_offset_pages(httpserver, schema_file, overrides_file) -> None:
    serve_offset_pages(httpserver)
    url = httpserver.url_for("/").rstrip("/")

    async def main() -> tuple[list[Any], list[Any]]:
        async with synapse_dyn.AsyncClient(url, schema=schema_file, overrides=overrides_file,
                                           allow_insecure=True) as client:
            every = await client.items.list(limit=2, list_all=True)
            streamed = [item async for item in client.items.list(limit=2)]
            return every, streamed

    every, streamed = asyncio.run(main())
    assert [i.id for i in every] == [i["id"] for i in ITEMS] == [i.id for i in streamed]


def test_a_mistyped_convention_names_the_key_and_what_is_valid(schema_file, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("conventions:\n  pagination: {style: offset, offset_parameter: offset}\n")
    with pytest.raises(errors.SpecError, match="offset_parameter.*valid: style, cursor_param"):
        load_spec(schema_file, overrides=bad, cache=False)
    bad.write_text("conventions:\n  pagination: {style: pages}\n")
    with pytest.raises(errors.SpecError, match="'pages'; valid: cursor, offset, none"):
        load_spec(schema_file, overrides=bad, cache=False)  # checked at load, not on first use


def test_credentials_come_from_the_conventions_and_the_legacy_extension() -> None:
    v1 = load_spec("v1")
    assert v1.conventions.family == "v1"
    assert v1.conventions.auth["access_token"].format == "Token {}"
    assert v1.conventions.auth["tenant"].secret is False and v1.conventions.auth["agent_token"].secret is True
    renamed = dict(OFFSET_SCHEMA, **{"x-synapse-conventions": {
        "auth": {"access_token": {"header": "X-Api-Key"}, "drf_token": None}}})
    auth = conventions.build(renamed).auth
    assert auth["access_token"].header == "X-Api-Key" and "drf_token" not in auth
    assert auth["access_token"].env == ("SYNAPSE_BACKEND_V2_ACCESS_TOKEN",)  # merged over the v2 defaults
