"""AgentClient and AsyncAgentClient against a loopback server: headers exactly as the agent expects them,
plain JSON answers, offset pages, errors from the client's hierarchy, environment fallbacks."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate
from werkzeug import Request, Response

import synapse_dyn
from synapse_dyn.spec import load_spec, schema_path

AGENT = "agt_0123456789abcdefSECRET"
USER = "usr_0123456789abcdefSECRET"


def job(pk: int, status: str = "running", **extra) -> dict:
    return {"id": pk, "job_id": f"raysubmit_{pk:04d}", "status": status, "action": "train",
            "entrypoint": "python main.py", "message": None, "start_time": "2026-01-02T03:04:05Z",
            "end_time": None, "metadata": {}, **extra}


def answer(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


@pytest.fixture
def agent(httpserver):
    with synapse_dyn.AgentClient(httpserver.url_for("/"), agent_token=AGENT, user_token=USER, tenant="acme",
                                 allow_insecure=True, retries=0) as client:
        yield client


@pytest.fixture(autouse=True)
def _no_agent_env(monkeypatch):
    for name in ("SYNAPSE_AGENT_TOKEN", "SYNAPSE_USER_TOKEN", "SYNAPSE_TENANT"):
        monkeypatch.delenv(name, raising=False)


def test_the_bundled_agent_schema_is_valid_openapi_and_declares_its_conventions():
    import yaml

    validate(yaml.safe_load(schema_path("agent").read_text()))
    conventions = load_spec("agent").conventions
    assert conventions.family == "agent"
    assert conventions.envelope.style == "none"
    assert {name: (s.header, s.format) for name, s in conventions.auth.items()} == {
        "agent_token": ("Authorization", "{}"), "user_token": ("SYNAPSE-User", "Token {}"),
        "tenant": ("SYNAPSE-Tenant", "Token {}")}


def test_headers_are_exactly_the_agents(httpserver, agent):
    seen = []

    def handler(request: Request) -> Response:
        seen.append(request.headers)
        return answer(job(7))

    httpserver.expect_request("/jobs/7/", method="GET").respond_with_handler(handler)
    assert agent.jobs.retrieve(7).job_id == "raysubmit_0007"
    headers = seen[0]
    assert headers["Authorization"] == AGENT          # raw: no "Token " prefix
    assert headers["SYNAPSE-User"] == f"Token {USER}"
    assert headers["SYNAPSE-Tenant"] == "Token acme"
    assert "SYNAPSE-ACCESS-TOKEN" not in headers


def test_environment_fallbacks_and_explicit_values_win(httpserver, monkeypatch):
    monkeypatch.setenv("SYNAPSE_AGENT_TOKEN", "agt_from_environment")
    monkeypatch.setenv("SYNAPSE_TENANT", "envtenant")
    seen = []
    httpserver.expect_request("/health/").respond_with_handler(
        lambda r: seen.append(r.headers) or answer({"status": "healthy"}))
    with synapse_dyn.AgentClient(httpserver.url_for("/"), allow_insecure=True) as client:
        assert client.health.retrieve().status == "healthy"
    with synapse_dyn.AgentClient(httpserver.url_for("/"), agent_token=AGENT, allow_insecure=True) as client:
        client.health.retrieve()
    assert seen[0]["Authorization"] == "agt_from_environment"
    assert seen[0]["SYNAPSE-Tenant"] == "Token envtenant"
    assert "SYNAPSE-User" not in seen[0]
    assert seen[1]["Authorization"] == AGENT


def test_a_v2_credential_is_refused_naming_the_agents(httpserver):
    with pytest.raises(synapse_dyn.ConfigurationError, match="access_token.*agent_token, tenant, user_token"):
        synapse_dyn.AgentClient(httpserver.url_for("/"), access_token="syn_x", allow_insecure=True)
    with pytest.raises(TypeError, match="agent_tokn.*did you mean 'agent_token'"):
        synapse_dyn.AgentClient(httpserver.url_for("/"), agent_tokn="x", allow_insecure=True)


def test_secrets_never_show_in_repr_or_errors(httpserver, agent):
    httpserver.expect_request("/jobs/1/").respond_with_response(
        answer({"detail": f"bad token {AGENT}"}, status=401))
    assert AGENT not in repr(agent) and USER not in repr(agent)
    assert "acme" in repr(agent)
    with pytest.raises(synapse_dyn.AuthenticationError) as caught:
        agent.jobs.retrieve(1)
    assert AGENT not in str(caught.value) and AGENT not in repr(caught.value)
    prepared = agent.jobs.retrieve.prepare(1)
    assert AGENT not in repr(prepared)


def test_plain_json_answers_are_not_unwrapped(httpserver, agent):
    httpserver.expect_request("/metrics/cpu/").respond_with_response(answer(
        {"panel": "cpu", "unit": "percent", "series": [{"timestamp": "2026-01-02T03:04:05Z", "value": 1.5}],
         "data": "kept", "meta": {"request_id": "not-an-envelope"}}))
    panel = agent.metrics.retrieve("cpu")
    assert panel.series[0].value == 1.5
    assert panel.data == "kept"
    assert agent.last_request_id != "not-an-envelope"


def test_job_pages_follow_next_links_and_list_all(httpserver, agent):
    base = httpserver.url_for("/jobs/")
    httpserver.expect_request("/jobs/", query_string="page_size=2").respond_with_response(answer(
        {"count": 3, "next": f"{base}?page=2&page_size=2", "previous": None, "results": [job(1), job(2)]}))
    httpserver.expect_request("/jobs/", query_string="page=2&page_size=2").respond_with_response(answer(
        {"count": 3, "next": None, "previous": f"{base}?page_size=2", "results": [job(3)]}))
    page = agent.jobs.list(page_size=2)
    assert [j.id for j in page.results] == [1, 2] and page.count == 3
    assert [j.id for j in page.next_page().results] == [3]
    assert [j.id for j in agent.jobs.list(page_size=2, list_all=True)] == [1, 2, 3]


def test_a_status_outside_the_enum_is_refused_before_sending(agent):
    with pytest.raises(synapse_dyn.ValidationError, match="status"):
        agent.jobs.list(status="exploded")


def test_logs_stop_and_destroy_use_their_paths_and_methods(httpserver, agent):
    httpserver.expect_request("/jobs/4/logs/", method="GET").respond_with_response(answer({"logs": "a\nb"}))
    httpserver.expect_request("/jobs/4/stop/", method="POST").respond_with_response(answer({"stopped": True}))
    httpserver.expect_request("/serve_applications/default/", method="DELETE").respond_with_response(
        Response(status=204))
    httpserver.expect_request("/nodes/").respond_with_response(answer(
        [{"node_id": "ab" * 28, "state": "ALIVE", "is_head_node": True}]))
    assert agent.jobs.logs(4).logs.splitlines() == ["a", "b"]
    assert agent.jobs.stop(4).stopped is True
    assert agent.serve_applications.destroy("default") is None
    assert agent.nodes.list()[0]["state"] == "ALIVE"


@pytest.mark.parametrize(("status", "error"), [(401, synapse_dyn.AuthenticationError),
                                               (403, synapse_dyn.AuthorizationError),
                                               (404, synapse_dyn.NotFoundError),
                                               (500, synapse_dyn.ServerError)])
def test_errors_come_from_the_same_hierarchy(httpserver, agent, status, error):
    httpserver.expect_request("/jobs/9/").respond_with_response(answer({"detail": "Not allowed here."}, status))
    with pytest.raises(error) as caught:
        agent.jobs.retrieve(9)
    assert caught.value.status_code == status
    assert caught.value.message == "Not allowed here."
    assert isinstance(caught.value, synapse_dyn.ClientError)


def test_a_response_outside_the_schema_fails_strictly(httpserver, agent):
    httpserver.expect_request("/jobs/5/").respond_with_response(answer({"id": 5, "status": "exploded"}))
    with pytest.raises(synapse_dyn.ValidationError, match="Job"):
        agent.jobs.retrieve(5)


async def test_async_agent_client(httpserver):
    seen = []
    base = httpserver.url_for("/jobs/")

    def first(request: Request) -> Response:
        seen.append(request.headers)
        return answer({"count": 2, "next": f"{base}?page=2", "previous": None, "results": [job(1)]})

    httpserver.expect_request("/jobs/", query_string="").respond_with_handler(first)
    httpserver.expect_request("/jobs/", query_string="page=2").respond_with_response(answer(
        {"count": 2, "next": None, "previous": base, "results": [job(2, "succeeded")]}))
    httpserver.expect_request("/jobs/2/stop/", method="POST").respond_with_response(answer({"stopped": False}))
    async with synapse_dyn.AsyncAgentClient(httpserver.url_for("/"), agent_token=AGENT, tenant="acme",
                                            allow_insecure=True, retries=0) as agent:
        assert [j.status async for j in agent.jobs.list()] == ["running", "succeeded"]
        assert (await agent.jobs.stop(2)).stopped is False
    assert seen[0]["Authorization"] == AGENT and seen[0]["SYNAPSE-Tenant"] == "Token acme"
