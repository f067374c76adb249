"""The sync and async clients against a real loopback server (pytest-httpserver)."""

from __future__ import annotations

import asyncio
import gc
import inspect
import pydoc
import warnings

import pytest
from helpers import (
    DRF,
    TOKEN,
    envelope,
    error_envelope,
    json_response,
    make_client,
    project,
    project_detail,
    request_json,
)
from werkzeug import Request, Response

import synapse_dyn
from synapse_dyn import AsyncClient, Client, Page, Record, errors, mask_token

# -- construction, auth -------------------------------------------------------


def test_mask_token() -> None:
    assert mask_token("syn_12345678901234") == "syn_***1234"
    assert mask_token(None) == "<unset>"
    assert mask_token("short") == "***"
    assert "abcdef" not in mask_token("abcdefghijklmnop")


def test_plain_http_warns_unless_allowed() -> None:
    with pytest.warns(errors.InsecureTransportWarning, match="plain http"):
        Client("http://127.0.0.1:9")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Client("http://127.0.0.1:9", allow_insecure=True)
        Client("https://api.example.com")


def test_bad_base_url_and_mode_are_configuration_errors() -> None:
    with pytest.raises(errors.ConfigurationError, match="base_url"):
        Client("ftp://host")
    with pytest.raises(errors.ConfigurationError, match="strict, warn, off"):
        Client("https://x", validate_responses="loose")


def test_auth_headers_exactly_as_the_seed(httpserver) -> None:
    httpserver.expect_request(
        "/v2/projects/42/", headers={"SYNAPSE-ACCESS-TOKEN": TOKEN, "Authorization": f"Token {DRF}",
                                      "SYNAPSE-Tenant": "acme"},
    ).respond_with_json(envelope(project_detail(42)))
    with make_client(httpserver, drf_token=DRF) as client:
        assert client.projects.retrieve(42).id == 42


def test_tenant_token_prefix(httpserver) -> None:
    httpserver.expect_request("/v2/tenants/acme/", headers={"SYNAPSE-Tenant": "Token acme"}).respond_with_json(
        envelope({"id": 1, "code": "acme", "name": "Acme"}))
    with make_client(httpserver, tenant_token_prefix=True, validate_responses="off") as client:
        assert client.tenants.retrieve("acme")["code"] == "acme"


def test_env_fallbacks(httpserver, monkeypatch) -> None:
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_DRF_TOKEN", DRF)
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_TENANT", "envtenant")
    httpserver.expect_request("/v2/projects/1/", headers={
        "SYNAPSE-ACCESS-TOKEN": TOKEN, "Authorization": f"Token {DRF}", "SYNAPSE-Tenant": "envtenant",
    }).respond_with_json(envelope(project_detail(1)))
    with Client(httpserver.url_for("/"), allow_insecure=True) as client:
        assert client.projects.retrieve(1).id == 1


def test_login_stores_drf_token_and_set_helpers(httpserver) -> None:
    httpserver.expect_request("/users/login/", method="POST", json={"email": "a@b.c", "password": "pw-secret"}
                              ).respond_with_json(envelope({"token": DRF}))
    httpserver.expect_request("/v2/tokens/", method="POST", headers={"Authorization": f"Token {DRF}"}
                              ).respond_with_json(envelope({"id": 5, "description": "sdk", "last_used": None,
                                                            "token": TOKEN}), status=201)
    httpserver.expect_request("/v2/projects/7/", headers={"SYNAPSE-ACCESS-TOKEN": TOKEN}).respond_with_handler(
        lambda r: json_response(envelope(project_detail(7))) if "Authorization" not in r.headers
        else Response("drf still sent", status=500))
    with Client(httpserver.url_for("/"), tenant="acme", allow_insecure=True, retries=0) as client:
        client.auth.login(email="a@b.c", password="pw-secret")
        assert client.credentials.get("drf_token") == DRF
        created = client.tokens.create({"description": "sdk"})
        assert created.token == TOKEN
        assert TOKEN not in repr(created) and "syn_***5678" in repr(created)
        client.set_access_token(created.token)
        client.set_drf_token(None)
        assert client.projects.retrieve(7).id == 7


