"""The REPL experience against the sandbox (and, for a "newer backend", a loopback server):
nested records, page navigation, raw exchanges, errors, async introspection, dates."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

import synapse_dyn
from synapse_dyn import AsyncClient, Client, errors
from synapse_dyn.records import Exchange, Page, Record
from synapse_dyn.sandbox import Sandbox
from tests.helpers import envelope, json_response, make_client, project_detail

EMAIL, TENANT = "repl@synapse.local", "acme"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    box.create_user(EMAIL, "pw", TENANT)
    yield box
    box.close()


def kwargs_for(box: Sandbox, **extra: Any) -> dict[str, Any]:
    return {"transport": box.transport(), "access_token": box.issue_token(EMAIL), "tenant": TENANT,
            "retries": 0, **extra}


@pytest.fixture(scope="module")
def seeded(sandbox: Sandbox) -> dict[str, Any]:
    with Client("https://sandbox.local", **kwargs_for(sandbox)) as client:
        dc = client.data_collections.create({"name": "Scans", "category": "image"})
        projects = [client.projects.create(title=f"p{i}", category="image", configuration={"labels": ["a"]},
                                           data_collection=dc.id) for i in range(5)]
    return {"dc": dc, "projects": projects}


@pytest.fixture
def client(sandbox: Sandbox, seeded: dict[str, Any]) -> Iterator[Client]:
    with Client("https://sandbox.local", **kwargs_for(sandbox)) as made:
        yield made


def test_sandbox_is_reachable_lazily_after_import_synapse_dyn() -> None:
    code = ("import sys, synapse_dyn\n"
            "assert 'synapse_dyn.sandbox' not in sys.modules and 'synapse_dyn.client' not in sys.modules\n"
            "assert callable(synapse_dyn.sandbox.open_default) and synapse_dyn.NotFoundError.__name__\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_dir_of_the_package_shows_public_names_only() -> None:
    names = dir(synapse_dyn)
    assert {"Client", "AsyncClient", "NotFoundError", "ValidationError", "sandbox", "Page", "Record"} <= set(names)
    assert not {"Any", "TYPE_CHECKING", "annotations", "typing"} & set(names)
    assert synapse_dyn.NotFoundError is errors.NotFoundError


def test_nested_objects_from_the_server_are_records(client: Client, seeded: dict[str, Any]) -> None:
    pid = seeded["projects"][0].id
    summary = client.projects.permissions(pid)
    assert isinstance(summary.role, Record) and summary.role.code == summary["role"]["code"]
    project = client.projects.retrieve(pid)
    assert project.configuration.labels == ["a"]


def test_page_walks_forward_and_back(client: Client) -> None:
    first = client.projects.list(per_page=2)
    second = first.next_page()
    third = second.next_page()
    assert [len(p) for p in (first, second, third)] == [2, 2, 1] and third.next_page() is None
    back = second.previous_page()
    assert [r.id for r in back] == [r.id for r in first] and first.previous_page() is None
    assert len({r.id for p in (first, second, third) for r in p}) == 5


def test_to_pandas_from_a_list_call(client: Client) -> None:
    frame = client.projects.list(per_page=5).to_pandas()
    assert len(frame) == 5 and {"id", "title", "category"} <= set(frame.columns)


def test_raw_exchange_of_any_call(client: Client, seeded: dict[str, Any]) -> None:
    pid = seeded["projects"][0].id
    exchange = client.projects.with_raw_response.retrieve(pid)
    assert isinstance(exchange, Exchange) and exchange.status_code == 200 and exchange.parsed.id == pid
    assert exchange.method == "GET" and exchange.url.endswith(f"/v2/projects/{pid}/")
    assert exchange.elapsed > 0 and exchange.request_id and exchange.request_id.startswith("req_")
    secret = client.credentials.get("access_token")
    assert secret and secret not in str(exchange.request_headers) and secret not in repr(exchange)
    assert exchange.json()["data"]["id"] == pid and "<Exchange GET" in repr(exchange)
    client.projects.list(per_page=1)
    assert client.last_response.url.split("?")[0].endswith("/v2/projects/") and client.last_response.status_code == 200
    with pytest.raises(errors.UnknownNameError, match="not a verb"):
        _ = client.projects.with_raw_response.tags


def test_last_response_is_kept_per_thread(client: Client, seeded: dict[str, Any]) -> None:
    import threading

    client.projects.retrieve(seeded["projects"][0].id)
    seen: list[Any] = []
    thread = threading.Thread(target=lambda: seen.append(client.last_response))
    thread.start()
    thread.join()
    assert seen == [None] and client.last_response is not None


def test_secrets_in_the_raw_exchange_are_masked(client: Client) -> None:
    created = client.tokens.with_raw_response.create({"description": "raw"})
    token = created.parsed.token
    assert token not in repr(created) and token not in str(created.request_headers) and token not in repr(
        created.parsed)


def test_operation_schemas_on_the_method(client: Client) -> None:
    request = client.projects.create.request_schema
    assert request["title"] == "ProjectV2CreateRequest" and "title" in request["required"]
    assert "$ref" not in str(request["properties"]["category"])
    response = client.projects.list.response_schema
    assert response["title"] == "Page" and response["properties"]["results"]["items"]["title"] == "ProjectV2List"
    assert client.projects.destroy.request_schema is None and client.projects.destroy.response_schema is None


def test_nested_accessor_says_which_call_comes_first(client: Client) -> None:
    with pytest.raises(AttributeError, match=r"call tags\(project_pk\) first"):
        client.projects.tags.list()
    assert str(inspect.signature(client.projects.tags)) == "(project_pk) -> 'ResourceProxy'"
    assert "list" not in dir(client.projects.tags)


def test_jedi_completes_the_parent_id_keyword(client: Client) -> None:
    import jedi

    source = "client.projects.tags("
    names = [c.name_with_symbols for c in jedi.Interpreter(source, [{"client": client}]).complete(1, len(source))]
    assert "project_pk=" in names
    source = "client.projects.list(per_"
    names = [c.name_with_symbols for c in jedi.Interpreter(source, [{"client": client}]).complete(1, len(source))]
    assert "per_page=" in names


def test_ipython_completer_without_jedi_after_load_ext(client: Client) -> None:
    from IPython.core.completer import provisionalcompleter
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.update(client=client, page=client.projects.list(per_page=1))
    completer = shell.Completer
    completer.use_jedi = False

    def complete(text: str) -> list[str]:
        with provisionalcompleter():
            return [c.text.lstrip(".") for c in completer.completions(text, len(text))]

    shell.run_line_magic("load_ext", "synapse_dyn")  # IPython's limited policy refuses custom __getattr__
    assert {"create", "list", "retrieve"} <= set(complete("client.projects."))
    assert "title" in complete("page[0].ti")
    assert ("pandas", "DataFrame") in completer.policy_overrides["allowed_getattr_external"]


def test_signatures_show_required_body_fields_and_real_return_types(client: Client) -> None:
    sig = inspect.signature(client.projects.create)
    assert sig.parameters["title"].default is inspect.Parameter.empty
    assert sig.parameters["description"].default is None and sig.return_annotation == "ProjectV2Detail"
    assert inspect.signature(client.projects.destroy).return_annotation is None


def test_async_verbs_are_coroutine_functions_with_async_return_types(sandbox: Sandbox, seeded: dict) -> None:
    async def main() -> None:
        async with AsyncClient("https://sandbox.local", **kwargs_for(sandbox)) as client:
            retrieve, listing = client.projects.retrieve, client.projects.list
            assert inspect.iscoroutinefunction(retrieve) and not inspect.iscoroutinefunction(listing)
            assert inspect.signature(retrieve).return_annotation == "Awaitable[ProjectV2Detail]"
            assert inspect.signature(listing).return_annotation == "AsyncPager"
            assert inspect.signature(client.projects.destroy).return_annotation == "Awaitable[None]"
            pager = client.projects.list(per_page=2)
            assert repr(pager).startswith("<AsyncPager projects.list(per_page=2)")
            first = await pager
            second = await first.next_page()
            assert len(first) == 2 and len(second) == 2 and await (await second.previous_page()).next_page()
            assert len(await client.projects.list(per_page=2).all()) == 5
            assert len([p async for p in client.projects.list(per_page=2)]) == 5
            raw = await client.projects.with_raw_response.retrieve(first[0].id)
            assert raw.parsed.id == first[0].id and client.last_response.status_code == 200

    asyncio.run(main())
    assert not inspect.iscoroutinefunction(Client("https://sandbox.local", **kwargs_for(sandbox)).projects.retrieve)


def test_parse_dates_is_opt_in(sandbox: Sandbox, seeded: dict[str, Any]) -> None:
    pid = seeded["projects"][0].id
    with Client("https://sandbox.local", **kwargs_for(sandbox, parse_dates=True)) as client:
        project = client.projects.retrieve(pid)
        assert isinstance(project.created, datetime) and project.created.tzinfo is not None
        assert isinstance(client.projects.list(per_page=1)[0]["created"], datetime)
    with Client("https://sandbox.local", **kwargs_for(sandbox)) as client:
        assert isinstance(client.projects.retrieve(pid).created, str)


# -- errors ----------------------------------------------------------------------


def test_errors_have_one_details_shape_client_and_server_side(client: Client, httpserver: Any) -> None:
    with pytest.raises(errors.ValidationError) as local:
        client.projects.create(title="t", category="holograms", configuration={})
    assert local.value.details and local.value.details is local.value.detail["errors"]
    assert {"field", "message", "kind"} <= set(local.value.details[0]) and local.value.details[0]["field"] == "category"
    httpserver.expect_request("/v2/projects/").respond_with_response(json_response(
        {"error": {"code": "VALIDATION_ERROR", "message": "Invalid input.",
                   "details": [{"field": "title", "message": "This field is required."}]},
         "meta": {"request_id": "req_400"}}, status=400))
    with pytest.raises(errors.ValidationError) as remote, make_client(httpserver) as loopback:
        loopback.projects.create(title="t", category="image", configuration={})
    assert remote.value.details == [{"field": "title", "message": "This field is required."}]
    assert remote.value.detail["errors"] is remote.value.details


def test_error_repr_has_status_code_and_request_id(client: Client) -> None:
    with pytest.raises(synapse_dyn.NotFoundError) as caught:
        client.projects.retrieve(987654)
    text = repr(caught.value)
    assert text.startswith("NotFoundError(status_code=404, code='NOT_FOUND', message=") and "request_id='req_" in text
    assert client.exceptions.NotFoundError is synapse_dyn.NotFoundError is errors.NotFoundError


def test_nested_create_does_not_contradict_itself(client: Client, seeded: dict[str, Any]) -> None:
    tags = client.projects.tags(seeded["projects"][0].id)
    with pytest.raises(TypeError) as caught:
        tags.create(project_id=1, name="x", category="project")
    assert "already given by tags(project_pk)" in str(caught.value)
    with pytest.raises(TypeError) as caught:
        tags.create(nme="x", category="project")
    assert "project_id" not in str(caught.value) and "name" in str(caught.value)


def test_strict_response_mismatch_explains_the_drift(httpserver: Any) -> None:
    httpserver.expect_request("/v2/projects/7/").respond_with_response(
        json_response(envelope(project_detail(7, category="hologram"))))
    with make_client(httpserver) as client, pytest.raises(errors.ValidationError) as caught:
        client.projects.retrieve(7)
    text = str(caught.value)
    assert "category" in text and "hologram" not in text
    assert "schema sync" in text and 'validate_responses="warn"' in text and "does not describe" in text


def test_warn_mode_points_at_the_callers_line(httpserver: Any) -> None:
    httpserver.expect_request("/v2/projects/7/").respond_with_response(
        json_response(envelope(project_detail(7, category="hologram"))))
    with make_client(httpserver, validate_responses="warn") as client, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        client.projects.retrieve(7)
    found = [w for w in seen if issubclass(w.category, errors.ResponseValidationWarning)]
    assert found and found[0].filename == __file__ and found[0].lineno == line


def test_page_without_client_and_records_from_async_pages_pretty_print(sandbox: Sandbox, seeded: dict) -> None:
    from IPython.lib.pretty import pretty

    with Client("https://sandbox.local", **kwargs_for(sandbox)) as client:
        page = client.projects.list(per_page=3)
    text = pretty(page)
    assert text.startswith("Page(3 results, next=") and "[2] ProjectV2List(id=" in text
    assert isinstance(page, Page) and pretty(page[0]).startswith("ProjectV2List(id=")


def test_last_response_is_per_client_and_keeps_no_client_alive(sandbox: Sandbox, seeded: dict) -> None:
    import gc
    import weakref

    first, second = (Client("https://sandbox.local", **kwargs_for(sandbox)) for _ in range(2))
    first.projects.retrieve(seeded["projects"][0].id)
    second.projects.list(per_page=1)
    assert first.last_response.url.endswith(f"/v2/projects/{seeded['projects'][0].id}/")
    assert "per_page=1" in second.last_response.url
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None and second.last_response is not None
