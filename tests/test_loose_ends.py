"""Loose ends of the redesign, over real loopback HTTP: masking by value in reprs, the size limit not
retried, schema-less pagination, the CLI's ``--limit`` beside a schema ``limit`` and ``--overrides``."""

from __future__ import annotations

import pytest
from helpers import TOKEN, envelope, json_response, make_client, project_detail
from werkzeug import Request

from synapse_dyn import errors
from synapse_dyn.retry import RetryPolicy


def test_a_registered_credential_is_masked_in_a_record_under_any_field_name(httpserver) -> None:
    httpserver.expect_request("/v2/projects/1/").respond_with_json(
        envelope(project_detail(1, description=f"token {TOKEN} pasted here", configuration={"pw": {"password": "x"}})))
    with make_client(httpserver) as client:
        record = client.projects.retrieve(1)
    for text in (repr(record), str(record), record._repr_html_()):
        assert TOKEN not in text and "'x'" not in text
    assert record.description == f"token {TOKEN} pasted here"  # the value itself is untouched


def test_a_response_over_max_response_size_is_sent_once(httpserver) -> None:
    httpserver.expect_request("/v2/projects/1/").respond_with_json(envelope(project_detail(1, description="x" * 5000)))
    client = make_client(httpserver, max_response_size=1000, retries=RetryPolicy(retries=3, backoff=0.01))
    with client, pytest.raises(errors.ProtocolError, match="max_response_size"):
        client.projects.retrieve(1)
    assert len(httpserver.log) == 1


def test_paginate_a_prepared_request_with_no_operation(httpserver) -> None:
    def pages(request: Request):
        cursor = request.args.get("cursor")
        ids, following = ([1, 2], "c2") if cursor is None else ([3], None)
        return json_response(envelope([{"id": i} for i in ids], next_cursor=following))

    httpserver.expect_request("/v2/things/").respond_with_handler(pages)
    with make_client(httpserver) as client:
        prepared = client.prepare_request("GET", "/v2/things/", params={"per_page": 2})
        assert [[item["id"] for item in page.results] for page in client.paginate(prepared)] == [[1, 2], [3]]
