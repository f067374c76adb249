"""The client's behaviour, the same scenarios against three backends.

``inprocess``: the sandbox as an httpx transport; ``http``: the sandbox's real HTTP server;
``httpserver``: pytest-httpserver in front, forwarding every request to a sandbox (the
route pytest-httpserver tests take, with the sandbox's stateful answers behind it).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from werkzeug import Request, Response

from synapse_dyn import AsyncClient, Client, Page, errors
from synapse_dyn.retry import RetryPolicy
from synapse_dyn.sandbox import Sandbox

EMAIL, PASSWORD = "backend@example.com", "backend-pass-1"


@contextmanager
def _backend(kind: str, sandbox: Sandbox, httpserver) -> Iterator[dict]:
    if kind == "inprocess":
        yield {"base_url": "https://sandbox.local", "transport": sandbox.transport()}
    elif kind == "http":
        with sandbox.serve(port=0) as url:
            yield {"base_url": url, "allow_insecure": True}
    else:
        forward = httpx.Client(transport=sandbox.transport(), base_url="https://sandbox.local")

        def handler(request: Request) -> Response:
            answer = forward.request(request.method, request.full_path.rstrip("?"), content=request.get_data(),
                                     headers={k: v for k, v in request.headers.items() if k.lower() != "host"})
            return Response(answer.content, status=answer.status_code,
                            headers={k: v for k, v in answer.headers.items()
                                     if k.lower() not in ("content-length", "transfer-encoding")})

        httpserver.expect_request(re.compile(r"^/.*")).respond_with_handler(handler)  # every path
        yield {"base_url": httpserver.url_for("/").rstrip("/"), "allow_insecure": True}
        assert len(httpserver.log) > 0 and not httpserver.assertions  # the calls really went through it


@pytest.fixture(params=["inprocess", "http", "httpserver"])
def connect(request, httpserver):
    sandbox = Sandbox()
    sandbox.create_user(EMAIL, PASSWORD, tenant="acme")
    token = sandbox.issue_token(EMAIL, tenant="acme")
    with _backend(request.param, sandbox, httpserver) as where:
        def make(cls=Client, **kwargs):
            return cls(**{**where, "access_token": token, "tenant": "acme",
                          "retries": RetryPolicy(retries=2, backoff=0.01), **kwargs})
        yield make


def _project(client, title: str = "p", collection: int | None = None):
    body = {"title": title, "category": "image", "configuration": {}}
    if collection is not None:
        body["data_collection"] = collection
    return client.projects.create(body)


def test_crud_nested_and_actions(connect) -> None:
    with connect() as client:
        project = _project(client, "demo")
        assert client.projects.retrieve(project.id).title == "demo"
        client.projects.partial_update(project.id, {"title": "renamed"})
        assert client.projects.retrieve(project.id).title == "renamed"
        tag = client.projects.tags(project_id=project.id).create({"name": "urgent", "category": "project"})
        assert [t.id for t in client.projects.tags(project.id).list().results] == [tag.id]
        assert client.projects.check_permission(project.id, permission="view") is None
        client.projects.destroy(project.id)
        with pytest.raises(errors.NotFoundError) as info:
            client.projects.retrieve(project.id)
        assert info.value.request_id and info.value.request_id == client.last_request_id


def test_pagination_page_and_list_all(connect) -> None:
    with connect() as client:
        made = [_project(client, f"p{i}").id for i in range(23)]
        page = client.projects.list(per_page=10)
        assert isinstance(page, Page) and len(page.results) == 10 and page.next
        streamed = [p.id for p in client.projects.list(per_page=10, list_all=True)]
        assert sorted(streamed) == sorted(made) and len(set(streamed)) == 23


def test_server_validation_and_auth_errors(connect) -> None:
    with connect(validate_requests=False) as client:
        with pytest.raises(errors.ValidationError) as info:
            client.projects.create({"category": "image", "configuration": {}})
        assert info.value.status_code == 400 and any(d.get("field") == "title" for d in info.value.details)
    with connect(access_token="syn_not-a-real-token-0000") as stranger, pytest.raises(errors.AuthenticationError):
        stranger.projects.list()
    with connect(tenant="elsewhere") as wrong_tenant, pytest.raises(errors.AuthorizationError):
        wrong_tenant.projects.list()


async def test_async_client_on_every_backend(connect) -> None:
    async with connect(AsyncClient) as client:
        created = await asyncio.gather(*(client.projects.create(
            {"title": f"a{i}", "category": "image", "configuration": {}}) for i in range(12)))
        ids = [p.id async for p in client.projects.list(per_page=5)]
        assert sorted(ids) == sorted(p.id for p in created)
        first = await client.projects.list(per_page=5)
        assert len(first.results) == 5
