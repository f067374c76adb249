"""The MCP server: the catalog's tools served with the official SDK's low-level ``Server``.

Tool lists are generated from the catalog, not declared one by one. Calls run the
synchronous client in a worker thread, so one slow backend call never blocks the
protocol loop. Every call is logged as one masked line on the ``synapse_dyn.mcp`` logger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server

from .. import __version__
from ..masking import scrub
from .calls import ToolError, run, to_text
from .catalog import CALL_TOOL, SEARCH_TOOL, Catalog, ToolSpec

logger = logging.getLogger("synapse_dyn.mcp")
REQUEST_ID_META = "synapse-dyn/request_id"
SEARCH_LIMIT = 10

SEARCH_SCHEMA = {"type": "object", "required": ["query"], "properties": {
    "query": {"type": "string", "description": "Words to look for, e.g. 'project tags'."},
    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": SEARCH_LIMIT}}}
CALL_SCHEMA = {"type": "object", "required": ["operation"], "properties": {
    "operation": {"type": "string", "description": "A tool name from search_operations."},
    "arguments": {"type": "object", "description": "Its arguments, as its input_schema says."}}}


def meta_tools(catalog: Catalog) -> list[types.Tool]:
    reach = f"all {len(catalog.specs)} operations" + (
        f", including {catalog.hidden_count} not listed as tools" if catalog.hidden_count else "")
    return [
        types.Tool(name=SEARCH_TOOL, input_schema=SEARCH_SCHEMA,
                   description=f"Find operations by keyword among {reach}; returns their input schemas.",
                   annotations=types.ToolAnnotations(read_only_hint=True)),
        types.Tool(name=CALL_TOOL, input_schema=CALL_SCHEMA,
                   description=f"Call any operation found by {SEARCH_TOOL}, listed or not."),
    ]


def as_tool(spec: ToolSpec) -> types.Tool:
    return types.Tool(name=spec.name, description=spec.description, input_schema=spec.input.schema,
                      annotations=types.ToolAnnotations.model_validate(spec.annotations()))


def instructions(catalog: Catalog) -> str:
    mode = "read-only" if not catalog.policy.allow_writes else "writes allowed (pass dry_run: true to preview)"
    return (f"The Synapse data-labeling API ({catalog.registry.label}), {mode}. Lists return "
            f"{{results, next}}: pass next as cursor for the following page. {SEARCH_TOOL} and {CALL_TOOL} "
            f"reach every operation, including those not listed.")


class ToolServer:
    """The catalog and client behind one MCP ``Server``."""

    def __init__(self, client: Any, catalog: Catalog) -> None:
        self.client = client
        self.catalog = catalog
        self.tools = meta_tools(catalog) + [as_tool(spec) for spec in catalog.listed]
        self.schemas = {tool.name: tool.input_schema for tool in self.tools}

    def build(self) -> Server[Any]:
        return Server("synapse-dyn", version=__version__, instructions=instructions(self.catalog),
                      on_list_tools=self.list_tools, on_call_tool=self.call_tool,
                      get_tool_input_schema=self.schemas.get)

    async def list_tools(self, ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        """Run one tool; every expected failure is a tool error (one line), never a protocol error."""
        name, arguments = params.name, dict(params.arguments or {})
        try:
            if name == SEARCH_TOOL:
                return result(self.search(arguments))
            spec, arguments = self.resolve(name, arguments)
            outcome = await anyio.to_thread.run_sync(partial(run, self.client, spec, arguments))
        except ToolError as exc:
            message = str(exc)
            self.log(message if message.startswith(f"{name}:") else f"{name}: {message}", logging.WARNING)
            return result(message, exc.request_id, is_error=True)
        self.log(f"{spec.name}: ok" + (f" (request_id={outcome.request_id})" if outcome.request_id else
                                       " (dry run)" if arguments.get("dry_run") else ""))
        return result(outcome.text, outcome.request_id)

    def resolve(self, name: str, arguments: dict[str, Any]) -> tuple[ToolSpec, dict[str, Any]]:
        """The spec and arguments of a direct call or of a ``call_operation`` call."""
        if name == CALL_TOOL:
            target = arguments.get("operation")
            inner = arguments.get("arguments") or {}
            if not isinstance(target, str) or not isinstance(inner, Mapping):
                raise ToolError(f"{CALL_TOOL}: 'operation' must be a string and 'arguments' an object")
            unknown = sorted(set(arguments) - {"operation", "arguments"})
            if unknown:
                raise ToolError(f"{CALL_TOOL}: unknown argument(s) {', '.join(unknown)}; valid: operation, arguments")
            name, arguments = target, dict(inner)
        spec = self.catalog.find(name)
        if spec is None:
            raise ToolError(self.catalog.refusal(name))
        return spec, arguments

    def search(self, arguments: dict[str, Any]) -> str:
        query = arguments.get("query")
        limit = arguments.get("limit", SEARCH_LIMIT)
        if not isinstance(query, str) or not isinstance(limit, int) or isinstance(limit, bool):
            raise ToolError(f"{SEARCH_TOOL}: 'query' must be a string and 'limit' an integer")
        found = self.catalog.search(query, min(max(limit, 1), 50))
        return to_text({"operations": [spec.summary() for spec in found]}, [])

    def log(self, line: str, level: int = logging.INFO) -> None:
        logger.log(level, "%s", scrub(line, self.client.credentials.secret_header_values()))


def result(text: str, request_id: str | None = None, is_error: bool = False) -> types.CallToolResult:
    """A text result; the backend's request id, when there is one, also in ``_meta``."""
    meta = {REQUEST_ID_META: request_id} if request_id else None
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=is_error, _meta=meta)


def create_server(client: Any, catalog: Catalog) -> Server[Any]:
    """The SDK ``Server`` for a client and a catalog (for stdio, HTTP, or an in-process test client)."""
    return ToolServer(client, catalog).build()


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def serve_http(server: Server[Any], bind: str, port: int, announce: Any) -> None:
    """Serve streamable HTTP at ``http://BIND:PORT/mcp`` until interrupted; ``announce(url)`` once listening."""
    import socket

    import uvicorn

    app = server.streamable_http_app(host=bind)
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    sock.listen(128)  # connections made right after the announcement wait in the backlog
    host, actual = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    announce(f"http://{shown}:{actual}/mcp")
    uvicorn.Server(config).run(sockets=[sock])


def tool_list_size(server_tools: list[types.Tool]) -> int:
    """Bytes of a ``tools/list`` result as it goes on the wire (compact JSON, aliases, no nulls)."""
    result = types.ListToolsResult(tools=server_tools)
    return len(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True),
                          separators=(",", ":")).encode())


__all__ = ["ToolServer", "create_server", "serve_http", "serve_stdio", "tool_list_size"]
