"""``synapse-dyn mcp`` as a real process: the SDK's client over stdio and over streamable HTTP, sandbox behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from conftest import REPO_ROOT  # noqa: E402
from mcp import Client as McpClient  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from test_mcp import READ_ONLY_BUDGET, wire_size  # noqa: E402

KNOWN_TOKEN = "syn_0123456789abcdefKNOWNSECRET"
TOOL_ERROR = re.compile(r"[A-Za-z]+Error \d{3} [A-Z_]+: .+ \(request_id=req_\w+\)")


def command() -> list[str]:
    """The installed ``synapse-dyn`` script, else ``python -m synapse_dyn``."""
    script = Path(sys.executable).with_name("synapse-dyn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "synapse_dyn"]


def make_env(base: Path) -> dict[str, str]:
    """The test environment with a sandbox database and config dir under ``base``."""
    out = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SYNAPSE_DYN_SANDBOX_DB": str(base / "sandbox.db"),
           "SYNAPSE_DYN_CONFIG_DIR": str(base / "config")}
    for name in ("SYNAPSE_BACKEND_V2_HOST", "SYNAPSE_BACKEND_V2_ACCESS_TOKEN", "SYNAPSE_DYN_SCHEMA",
                 "SYNAPSE_DYN_PROFILE"):
        out.pop(name, None)
    return out


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return make_env(tmp_path)


def over_stdio(env: dict[str, str], errlog: Path, args: list[str], body: Callable[[McpClient], Awaitable[Any]],
               mode: str = "auto") -> Any:
    """Run ``body`` against ``synapse-dyn mcp ARGS`` over stdio; ``mode="legacy"`` is the 2025 handshake."""
    cmd = command()
    params = StdioServerParameters(command=cmd[0], args=cmd[1:] + ["mcp", *args], env=env, cwd=str(REPO_ROOT))

    async def main() -> Any:
        with errlog.open("w") as err:
            async with McpClient(stdio_client(params, errlog=err), read_timeout_seconds=60, mode=mode) as mcp:
                return await body(mcp)

    try:
        return anyio.run(main)
    except Exception as exc:  # noqa: BLE001 - show what the server said, not the SDK's task-group trace
        pytest.fail(f"{type(exc).__name__} talking to the server; its stderr: {errlog.read_text()}")


async def walk_pages(mcp: McpClient, tool: str, per_page: int) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        result = await mcp.call_tool(tool, {"per_page": per_page, **({"cursor": cursor} if cursor else {})})
        assert not result.is_error, result.content[0].text
        pages.append(json.loads(result.content[0].text))
        cursor = pages[-1]["next"]
        if not cursor or len(pages) > 10:
            return pages


def test_stdio_lists_reads_pages_refuses_writes_and_reports_errors(env, tmp_path):
    async def body(mcp: McpClient) -> dict[str, Any]:
        listing = await mcp.list_tools()
        pages = await walk_pages(mcp, "tasks_list", 10)
        refused = await mcp.call_tool("projects_create", {"title": "t", "category": "image", "configuration": {}})
        missing = await mcp.call_tool("projects_retrieve", {"id": 999999})
        return {"listing": listing, "pages": pages, "refused": refused, "missing": missing}

    got = over_stdio(env, tmp_path / "stderr.txt", ["--sandbox"], body)

    assert len(got["listing"].tools) == 100
    assert wire_size(got["listing"]) < READ_ONLY_BUDGET
    assert [len(page["results"]) for page in got["pages"]] == [10, 10, 10]
    assert len({task["id"] for page in got["pages"] for task in page["results"]}) == 30
    assert got["refused"].is_error and "--allow-writes" in got["refused"].content[0].text
    assert got["missing"].is_error and TOOL_ERROR.fullmatch(got["missing"].content[0].text)


def test_stdio_dry_run_and_errors_never_show_the_token(env, tmp_path):
    async def body(mcp: McpClient) -> list[Any]:
        dry = await mcp.call_tool("projects_create", {"title": "t", "category": "image", "configuration": {},
                                                      "dry_run": True})
        denied = await mcp.call_tool("projects_list", {})
        return [dry, denied]

    errlog = tmp_path / "stderr.txt"
    dry, denied = over_stdio(env, errlog, ["--sandbox", "--allow-writes", "--debug", "--token", KNOWN_TOKEN], body,
                              mode="legacy")
    request = json.loads(dry.content[0].text)["request"]

    assert not dry.is_error and request["method"] == "POST"
    assert request["headers"]["SYNAPSE-ACCESS-TOKEN"].startswith("syn_***")
    assert denied.is_error and TOOL_ERROR.fullmatch(denied.content[0].text)
    assert denied.content[0].text.startswith("AuthenticationError 401")
    log = errlog.read_text()
    assert "projects_list: AuthenticationError 401" in log
    for text in (dry.content[0].text, denied.content[0].text, log):
        assert KNOWN_TOKEN not in text


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``synapse-dyn mcp --sandbox --allow-writes --http 0``, one for the module: (its URL, its stderr file)."""
    base = tmp_path_factory.mktemp("mcp-http")
    env = make_env(base)
    errlog = base / "stderr.txt"
    with errlog.open("w") as err:
        process = subprocess.Popen([*command(), "mcp", "--sandbox", "--allow-writes", "--token", KNOWN_TOKEN,
                                    "--http", "0"], env=env, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"MCP server at (http://127\.0\.0\.1:\d+/mcp)", errlog.read_text())
            url = found[1] if found else time.sleep(0.1)
        assert url, errlog.read_text()
        yield url, errlog
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_http_serves_the_same_tools_on_loopback(http_server):
    url, errlog = http_server

    async def body() -> dict[str, Any]:
        async with McpClient(url) as mcp:
            return {
                "listing": await mcp.list_tools(),
                "read": await mcp.call_tool("tasks_list", {"per_page": 5}),
                "dry": await mcp.call_tool("call_operation", {"operation": "projects.tags.create", "arguments": {
                    "project_pk": 1, "name": "urgent", "category": "project", "dry_run": True}}),
                "delete": await mcp.call_tool("call_operation", {"operation": "projects_destroy",
                                                                 "arguments": {"id": 1}}),
                "bad": await mcp.call_tool("projects_create", {"title": 3}),
            }

    got = anyio.run(body)
    names = [tool.name for tool in got["listing"].tools]
    request = json.loads(got["dry"].content[0].text)["request"]

    assert len(names) == 100 and "projects_create" in names and "projects_destroy" not in names
    assert got["read"].is_error and TOOL_ERROR.fullmatch(got["read"].content[0].text)  # --token is not the sandbox's
    assert request["url"].endswith("/v2/projects/1/tags/") and request["json"]["name"] == "urgent"
    assert got["delete"].is_error and "--allow-deletes" in got["delete"].content[0].text
    assert got["bad"].is_error and got["bad"].content[0].text.startswith("ValidationError")
    log = errlog.read_text()
    assert "tasks_list: AuthenticationError 401" in log
    for text in [log] + [r.content[0].text for r in got.values() if hasattr(r, "content")]:
        assert KNOWN_TOKEN not in text


def test_http_refuses_a_foreign_host_header(http_server):
    """DNS-rebinding protection: a page on another origin cannot drive the loopback server."""
    import httpx

    url, _ = http_server
    response = httpx.post(url, headers={"Host": "evil.example", "Content-Type": "application/json",
                                        "Accept": "application/json, text/event-stream"},
                          json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code in (400, 403, 421)
