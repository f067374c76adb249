"""The protocol flows driven by hand: raw responses in, actions and results out, no HTTP.

Each test builds a request with the core, runs a flow with a scripted list of outcomes
(RawResponse / TransportFailure) and checks what the flow asked for (Send, Sleep, request ids,
drift, warnings) and what it returned or raised — as h11's tests drive its state machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import project, project_detail

from synapse_dyn import core, errors
from synapse_dyn.auth import Credentials
from synapse_dyn.conventions import Pagination
from synapse_dyn.core import (
    DriftObserved,
    PageReady,
    RawResponse,
    RequestIdObserved,
    Send,
    Session,
    Sleep,
    TransportFailure,
    Warn,
)
from synapse_dyn.records import Page
from synapse_dyn.retry import RetryPolicy
from synapse_dyn.spec import load_spec
from synapse_dyn.validation import Validators

BASE = "https://api.test"


class FakeClock:
    """An injected monotonic clock that advances only when the test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def registry():
    return load_spec("v2")


@pytest.fixture(scope="module")
def offset_registry():
    """The v2 schema with offset pagination (limit/offset, count) set by an overrides mapping alone."""
    return load_spec("v2", overrides={"conventions": {"pagination": {
        "style": "offset", "size_param": "per_page", "offset_param": "page"}}}, cache=False)


def make_session(registry, **kwargs: Any) -> Session:
    creds = Credentials.from_arguments(registry.conventions.auth, access_token="syn_secret12345678")
    clock = kwargs.pop("clock", FakeClock())
    return Session(BASE, registry, creds, Validators(registry), clock=clock, **kwargs)


def raw(status: int, body: Any = None, headers: dict[str, str] | None = None) -> RawResponse:
    content = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    return RawResponse(status, {"content-type": "application/json", **(headers or {})}, content)


def page_body(items: list[Any], next_cursor: str | None = None, count: int | None = None,
              request_id: str = "req_1") -> dict[str, Any]:
    pagination: dict[str, Any] = {"next_cursor": next_cursor, "previous_cursor": None}
    if count is not None:
        pagination["count"] = count
    return {"data": items, "meta": {"request_id": request_id, "pagination": pagination}}


def run(flow: Any, outcomes: list[Any], clock: FakeClock | None = None) -> tuple[Any, list[Any]]:
    """Drive a flow by hand: each Send takes the next outcome; returns (result, every action)."""
    actions: list[Any] = []
    outcome = None
    pending = iter(outcomes)
    while True:
        try:
            action = flow.send(outcome)
        except StopIteration as stop:
            return stop.value, actions
        actions.append(action)
        outcome = next(pending) if isinstance(action, Send) else None
        if isinstance(action, Sleep) and clock is not None:
            clock.now += action.seconds


def request_for(session: Session, dotted: str, *args: Any, **kwargs: Any) -> core.PreparedRequest:
    op = session.registry.operation(dotted)
    return core.build_request(session, op, core.bind_arguments(op, (), args, kwargs))


# -- send: retries -----------------------------------------------------------


def test_send_retries_a_503_then_returns_the_answer(registry) -> None:
    clock = FakeClock()
    session = make_session(registry, clock=clock, retry=RetryPolicy(retries=2, backoff=0.5))
    request = request_for(session, "projects.retrieve", 1)
    result, actions = run(core.send_flow(session, request), [raw(503), raw(200, {"ok": 1})], clock)
    assert [type(a) for a in actions] == [Send, Sleep, Send]
    assert 0 <= actions[1].seconds <= 0.5
    assert result.status == 200


def test_send_gives_up_after_the_last_attempt_with_a_transport_error(registry) -> None:
    session = make_session(registry, retry=RetryPolicy(retries=1, backoff=0.1))
    request = request_for(session, "projects.retrieve", 1)
    failure = TransportFailure("timeout", "the server did not answer in time", sent=True)
    with pytest.raises(errors.TimeoutError, match="after 2 attempts"):
        run(core.send_flow(session, request), [failure, failure])


def test_a_post_is_not_retried_once_it_reached_the_server(registry) -> None:
    session = make_session(registry, retry=RetryPolicy(retries=3, backoff=0.1))
    request = request_for(session, "projects.create", title="t", category="image", configuration={})
    failure = TransportFailure("read", "the connection broke", sent=True)
    with pytest.raises(errors.TransportError) as info:
        run(core.send_flow(session, request), [failure])
    assert info.value.sent is True


