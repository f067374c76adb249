"""Memory while streaming ``list(list_all=True)`` over 100,000 items (bench/server.py's endless cursor list).

Runs as its own process: ``python bench/listall.py BASE_URL tracemalloc|rss``. The baseline is
the peak while fetching one page; streaming every page must stay within two pages of it. A
"page" is what one materialized Page of ``PER_PAGE`` records holds (tracemalloc). A warm-up
stream first fills the bounded caches any HTTP client fills (urllib keeps the last 128
parsed URLs, one per page here), so they are part of the baseline, not of the growth.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from typing import Any

from common import TENANT, TOKEN, peak_rss_bytes, reset_peak_rss, rss_bytes

import synapse_dyn

PER_PAGE = 100
WARM_UP = 20_000


def make_client(base: str) -> synapse_dyn.Client:
    return synapse_dyn.Client(base, access_token=TOKEN, tenant=TENANT, allow_insecure=True,
                              validate_responses="strict")


def stream_all(client: synapse_dyn.Client, limit: int | None = None) -> int:
    count = 0
    for _item in client.projects.list(per_page=PER_PAGE, list_all=True):
        count += 1
        if count == limit:
            break
    return count


def one_page(client: synapse_dyn.Client) -> None:
    client.projects.list(per_page=PER_PAGE)


def with_tracemalloc(client: synapse_dyn.Client, warm_up: int = WARM_UP) -> dict[str, Any]:
    tracemalloc.start()  # before the warm-up, so cache entries it evicts later are traced too
    stream_all(client, warm_up)
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    held = client.projects.list(per_page=PER_PAGE)
    page_bytes = tracemalloc.get_traced_memory()[0] - before
    del held
    gc.collect()
    start = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    one_page(client)
    baseline = tracemalloc.get_traced_memory()[1] - start
    gc.collect()
    start = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    count = stream_all(client)
    elapsed = time.perf_counter() - t0
    current, peak = tracemalloc.get_traced_memory()
    gc.collect()
    left = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    return {"items": count, "page_bytes": page_bytes, "baseline_peak": baseline, "stream_peak": peak - start,
            "left_after": left, "seconds": elapsed}


def with_rss(client: synapse_dyn.Client, warm_up: int = WARM_UP) -> dict[str, Any]:
    stream_all(client, warm_up)
    gc.collect()
    if not reset_peak_rss():
        return {"error": "the kernel does not allow resetting peak RSS"}
    one_page(client)
    baseline = peak_rss_bytes()
    gc.collect()
    reset_peak_rss()
    t0 = time.perf_counter()
    count = stream_all(client)
    elapsed = time.perf_counter() - t0
    return {"items": count, "baseline_peak": baseline, "stream_peak": peak_rss_bytes(), "rss_after": rss_bytes(),
            "seconds": elapsed}


def main(base: str, mode: str, warm_up: int = WARM_UP) -> dict[str, Any]:
    client = make_client(base)
    return with_tracemalloc(client, warm_up) if mode == "tracemalloc" else with_rss(client, warm_up)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:]))))
