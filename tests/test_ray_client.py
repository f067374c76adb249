"""RayClient and AsyncRayClient against a loopback server: no credentials, Ray's {result, msg, data}
envelope unwrapped by the declared conventions, ``result: false`` as an error carrying ``msg``."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate
from werkzeug import Request, Response

import synapse_dyn
from synapse_dyn.spec import load_spec, schema_path

NODE_ID = "5e" * 28


def node(node_id: str = NODE_ID, head: bool = True) -> dict:
    return {"hostname": "ray-head", "ip": "10.0.0.2", "cpu": 3.5, "cpus": [8, 4], "mem": [1, 2, 3, 4.0],
            "raylet": {"nodeId": node_id, "state": "ALIVE", "isHeadNode": head, "nodeManagerAddress": "10.0.0.2"}}


def ray_answer(data, *, result: bool = True, msg: str = "", status: int = 200) -> Response:
    return Response(json.dumps({"result": result, "msg": msg, "data": data}), status=status,
                    content_type="application/json")


@pytest.fixture
def ray(httpserver):
    with synapse_dyn.RayClient(httpserver.url_for("/"), allow_insecure=True, retries=0) as client:
        yield client


def test_the_bundled_ray_schema_is_valid_openapi_and_declares_the_envelope():
    import yaml

    validate(yaml.safe_load(schema_path("ray").read_text()))
    conventions = load_spec("ray").conventions
    assert conventions.family == "ray"
    assert dict(conventions.auth) == {}
    envelope = conventions.envelope
    assert (envelope.style, envelope.ok, envelope.message, envelope.data) == ("flag", "result", "msg", "data")


def test_no_credentials_are_sent_and_none_are_accepted(httpserver, monkeypatch):
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_ACCESS_TOKEN", "syn_v2_token_never_for_ray")
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_TENANT", "acme")
    seen = []
    httpserver.expect_request("/nodes").respond_with_handler(
        lambda r: seen.append(r.headers) or ray_answer({"summary": [node()]}))
    with synapse_dyn.RayClient(httpserver.url_for("/"), allow_insecure=True) as ray:
        ray.nodes.list()
    assert not {"Authorization", "SYNAPSE-ACCESS-TOKEN", "SYNAPSE-Tenant"} & set(seen[0].keys())
    with pytest.raises(synapse_dyn.ConfigurationError, match="no credential named access_token"):
        synapse_dyn.RayClient(httpserver.url_for("/"), access_token="syn_x", allow_insecure=True)


def test_nodes_list_unwraps_the_envelope_into_one_page(httpserver, ray):
    second = node("77" * 28, head=False)
    httpserver.expect_request("/nodes", query_string="view=summary").respond_with_response(
        ray_answer({"summary": [node(), second]}, msg="Node summary fetched."))
    page = ray.nodes.list(view="summary")
    assert isinstance(page, synapse_dyn.Page)
    assert [n.raylet.isHeadNode for n in page.results] == [True, False]
    assert page.next is None and page.next_page() is None
    assert [n.raylet.nodeId for n in ray.nodes.list(view="summary", list_all=True)] == [NODE_ID, "77" * 28]


def test_nodes_retrieve_unwraps_data(httpserver, ray):
    httpserver.expect_request(f"/nodes/{NODE_ID}").respond_with_response(ray_answer({"detail": node()}))
    assert ray.nodes.retrieve(NODE_ID).detail.raylet.state == "ALIVE"


def test_result_false_is_an_error_carrying_msg(httpserver, ray):
    httpserver.expect_request("/nodes").respond_with_response(
        ray_answer(None, result=False, msg="Failed to fetch node summary: GCS unreachable"))
    with pytest.raises(synapse_dyn.ClientError) as caught:
        ray.nodes.list()
    assert caught.value.message == "Failed to fetch node summary: GCS unreachable"
    assert "GCS unreachable" in str(caught.value)
    assert caught.value.response["result"] is False
    assert caught.value.status_code == 200


def test_a_reported_failure_never_echoes_a_credential(httpserver):
    """A flag envelope's message is the backend's text: a credential it repeats is scrubbed."""
    token = "syn_flagfailure12345678"
    client = synapse_dyn.Client(httpserver.url_for("/"), access_token=token, tenant="acme", allow_insecure=True,
                                overrides={"conventions": {"envelope": {"style": "flag"}}})
    httpserver.expect_request("/v2/projects/7/").respond_with_json({"result": False, "msg": f"token {token} expired"})
    with pytest.raises(synapse_dyn.ClientError) as caught:
        client.projects.retrieve(7)
    assert token not in str(caught.value) and token not in caught.value.message
    assert "expired" in caught.value.message and caught.value.status_code == 200


@pytest.mark.parametrize(("status", "error"), [(404, synapse_dyn.NotFoundError), (500, synapse_dyn.ServerError)])
def test_an_error_status_takes_its_message_from_msg(httpserver, ray, status, error):
    httpserver.expect_request(f"/nodes/{NODE_ID}").respond_with_response(
        ray_answer(None, result=False, msg=f"Node {NODE_ID} not found", status=status))
    with pytest.raises(error) as caught:
        ray.nodes.retrieve(NODE_ID)
    assert caught.value.status_code == status
    assert caught.value.message == f"Node {NODE_ID} not found"
    assert caught.value.details == []


def test_an_answer_without_the_envelope_passes_through(httpserver, ray):
    serve = {"proxy_location": "EveryNode", "http_options": {"host": "0.0.0.0", "port": 8000},
             "applications": {"app1": {"name": "app1", "route_prefix": "/", "status": "RUNNING", "deployments": {}}}}
    httpserver.expect_request("/api/serve/applications/").respond_with_response(
        Response(json.dumps(serve), content_type="application/json"))
    details = ray.serve_applications.list()
    assert details.applications["app1"]["status"] == "RUNNING"


def test_data_outside_the_schema_fails_strictly(httpserver, ray):
    httpserver.expect_request(f"/nodes/{NODE_ID}").respond_with_response(ray_answer({"detail": {"raylet": 3}}))
    with pytest.raises(synapse_dyn.ValidationError):
        ray.nodes.retrieve(NODE_ID)


async def test_async_ray_client(httpserver):
    seen: list[Request] = []
    httpserver.expect_request("/nodes").respond_with_handler(
        lambda r: seen.append(r) or ray_answer({"summary": [node()]}))
    httpserver.expect_request(f"/nodes/{NODE_ID}").respond_with_response(
        ray_answer(None, result=False, msg="gone"))
    async with synapse_dyn.AsyncRayClient(httpserver.url_for("/"), allow_insecure=True, retries=0) as ray:
        assert [n.hostname async for n in ray.nodes.list()] == ["ray-head"]
        with pytest.raises(synapse_dyn.ClientError, match="gone"):
            await ray.nodes.retrieve(NODE_ID)
    assert "Authorization" not in seen[0].headers


# -- the envelope per operation: serve applications plain, nodes enveloped -------------------------

SERVE = {"proxy_location": "EveryNode", "http_options": {"host": "0.0.0.0", "port": 8000},
         "applications": {"app1": {"name": "app1", "route_prefix": "/", "status": "RUNNING", "deployments": {}}}}


def test_each_operation_declares_its_envelope():
    registry = load_spec("ray")
    serve, nodes = registry.operation("ray_serve_applications_list"), registry.operation("ray_nodes_list")
    assert serve.envelope.style == "none"
    assert (nodes.envelope.style, nodes.envelope.ok, nodes.envelope.message) == ("flag", "result", "msg")
    assert registry.operation("ray_nodes_retrieve").envelope == registry.conventions.envelope


def test_an_unknown_operation_envelope_style_names_the_operation_and_the_valid_styles(tmp_path):
    import yaml

    document = yaml.safe_load(schema_path("ray").read_text())
    document["paths"]["/api/serve/applications/"]["get"]["x-synapse-envelope"] = {"style": "plain"}
    path = tmp_path / "ray.yaml"
    path.write_text(yaml.safe_dump(document))
    registry = load_spec(str(path), overrides=False, cache=False)
    with pytest.raises(synapse_dyn.SpecError, match=r"serve_applications\S* envelope\.style is 'plain'; "
                                                    r"valid: meta, flag, none"):
        assert registry.operation("ray_serve_applications_list").envelope is None


def test_one_client_reads_serve_plain_and_nodes_enveloped(httpserver, ray):
    httpserver.expect_request("/api/serve/applications/").respond_with_response(
        Response(json.dumps(SERVE), content_type="application/json"))
    httpserver.expect_request("/nodes").respond_with_response(ray_answer({"summary": [node()]}))
    httpserver.expect_request(f"/nodes/{NODE_ID}").respond_with_response(
        ray_answer(None, result=False, msg="Node is being drained"))
    assert ray.serve_applications.list().applications["app1"]["route_prefix"] == "/"
    assert [n.raylet.nodeId for n in ray.nodes.list().results] == [NODE_ID]
    with pytest.raises(synapse_dyn.ClientError, match="Node is being drained"):
        ray.nodes.retrieve(NODE_ID)


def test_serve_applications_are_not_unwrapped_as_if_enveloped(httpserver, ray):
    """The declared plain answer is taken as it is: Ray's envelope around it is not the documented shape."""
    httpserver.expect_request("/api/serve/applications/").respond_with_response(ray_answer(SERVE))
    with pytest.raises(synapse_dyn.ValidationError, match="applications"):
        ray.serve_applications.list()


