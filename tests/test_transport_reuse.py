"""The transport's reuse of request parts (headers, parsed URLs, skipped cookie work) changes no behaviour."""

from __future__ import annotations

import asyncio
from typing import Any

from helpers import AsyncClient, envelope, json_response, make_client, project_detail
from werkzeug import Request


def _counting_jar(http: Any) -> list[int]:
    """Count the stdlib cookie jar's extract_cookies calls on this client (the jar itself still runs)."""
    jar = http.cookies.jar
    calls = [0]
    original = jar.extract_cookies

    def counted(response: Any, request: Any) -> None:
        calls[0] += 1
        original(response, request)

    jar.extract_cookies = counted
    return calls


def test_answers_without_set_cookie_skip_the_cookie_jar(httpserver) -> None:
    httpserver.expect_request("/v2/projects/7/").respond_with_json(envelope(project_detail(7)))
    client = make_client(httpserver)
    client.projects.retrieve(7)  # creates the httpx client
    calls = _counting_jar(client._http)
    for _ in range(3):
        assert client.projects.retrieve(7).id == 7
    assert calls == [0]


def test_a_cookie_the_server_sets_is_kept_and_sent_back(httpserver) -> None:
    seen: list[str | None] = []

    def handler(request: Request) -> Any:
        seen.append(request.headers.get("Cookie"))
        headers = {"Set-Cookie": "session=abc; Path=/"} if len(seen) == 1 else {}
        return json_response(envelope(project_detail(7)), headers=headers)

    httpserver.expect_request("/v2/projects/7/").respond_with_handler(handler)
    client = make_client(httpserver)
    client.projects.retrieve(7)
    calls = _counting_jar(client._http)
    client.projects.retrieve(7)
    assert seen == [None, "session=abc"]
    assert calls == [0]  # the second answer set nothing


def test_the_async_client_keeps_cookies_too(httpserver) -> None:
    seen: list[str | None] = []

    def handler(request: Request) -> Any:
        seen.append(request.headers.get("Cookie"))
        return json_response(envelope(project_detail(7)), headers={"Set-Cookie": f"n={len(seen)}; Path=/"})

    httpserver.expect_request("/v2/projects/7/").respond_with_handler(handler)

    async def run() -> None:
        async with make_client(httpserver, AsyncClient) as client:
            await client.projects.retrieve(7)
            await client.projects.retrieve(7)

    asyncio.run(run())
    assert seen == [None, "n=1"]


def test_parsed_urls_are_kept_per_path_bounded_and_never_with_a_query(httpserver) -> None:
    httpserver.expect_request("/v2/projects/7/").respond_with_json(envelope(project_detail(7)))
    httpserver.expect_request("/signed").respond_with_json({"ok": True})
    client = make_client(httpserver)
    client.projects.retrieve(7)
    client.request("GET", "/signed?signature=s3cr3t")
    table = client._http._parsed_urls
    assert list(table) == [httpserver.url_for("/v2/projects/7/")]
    for n in range(300):
        client._http.build_request("GET", httpserver.url_for(f"/p/{n}"))
    assert 0 < len(table) <= 256
    assert not any("?" in url for url in table)
    assert str(client._http.build_request("GET", httpserver.url_for("/p/299")).url) == httpserver.url_for("/p/299")
