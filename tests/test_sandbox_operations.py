"""Every operation of a schema gets a schema-valid answer from the sandbox.

Each operation is called through the real Client over the in-process transport with
``validate_responses='strict'``, so an answer that does not match its documented
response schema fails the call. Parents are stored first; each destroy gets its own
object; bodies are generated from the request schemas (the smallest valid body when a
full one is impossible, as with the empty ``enum: []`` of a published release).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import reference_release

from synapse_dyn import Client, Page, errors
from synapse_dyn.registry import Operation
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox
from synapse_dyn.sandbox.behaviours.accounts import is_login
from synapse_dyn.sandbox.fake import Faker
from synapse_dyn.sandbox.resources import Resource

pytestmark = pytest.mark.filterwarnings("ignore::synapse_dyn.errors.DriftResolvedWarning")

EMAIL, PASSWORD, TENANT = "qa@synapse.local", "correct horse", "acme"
# Answers that depend on bytes really uploaded (Content-Range offsets, MD5s, finished uploads): generated
# arguments get the documented 400; tests/test_sandbox_v1_uploads.py drives these operations end to end.
BYTE_CHECKED = frozenset({"create_chunked_upload_chunk", "append_chunked_upload_chunk", "finish_chunked_upload",
                          "create_data_file", "create_model"})


class Exerciser:
    """Seeds one object per resource and calls operations with valid arguments."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.resources = sandbox.app.resources
        self.user = sandbox.create_user(EMAIL, PASSWORD, TENANT)
        token = sandbox.issue_token(EMAIL, TENANT)
        self.client = Client(SANDBOX_ORIGIN, transport=sandbox.transport(), access_token=token, tenant=TENANT,
                             schema=sandbox.registry, validate_responses="strict", retries=0)
        self.full = Faker(sandbox.registry)
        self.minimal = Faker(sandbox.registry, minimal=True)
        self.keys: dict[str, Any] = {}
        for res in sorted(self.resources.values(), key=lambda r: len(r.names)):
            self.keys[res.key] = self.seed(res)

    def parents(self, res: Resource | None) -> tuple[Any, ...]:
        if res is None or not res.parent_params:
            return ()
        parent = self.resources[res.parent_key or ""]
        return self.parents(parent) + (self.keys[parent.key],)

    def seed(self, res: Resource) -> Any:
        if res.key == "tenants":
            return TENANT
        fields = {"user_id": self.user.id} if res.key == "tokens" else {}
        stored = self.sandbox.seed(res.key, tenant=TENANT, parent=self.parents(res) or None, **fields)[0]
        return stored[res.key_param]

    def arguments(self, op: Operation) -> tuple[list[Any], dict[str, Any], Resource | None]:
        res = self.resources.get(".".join(op.name.resources))
        key = self.seed(res) if op.method == "delete" and res is not None else self.keys.get(res.key if res else "")
        values: dict[str, Any] = {}
        parents = self.parents(res)
        for index, name in enumerate(op.path_params):
            if name in op.bound_path_params:
                values[name] = parents[index]
            elif res is not None and name == res.key_param:
                values[name] = key
            else:
                values[name] = self.full.value(op.path_param_specs[name].get("schema"), name=name,
                                               direction="request")
        kwargs = {name: self.full.value(spec.get("schema"), name=name, direction="request")
                  for name, spec in {**op.query_params, **op.header_params}.items() if spec.get("required")}
        return [values[n] for n in op.path_params], kwargs, res

    def method(self, op: Operation, path_values: list[Any]) -> Any:
        target: Any = self.client
        for depth, name in enumerate(op.name.resources):
            target = getattr(target, name)
            if depth >= 1:
                target = target(path_values[depth - 1])
        return getattr(target, op.name.verb)

    def call(self, op: Operation) -> Any:
        path_values, kwargs, _res = self.arguments(op)
        method = self.method(op, path_values)
        own = path_values[len(op.bound_path_params):]
        if op.body is None:
            return method(*own, **kwargs)
        if is_login(op):
            return method(*own, body={"email": EMAIL, "password": PASSWORD}, **kwargs)
        try:
            return method(*own, body=self.full.value(op.body.schema, direction="request"), **kwargs)
        except errors.ValidationError as exc:
            if exc.status_code is not None:  # the sandbox refused it: a real failure
                raise
            return method(*own, body=self.minimal.value(op.body.schema, direction="request"), **kwargs)


def exercise(schema: Any) -> tuple[int, list[str]]:
    """(operations called, failures) for every operation of a schema; destroys run last."""
    sandbox = Sandbox(schema)
    runner = Exerciser(sandbox)
    failures = []
    ops = sorted(sandbox.registry.operations, key=lambda o: o.method == "delete")
    for op in ops:
        before = runner.client.last_request_id
        try:
            result = runner.call(op)
        except Exception as exc:  # noqa: BLE001 - collected and reported together below
            refused = isinstance(exc, errors.ValidationError) and exc.status_code == 400
            if refused and op.operation_id in BYTE_CHECKED:
                continue
            failures.append(f"{op.method.upper()} {op.path} ({op.qualified_name}): {type(exc).__name__}: {exc}")
            continue
        res = sandbox.app.resources.get(".".join(op.name.resources))
        listed = op.is_paginated and op.name.kind == "collection" and res is not None
        if listed and (not isinstance(result, Page) or not result.results):
            failures.append(f"{op.qualified_name}: expected a page holding the seeded object, got {result!r}")
        if runner.client.last_request_id == before and sandbox.app.enveloped and op.success_status != 204:
            failures.append(f"{op.qualified_name}: no fresh request id")
    sandbox.close()
    return len(ops), failures


def test_every_operation_of_the_bundled_schema_answers_schema_valid() -> None:
    count, failures = exercise("v2")
    assert count >= 140
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("release", [2, 1])
def test_every_operation_of_a_published_release_answers_schema_valid(release: int) -> None:
    count, failures = exercise(str(reference_release(release)))
    assert count >= 130
    assert failures == [], "\n".join(failures)


def test_every_operation_of_the_v1_schema_answers_schema_valid() -> None:
    count, failures = exercise("v1")
    assert count >= 40
    assert failures == [], "\n".join(failures)

