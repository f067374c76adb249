"""The client's public building blocks and its promises at the edges, over real loopback HTTP.

``prepare()`` / ``send()`` / ``paginate()``, notebook values, dict bodies checked like keywords,
constructor typos and httpx knobs, the PreparedRequest repr, credentials only to the configured
origin, and a closed client.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import uuid
from typing import Any

import numpy as np
import pytest
from helpers import DRF, TOKEN, envelope, json_response, make_client, project, project_detail, request_json
from werkzeug import Request

import synapse_dyn
from synapse_dyn import errors
from synapse_dyn.core import join_url
from synapse_dyn.registry import Registry


def serve_project(httpserver, pid: int = 1) -> None:
    httpserver.expect_request(f"/v2/projects/{pid}/").respond_with_json(envelope(project_detail(pid)))


# -- prepare / send / paginate ---------------------------------------------------------


def test_prepare_then_send_binds_and_validates_once(httpserver) -> None:
    httpserver.expect_request("/v2/projects/5/", method="DELETE").respond_with_data(status=204)
    with make_client(httpserver) as client:
        prepared = client.projects.destroy.prepare(5)
        assert prepared.method == "DELETE" and prepared.url.endswith("/v2/projects/5/")
        assert client.send(prepared) is None
    assert len(httpserver.log) == 1


def test_paginate_yields_pages_and_async_list_all_returns_every_item(httpserver) -> None:
    def pages(request: Request):
        cursor = request.args.get("cursor")
        if cursor is None:
            return json_response(envelope([project(1), project(2)], next_cursor="c2"))
        return json_response(envelope([project(3)]))

    httpserver.expect_request("/v2/projects/").respond_with_handler(pages)
    with make_client(httpserver) as client:
        listed = list(client.paginate(client.projects.list.prepare(per_page=2)))
        assert [[p.id for p in page.results] for page in listed] == [[1, 2], [3]]

    async def main() -> list[Any]:
        async with make_client(httpserver, cls=synapse_dyn.AsyncClient) as client:
            return await client.projects.list(per_page=2, list_all=True)

    assert [p.id for p in asyncio.run(main())] == [1, 2, 3]


def test_list_all_takes_only_real_booleans(httpserver) -> None:
    with make_client(httpserver) as client, pytest.raises(errors.ValidationError, match="list_all"):
        client.projects.list(list_all="no")


# -- values from notebooks ----------------------------------------------------------------


def test_numpy_ints_numeric_strings_and_uuids_become_their_schema_types(httpserver) -> None:
    serve_project(httpserver, 7)
    httpserver.expect_request("/v2/projects/").respond_with_json(envelope([project(1)]))
    with make_client(httpserver) as client:
        assert client.projects.retrieve(np.int64(7)).id == 7
        assert client.projects.retrieve("7").id == 7
        client.projects.list(per_page=np.int64(5))
    assert httpserver.log[-1][0].args["per_page"] == "5"
    with make_client(httpserver) as client:
        with pytest.raises(errors.ValidationError, match="per_page: must be an integer"):
            client.projects.list(per_page=5.0)
        with pytest.raises(errors.ValidationError, match="per_page"):
            client.projects.list(per_page=object())
        assert client.tenants.retrieve.prepare(uuid.UUID(int=1)).url.endswith("/00000000-0000-0000-0000-000000000001/")


def test_dates_decimals_and_numpy_values_in_a_body_are_sent_as_json(httpserver) -> None:
    httpserver.expect_request("/v2/projects/", method="POST").respond_with_json(envelope(project_detail(3)),
                                                                               status=201)
    with make_client(httpserver) as client:
        client.projects.create(title="t", category="image", configuration={
            "when": dt.datetime(2026, 1, 2, 3, 4, 5), "day": dt.date(2026, 1, 2), "ratio": decimal.Decimal("0.5"),
            "n": np.int64(3), "id": uuid.UUID(int=2)})
        with pytest.raises(errors.ValidationError, match="configuration.bad: cannot be sent as JSON"):
            client.projects.create(title="t", category="image", configuration={"bad": object()})
    sent = request_json(httpserver.log[0][0])["configuration"]
    assert sent == {"when": "2026-01-02T03:04:05", "day": "2026-01-02", "ratio": 0.5, "n": 3,
                    "id": "00000000-0000-0000-0000-000000000002"}


# -- a dict body is checked like keyword arguments --------------------------------------


def test_an_unknown_body_key_is_refused_with_the_closest_field(httpserver) -> None:
    with make_client(httpserver) as client:
        with pytest.raises(errors.UnknownArgumentError, match="'titel' .did you mean 'title'"):
            client.projects.create({"titel": "x", "category": "image", "configuration": {}})
        with pytest.raises(errors.UnknownArgumentError, match="unknown body field"):
            client.tokens.create(synapse_dyn.Record(project_detail(1)))  # a record of another schema
    assert not httpserver.log


def test_validate_requests_warn_sends_the_unknown_key_with_a_warning(httpserver) -> None:
    httpserver.expect_request("/v2/projects/", method="POST").respond_with_json(envelope(project_detail(3)),
                                                                               status=201)
    with make_client(httpserver, validate_requests="warn") as client, \
            pytest.warns(errors.RequestValidationWarning, match="titel") as caught:
        client.projects.create({"title": "x", "titel": "x", "category": "image", "configuration": {}})
    assert caught[0].filename == __file__
    assert request_json(httpserver.log[0][0])["titel"] == "x"


# -- constructor -------------------------------------------------------------------------


def test_a_constructor_typo_is_a_type_error_listing_the_parameters(httpserver) -> None:
    with pytest.raises(TypeError, match="'retires' .did you mean 'retries'.*valid: .*timeout"):
        make_client(httpserver, retires=3)
    assert "timeout" in (synapse_dyn.Client.__doc__ or "") and "verify" in (synapse_dyn.Client.__doc__ or "")


def test_headers_and_event_hooks_reach_every_request(httpserver) -> None:
    serve_project(httpserver)
    seen: list[str] = []
    with make_client(httpserver, headers={"X-Trace": "t1"},
                     event_hooks={"request": [lambda request: seen.append(request.url.path)]}) as client:
        client.projects.retrieve(1)
    assert httpserver.log[0][0].headers["X-Trace"] == "t1" and seen == ["/v2/projects/1/"]


def test_timeout_none_means_no_timeout(httpserver) -> None:
    with make_client(httpserver, timeout=None) as client:
        limits = client._timeout
    assert (limits.connect, limits.read, limits.attempt, limits.total) == (None, None, None, None)


# -- secrets and where credentials go --------------------------------------------------


def test_a_prepared_request_repr_masks_credentials_and_hides_the_body(httpserver) -> None:
    with make_client(httpserver, drf_token=DRF) as client:
        prepared = client.auth.login.prepare(email="me@example.com", password="hunter2-secret")
    text = repr(prepared)
    assert TOKEN not in text and DRF not in text and "hunter2" not in text and "me@example.com" not in text
    assert "POST" in text and "body=<" in text


def test_paths_must_be_relative_and_credentials_stay_on_the_origin(httpserver) -> None:
    with pytest.raises(errors.ConfigurationError, match="not relative"):
        join_url("https://api.test", "http://other-host/v2/tenants/")
    with pytest.raises(errors.ConfigurationError, match="not relative"):
        join_url("https://api.test", "//other-host/v2/tenants/")
    with make_client(httpserver) as client:
        with pytest.raises(errors.ConfigurationError, match="refusing to send credentials to http://other.test"):
            client.request("GET", "http://other.test/v2/x/")
        httpserver.expect_request("/v2/x/").respond_with_json({"ok": True})
        assert client.request("GET", httpserver.url_for("/v2/x/")) == {"ok": True}


def test_a_schema_path_naming_another_host_is_refused(httpserver) -> None:
    document = synapse_dyn.load_spec("v2").document
    stolen = {"get": {**document["paths"]["/v2/tenants/"]["get"], "operationId": "elsewhere_list"}}
    registry = Registry({**document, "paths": {**document["paths"], "http://other-host/v2/elsewhere/": stolen}})
    with make_client(httpserver, schema=registry) as client:
        op = next(o for o in registry.operations if o.path.startswith("http://"))
        with pytest.raises(errors.SpecError, match="not relative"):
            client.send(client.build_request(op))
    assert not httpserver.log


# -- closed clients ----------------------------------------------------------------------


def test_a_closed_client_raises_a_synapse_error(httpserver) -> None:
    serve_project(httpserver)
    with make_client(httpserver) as client:
        client.projects.retrieve(1)
    with pytest.raises(errors.ClientClosedError, match="closed"):
        client.projects.retrieve(1)


def test_an_async_client_under_a_second_event_loop_raises_a_synapse_error() -> None:
    from synapse_dyn.sandbox import Sandbox

    sandbox = Sandbox()
    sandbox.create_user("me@example.com", "pw", tenant="acme")
    token = sandbox.issue_token("me@example.com")
    with sandbox.serve(port=0) as url:  # keeps connections alive, so the pool outlives the first loop
        client = synapse_dyn.AsyncClient(url, access_token=token, tenant="acme", allow_insecure=True, retries=0)
        asyncio.run(client.projects.list().first_page())
        with pytest.raises(errors.ClientClosedError, match="event loop that has closed"):
            asyncio.run(client.projects.list().first_page())