def test_no_token_in_repr_str_or_exceptions(httpserver) -> None:
    httpserver.expect_request("/v2/projects/1/").respond_with_json(
        error_envelope("NOT_AUTHENTICATED", f"bad token {TOKEN}"), status=401)
    client = make_client(httpserver, drf_token=DRF)
    for text in (repr(client), str(client), repr(client.credentials), repr(client.projects)):
        assert TOKEN not in text and DRF not in text
    with pytest.raises(errors.AuthenticationError) as info:
        client.projects.retrieve(1)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert "syn_***5678" in str(info.value)


def test_header_injection_is_refused_before_sending(httpserver) -> None:
    with pytest.raises(errors.ConfigurationError, match="line break"):
        make_client(httpserver, tenant="acme\r\nX-Evil: 1")
    client = make_client(httpserver)
    with pytest.raises(errors.ConfigurationError):
        client.set_access_token("syn_x\nInjected: yes")
    assert httpserver.log == []


# -- attribute access -----------------------------------------------------------


def test_calling_convention_from_the_issue(httpserver) -> None:
    httpserver.expect_request("/v2/projects/", method="GET", query_string={"category": "image", "per_page": "50"}
                              ).respond_with_json(envelope([project(1)]))
    httpserver.expect_request("/v2/projects/42/").respond_with_json(envelope(project_detail(42)))
    httpserver.expect_request("/v2/projects/", method="POST").respond_with_handler(
        lambda r: json_response(envelope(project_detail(43, **request_json(r))), status=201))
    httpserver.expect_request("/v2/projects/42/tags/", method="POST", json={"name": "urgent", "category": "project"}
                              ).respond_with_json(envelope({"id": 9, "project_id": 42, "name": "urgent",
                                                            "category": "project", "description": "", "meta": {},
                                                            "created": "2026-01-01T00:00:00Z"}), status=201)
    httpserver.expect_request("/v2/data-collections/7/groups/").respond_with_json(envelope([{"id": 1, "name": "g"}]))
    httpserver.expect_request("/v2/projects/42/check_permission/", query_string={"permission": "view"}
                              ).respond_with_data("", status=200)
    httpserver.expect_request("/v2/projects/default_roles/").respond_with_json(envelope({"roles": []}))
    httpserver.expect_request("/v2/tenants/acme/").respond_with_json(envelope(
        {"id": 1, "code": "acme", "name": "Acme", "slug": "acme", "is_active": True, "enable_post_process": False}))
    with make_client(httpserver) as client:
        page = client.projects.list(category="image", per_page=50)
        assert isinstance(page, Page) and page.results[0].title == "p1"
        assert client.projects.retrieve(42).id == 42
        created = client.projects.create({"title": "demo", "category": "image", "configuration": {}})
        assert created.title == "demo"
        tag = client.projects.tags(42).create({"name": "urgent", "category": "project"})
        assert tag.project_id == 42
        assert client.data_collections.groups(7).list().results[0].name == "g"
        assert client.data_collections.groups(dc_id=7).list().results[0].name == "g"
        assert client.projects.check_permission(42, permission="view") is None
        assert "roles" in client.projects.default_roles()
        assert client.tenants.retrieve("acme")["code"] == "acme"


def test_body_fields_as_keywords_and_body_keyword(httpserver) -> None:
    seen = []
    httpserver.expect_request("/v2/projects/", method="POST").respond_with_handler(
        lambda r: (seen.append(request_json(r)), json_response(envelope(project_detail(1)), 201))[1])
    with make_client(httpserver) as client:
        client.projects.create(title="kw", category="video", configuration={})
        client.projects.create(body={"title": "b", "category": "image", "configuration": {}}, title="override")
    assert seen == [{"title": "kw", "category": "video", "configuration": {}},
                    {"title": "override", "category": "image", "configuration": {}}]


def test_unknown_resource_verb_and_keyword(httpserver) -> None:
    client = make_client(httpserver)
    with pytest.raises(AttributeError) as info:
        client.projectz  # noqa: B018
    assert "projectz" in str(info.value) and "projects" in str(info.value) and "data_collections" in str(info.value)
    with pytest.raises(AttributeError) as info:
        client.projects.lst  # noqa: B018
    assert "lst" in str(info.value) and "list" in str(info.value) and "retrieve" in str(info.value)
    with pytest.raises(TypeError) as info:
        client.projects.list(per_pag=5)
    assert "per_pag" in str(info.value) and "per_page" in str(info.value) and "category" in str(info.value)
    with pytest.raises(TypeError, match="positional"):
        client.projects.retrieve(1, 2, 3)
    assert isinstance(info.value, errors.SynapseError)
    assert httpserver.log == []


