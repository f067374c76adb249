"""The in-process sandbox: throughput with openapi-core request validation, and list_all over a million items.

``python bench/sandboxload.py throughput CALLS``: a Client on ``sandbox.transport()`` makes CALLS
retrieves, each of a different project (seeded beforehand, so no parameter verdict is ever reused:
the normal case), then CALLS creates (each with its own body). The sandbox's openapi-core checks
(parameters and bodies) are timed as they run, so the same run also gives the rate without them:
the raw counterpart of this figure.

``python bench/sandboxload.py listall ITEMS``: ITEMS projects are written straight into the
sandbox's SQLite store (copies of one seeded project, ids renumbered), then streamed with
``projects.list(per_page=1000, list_all=True)``. Baseline = RSS once the first tenth has streamed
(every bounded cache filled); the figure is how far the peak RSS rises above it over the other
nine tenths, in pages (one page = the traced size of a held Page of 1000 records).
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

from common import peak_rss_bytes, reset_peak_rss, rss_bytes

import synapse_dyn
from synapse_dyn.sandbox import Sandbox

TENANT = "bench"
PER_PAGE = 1000
MIN_SEEDED = 2000


def open_sandbox() -> tuple[Sandbox, synapse_dyn.Client]:
    warnings.simplefilter("ignore")
    sandbox = Sandbox()
    sandbox.create_user("bench@example.com", "bench-password", tenant=TENANT)
    token = sandbox.issue_token("bench@example.com")
    client = synapse_dyn.Client("https://sandbox.local", transport=sandbox.transport(), access_token=token,
                                tenant=TENANT)
    return sandbox, client


def timed_checker(sandbox: Sandbox) -> list[float]:
    """Wrap the sandbox's openapi-core checker so the seconds it spends are added up."""
    spent = [0.0]
    checker = sandbox.app.checker

    def timing(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args)
            finally:
                spent[0] += time.perf_counter() - start
        return run

    checker.parameters = timing(checker.parameters)  # type: ignore[method-assign]
    checker.body = timing(checker.body)  # type: ignore[method-assign]
    return spent


def warm_up(calls: int) -> int:
    return max(20, calls // 10)


def rate(run: Callable[[int], Any], calls: int, spent: list[float]) -> dict[str, float]:
    run(warm_up(calls))  # warm-up: validators and per-parameter checks built
    spent[0] = 0.0
    start = time.perf_counter()
    run(calls)
    seconds = time.perf_counter() - start
    return {"per_s": calls / seconds, "without_checks_per_s": calls / (seconds - spent[0]),
            "check_share": spent[0] / seconds}


def throughput(calls: int) -> dict[str, Any]:
    sandbox, client = open_sandbox()
    spent = timed_checker(sandbox)
    seeded = max(MIN_SEEDED, calls + warm_up(calls))
    ids = iter([p["id"] for p in sandbox.seed("projects", seeded, tenant=TENANT)])

    def retrieves(n: int) -> None:
        for _ in range(n):  # a different id each call: no parameter verdict is ever reused
            client.projects.retrieve(next(ids))

    def creates(n: int) -> None:
        for i in range(n):
            client.projects.create(title=f"bench {i}", category="image", configuration={})

    return {"retrieve": rate(retrieves, calls, spent), "create": rate(creates, calls, spent)}


def fill(sandbox: Sandbox, items: int) -> None:
    """ITEMS projects in the store: one seeded through the sandbox, the rest copies of its row."""
    first = sandbox.seed("projects", 1, tenant=TENANT)[0]["id"]
    resource, _id, tenant, parent, _key, doc = sandbox.store._query(
        "SELECT resource, id, tenant, parent, key, doc FROM objects WHERE resource = 'projects' AND id = ?",
        (first,))[0]
    template = json.loads(doc)

    def rows(start: int, stop: int) -> Any:
        for object_id in range(start, stop):
            template["id"] = object_id
            template["title"] = f"project {object_id}"
            yield resource, object_id, tenant, parent, str(object_id), json.dumps(template, separators=(",", ":"))

    with sandbox.store.transaction() as conn:
        for start in range(first + 1, first + items, 100_000):
            conn.executemany("INSERT INTO objects (resource, id, tenant, parent, key, doc) VALUES (?, ?, ?, ?, ?, ?)",
                             rows(start, min(start + 100_000, first + items)))
        conn.execute("INSERT OR REPLACE INTO counters (resource, last) VALUES ('projects', ?)", (first + items,))


def listall(items: int) -> dict[str, Any]:
    sandbox, client = open_sandbox()
    started = time.perf_counter()
    fill(sandbox, items)
    filled = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = client.projects.list(per_page=PER_PAGE)
    page_bytes = tracemalloc.get_traced_memory()[0] - before
    del held
    tracemalloc.stop()
    gc.collect()
    count, tenth = 0, items // 10
    baseline = 0
    start = time.perf_counter()
    for _item in client.projects.list(per_page=PER_PAGE, list_all=True):
        count += 1
        if count == tenth:
            gc.collect()
            baseline = rss_bytes()
            reset_peak_rss()
    seconds = time.perf_counter() - start
    return {"items": count, "page_bytes": page_bytes, "baseline": baseline, "peak": peak_rss_bytes(),
            "seconds": seconds, "fill_seconds": filled}


if __name__ == "__main__":
    mode, n = sys.argv[1], int(sys.argv[2])
    print(json.dumps(throughput(n) if mode == "throughput" else listall(n)))