def test_retry_after_is_honoured_and_the_injected_clock_bounds_the_total(registry) -> None:
    clock = FakeClock()
    policy = RetryPolicy(retries=5, backoff=0.1, max_total=3.0)
    session = make_session(registry, clock=clock, retry=policy)
    request = request_for(session, "projects.retrieve", 1)
    limited = raw(429, {"detail": "slow down"}, {"retry-after": "2"})
    result, actions = run(core.send_flow(session, request), [limited, limited, limited], clock)
    sleeps = [a.seconds for a in actions if isinstance(a, Sleep)]
    assert sleeps == [2.0]  # a second 2 s wait would pass max_total on the injected clock
    assert result.status == 429


# -- call: envelope, results, errors -----------------------------------------


def test_call_unwraps_the_envelope_and_reports_the_request_id(registry) -> None:
    session = make_session(registry)
    request = request_for(session, "projects.retrieve", 7)
    body = {"data": project_detail(7), "meta": {"request_id": "req_env"}}
    result, actions = run(core.call_flow(session, request.operation, request), [raw(200, body)])
    assert result.id == 7 and type(result).__name__ == "ProjectV2Detail"
    assert [a.request_id for a in actions if isinstance(a, RequestIdObserved)] == ["req_env"]


def test_an_error_status_raises_its_class_after_reporting_the_request_id(registry) -> None:
    session = make_session(registry)
    request = request_for(session, "projects.retrieve", 7)
    body = {"error": {"code": "NOT_FOUND", "message": "Project not found."}, "meta": {"request_id": "req_404"}}
    flow = core.call_flow(session, request.operation, request)
    assert isinstance(flow.send(None), Send)
    observed = flow.send(raw(404, body))
    assert observed == RequestIdObserved("req_404")
    with pytest.raises(errors.NotFoundError) as info:
        flow.send(None)
    assert info.value.code == "NOT_FOUND" and info.value.request_id == "req_404"


def test_a_rejected_response_in_warn_mode_is_a_warn_action_not_a_warning(registry, recwarn) -> None:
    session = make_session(registry, validate_responses="warn")
    request = request_for(session, "projects.retrieve", 7)
    bad = {"data": project_detail(7, category="not-a-category"), "meta": {"request_id": "r"}}
    result, actions = run(core.call_flow(session, request.operation, request), [raw(200, bad)])
    warns = [a for a in actions if isinstance(a, Warn)]
    assert len(warns) == 1 and "category" in warns[0].message
    assert warns[0].category is errors.ResponseValidationWarning
    assert not recwarn.list  # the flow itself never warns
    assert result.category == "not-a-category"


def test_a_drift_log_gets_a_drift_action_and_strict_mode_still_raises(registry) -> None:
    session = make_session(registry, drift_log=object())
    request = request_for(session, "projects.retrieve", 7)
    bad = {"data": project_detail(7, title=None), "meta": {"request_id": "r"}}
    flow = core.call_flow(session, request.operation, request)
    flow.send(None)
    assert flow.send(raw(200, bad)) == RequestIdObserved("r")
    drift = flow.send(None)
    assert isinstance(drift, DriftObserved) and drift.problems[0]["field"] == "title"
    with pytest.raises(errors.ValidationError):
        flow.send(None)


def test_a_list_answer_without_its_page_is_a_protocol_error(registry) -> None:
    session = make_session(registry)
    request = request_for(session, "projects.list")
    with pytest.raises(errors.ProtocolError, match="not a page"):
        run(core.call_flow(session, request.operation, request), [raw(200, [project(1)])])


def test_malformed_json_and_an_empty_body_are_protocol_errors(registry) -> None:
    session = make_session(registry)
    request = request_for(session, "projects.retrieve", 1)
    with pytest.raises(errors.ProtocolError, match="malformed JSON"):
        run(core.call_flow(session, request.operation, request), [raw(200, b"{nope")])
    with pytest.raises(errors.ProtocolError, match="empty body"):
        run(core.call_flow(session, request.operation, request), [raw(200)])


def test_request_warnings_become_warn_actions_before_sending(registry) -> None:
    session = make_session(registry, validate_requests="warn")
    request = request_for(session, "projects.create", {"title": "t", "category": "image", "configuraton": {}})
    result, actions = run(core.call_flow(session, request.operation, request),
                          [raw(201, {"data": project_detail(1), "meta": {"request_id": "r"}})])
    kinds = [type(a) for a in actions]
    assert kinds[: kinds.index(Send)] == [Warn, Warn]  # the typo'd key, then the missing field: before sending
    assert "configuraton" in actions[0].message and "did you mean 'configuration'" in actions[0].message


