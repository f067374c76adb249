"""Faults on demand: each kind is observable, seeded runs repeat, schedules are exact."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from click.testing import CliRunner

from synapse_dyn import AsyncClient, Client, errors, load_spec
from synapse_dyn.registry import Registry
from synapse_dyn.retry import RetryPolicy
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Faults, Sandbox
from synapse_dyn.sandbox.cli import sandbox_group

EMAIL = "erin@synapse.local"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_spec("v2")


def make(registry: Registry, faults: Faults | None = None) -> tuple[Sandbox, str]:
    sandbox = Sandbox(registry, faults=faults)
    sandbox.create_user(EMAIL, "pw", "acme")
    return sandbox, sandbox.issue_token(EMAIL, "acme")


def client(sandbox: Sandbox, token: str, retries: int | RetryPolicy = 0) -> Client:
    return Client(SANDBOX_ORIGIN, transport=sandbox.transport(), schema=sandbox.registry, access_token=token,
                  tenant="acme", retries=retries)


def fast_retries(count: int) -> RetryPolicy:
    return RetryPolicy(retries=count, backoff=0.001, max_backoff=0.002)


def test_latency_delays_sync_and_async_requests(registry: Registry) -> None:
    sandbox, token = make(registry, Faults(latency=0.05))
    started = time.perf_counter()
    client(sandbox, token).projects.list()
    assert time.perf_counter() - started >= 0.05

    async def run() -> float:
        async with AsyncClient(SANDBOX_ORIGIN, transport=sandbox.transport(), schema=registry, access_token=token,
                               tenant="acme", retries=0) as ac:
            begun = time.perf_counter()
            await asyncio.gather(*[ac.projects.list().first_page() for _ in range(4)])
            return time.perf_counter() - begun

    assert 0.05 <= asyncio.run(run()) < 0.18  # the four waits overlap: asyncio.sleep, not time.sleep
    assert sandbox.faults.injected["latency"] == 5


def test_an_error_rate_answers_server_errors_in_the_error_envelope(registry: Registry) -> None:
    sandbox, token = make(registry, Faults(error_rate=1.0, error_statuses=(502,), seed=3))
    with pytest.raises(errors.ServerError) as caught:
        client(sandbox, token).projects.list()
    assert caught.value.status_code == 502 and caught.value.code == "BAD_GATEWAY" and caught.value.request_id
    with httpx.Client(transport=sandbox.transport()) as http:
        body = http.get(SANDBOX_ORIGIN + "/v2/projects/").json()
    assert body["error"]["code"] == "BAD_GATEWAY" and body["meta"]["request_id"]


def test_seeded_faults_repeat_exactly(registry: Registry) -> None:
    def outcomes(seed: int) -> list[str]:
        faults = Faults(error_rate=0.3, rate_limit_rate=0.1, drop_rate=0.1, seed=seed)
        return [f"{f.kind}:{f.status}" for f in (faults.decide() for _ in range(200))]

    first = outcomes(7)
    assert first == outcomes(7) and first != outcomes(8)
    kinds = {o.split(":")[0] for o in first}
    assert {"error", "rate_limit", "drop", "none"} <= kinds
    statuses = {o.split(":")[1] for o in first if o.startswith("error")}
    assert statuses == {"500", "502", "503"}
    share = sum(o.startswith("error") for o in first) / len(first)
    assert 0.15 < share < 0.45


def test_rate_limiting_sends_retry_after_and_clients_honour_it(registry: Registry) -> None:
    sandbox, token = make(registry)
    sandbox.faults.rate_limit_next(1, retry_after=2)
    with pytest.raises(errors.RateLimitError) as caught:
        client(sandbox, token).projects.list()
    assert caught.value.status_code == 429 and caught.value.retry_after == 2
    sandbox.faults.rate_limit_next(2, retry_after=0)
    assert client(sandbox, token, fast_retries(3)).projects.list().results == []
    assert sandbox.faults.injected["rate_limit"] == 3


def test_a_schedule_fails_exactly_the_next_requests(registry: Registry) -> None:
    sandbox, token = make(registry)
    sandbox.faults.fail_next(2, status=503)
    statuses = []
    with httpx.Client(transport=sandbox.transport()) as http:
        for _ in range(3):
            response = http.get(SANDBOX_ORIGIN + "/v2/projects/", headers={"SYNAPSE-ACCESS-TOKEN": token})
            statuses.append(response.status_code)
    assert statuses == [503, 503, 200]


def test_a_dropped_connection_looks_like_a_real_drop(registry: Registry) -> None:
    sandbox, token = make(registry)
    sandbox.faults.drop_next(1)
    with httpx.Client(transport=sandbox.transport()) as http, pytest.raises(httpx.RemoteProtocolError):
        http.get(SANDBOX_ORIGIN + "/v2/projects/")
    sandbox.faults.drop_next(1)
    with pytest.raises(errors.TransportError):
        client(sandbox, token).projects.list()
    sandbox.faults.drop_next(1)
    assert client(sandbox, token, fast_retries(1)).projects.list().results == []  # GET is retried
    assert sandbox.faults.injected["drop"] == 3


def test_drops_async_and_after_processing(registry: Registry) -> None:
    sandbox, token = make(registry, Faults(drop_phase="after"))
    sandbox.faults.drop_next(1)
    with pytest.raises(errors.TransportError):  # POST is not retried: the request may have landed
        client(sandbox, token, fast_retries(2)).projects.create({"title": "Lost answer", "category": "image",
                                                                 "configuration": {}})
    assert [p.title for p in client(sandbox, token).projects.list().results] == ["Lost answer"]

    async def run() -> None:
        sandbox.faults.drop_next(1)
        async with httpx.AsyncClient(transport=sandbox.transport()) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get(SANDBOX_ORIGIN + "/v2/projects/")

    asyncio.run(run())


def test_a_random_drop_rate_is_survived_by_retrying_reads(registry: Registry) -> None:
    sandbox, token = make(registry, Faults(drop_rate=0.3, error_rate=0.2, error_statuses=(503,), seed=11))
    sandbox.seed("tasks", 60, tenant="acme")
    items = list(client(sandbox, token, fast_retries(8)).tasks.list(per_page=10, list_all=True))
    assert [t.id for t in items] == list(range(1, 61))
    assert sandbox.faults.injected["drop"] > 0 and sandbox.faults.injected["error"] > 0


def test_fault_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError):
        Faults(drop_phase="during")
    with pytest.raises(ValueError):
        Faults(error_rate=0.1, error_statuses=())


def test_fault_flags_are_checked_by_the_cli() -> None:
    result = CliRunner().invoke(sandbox_group, ["serve", "--error-statuses", "200,oops"])
    assert result.exit_code == 2 and "--error-statuses" in result.output
    result = CliRunner().invoke(sandbox_group, ["serve", "--drop-rate", "2"])
    assert result.exit_code == 2 and "--drop-rate" in result.output
