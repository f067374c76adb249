"""Sandbox behaviours as a registry: resolved once per operation, extensible, traits as data (issue 11.3)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from synapse_dyn import Client, load_spec
from synapse_dyn.registry import Operation, Registry
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Faults, Sandbox
from synapse_dyn.sandbox.behaviours import BEHAVIOURS, Services
from synapse_dyn.sandbox.behaviours.crud import crud
from synapse_dyn.sandbox.behaviours.traits import OWNER_ONLY, RESOURCE_TRAITS
from synapse_dyn.sandbox.calls import Call, Result

ALICE, BOB, PASSWORD = "alice@synapse.local", "bob@synapse.local", "pw-123456"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_spec("v2")


def client(box: Sandbox, email: str = ALICE) -> Client:
    return Client(SANDBOX_ORIGIN, transport=box.transport(), schema=box.registry, retries=0,
                  access_token=box.issue_token(email, "acme"), tenant="acme")


def test_every_operation_has_one_handler_chosen_at_start(registry: Registry) -> None:
    with Sandbox(registry) as box:
        assert set(box.app.behaviours) == {id(op) for op in registry.operations}
        login = registry.operation("auth.login")
        assert box.app.behaviours[id(login)].__qualname__.startswith("login.")


def test_an_operation_id_registration_wins_over_the_generic_behaviour(registry: Registry) -> None:
    behaviours = BEHAVIOURS.copy()
    op = registry.operation("projects.list")

    @behaviours.operation(op.operation_id or "")
    def newest_first(services: Services, served: Operation) -> Any:
        serving = crud(services)
        res = services.resource_of(served)

        def handle(call: Call) -> Result:
            rows = list(serving.scanner(call, res)(descending=True))
            return Result(200, [serving.shape(call, res, row, served.list_item_schema) for row in rows],
                          pagination={"next_cursor": None, "previous_cursor": None, "per_page": len(rows)})
        return handle

    with Sandbox(registry, behaviours=behaviours) as box, Sandbox(registry) as plain:
        titles = {}
        for name, sandbox in (("custom", box), ("plain", plain)):
            sandbox.create_user(ALICE, PASSWORD, "acme")
            alice = client(sandbox)
            for title in ("first", "second"):
                alice.projects.create({"title": title, "category": "image", "configuration": {}})
            titles[name] = [p.title for p in alice.projects.list().results]
    assert titles == {"custom": ["second", "first"], "plain": ["first", "second"]}
    assert behaviours.candidates(op)[0] is newest_first
    assert newest_first not in BEHAVIOURS.candidates(op)  # the shared registry is untouched


def test_resource_traits_are_data(registry: Registry) -> None:
    assert RESOURCE_TRAITS["tokens"] >= {OWNER_ONLY}
    with Sandbox(registry) as shared, Sandbox(registry, traits={}) as open_tokens:
        for box in (shared, open_tokens):
            box.create_user(ALICE, PASSWORD, "acme")
            box.create_user(BOB, PASSWORD, "acme")
            client(box, ALICE).tokens.create({"description": "alice's"})
        assert [t.description for t in client(shared, BOB).tokens.list().results] == ["sandbox"]
        seen_by_bob = {t.description for t in client(open_tokens, BOB).tokens.list().results}
        assert "alice's" in seen_by_bob  # without the owner-only trait, tokens are plain objects


def test_faults_apply_in_one_place_for_both_transports(registry: Registry) -> None:
    box = Sandbox(registry, faults=Faults())
    box.create_user(ALICE, PASSWORD, "acme")
    token = box.issue_token(ALICE, "acme")
    headers = {"SYNAPSE-ACCESS-TOKEN": token}
    with box.serve(port=0) as url:
        box.faults.fail_next(2, status=503)
        over_http = httpx.get(f"{url}/v2/projects/", headers=headers)
        with httpx.Client(transport=box.transport(), base_url=SANDBOX_ORIGIN) as http:
            in_process = http.get("/v2/projects/", headers=headers)
        with httpx.Client(transport=box.transport(faults=False), base_url=SANDBOX_ORIGIN) as http:
            box.faults.fail_next(1, status=503)
            bypassed = http.get("/v2/projects/", headers=headers)
    assert (over_http.status_code, in_process.status_code, bypassed.status_code) == (503, 503, 200)
    assert over_http.json()["error"]["code"] == in_process.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert box.faults.injected["error"] == 2
    box.close()
