"""End to end: full workflows through the REAL HTTP server (sync and async), the ``demo``
command, and ``sandbox serve`` as a separate process stopped with Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from synapse_dyn import AsyncClient, Client, errors, load_spec
from synapse_dyn.registry import Registry
from synapse_dyn.retry import RetryPolicy
from synapse_dyn.sandbox import Faults, Sandbox
from synapse_dyn.sandbox.cli import sandbox_group

REPO_ROOT = Path(__file__).resolve().parents[1]
EMAIL, PASSWORD, TENANT = "frank@synapse.local", "open sesame", "acme"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_spec("v2")


@pytest.fixture
def served(registry: Registry, tmp_path: Path) -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(registry, db=tmp_path / "e2e.db")
    sandbox.create_user(EMAIL, PASSWORD, TENANT)
    with sandbox.serve(port=0) as url:
        yield sandbox, url
    sandbox.close()


def test_a_full_workflow_over_http(served: tuple[Sandbox, str], registry: Registry) -> None:
    sandbox, url = served
    assert url.startswith("http://127.0.0.1:")
    with Client(url, tenant=TENANT, schema=registry, allow_insecure=True, retries=0) as client:
        client.auth.login(email=EMAIL, password=PASSWORD)
        created = client.tokens.create({"description": "e2e"})
        client.set_access_token(created["token"])
        client.set_drf_token(None)

        collection = client.data_collections.create({"name": "Scans", "category": "image"})
        project = client.projects.create({"title": "Lungs", "category": "image", "configuration": {},
                                          "data_collection": collection.id})
        units = [client.data_units.create({"data_collection": collection.id}) for _ in range(12)]
        tasks = [client.tasks.create({"project": project.id, "data_unit": u.id}) for u in units]
        tag = client.projects.tags(project_id=project.id).create({"name": "urgent", "category": "project"})

        first = client.tasks.list(project=project.id, per_page=5)
        assert len(first.results) == 5 and first.next
        assert [t.id for t in client.tasks.list(project=project.id, per_page=5, list_all=True)] == [
            t.id for t in tasks]
        assert client.projects.retrieve(project.id).task_count == 12
        assert client.projects.tags(project.id).retrieve(tag.id).project_id == project.id

        client.tasks.partial_update(tasks[0].id, {"meta": {"priority": "high"}})
        assert client.tasks.retrieve(tasks[0].id).meta == {"priority": "high"}
        assert client.projects.check_permission(project.id, permission="view") is None
        assert client.projects.permissions(project.id).permissions

        client.tasks.destroy(tasks[-1].id)
        with pytest.raises(errors.NotFoundError) as caught:
            client.tasks.retrieve(tasks[-1].id)
        assert caught.value.request_id and caught.value.request_id.startswith("req_")
    with httpx.Client() as http:
        answer = http.get(f"{url}/v2/tasks/{tasks[0].id}/", headers={"SYNAPSE-ACCESS-TOKEN": created["token"]})
    assert answer.json()["meta"]["request_id"] == answer.headers["x-request-id"]
    assert answer.headers["content-type"] == "application/json"


def test_an_async_workflow_over_http(served: tuple[Sandbox, str], registry: Registry) -> None:
    sandbox, url = served
    token = sandbox.issue_token(EMAIL, TENANT)

    async def run() -> None:
        async with AsyncClient(url, access_token=token, tenant=TENANT, schema=registry, allow_insecure=True,
                               retries=0) as client:
            project = await client.projects.create({"title": "Async", "category": "text", "configuration": {}})
            made = await asyncio.gather(*[client.tasks.create({"project": project.id, "data_unit": n})
                                          for n in range(1, 31)])
            assert len({t.id for t in made}) == 30
            page = await client.tasks.list(per_page=8)
            assert len(page.results) == 8 and page.next
            first = await client.tasks.list(per_page=8).first_page()
            assert [t.id for t in first.results] == [t.id for t in page.results]
            streamed = [t.id async for t in client.tasks.list(project=project.id, per_page=7)]
            assert sorted(streamed) == sorted(t.id for t in made) and len(streamed) == 30
            renamed = await client.projects.partial_update(project.id, {"title": "Async 2"})
            assert renamed.title == "Async 2"
            with pytest.raises(errors.NotFoundError):
                await client.projects.retrieve(999)

    asyncio.run(run())


def test_faults_over_http_drop_the_socket(registry: Registry) -> None:
    sandbox = Sandbox(registry, faults=Faults(drop_rate=0.0))
    sandbox.create_user(EMAIL, PASSWORD, TENANT)
    token = sandbox.issue_token(EMAIL, TENANT)
    with sandbox.serve(port=0) as url:
        sandbox.faults.drop_next(1)
        with httpx.Client() as http, pytest.raises(httpx.RemoteProtocolError):
            http.get(f"{url}/v2/projects/", headers={"SYNAPSE-ACCESS-TOKEN": token})
        sandbox.faults.drop_next(1).rate_limit_next(1, retry_after=0).fail_next(1, status=503)
        retrying = RetryPolicy(retries=4, backoff=0.001, max_backoff=0.002)
        with Client(url, access_token=token, tenant=TENANT, schema=registry, allow_insecure=True,
                    retries=retrying) as client:
            assert client.projects.list().results == []
    assert dict(sandbox.faults.injected) == {"drop": 2, "rate_limit": 1, "error": 1}
    sandbox.close()


def test_the_demo_command_walks_through_the_workflow() -> None:
    result = CliRunner().invoke(sandbox_group, ["demo"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Sandbox: v2 schema")
    assert re.search(r"^1\. login as demo@synapse\.local: DRF token \*\*\*\w{4}$", lines[1])
    assert re.search(r"^2\. access token #\d+ created: syn_\*\*\*\w{4} \(shown once\)$", lines[2])
    assert "walked 3 pages of 10+10+5 = 25 tasks, 25 distinct" in result.output
    assert "8. permission check on project #1: edit allowed" in result.output
    assert "syn_" not in result.output.replace("syn_***", "")  # secrets stay masked


def test_the_demo_command_can_keep_its_data(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(sandbox_group, ["demo", "--db", str(db), "--tasks", "4", "--per-page", "3"])
    assert result.exit_code == 0, result.output
    assert "walked 2 pages of 3+1 = 4 tasks, 4 distinct" in result.output
    with Sandbox(db=db) as sandbox:
        assert sandbox.store.count("tasks") == 4


def test_serve_runs_a_real_server_until_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)}
    code = "from synapse_dyn.sandbox.cli import sandbox_group; sandbox_group(prog_name='sandbox')"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", "0", "--demo-data", "--db", str(tmp_path / "s.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT)
    try:
        url = token = None
        deadline = time.monotonic() + 30
        while (url is None or token is None) and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("Listening on "):
                url = line.split()[2]
            elif line.startswith("Access token: "):
                token = line.split()[2]
        assert url and url.startswith("http://127.0.0.1:") and token
        # The server logs a request after answering it, in the request's thread: wait for the log line
        # before Ctrl-C, or the process may exit between the answer and the log (the race seen in CI).
        log: list[str] = []
        logged = threading.Event()
        reader = threading.Thread(target=_collect, args=(process.stderr, log, logged), daemon=True)
        reader.start()
        answer = httpx.get(f"{url}/v2/tasks/?per_page=5", headers={"SYNAPSE-ACCESS-TOKEN": token})
        assert answer.status_code == 200 and len(answer.json()["data"]) == 5
        assert logged.wait(15), "".join(log)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
        reader.join(15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    err = "".join(log)
    assert process.returncode == 0, err
    assert "GET /v2/tasks/?per_page=5 -> 200" in err and "Stopping." in err


def _collect(stream, lines: list[str], logged: threading.Event) -> None:
    for line in stream:
        lines.append(line)
        if "GET /v2/tasks/?per_page=5 -> 200" in line:
            logged.set()
