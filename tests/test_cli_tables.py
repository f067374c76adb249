"""Tables that keep what matters, at fixed widths; control characters escaped; tables streamed by page."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import json

import pytest
from test_cli_support import (  # noqa: F401 - fixtures
    backend,
    cli_env,
    envelope,
    invoke,
    schema2,
    shared_cache,
)
from werkzeug import Request, Response

from synapse_dyn.cli.tables import plan, print_rows
from synapse_dyn.cli.textsafe import display_width, escape_controls

UUID = "0d8657d0-20d2-430b-b4f1-bb83fce299dd"
LONG_TITLE = "A very long project title that goes on and on about vehicles, pedestrians and bicycles " * 2


def projects() -> list[dict]:
    return [{"id": 1234567, "title": LONG_TITLE, "category": "image", "is_archived": False,
             "created": "2026-01-02T03:04:05.123456Z", "task_count": 1234567, "description": "short"},
            {"id": 2, "title": "t", "category": "pcd", "is_archived": True,
             "created": "2026-01-03T03:04:05.123456Z", "task_count": 0, "description": "x" * 300}]


def table_lines(capsys, rows, width, columns=None, **kwargs) -> list[str]:
    print_rows(rows, columns, width=width, **kwargs)
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("width", [80, 120, 200])
def test_keys_numbers_booleans_and_dates_are_never_cut(capsys, width):
    lines = table_lines(capsys, projects(), width,
                        ["id", "title", "category", "is_archived", "created", "task_count", "description"])
    assert all(display_width(line) <= width for line in lines)
    header = lines[0].split()
    assert header[:3] == ["id", "title", "category"] and "is_archived" in header and "created" in header
    assert lines[1].split()[0] == "1234567" and "false" in lines[1].split() and "true" in lines[2].split()
    assert "2026-01-02T03:04:05.123456Z" in lines[1] and "fals…" not in lines[1]
    if width >= 120:
        assert "task_count" in header and "1234567" in lines[1].split()[1:]


def test_empty_columns_go_before_useful_ones(capsys):
    rows = [{"id": UUID, "status": "PENDING", "action": "action-1", "is_active": True,
             "created": "2026-12-03T10:03:48.663819Z", "completed": None}]
    assert table_lines(capsys, rows, 80)[0].split() == ["id", "status", "action", "is_active"]


def test_long_text_shrinks_first_and_drops_last():
    rows = projects()
    names = ["id", "title", "category", "is_archived", "created", "task_count", "description"]
    at_80 = {c.name: c for c in plan(names, rows, 80)}
    at_200 = {c.name: c for c in plan(names, rows, 200)}
    assert at_80["id"].width == 7 and at_80["created"].width == len("2026-01-02T03:04:05.123456Z")
    assert "description" not in at_80  # the last text column went when shrinking was not enough
    assert "title" in at_80 and 10 <= at_80["title"].width < len(LONG_TITLE)
    assert "description" in at_200 and at_200["title"].width < len(LONG_TITLE)
    assert {c.name: c.width for c in plan(names, rows, None)}["title"] == len(LONG_TITLE)


def test_uuids_are_never_cut_and_headers_are_whole(capsys):
    rows = [{"id": UUID, "status": "PENDING", "action": "x" * 90, "is_active": True, "completed": None}]
    lines = table_lines(capsys, rows, 80)
    assert lines[1].split()[0] == UUID
    assert lines[0].split() == ["id", "status", "action", "is_active", "completed"]


def test_no_limit_when_not_a_terminal_and_wide_shows_every_column(capsys):
    lines = table_lines(capsys, projects(), "auto", ["id", "title"])
    assert LONG_TITLE.strip() in lines[1]
    wide = table_lines(capsys, projects(), 80, ["id", "title"], wide=True)
    assert wide[0].split() == ["id", "title", "category", "is_archived", "created", "task_count", "description"]
    assert "x" * 300 in wide[2]


def test_columns_and_no_headers(backend):
    backend.expect_request("/v2/projects/").respond_with_data(envelope(projects()), content_type="application/json")
    picked = invoke("projects", "list", "-o", "table", "--columns", "task_count,id", "--no-headers")
    assert picked.exit_code == 0, picked.output
    assert [line.split() for line in picked.stdout.splitlines()] == [["1234567", "1234567"], ["0", "2"]]


def test_control_characters_are_shown_never_obeyed(capsys):
    hostile = "red\x1b[31mtitle\x1b]0;pwned\x07\ttab\nnewline\u202eevil\x9b"
    assert escape_controls(hostile) == "red\\e[31mtitle\\e]0;pwned\\x07\\ttab\\nnewline\\u202eevil\\x9b"
    lines = table_lines(capsys, [{"id": 1, "title": hostile}], None)
    assert len(lines) == 2 and "\x1b" not in "".join(lines) and "\\e[31m" in lines[1]


def test_json_stays_exact_while_yaml_and_errors_are_escaped(backend):
    hostile = "x\x1b[31my"
    backend.expect_request("/v2/projects/").respond_with_data(
        envelope([{"id": 1, "title": hostile}]), content_type="application/json")
    as_json = invoke("projects", "list", "-o", "json")
    table = invoke("projects", "list", "-o", "table")
    assert json.loads(as_json.stdout)["results"][0]["title"] == hostile
    assert "\x1b" not in table.stdout and "x\\e[31my" in table.stdout
    backend.expect_request("/v2/projects/7/").respond_with_data(
        json.dumps({"error": {"code": "NOT_FOUND", "message": "no\x1b]0;owned\x07pe", "details": []},
                    "meta": {"request_id": "r"}}), status=404, content_type="application/json")
    error = invoke("projects", "retrieve", "7")
    assert error.exit_code == 6 and "\x1b" not in error.stderr and "\\e]0;owned" in error.stderr


def test_all_table_streams_page_by_page_with_the_first_pages_widths(backend):
    events: list[str] = []

    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor", "")
        events.append(f"fetch {cursor or 'first'}")
        titles = {"": (["a", "bb"], "c2"), "c2": (["much longer title than the first page had", "c"], None)}
        names, nxt = titles[cursor]
        return Response(envelope([{"id": i, "title": t} for i, t in enumerate(names)], next_cursor=nxt),
                        content_type="application/json")

    backend.expect_request("/v2/projects/").respond_with_handler(handler)
    result = invoke("projects", "list", "--all", "-o", "table", "--per-page", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines[1:]] == ["a", "bb", "much", "c"]
    assert lines[0] == "id  title"  # planned from the first page (title column 5 wide)
    assert events == ["fetch first", "fetch c2"]


def test_limit_stops_across_pages_and_query_filters(backend):
    pages = {"": ([1, 2], "c2"), "c2": ([3, 4], "c3"), "c3": ([5], None)}
    fetched: list[str] = []

    def handler(request: Request) -> Response:
        ids, nxt = pages[request.args.get("cursor", "")]
        fetched.append(request.args.get("cursor", ""))
        return Response(envelope([{"id": i, "title": f"t{i}"} for i in ids], next_cursor=nxt),
                        content_type="application/json")

    backend.expect_request("/v2/projects/").respond_with_handler(handler)
    limited = invoke("projects", "list", "--limit", "3", "-o", "ndjson")
    assert [json.loads(line)["id"] for line in limited.stdout.splitlines()] == [1, 2, 3]
    assert fetched == ["", "c2"]
    queried = invoke("projects", "list", "--query", "results[?id > `1`].title", "-o", "json")
    assert json.loads(queried.stdout) == ["t2"]
    per_item = invoke("projects", "list", "--all", "--query", "title", "-o", "ndjson")
    assert per_item.stdout.split() == ['"t1"', '"t2"', '"t3"', '"t4"', '"t5"']
    bad = invoke("projects", "list", "--query", "results[")
    assert bad.exit_code == 2 and "--query" in bad.stderr
