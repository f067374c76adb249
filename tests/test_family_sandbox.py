"""The agent and the Ray dashboard end to end on the local sandbox: jobs that move through their status
enum, logs that grow, nodes; the v1 backend's run_plugin starting a job the agent runs; the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from conftest import REPO_ROOT

import synapse_dyn
from synapse_dyn.cli import cli
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox
from synapse_dyn.v1 import BackendClient

EMAIL = "agent-owner@example.com"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in ("SYNAPSE_AGENT_TOKEN", "SYNAPSE_USER_TOKEN", "SYNAPSE_TENANT", "SYNAPSE_BACKEND_V2_HOST",
                 "SYNAPSE_BACKEND_V2_ACCESS_TOKEN", "SYNAPSE_BACKEND_V2_TENANT", "SYNAPSE_DYN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNAPSE_DYN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SYNAPSE_DYN_SANDBOX_DB", str(tmp_path / "sandbox.db"))


@pytest.fixture
def agent_sandbox(tmp_path):
    sandbox = Sandbox("agent", db=tmp_path / "family.db")
    sandbox.create_user(EMAIL, "pw", tenant="acme")
    yield sandbox
    sandbox.close()


@pytest.fixture
def agent_token(agent_sandbox) -> str:
    return agent_sandbox.issue_token(EMAIL)


@pytest.fixture
def agent(agent_sandbox, agent_token):
    with synapse_dyn.AgentClient(SANDBOX_ORIGIN, agent_token=agent_token, tenant="acme",
                                 transport=agent_sandbox.transport(), retries=0) as client:
        yield client


def test_a_job_moves_through_its_status_enum_and_its_logs_grow(agent_sandbox, agent):
    [made] = agent_sandbox.seed("jobs", tenant="acme", action="train")
    assert made["status"] == "pending"
    assert agent.jobs.list().results[0].status == "pending"       # listing does not move jobs on
    first = agent.jobs.logs(made["id"]).logs.splitlines()
    assert agent.jobs.retrieve(made["id"]).status == "succeeded"
    later = agent.jobs.logs(made["id"]).logs.splitlines()
    assert len(first) == 1 and "train: pending" in first[0]
    assert later[:1] == first and len(later) > len(first) and later[-1].endswith("job succeeded")
    assert agent.jobs.stop(made["id"]).stopped is False            # finished jobs stay finished
    assert agent.jobs.list(status="succeeded").count == 1


def test_stopping_a_running_job(agent_sandbox, agent):
    [made] = agent_sandbox.seed("jobs", tenant="acme")
    assert agent.jobs.retrieve(made["id"]).status == "running"
    assert agent.jobs.stop(made["id"]).stopped is True
    assert agent.jobs.retrieve(made["id"]).status == "stopped"
    assert agent.jobs.logs(made["id"]).logs.splitlines()[-1].endswith("job stopped on request")
    with pytest.raises(synapse_dyn.NotFoundError):
        agent.jobs.stop(made["id"] + 100)


def test_job_pages_in_the_sandbox(agent_sandbox, agent):
    agent_sandbox.seed("jobs", 5, tenant="acme")
    page = agent.jobs.list(page_size=2)
    assert page.count == 5 and len(page.results) == 2 and page.next
    assert [j.id for j in agent.jobs.list(page_size=2, list_all=True)] == [1, 2, 3, 4, 5]


def test_cluster_nodes_tasks_containers_and_serve_applications(agent):
    nodes = agent.nodes.list()
    assert [n["is_head_node"] for n in nodes] == [True, False] and {n["state"] for n in nodes} == {"ALIVE"}
    assert agent.nodes.list() == nodes
    assert {t["state"] for t in agent.tasks.list()} <= {"PENDING_NODE_ASSIGNMENT", "RUNNING", "FINISHED", "FAILED"}
    assert agent.containers.list()[0]["status"] == "running"
    assert [a["name"] for a in agent.serve_applications.list()] == ["default"]
    assert agent.serve_applications.destroy("default") is None
    assert agent.serve_applications.list() == []
    with pytest.raises(synapse_dyn.NotFoundError):
        agent.serve_applications.destroy("default")
    assert agent.health.retrieve() == {"status": "healthy", "version": "sandbox", "ray_connected": True}
    assert len(agent.metrics.retrieve("gpu").series) == 10


def test_the_sandbox_checks_the_agents_credentials(agent_sandbox, agent_token):
    def client(**creds):
        return synapse_dyn.AgentClient(SANDBOX_ORIGIN, transport=agent_sandbox.transport(), retries=0, **creds)

    with client() as anonymous, pytest.raises(synapse_dyn.AuthenticationError):
        anonymous.jobs.list()
    with client(agent_token="not-a-token") as wrong, pytest.raises(synapse_dyn.AuthenticationError):
        wrong.jobs.list()
    agent_sandbox.create_user("other@example.com", "pw", tenant="globex")
    with client(agent_token=agent_token, tenant="globex") as elsewhere, pytest.raises(
            synapse_dyn.AuthorizationError):
        elsewhere.jobs.list()


def test_ray_dashboard_in_the_sandbox():
    with Sandbox("ray") as sandbox, synapse_dyn.RayClient(SANDBOX_ORIGIN, transport=sandbox.transport(),
                                                          retries=0) as ray:
        nodes = ray.nodes.list()
        assert len(nodes.results) == 2 and nodes.next is None
        node_id = nodes.results[1].raylet.nodeId
        assert ray.nodes.retrieve(node_id).detail.raylet.isHeadNode is False
        with pytest.raises(synapse_dyn.NotFoundError, match="No node matches"):
            ray.nodes.retrieve("ff" * 28)
        assert ray.serve_applications.list().applications["default"].status == "RUNNING"


def test_the_sandbox_answers_ray_in_its_envelope(tmp_path):
    import httpx

    with Sandbox("ray") as sandbox, sandbox.serve(port=0) as url:
        ok = httpx.get(f"{url}/nodes").json()
        missing = httpx.get(f"{url}/nodes/{'ff' * 28}")
    assert ok["result"] is True and isinstance(ok["data"]["summary"], list)
    assert missing.status_code == 404 and missing.json()["result"] is False
    assert "No node matches" in missing.json()["msg"]


def test_run_plugin_then_the_agent_runs_logs_and_stops_the_job(tmp_path):
    """v1 BackendClient and AgentClient over HTTP, each against its own sandbox on one database."""
    db = tmp_path / "shared.db"
    with Sandbox("v1", db=db) as backend_sandbox, Sandbox("agent", db=db) as agent_sandbox:
        backend_sandbox.create_user(EMAIL, "pw", tenant="acme")
        user_token = backend_sandbox.issue_token(EMAIL)
        agent_token = backend_sandbox.issue_token(EMAIL, description="agent")
        with backend_sandbox.serve(port=0) as backend_url, agent_sandbox.serve(port=0) as agent_url:
            backend = BackendClient(backend_url, access_token=user_token, tenant="acme", allow_insecure=True)
            agent = synapse_dyn.AgentClient(agent_url, agent_token=agent_token, user_token=user_token,
                                            tenant="acme", allow_insecure=True)
            with backend, agent:
                assert backend.health_check_agent(agent_token)["connected"] is True
                assert backend.health_check_agent("unknown-agent")["connected"] is False
                plugin = backend.create_plugin({"name": "Detector", "code": "detector"})
                run = backend.run_plugin(plugin["id"], {"action": "train", "params": {"epochs": 2}})
                assert run["status"] == "pending"
                [seen] = agent.jobs.list().results
                assert (seen.id, seen.action, seen.status) == (run["id"], "train", "pending")
                logs = agent.jobs.logs(run["id"]).logs.splitlines()
                assert "queued by plugin" in logs[0] and "train: pending" in logs[1]
                assert agent.jobs.stop(run["id"]).stopped is True
                assert agent.jobs.retrieve(run["id"]).status == "stopped"
                assert backend.get_job(run["id"])["status"] == "stopped"   # the backend sees the same job


# -- the CLI -------------------------------------------------------------------------------


def run_cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", **(env or {})}, catch_exceptions=False)


def test_cli_reaches_the_agent_with_a_token_option_environment_or_profile(agent_sandbox, agent_token, tmp_path):
    agent_sandbox.seed("jobs", 2, tenant="acme")
    with agent_sandbox.serve(port=0) as url:
        by_option = run_cli("--schema", "agent", "--host", url, "--token", agent_token, "--tenant", "acme",
                            "jobs", "list", "-o", "json")
        by_env = run_cli("--schema", "agent", "--host", url, "jobs", "retrieve", "1", "-o", "json",
                         env={"SYNAPSE_AGENT_TOKEN": agent_token, "SYNAPSE_TENANT": "acme"})
        config = tmp_path / "config"
        config.mkdir()
        (config / "config.json").write_text(json.dumps({"current": "agent", "profiles": {
            "agent": {"host": url, "access_token": agent_token, "tenant": "acme"}}}))
        os.chmod(config / "config.json", 0o600)
        by_profile = run_cli("--schema", "agent", "jobs", "stop", "2", "-o", "json")
        refused = run_cli("--schema", "agent", "--host", url, "jobs", "list",
                          env={"SYNAPSE_DYN_CONFIG_DIR": str(tmp_path / "no-profiles")})
    assert by_option.exit_code == 0, by_option.output
    assert [j["status"] for j in json.loads(by_option.stdout)["results"]] == ["pending", "pending"]
    assert by_env.exit_code == 0 and json.loads(by_env.stdout)["status"] == "running"
    assert by_profile.exit_code == 0 and json.loads(by_profile.stdout) == {"stopped": True}
    assert refused.exit_code == 4 and "Traceback" not in refused.output


def test_cli_refuses_a_token_for_the_credential_free_ray_dashboard():
    with Sandbox("ray") as sandbox, sandbox.serve(port=0) as url:
        ok = run_cli("--schema", "ray", "--host", url, "nodes", "list", "-o", "json")
        refused = run_cli("--schema", "ray", "--host", url, "--token", "syn_x", "nodes", "list")
    assert ok.exit_code == 0 and len(json.loads(ok.stdout)["results"]) == 2
    assert refused.exit_code == 2
    assert "no credential for --token" in refused.output and "syn_x" not in refused.output


def test_cli_sandbox_option_serves_the_loaded_family():
    agent = run_cli("--schema", "agent", "--sandbox", "jobs", "list", "-o", "json")
    ray = run_cli("--schema", "ray", "--sandbox", "nodes", "list", "-o", "json")
    assert agent.exit_code == 0 and json.loads(agent.stdout)["count"] >= 1
    assert ray.exit_code == 0 and json.loads(ray.stdout)["results"][0]["raylet"]["state"] == "ALIVE"


def test_cli_watch_follows_an_agent_job_to_its_terminal_state():
    watched = run_cli("--schema", "agent", "--sandbox", "jobs", "retrieve", "2", "--watch", "--interval", "0",
                      "-o", "json")
    assert watched.exit_code == 0, watched.output
    assert "status running" in watched.stderr and "status succeeded (terminal)" in watched.stderr
    assert json.loads(watched.stdout)["status"] == "succeeded"


def test_sandbox_serve_schema_agent_works(tmp_path):
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "synapse_dyn", "sandbox", "serve", "--schema", "agent",
                             "--port", "0", "--demo-data", "--quiet"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, proc.kill)   # a server that never prints its address fails, not hangs
    watchdog.start()
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        url = next(line.split()[2] for line in lines if line.startswith("Listening on"))
        token = next(line.split()[-1] for line in lines if line.startswith("Access token"))
        assert "agent schema, 11 operations" in lines[0]
        deadline = time.monotonic() + 30
        with synapse_dyn.AgentClient(url, agent_token=token, tenant="demo", allow_insecure=True) as agent:
            while True:
                try:
                    jobs = agent.jobs.list()
                    break
                except synapse_dyn.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        assert jobs.count == 3
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(timeout=30)