def test_dir_and_signatures_and_help(httpserver) -> None:
    client = make_client(httpserver)
    assert {"projects", "data_collections", "auth", "tokens"} <= set(dir(client))
    assert {"list", "create", "retrieve", "tags", "check_permission", "request_join"} <= set(dir(client.projects))
    sig = inspect.signature(client.projects.list)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in sig.parameters.values())
    assert {"category", "cursor", "per_page", "data_collection", "list_all"} == set(sig.parameters)
    assert list(inspect.signature(client.projects.retrieve).parameters)[0] == "id"
    text = pydoc.render_doc(client.projects.create, renderer=pydoc.plaintext)
    assert "POST /v2/projects/" in text and "title" in text and "(required)" in text
    assert "image" in text and "Body (application/json" in text
    assert "Query parameters" in text and "dry_run" in text
    record = client.projects.retrieve.__doc__
    assert "GET /v2/projects/{id}/" in record


def test_help_text_is_built_lazily() -> None:
    import synapse_dyn.docs as docs_module

    calls = []
    original = docs_module.help_text
    docs_module.help_text = lambda op: (calls.append(op), original(op))[1]
    try:
        client = Client("https://x")
        client.projects.list  # noqa: B018
        assert calls == []
        assert "GET /v2/projects/" in client.projects.list.__doc__
        assert len(calls) == 1
    finally:
        docs_module.help_text = original


# -- envelope, request ids --------------------------------------------------------


def test_envelope_unwrap_and_passthrough(httpserver) -> None:
    httpserver.expect_request("/v2/projects/1/").respond_with_json(envelope(project_detail(1), request_id="req_a"))
    httpserver.expect_request("/v2/projects/2/").respond_with_json(project_detail(2))
    with make_client(httpserver) as client:
        assert client.projects.retrieve(1).id == 1
        assert client.last_request_id == "req_a"
        assert client.projects.retrieve(2).id == 2
        assert client.last_request_id == "req_a"  # non-enveloped: the slot is untouched


def test_capture_request_ids_restores_outer_value(httpserver) -> None:
    httpserver.expect_request("/v2/projects/1/").respond_with_json(envelope(project_detail(1), request_id="req_outer"))
    httpserver.expect_request("/v2/projects/2/").respond_with_json(envelope(project_detail(2), request_id="req_inner"))
    with make_client(httpserver) as client:
        client.projects.retrieve(1)
        with client.capture_request_ids():
            assert client.last_request_id is None
            client.projects.retrieve(2)
            assert client.last_request_id == "req_inner"
        assert client.last_request_id == "req_outer"


async def test_each_async_task_sees_its_own_request_id(httpserver) -> None:
    for i in range(1, 6):
        httpserver.expect_request(f"/v2/projects/{i}/").respond_with_json(envelope(project_detail(i),
                                                                                   request_id=f"req_{i}"))
    async with make_client(httpserver, cls=AsyncClient) as client:
        async def one(i: int) -> tuple[str | None, int]:
            await asyncio.sleep(0.01 * (6 - i))
            project_ = await client.projects.retrieve(i)
            await asyncio.sleep(0.01 * i)
            return client.last_request_id, project_.id

        results = await asyncio.gather(*(one(i) for i in range(1, 6)))
    assert results == [(f"req_{i}", i) for i in range(1, 6)]


# -- pagination -------------------------------------------------------------------


def _paged_handler(total: int, per_page: int, calls: list[str | None]):
    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor")
        calls.append(cursor)
        start = int(cursor or 0)
        items = [project(i) for i in range(start + 1, min(start + per_page, total) + 1)]
        nxt = str(start + per_page) if start + per_page < total else None
        return json_response(envelope(items, next_cursor=nxt, previous=cursor, per_page=per_page))
    return handler


def test_list_returns_a_page_with_cursors(httpserver) -> None:
    calls: list = []
    httpserver.expect_request("/v2/projects/").respond_with_handler(_paged_handler(25, 10, calls))
    with make_client(httpserver) as client:
        page = client.projects.list(per_page=10)
        assert [p.id for p in page.results] == list(range(1, 11))
        assert page.next == "10" and page.previous is None
        second = client.projects.list(per_page=10, cursor=page.next)
        assert second.results[0].id == 11 and second.previous == "10"


