"""Schemathesis against the sandbox's real HTTP server: no 5xx, and every answer conforms to the schema.

Schemathesis loads the bundled v2 schema *with the overrides applied* (``load_spec('v2')``'s
document, round-tripped through JSON so it is exactly what a JSON schema file would hold), so
the requests it generates and the sandbox that validates them agree on every enum, format and
required field. Each operation becomes one test; each test sends a handful of generated requests
(schema examples, then positive-mode fuzzing) over loopback HTTP to ``sandbox.serve(port=0)``
with a fresh ``syn_`` access token and the tenant header.

The schema describes success bodies as the client returns them, after it strips the backend's
``{data, meta}`` envelope; the wire carries the envelope. So schemathesis gets the document with
a test-only override (:func:`envelope_overrides`, the same patch mechanism as ``overrides/``) that
wraps every JSON success response in the envelope the backend sends (a list: ``data`` = the items,
``meta.pagination`` = the cursors); error answers are already documented as ``{error, meta}``.
Checks: ``not_a_server_error`` (no 5xx), ``status_code_conformance`` (every status is documented)
and ``response_schema_conformance`` (every body matches its documented schema).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

import synapse_dyn
from synapse_dyn.overrides import OverrideReport, apply_patches, pointer, validate_overrides
from synapse_dyn.sandbox import Sandbox

REGISTRY = synapse_dyn.load_spec("v2", cache=False)  # overrides applied; no cache write at import time
META = {"type": "object", "required": ["request_id"], "properties": {
    "request_id": {"type": "string"},
    "pagination": {"type": "object", "properties": {
        "next_cursor": {"type": "string", "nullable": True}, "previous_cursor": {"type": "string", "nullable": True},
        "count": {"type": "integer"}, "per_page": {"type": "integer"}}}}}


def envelope_overrides(registry: synapse_dyn.Registry) -> dict[str, Any]:
    """Patches replacing each JSON success schema with the ``{data, meta}`` envelope around it."""
    patches = []
    for op in registry.operations:
        for status, response in op.responses.items():
            content = (registry.resolve(response) or {}).get("content") or {}
            if not status.startswith("2") or "application/json" not in content:
                continue
            schema = content["application/json"].get("schema") or {}
            data = {"type": "array", "items": op.list_item_schema} if op.is_paginated else schema
            patches.append({"id": f"envelope-{op.qualified_name}-{status}", "op": "replace",
                            "target": pointer(["paths", op.path, op.method, "responses", status, "content",
                                               "application/json", "schema"]),
                            "value": {"type": "object", "required": ["data", "meta"],
                                      "properties": {"data": data, "meta": META}}})
    return {"patches": patches}


def enveloped_document() -> dict[str, Any]:
    """The bundled document (its overrides applied) with the envelope patches applied on top: a JSON copy."""
    document = json.loads(json.dumps(REGISTRY.document))  # private: schemathesis normalises it in place
    report = OverrideReport()
    apply_patches(document, validate_overrides(envelope_overrides(REGISTRY), "envelope overrides"), report)
    assert report.ok and report.applied, report
    return document


DOCUMENT = enveloped_document()
TENANT = "acme"
EMAIL = "schemathesis@example.com"
MAX_EXAMPLES = 10

CONFIG = schemathesis.Config.from_dict({
    "seed": 20260106,
    "generation": {
        "mode": "positive",  # schema-valid requests only: the property is "valid in, never 5xx out"
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "with-security-parameters": False,  # the auth headers come from the fixture, not from generation
    },
    "phases": {
        "examples": {"enabled": True},
        "fuzzing": {"enabled": True},
        "coverage": {"enabled": False},
        "stateful": {"enabled": False},
    },
})
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def sandbox() -> Any:
    """A sandbox with a user and three objects of every resource (ids 1..3 exist), for all operations."""
    made = Sandbox(REGISTRY)
    made.create_user(EMAIL, "pw-schemathesis", tenant=TENANT)
    for key, res in made.app.resources.items():
        if key not in ("tenants", "tokens"):
            made.seed(key, 3, tenant=TENANT, parent=(1,) * len(res.parent_params) or None)
    yield made
    made.close()


@pytest.fixture(scope="module")
def base_url(sandbox: Sandbox) -> Any:
    with sandbox.serve(port=0) as url:
        yield url


@pytest.fixture
def headers(sandbox: Sandbox, base_url: str) -> dict[str, str]:
    """Fresh credentials per operation: a ``tokens.destroy`` example can only revoke its own test's token."""
    token = sandbox.issue_token(EMAIL, TENANT, description="schemathesis")
    sent = {"SYNAPSE-ACCESS-TOKEN": token, "SYNAPSE-Tenant": TENANT}
    check = httpx.get(f"{base_url}/v2/tenants/{TENANT}/", headers=sent, timeout=10)
    assert check.status_code == 200, check.text  # the credentials work, so no test passes on 401s alone
    return sent


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_schema_valid_requests_get_conforming_answers(case: Any, base_url: str, headers: dict[str, str]) -> None:
    response = case.call(base_url=base_url, headers=headers, timeout=10)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 500, response.text


# -- bodies schemathesis does not generate: regression tests for the sandbox's JSON parsing ---------------


def _strict_json(content: bytes) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(content, parse_constant=refuse)


@pytest.fixture
def raw_client() -> Any:
    """Plain httpx against a fresh in-process sandbox (these requests may poison its store)."""
    made = Sandbox(REGISTRY)
    made.create_user(EMAIL, "pw-schemathesis", tenant=TENANT)
    headers = {"SYNAPSE-ACCESS-TOKEN": made.issue_token(EMAIL, TENANT), "SYNAPSE-Tenant": TENANT,
               "Content-Type": "application/json"}
    with httpx.Client(transport=made.transport(), base_url="https://sandbox.local", headers=headers) as client:
        yield client
    made.close()


PROJECT = b'{"title": %s, "category": "image", "configuration": %s}'


def test_sandbox_lone_surrogate_in_json_body_is_not_a_500(raw_client: Any) -> None:
    created = raw_client.post("/v2/projects/", content=PROJECT % (b'"\\ud800"', b"{}"))
    listed = raw_client.get("/v2/projects/")
    assert created.status_code < 500, created.text
    assert listed.status_code == 200, listed.text


@pytest.mark.parametrize("number", [b"NaN", b"-Infinity", b"1e999"])
def test_sandbox_never_answers_non_standard_json(raw_client: Any, number: bytes) -> None:
    response = raw_client.post("/v2/projects/", content=PROJECT % (b'"t"', b'{"a": %s}' % number))
    assert response.status_code < 500
    _strict_json(response.content)


def test_sandbox_deeply_nested_json_body_is_not_a_500(raw_client: Any) -> None:
    response = raw_client.post("/v2/projects/", content=PROJECT % (b'"t"', b"[" * 1000 + b"]" * 1000))
    assert response.status_code < 500, response.text
