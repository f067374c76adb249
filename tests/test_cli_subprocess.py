"""The CLI as a real process: ``python -m synapse_dyn``, streaming, terminals, completion, warm start."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time

import pytest
from conftest import REPO_ROOT
from test_cli_support import (  # noqa: F401 - fixtures
    backend,
    cli_env,
    envelope,
    project_item,
    run_module,
    schema2,
    shared_cache,
)
from werkzeug import Request, Response


def test_module_entry_point_lists_and_reports_errors(backend):
    backend.expect_request("/v2/projects/").respond_with_data(
        envelope([project_item(1)], "req_sub"), content_type="application/json")
    backend.expect_request("/v2/projects/999/").respond_with_data(
        json.dumps({"error": {"code": "NOT_FOUND", "message": "No project 999."}, "meta": {"request_id": "r404"}}),
        status=404, content_type="application/json")

    listed = run_module("projects", "list")
    missing = run_module("projects", "retrieve", "999")

    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["results"][0]["id"] == 1
    assert listed.stderr == "request_id=req_sub\n"
    assert missing.returncode == 6
    assert missing.stdout == ""
    assert missing.stderr == "Error: NotFoundError 404 NOT_FOUND: No project 999. (request_id=r404)\n"


def test_ndjson_all_streams_before_the_last_page_is_fetched(backend):
    """Page 3 is only served once the test has read pages 1-2 from the pipe: output must stream."""
    read_first_pages = threading.Event()
    released_by_reader: list[bool] = []

    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor")
        if cursor == "c3":
            released_by_reader.append(read_first_pages.wait(20))
            return Response(envelope([project_item(5)], "req_3"), content_type="application/json")
        ids, nxt = ([1, 2], "c2") if cursor is None else ([3, 4], "c3")
        return Response(envelope([project_item(i) for i in ids], "req_12", next_cursor=nxt),
                        content_type="application/json")

    backend.expect_request("/v2/projects/").respond_with_handler(handler)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "synapse_dyn", "projects", "list", "--all", "-o", "ndjson"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = [json.loads(proc.stdout.readline())["id"] for _ in range(4)]
        read_first_pages.set()
        rest = [json.loads(line)["id"] for line in proc.stdout]
        assert proc.wait(30) == 0, proc.stderr.read()
    finally:
        read_first_pages.set()
        proc.kill()
        proc.wait()
    assert first == [1, 2, 3, 4]
    assert rest == [5]
    assert released_by_reader == [True]


def run_on_terminal(args: list[str], keys: bytes = b"") -> tuple[int, str, str]:
    """Run the CLI with stdin and stdout on a pseudo-terminal; returns (exit code, terminal text, stderr)."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "synapse_dyn", *args], stdin=slave, stdout=slave,
                            stderr=subprocess.PIPE, env=env)
    os.close(slave)
    if keys:
        os.write(master, keys)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    code = proc.wait(30)
    os.close(master)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    return code, screen, proc.stderr.read().decode()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminal behaviour checked on Linux")
def test_terminal_gets_a_table_and_delete_asks_first(backend):
    backend.expect_request("/v2/projects/").respond_with_data(
        envelope([project_item(1), project_item(2)], "req_tty"), content_type="application/json")
    deleted: list[str] = []
    backend.expect_request("/v2/projects/42/", method="DELETE").respond_with_handler(
        lambda r: deleted.append(r.path) or Response("", status=204))

    code, screen, _ = run_on_terminal(["projects", "list"])
    declined, _, declined_err = run_on_terminal(["projects", "destroy", "42"], b"n\n")
    assert deleted == []
    accepted, _, accepted_err = run_on_terminal(["projects", "destroy", "42"], b"y\n")

    assert code == 0
    header = next(line for line in screen.splitlines() if line.strip().startswith("id"))
    assert header.split()[:3] == ["id", "title", "category"]
    assert declined == 1
    assert "Send DELETE http://" in declined_err and "aborted: nothing was sent" in declined_err
    assert accepted == 0, accepted_err
    assert deleted == ["/v2/projects/42/"]


def test_completion_of_resources_and_verbs(schema2):
    def complete(words: str, cword: int) -> list[str]:
        result = run_module(env={"_SYNAPSE_DYN_COMPLETE": "bash_complete", "COMP_WORDS": words,
                                 "COMP_CWORD": str(cword)})
        assert result.returncode == 0, result.stderr
        return [line.split(",", 1)[1] for line in result.stdout.splitlines()]

    assert {"projects", "plugins", "plugin-releases"} <= set(complete("synapse-dyn p", 1))
    assert complete("synapse-dyn projects check", 2) == ["check-permission"]
    assert "--per-page" in complete("synapse-dyn projects list --per", 3)


def test_warm_help_parses_no_yaml_and_imports_no_http_stack(schema2, tmp_path):
    probe = (
        "import json, sys, yaml\n"
        "calls = []\n"
        "original = yaml.load\n"
        "yaml.load = lambda *a, **k: calls.append(1) or original(*a, **k)\n"
        "from synapse_dyn.cli import main\n"
        "for args in (['--help'], ['projects', 'list', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0, exit.code\n"
        "heavy = [m for m in ('httpx', 'rich', 'jsonschema', 'jsonschema_rs') if m in sys.modules]\n"
        "print(json.dumps({'yaml_loads': len(calls), 'heavy': heavy}), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SYNAPSE_DYN_CACHE_DIR": str(tmp_path / "cold-cache")}

    def probe_run() -> dict:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stderr.strip().splitlines()[-1])

    cold, warm = probe_run(), probe_run()
    assert cold["yaml_loads"] >= 1
    assert warm == {"yaml_loads": 0, "heavy": []}


def test_sandbox_flag_talks_to_the_local_sandbox(tmp_path):
    pytest.importorskip("synapse_dyn.sandbox")
    env = {"SYNAPSE_DYN_SANDBOX_DB": str(tmp_path / "sandbox.db")}
    listed = run_module("--sandbox", "projects", "list", "-o", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    projects = json.loads(listed.stdout)["results"]
    assert projects and all("id" in p for p in projects)
    created = run_module("projects", "create", "--title", "from cli", "--category", "image",
                         "--configuration", "{}", "--sandbox", "-o", "json", env=env)
    assert created.returncode == 0, created.stderr
    again = run_module("--sandbox", "projects", "retrieve", str(json.loads(created.stdout)["id"]), env=env)
    assert json.loads(again.stdout)["title"] == "from cli"
