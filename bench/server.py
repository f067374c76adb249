"""A fast loopback server for the benchmarks: canned envelope answers and an endless cursor-paged list.

Runs in its own process (``python bench/server.py``; prints the port), so the client under
test does not share its GIL. Both the raw-httpx baseline and the client hit the same URLs.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def project(pid: int) -> dict:
    return {"id": pid, "title": f"project {pid}", "category": "image", "category_display": "Image",
            "created": "2026-01-15T09:00:00Z", "is_archived": False, "task_count": pid % 97}


def project_detail(pid: int) -> dict:
    return {"id": pid, "tenant_id": 1, "data_collection_id": 3, "title": f"project {pid}", "description": "bench",
            "category": "image", "category_display": "Image",
            "configuration": {"labels": ["a", "b"], "tools": [{"name": "box", "options": {"color": "red"}}]},
            "settings": {}, "caution": "sensitive_content", "access_level": "private",
            "count_max_assignments_per_task": 0, "can_discard": True, "is_archived": False,
            "created": "2026-01-15T09:00:00Z", "task_count": 3}


def page(items: list, next_cursor: str | None, per_page: int) -> bytes:
    meta = {"request_id": "req_bench", "pagination": {"next_cursor": next_cursor, "previous_cursor": None,
                                                      "per_page": per_page}}
    return json.dumps({"data": items, "meta": meta}).encode()


def cursor_page(start: int, per_page: int) -> bytes:
    end = min(start + per_page, TOTAL)
    return page([project(i) for i in range(start + 1, end + 1)], str(end) if end < TOTAL else None, per_page)


FIRST_PAGES: dict[int, bytes] = {}
DETAIL = json.dumps({"data": project_detail(42), "meta": {"request_id": "req_bench"}}).encode()
TOTAL = int(os.environ.get("BENCH_TOTAL", "100000"))  # items in the endless list


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/v2/projects/":
            per_page = int(query.get("per_page", ["50"])[0])
            if "cursor" in query:
                body = cursor_page(int(query["cursor"][0]), per_page)
            else:  # first pages are the same every time: made once (a big one is the client's work to measure)
                body = FIRST_PAGES.get(per_page) or FIRST_PAGES.setdefault(per_page, cursor_page(0, per_page))
        elif parts.path.startswith("/v2/projects/"):
            body = DETAIL
        else:
            self.send_error(404)
            return
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode() + body)  # one write: no delayed-ACK stall between headers and body


class Server(ThreadingHTTPServer):
    """One thread per connection; a listen backlog deep enough for 50 clients connecting at once."""

    request_queue_size = 256
    daemon_threads = True


def main() -> None:
    server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