def test_list_all_is_lazy(httpserver) -> None:
    calls: list = []
    httpserver.expect_request("/v2/projects/").respond_with_handler(_paged_handler(25, 10, calls))
    with make_client(httpserver) as client:
        stream = client.projects.list(per_page=10, list_all=True)
        assert calls == []
        first = next(stream)
        assert first.id == 1 and calls == [None]
        for _ in range(9):
            next(stream)
        assert calls == [None]  # the second page is fetched only when the first is consumed
        rest = list(stream)
        assert [p.id for p in rest] == list(range(11, 26))
        assert calls == [None, "10", "20"]


def _first_page_alive_handler(marker: str, alive: list[int]):
    """Pages of 10 items titled ``marker-N``; asked for the second page, it counts the lists of the
    first page's Records still alive in the client (nothing should hold them while the next is fetched)."""
    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor")
        if cursor:
            gc.collect()
            alive.append(sum(1 for o in gc.get_objects() if isinstance(o, list) and o and isinstance(o[0], Record)
                             and str(dict.get(o[0], "title", "")).startswith(marker)))
        start = int(cursor or 0)
        items = [project(i, title=f"{marker}-{i}") for i in range(start + 1, start + 11)]
        return json_response(envelope(items, next_cursor=None if cursor else "10", per_page=10))
    return handler


def test_list_all_holds_no_earlier_page_while_fetching_the_next(httpserver) -> None:
    alive: list[int] = []
    httpserver.expect_request("/v2/projects/").respond_with_handler(_first_page_alive_handler("sync-held", alive))
    with make_client(httpserver) as client:
        assert len([p.id for p in client.projects.list(per_page=10, list_all=True)]) == 20
    assert alive == [0]


async def test_async_list_all_holds_no_earlier_page_while_fetching_the_next(httpserver) -> None:
    alive: list[int] = []
    httpserver.expect_request("/v2/projects/").respond_with_handler(_first_page_alive_handler("async-held", alive))
    async with make_client(httpserver, cls=AsyncClient) as client:
        assert len([p.id async for p in client.projects.list(per_page=10, list_all=True)]) == 20
    assert alive == [0]


async def test_async_pager_first_page_await_and_async_for(httpserver) -> None:
    calls: list = []
    httpserver.expect_request("/v2/projects/").respond_with_handler(_paged_handler(25, 10, calls))
    async with make_client(httpserver, cls=AsyncClient) as client:
        page = await client.projects.list(per_page=10)
        assert isinstance(page, Page) and len(page.results) == 10
        page = await client.projects.list(per_page=10).first_page()
        assert page.next == "10"
        ids = [p.id async for p in client.projects.list(per_page=10)]
        assert ids == list(range(1, 26))
        ids = [p.id async for p in client.projects.list(per_page=10, list_all=True)]
        assert ids == list(range(1, 26))


# -- validation ---------------------------------------------------------------------


def test_request_validation_names_the_field_and_sends_nothing(httpserver) -> None:
    client = make_client(httpserver)
    with pytest.raises(errors.ValidationError) as info:
        client.projects.list(per_page="fifty")
    assert "per_page" in str(info.value) and "fifty" not in str(info.value)
    with pytest.raises(errors.ValidationError) as info:
        client.projects.list(category="holograms")
    assert info.value.detail["errors"][0]["field"] == "category"
    assert "holograms" not in str(info.value.detail)
    with pytest.raises(errors.ValidationError) as info:
        client.projects.create({"category": "image", "configuration": {}})
    assert any(e["field"] == "title" and e["kind"] == "required" for e in info.value.detail["errors"])
    with pytest.raises(errors.ValidationError, match="needs a request body"):
        client.projects.create()
    assert httpserver.log == []


def test_read_only_fields_are_not_required_in_requests(httpserver) -> None:
    httpserver.expect_request("/v2/projects/", method="POST").respond_with_json(
        envelope(project_detail(1)), status=201)
    with make_client(httpserver) as client:
        client.projects.create({"title": "t", "category": "image", "configuration": {}})
    assert len(httpserver.log) == 1


