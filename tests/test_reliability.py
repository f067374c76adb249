"""Retries, faults and hostile input against real loopback servers."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from faultserver import FaultServer, reply, truncated
from helpers import TOKEN, envelope, project, project_detail

from synapse_dyn import AsyncClient, Client, errors
from synapse_dyn.retry import RetryPolicy, parse_retry_after

FAST = RetryPolicy(retries=3, backoff=0.01, max_backoff=0.02, max_total=5)


def _client(server: FaultServer, cls=Client, **kwargs):
    kwargs.setdefault("retries", FAST)
    kwargs.setdefault("timeout", {"connect": 2, "read": 2})
    return cls(server.url, access_token=TOKEN, tenant="acme", allow_insecure=True, **kwargs)


@pytest.fixture
def server():
    fault = FaultServer(reply(200, envelope(project_detail(1))))
    with fault.running():
        yield fault


# -- retries ---------------------------------------------------------------------------


def test_get_retries_on_503_502_504_and_429(server, caplog) -> None:
    server.push(reply(503, {}), reply(502, {}), reply(504, {}), reply(429, {}))
    caplog.set_level(logging.INFO, logger="synapse_dyn")
    with _client(server, retries=RetryPolicy(retries=4, backoff=0.01, max_backoff=0.02, max_total=5)) as client:
        assert client.projects.retrieve(1).id == 1
    assert len(server.requests) == 5
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 4 and all(r.levelno == logging.INFO for r in retries)
    assert "HTTP 429" in retries[3].getMessage()
    assert "GET /v2/projects/1/" in retries[0].getMessage() and "HTTP 503" in retries[0].getMessage()
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_retry_limit_then_the_error(server) -> None:
    server.push(*[reply(503, {"error": {"code": "DOWN", "message": "down"}, "meta": {"request_id": "r"}})] * 5)
    with _client(server) as client, pytest.raises(errors.ServerError, match="DOWN"):
        client.projects.retrieve(1)
    assert len(server.requests) == 4


def test_retries_zero_disables(server) -> None:
    server.push(reply(503, {}))
    with _client(server, retries=0) as client, pytest.raises(errors.ServerError):
        client.projects.retrieve(1)
    assert len(server.requests) == 1


def test_post_is_not_retried_after_reaching_the_server(server) -> None:
    server.push(reply(503, {}), "reset")
    with _client(server) as client:
        with pytest.raises(errors.ServerError):
            client.projects.create({"title": "t", "category": "image", "configuration": {}})
        with pytest.raises(errors.TransportError):
            client.projects.create({"title": "t", "category": "image", "configuration": {}})
    assert len(server.requests) == 2


def test_post_is_retried_when_the_connection_was_never_made() -> None:
    probe = FaultServer(reply(201, envelope(project_detail(5))))
    port = probe.port
    probe.server.server_close()  # nothing listens: connect is refused, so the POST provably never arrived
    client = Client(f"http://127.0.0.1:{port}", allow_insecure=True, retries=FAST, timeout={"connect": 1, "read": 1})
    with pytest.raises(errors.TransportError) as info:
        client.projects.create({"title": "t", "category": "image", "configuration": {}})
    assert info.value.sent is False and "4 attempts" in str(info.value)


def test_429_honours_retry_after_seconds(server) -> None:
    server.push(reply(429, {}, headers={"Retry-After": "0.6"}))
    started = time.monotonic()
    with _client(server) as client:
        assert client.projects.retrieve(1).id == 1
    assert time.monotonic() - started >= 0.6  # the jittered backoff alone is at most 0.02 s
    assert len(server.requests) == 2


def test_429_honours_a_retry_after_http_date_in_the_future(server) -> None:
    """HTTP dates have whole seconds: a date 2 s ahead means a wait of more than 1 s."""
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    server.push(reply(429, {}, headers={"Retry-After": when}))
    started = time.monotonic()
    with _client(server) as client:
        assert client.projects.retrieve(1).id == 1
    assert 1.0 <= time.monotonic() - started < 4
    assert len(server.requests) == 2


def test_parse_retry_after() -> None:
    now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    assert parse_retry_after("120") == 120 and parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now=now) == 60
    assert parse_retry_after("Wed, 31 Dec 2025 23:59:00 GMT", now=now) == 0  # in the past: no wait
    assert parse_retry_after(email.utils.formatdate(time.time() + 60, usegmt=True)) == pytest.approx(60, abs=2)
    assert parse_retry_after("soon") is None and parse_retry_after("") is None and parse_retry_after(None) is None


def test_max_total_time_bounds_retrying(server) -> None:
    server.push(*[reply(503, {}, headers={"Retry-After": "5"})] * 3)
    policy = RetryPolicy(retries=5, max_total=1.0)
    started = time.monotonic()
    with _client(server, retries=policy) as client, pytest.raises(errors.ServerError):
        client.projects.retrieve(1)
    assert time.monotonic() - started < 1.0 and len(server.requests) == 1


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(retries=10, backoff=1, max_backoff=100, max_total=1e9)
    for attempt in range(5):
        waits = [policy.delay("GET", attempt, 0, status=503) for _ in range(200)]
        assert all(0 <= w <= 2**attempt for w in waits)
        assert max(waits) > 2**attempt * 0.7
    assert policy.delay("POST", 0, 0, status=503) is None
    assert policy.delay("PATCH", 0, 0, failure_sent=True) is None
    assert policy.delay("PATCH", 0, 0, failure_sent=False) is not None


# -- faults end in clear exceptions -------------------------------------------------------


@pytest.mark.parametrize("behaviour,exc,text", [
    ("reset", errors.TransportError, "connection broke"),
    ("close", errors.TransportError, "connection broke"),
    (truncated(envelope(project_detail(1))), errors.TransportError, "connection broke"),
    (reply(200, raw=b'{"data": {"id": 1,', content_type="application/json"), errors.ProtocolError, "malformed JSON"),
    (reply(502, raw=b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"),
     errors.ServerError, "502"),
    (reply(200, raw=b""), errors.ProtocolError, "empty body"),
    ("sleep:1.5", errors.TimeoutError, "did not answer in time"),
])
def test_faults_end_in_a_clear_exception(server, behaviour, exc, text) -> None:
    server.push(*[behaviour] * 4)
    with _client(server, retries=0, timeout={"connect": 1, "read": 0.5}) as client, pytest.raises(exc) as info:
        client.projects.retrieve(1)
    assert isinstance(info.value, errors.SynapseError)
    assert text in str(info.value)
    assert "<html>" not in str(info.value)


def test_list_missing_envelope_pieces_is_a_protocol_error(server) -> None:
    server.push(reply(200, {"data": [project(1)]}), reply(200, {"meta": {"request_id": "x"}}))
    with _client(server, retries=0) as client:
        with pytest.raises(errors.ProtocolError, match="not a page"):
            client.projects.list()
        with pytest.raises(errors.ProtocolError, match="not a page"):
            client.projects.list()


def _paged(total: int, per_page: int, fail_every: int, counter: list[int]):
    def answer(method: str, target: str, body: bytes) -> bytes:
        from faultserver import http_response

        counter[0] += 1
        if counter[0] % fail_every == 0:
            return http_response(503, b"{}")
        query = parse_qs(urlsplit(target).query)
        start = int(query.get("cursor", ["0"])[0])
        items = [project(i) for i in range(start + 1, min(start + per_page, total) + 1)]
        nxt = str(start + per_page) if start + per_page < total else None
        import json

        return http_response(200, json.dumps(envelope(items, next_cursor=nxt, per_page=per_page)).encode())
    return answer


def test_list_all_resumes_from_the_last_good_cursor() -> None:
    counter = [0]
    server = FaultServer(_paged(10_000, 100, 7, counter))
    with server.running(), _client(server) as client:
        ids = [p.id for p in client.projects.list(per_page=100, list_all=True)]
    assert ids == list(range(1, 10_001))
    assert counter[0] > 100  # some pages failed and were retried


def test_list_all_resumes_after_a_dropped_connection() -> None:
    counter = [0]
    server = FaultServer(_paged(1_000, 100, 10**9, counter))
    server.push(reply(200, envelope([project(i) for i in range(1, 101)], next_cursor="100")), "reset", "close")
    with server.running(), _client(server) as client:
        ids = [p.id for p in client.projects.list(per_page=100, list_all=True)]
    assert ids == list(range(1, 1_001))


# -- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["../admin", "1/../../x", "..", ".", "a?b=c#d", "%2e%2e", "x y"])
def test_path_parameters_cannot_change_the_route(server, value) -> None:
    with _client(server, validate_responses="off") as client:
        client.tenants.retrieve(value)
    method, target = server.requests[-1]
    path = urlsplit(target).path
    assert path.startswith("/v2/tenants/") and path.endswith("/")
    segment = path[len("/v2/tenants/"):-1]
    assert "/" not in segment and segment not in ("..", ".") and "?" not in segment and "#" not in segment


def test_wrong_input_raises_validation_error_and_sends_nothing(server) -> None:
    with _client(server) as client:
        cases = [
            lambda: client.projects.retrieve("forty-two"),
            lambda: client.projects.list(category="nope"),
            lambda: client.projects.create({"title": 5, "category": "image", "configuration": {}}),
            lambda: client.projects.create({"category": "image", "configuration": {}}),
            lambda: client.projects.tags(1).create({"name": "x"}),
        ]
        for case in cases:
            with pytest.raises(errors.ValidationError) as info:
                case()
            assert info.value.detail["errors"] and all(e["field"] for e in info.value.detail["errors"])
    assert server.requests == []


# -- concurrency -------------------------------------------------------------------------------


def _echo_server() -> FaultServer:
    counter = iter(range(10**9))
    lock = threading.Lock()

    def answer(method: str, target: str, body: bytes) -> bytes:
        import json

        from faultserver import http_response

        pid = int(urlsplit(target).path.rstrip("/").rsplit("/", 1)[-1])
        with lock:
            n = next(counter)
        return http_response(200, json.dumps(envelope(project_detail(pid), request_id=f"req_{pid}_{n}")).encode())
    return FaultServer(answer)


def test_one_client_shared_by_16_threads() -> None:
    server = _echo_server()
    results: dict[int, list] = {}
    with server.running(), _client(server) as client:
        def work(worker: int) -> None:
            seen = []
            for i in range(20):
                pid = worker * 1000 + i
                record = client.projects.retrieve(pid)
                seen.append((record.id == pid, client.last_request_id.startswith(f"req_{pid}_")))
            results[worker] = seen

        threads = [threading.Thread(target=work, args=(w,)) for w in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 16
    assert all(all(a and b for a, b in seen) for seen in results.values())


async def test_one_async_client_shared_by_200_tasks() -> None:
    server = _echo_server()
    with server.running():
        async with _client(server, cls=AsyncClient) as client:
            async def one(pid: int) -> bool:
                record = await client.projects.retrieve(pid)
                await asyncio.sleep(0)
                return record.id == pid and client.last_request_id.startswith(f"req_{pid}_")

            outcomes = await asyncio.gather(*(one(pid) for pid in range(1, 201)))
    assert all(outcomes) and len(outcomes) == 200