def test_the_sandbox_serves_each_operation_in_its_declared_form():
    import httpx

    from synapse_dyn.sandbox import Sandbox

    with Sandbox("ray") as sandbox, sandbox.serve(port=0) as url:
        serve = httpx.get(f"{url}/api/serve/applications/")
        nodes = httpx.get(f"{url}/nodes")
        missing = httpx.get(f"{url}/nodes/{'ff' * 28}")
    assert serve.status_code == 200
    assert "result" not in serve.json() and serve.json()["applications"]["default"]["status"] == "RUNNING"
    assert nodes.json()["result"] is True and nodes.json()["msg"] == ""
    assert nodes.json()["data"]["summary"][0]["raylet"]["state"] == "ALIVE"
    assert missing.status_code == 404 and missing.json()["result"] is False and missing.json()["msg"]


def test_the_envelope_follows_the_declaration_not_the_operation_name(tmp_path):
    """Swap the declarations (serve enveloped, one node plain): sandbox and client both follow the data."""
    import httpx
    import yaml

    from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox

    document = yaml.safe_load(schema_path("ray").read_text())
    document["paths"]["/api/serve/applications/"]["get"].pop("x-synapse-envelope")
    document["paths"]["/nodes/{node_id}"]["get"]["x-synapse-envelope"] = {"style": "none"}
    path = tmp_path / "ray-swapped.yaml"
    path.write_text(yaml.safe_dump(document))
    registry = load_spec(str(path), cache=False)
    with Sandbox(registry) as sandbox:
        with sandbox.serve(port=0) as url:
            serve = httpx.get(f"{url}/api/serve/applications/").json()
            node_id = httpx.get(f"{url}/nodes").json()["data"]["summary"][0]["raylet"]["nodeId"]
            detail = httpx.get(f"{url}/nodes/{node_id}").json()
        with synapse_dyn.Client(SANDBOX_ORIGIN, schema=registry, transport=sandbox.transport(), retries=0) as ray:
            assert ray.serve_applications.list().applications["default"].status == "RUNNING"
            assert ray.nodes.retrieve(node_id).detail.raylet.nodeId == node_id
    assert serve["result"] is True and "applications" in serve["data"]
    assert "result" not in detail and detail["detail"]["raylet"]["nodeId"] == node_id