def test_strict_response_validation_hides_values(httpserver) -> None:
    bad = project_detail(1, category="SECRET-VALUE", title=None)
    httpserver.expect_request("/v2/projects/1/").respond_with_json(envelope(bad, request_id="req_bad"))
    with make_client(httpserver) as client, pytest.raises(errors.ValidationError) as info:
        client.projects.retrieve(1)
    err = info.value
    assert err.detail["schema"].startswith("ProjectV2Detail")
    fields = {e["field"]: e["kind"] for e in err.detail["errors"]}
    assert fields == {"category": "enum", "title": "type"}
    assert "SECRET-VALUE" not in str(err) and "SECRET-VALUE" not in repr(err.detail)
    assert err.request_id == "req_bad"
    assert err.__cause__ is not None  # the validator's own error, with full detail, for diagnostics


def test_warn_and_off_modes(httpserver) -> None:
    bad = project_detail(1, category="weird")
    httpserver.expect_request("/v2/projects/1/").respond_with_json(envelope(bad))
    with make_client(httpserver, validate_responses="warn") as client, pytest.warns(
            errors.ResponseValidationWarning, match="category"):
        assert client.projects.retrieve(1).category == "weird"
    with make_client(httpserver, validate_responses="off") as client, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert client.projects.retrieve(1).category == "weird"


def test_nullable_and_formats_are_checked(httpserver) -> None:
    job = {"id": "00000000-0000-0000-0000-000000000001", "status": "RUNNING", "action": "run", "params": {},
           "progress_record": {}, "metrics_record": {}, "result": None, "is_active": True, "plugin_release_id": 1,
           "modified": "2026-01-01T00:00:00Z", "created": "2026-01-01T00:00:00Z", "completed": None}
    httpserver.expect_request("/v2/jobs/00000000-0000-0000-0000-000000000001/").respond_with_json(envelope(job))
    httpserver.expect_request("/v2/jobs/00000000-0000-0000-0000-000000000002/").respond_with_json(
        envelope({**job, "id": "00000000-0000-0000-0000-000000000002", "created": "yesterday"}))
    with make_client(httpserver) as client:
        assert client.jobs.retrieve("00000000-0000-0000-0000-000000000001").completed is None
        with pytest.raises(errors.ValidationError) as info:
            client.jobs.retrieve("00000000-0000-0000-0000-000000000002")
        assert info.value.detail["errors"] == [{"field": "created", "kind": "format",
                                                "message": "not a valid date-time"}]


# -- errors -------------------------------------------------------------------------


@pytest.mark.parametrize("status,cls", [
    (400, errors.ValidationError), (401, errors.AuthenticationError), (403, errors.AuthorizationError),
    (404, errors.NotFoundError), (409, errors.ConflictError), (422, errors.ValidationError),
    (429, errors.RateLimitError), (500, errors.ServerError), (503, errors.ServerError),
])
def test_error_envelope_maps_to_the_hierarchy(httpserver, status: int, cls: type) -> None:
    details = [{"field": "title", "message": "This field is required."}]
    httpserver.expect_request("/v2/projects/1/").respond_with_json(
        error_envelope("SOME_CODE", "it failed", details, request_id="req_e1"), status=status,
        headers={"Retry-After": "7"} if status == 429 else None)
    with make_client(httpserver) as client, pytest.raises(cls) as info:
        client.projects.retrieve(1)
    err = info.value
    assert isinstance(err, errors.ClientError) and isinstance(err, errors.SynapseError)
    assert (err.status_code, err.code, err.message, err.request_id) == (status, "SOME_CODE", "it failed", "req_e1")
    assert err.details == details
    text = str(err)
    assert "\n" not in text and f"{status} SOME_CODE: it failed" in text and "(request_id=req_e1)" in text
    if status == 429:
        assert err.retry_after == 7


def test_404_line_format(httpserver) -> None:
    httpserver.expect_request("/v2/projects/999/").respond_with_json(
        error_envelope("NOT_FOUND", "Project not found.", request_id="req_404"), status=404)
    with make_client(httpserver) as client, pytest.raises(errors.NotFoundError) as info:
        client.projects.retrieve(999)
    assert str(info.value) == "NotFoundError 404 NOT_FOUND: Project not found. (request_id=req_404)"