# -- paginate --------------------------------------------------------------------


def pages_of(flow: Any, outcomes: list[Any]) -> tuple[list[Any], list[core.PreparedRequest]]:
    """Drive a paginating flow: (the pages it handed out, the requests it sent)."""
    result, actions = run(flow, outcomes)
    assert result is None
    return ([a.page for a in actions if isinstance(a, PageReady)],
            [a.request for a in actions if isinstance(a, Send)])


def test_paginate_follows_cursors_until_there_is_none(registry) -> None:
    session = make_session(registry)
    first = request_for(session, "projects.list", per_page=2)
    pages, sent = pages_of(core.paginate_flow(session, first), [
        raw(200, page_body([project(1), project(2)], "c2")),
        raw(200, page_body([project(3)], None)),
    ])
    assert [[p.id for p in page.results] for page in pages] == [[1, 2], [3]]
    assert dict(sent[1].params) == {"per_page": "2", "cursor": "c2"}


def test_paginate_follows_a_same_origin_link_and_refuses_another_origin(registry) -> None:
    session = make_session(registry)
    first = request_for(session, "projects.list")
    flow = core.paginate_flow(session, first)
    pages, sent = pages_of(flow, [raw(200, page_body([project(1)], f"{BASE}/v2/projects/?cursor=x")),
                                  raw(200, page_body([project(2)]))])
    assert sent[1].url == f"{BASE}/v2/projects/" and dict(sent[1].params) == {"cursor": "x"}
    flow = core.paginate_flow(session, first)
    with pytest.raises(errors.ProtocolError, match="another origin"):
        pages_of(flow, [raw(200, page_body([project(1)], "https://evil.test/v2/projects/?cursor=x"))])


def test_offset_pages_by_count_alone_when_set_by_overrides(offset_registry) -> None:
    session = make_session(offset_registry)
    op = offset_registry.operation("projects.list")
    assert op.pagination.style == "offset" and op.pagination.by_page_number
    first = request_for(session, "projects.list", per_page=2)
    pages, sent = pages_of(core.paginate_flow(session, first), [
        raw(200, page_body([project(1), project(2)], count=5)),
        raw(200, page_body([project(3), project(4)], count=5)),
        raw(200, page_body([project(5)], count=5)),
    ])
    assert [len(p.results) for p in pages] == [2, 2, 1] and pages[0].count == 5
    assert [dict(r.params).get("page") for r in sent] == [None, "2", "3"]


def test_offset_by_item_counts_with_limit_and_offset(registry) -> None:
    pagination = Pagination(style="offset", size_param="limit", offset_param="offset")
    session = make_session(registry)
    request = core.PreparedRequest("GET", f"{BASE}/v2/things/", {}, [("limit", "2")])
    page = Page([1, 2], None, None, 3)
    following = core.next_page_request(session.base_url, request, page, pagination, 2)
    assert dict(following.params) == {"limit": "2", "offset": "2"}
    assert core.next_page_request(session.base_url, following, Page([3], None, None, 3), pagination, 3) is None


def test_an_empty_page_ends_an_offset_listing(offset_registry) -> None:
    session = make_session(offset_registry)
    first = request_for(session, "projects.list")
    pages, sent = pages_of(core.paginate_flow(session, first), [raw(200, page_body([], count=10))])
    assert len(pages) == 1 and len(sent) == 1


# -- drivers ---------------------------------------------------------------------


def test_the_sync_driver_performs_every_action(registry) -> None:
    slept: list[float] = []
    outcomes: Iterator[Any] = iter([raw(503), raw(200, {"data": project_detail(1), "meta": {"request_id": "req_d"}})])
    driver = core.SyncDriver(lambda request: next(outcomes), sleep=slept.append)
    session = make_session(registry, retry=RetryPolicy(retries=1, backoff=0.25))
    request = request_for(session, "projects.retrieve", 1)
    from synapse_dyn.observability import capture_request_ids, last_request_id

    with capture_request_ids():
        result = driver.run(core.call_flow(session, request.operation, request))
        assert last_request_id() == "req_d"
    assert result.id == 1 and len(slept) == 1 and 0 <= slept[0] <= 0.25