def test_transport_error_for_refused_connection() -> None:
    client = Client("https://127.0.0.1:9", retries=0, timeout={"connect": 1, "read": 1})
    with pytest.raises(errors.TransportError, match="cannot connect"):
        client.projects.retrieve(1)


# -- results ------------------------------------------------------------------------


def test_records_and_204(httpserver) -> None:
    httpserver.expect_request("/v2/projects/42/", method="GET").respond_with_json(
        envelope(project_detail(42, title="demo")))
    httpserver.expect_request("/v2/projects/42/", method="DELETE").respond_with_data("", status=204)
    with make_client(httpserver) as client:
        record = client.projects.retrieve(42)
        assert isinstance(record, Record) and isinstance(record, dict)
        assert record.title == record["title"] == "demo"
        assert repr(record).startswith("ProjectV2Detail(id=42, ") and "title='demo'" in repr(record)
        assert {"title", "category", "task_count"} <= set(dir(record))
        with pytest.raises(AttributeError, match="no field 'nope'"):
            record.nope  # noqa: B018
        assert client.projects.destroy(42) is None


def test_lazy_package_import() -> None:
    assert synapse_dyn.Client is Client
    assert "Client" in dir(synapse_dyn)
    with pytest.raises(AttributeError):
        synapse_dyn.NoSuchThing  # noqa: B018


# -- async --------------------------------------------------------------------------


async def test_async_client_mirrors_sync(httpserver) -> None:
    httpserver.expect_request("/v2/projects/42/").respond_with_json(envelope(project_detail(42)))
    httpserver.expect_request("/v2/projects/43/").respond_with_json(error_envelope("NOT_FOUND", "gone"), status=404)
    httpserver.expect_request("/v2/projects/42/tags/", method="POST").respond_with_json(
        envelope({"id": 9, "project_id": 42, "name": "urgent", "category": "project", "description": "", "meta": {},
                  "created": "2026-01-01T00:00:00Z"}), status=201)
    async with make_client(httpserver, cls=AsyncClient) as client:
        coro = client.projects.retrieve(42)
        assert inspect.isawaitable(coro)
        assert (await coro).id == 42
        assert (await client.projects.tags(project_id=42).create({"name": "urgent", "category": "project"})).id == 9
        with pytest.raises(errors.NotFoundError):
            await client.projects.retrieve(43)
        with pytest.raises(TypeError, match="per_page"):
            client.projects.list(per_pag=1)
    assert len(httpserver.log) == 3


# -- smaller contracts ------------------------------------------------------------------


def test_request_id_header_counts_for_204(httpserver) -> None:
    httpserver.expect_request("/v2/projects/42/", method="DELETE").respond_with_data(
        "", status=204, headers={"X-Request-Id": "req_del"})
    with make_client(httpserver) as client:
        assert client.projects.destroy(42) is None
        assert client.last_request_id == "req_del"


def test_root_relative_next_links_resolve_against_the_origin(httpserver) -> None:
    base = httpserver.url_for("/api")
    httpserver.expect_request("/api/v2/projects/", query_string="per_page=1").respond_with_json(
        {"results": [project(1)], "next": "/api/v2/projects/?per_page=1&cursor=c2", "previous": None})
    httpserver.expect_request("/api/v2/projects/", query_string="per_page=1&cursor=c2").respond_with_json(
        {"results": [project(2)], "next": None, "previous": None})
    with Client(base, allow_insecure=True, retries=0) as client:
        assert [p.id for p in client.projects.list(per_page=1, list_all=True)] == [1, 2]


def test_next_link_to_another_origin_is_refused(httpserver) -> None:
    httpserver.expect_request("/v2/projects/").respond_with_json(
        {"results": [project(1)], "next": "https://evil.example/v2/projects/?cursor=x", "previous": None})
    with make_client(httpserver) as client, pytest.raises(errors.ProtocolError, match="another origin"):
        list(client.projects.list(list_all=True))
    assert len(httpserver.log) == 1


def test_prepare_request_for_any_path(httpserver) -> None:
    client = make_client(httpserver)
    described = client.prepare_request("get", "/v2/new-thing/", params={"a": 1}).describe()
    assert described["method"] == "GET" and described["url"].endswith("/v2/new-thing/")
    assert described["params"] == [("a", "1")] and TOKEN not in str(described)
    assert httpserver.log == []