def test_the_driver_points_warnings_at_the_caller(registry) -> None:
    driver = core.SyncDriver(lambda request: None)

    def flow():
        yield Warn("careful", UserWarning)

    with pytest.warns(UserWarning, match="careful") as caught:
        driver.run(flow())
    assert caught[0].filename == __file__


# -- envelope styles ---------------------------------------------------------------------


def test_the_flag_envelope_unwraps_data_and_turns_result_false_into_an_error() -> None:
    from synapse_dyn.conventions import Envelope

    flag = Envelope(style="flag", request_id="request_id")
    data, request_id = core.unwrap_envelope({"result": True, "msg": "", "data": {"id": 1}, "request_id": "r9"},
                                            flag, Pagination())
    assert data == {"id": 1} and request_id == "r9"
    with pytest.raises(errors.ClientError, match="queue is full") as info:
        core.unwrap_envelope({"result": False, "msg": "queue is full", "data": None}, flag, Pagination())
    assert info.value.code == "RESULT_FALSE"


def test_no_envelope_leaves_data_and_meta_fields_alone() -> None:
    from synapse_dyn.conventions import Envelope

    payload = {"data": [1], "meta": {"request_id": "r"}}
    assert core.unwrap_envelope(payload, Envelope(style="none"), Pagination()) == (payload, None)
    page, request_id = core.unwrap_envelope(
        {"data": [1], "meta": {"request_id": "r", "pagination": {"next_cursor": "n", "count": 4}}},
        Envelope(), Pagination(results="items", next="after", count="total"))
    assert page == {"items": [1], "after": "n", "previous": None, "total": 4} and request_id == "r"


# -- loose ends: size limit, HTTP-date Retry-After, schema-less pages ---------------------------


def test_an_answer_over_the_size_limit_is_not_retried(registry) -> None:
    session = make_session(registry, retry=RetryPolicy(retries=3, backoff=0.1))
    request = request_for(session, "projects.retrieve", 1)
    too_large = TransportFailure("too_large", "the response body exceeded max_response_size", sent=True)
    with pytest.raises(errors.ProtocolError, match="max_response_size") as info:
        run(core.send_flow(session, request), [too_large, too_large])
    assert "attempts" not in str(info.value)  # one attempt, no Sleep


def test_an_http_date_retry_after_is_read_on_the_injected_wall_clock(registry) -> None:
    clock = FakeClock()
    session = make_session(registry, clock=clock, retry=RetryPolicy(retries=1, backoff=0.1),
                           wall_clock=lambda: 1_700_000_000.0)
    request = request_for(session, "projects.retrieve", 1)
    limited = raw(503, {"detail": "busy"}, {"retry-after": "Tue, 14 Nov 2023 22:13:25 GMT"})  # wall clock + 5 s
    result, actions = run(core.send_flow(session, request), [limited, raw(200, {"ok": 1})], clock)
    assert [a.seconds for a in actions if isinstance(a, Sleep)] == [5.0]
    assert result.status == 200


def test_paginate_without_an_operation_follows_the_conventions_next_links(registry) -> None:
    session = make_session(registry)
    first = core.PreparedRequest("GET", f"{BASE}/v2/things/", {}, [("per_page", "2")])
    pages, sent = pages_of(core.paginate_flow(session, first), [
        raw(200, page_body([{"id": 1}, {"id": 2}], "c2")),
        raw(200, page_body([{"id": 3}], None)),
    ])
    assert [[item["id"] for item in page.results] for page in pages] == [[1, 2], [3]]
    assert dict(sent[1].params) == {"per_page": "2", "cursor": "c2"}
    single, _ = pages_of(core.paginate_flow(session, first), [raw(200, {"id": 9})])
    assert [page.results for page in single] == [[{"id": 9}]]  # not a page: one page of that answer


def test_a_rate_limit_errors_retry_after_date_is_read_on_the_injected_wall_clock(registry) -> None:
    session = make_session(registry, retry=RetryPolicy(retries=0), wall_clock=lambda: 1_700_000_000.0)
    request = request_for(session, "projects.retrieve", 1)
    limited = raw(429, {"detail": "slow down"}, {"retry-after": "Tue, 14 Nov 2023 22:13:30 GMT"})  # + 10 s
    with pytest.raises(errors.RateLimitError) as info:
        run(core.call_flow(session, request.operation, request), [limited])
    assert info.value.retry_after == 10.0
