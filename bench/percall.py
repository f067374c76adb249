"""Per-call overhead: the client vs raw httpx against the same loopback server.

Runs as its own process (``python bench/percall.py BASE_URL``) while bench/server.py serves
in another. Many short batches of raw and client calls alternate (the order flips each
batch); each batch pair gives one client/raw ratio, and the median of those ratios is the
figure, with the inter-quartile range as its spread.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from common import TENANT, TOKEN, median, raw_headers, spread

import synapse_dyn


def batch(fn: Callable[[], Any], calls: int) -> float:
    """Seconds per call over one batch."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def paired(raw_fn: Callable[[], Any], client_fn: Callable[[], Any], batches: int, calls: int) -> dict[str, Any]:
    """Alternate raw and client batches; the median of per-pair ratios and of per-call times."""
    for _ in range(calls):
        raw_fn()
        client_fn()
    raw_t: list[float] = []
    client_t: list[float] = []
    for i in range(batches):
        if i % 2:
            client_t.append(batch(client_fn, calls))
            raw_t.append(batch(raw_fn, calls))
        else:
            raw_t.append(batch(raw_fn, calls))
            client_t.append(batch(client_fn, calls))
    ratios = [c / r for c, r in zip(client_t, raw_t, strict=True)]
    return {"raw_us": median(raw_t) * 1e6, "client_us": median(client_t) * 1e6, "ratio": median(ratios),
            "spread": spread(ratios), "batches": batches, "calls": calls}


def make_client(base: str, engine: str | None = None) -> synapse_dyn.Client:
    return synapse_dyn.Client(base, access_token=TOKEN, tenant=TENANT, allow_insecure=True,
                              validate_responses="strict", validation_engine=engine)


def main(base: str, batches: int = 60, calls: int = 20) -> dict[str, Any]:
    raw = httpx.Client(base_url=base, headers=raw_headers())
    client = make_client(base)
    python_client = make_client(base, "python")
    assert client._session.validators.engine == "rust"
    page = client.projects.list(per_page=50)
    assert len(page.results) == 50 and client.projects.retrieve(42).id == 42
    list_raw = lambda: raw.get("/v2/projects/", params={"per_page": 50}).json()  # noqa: E731
    retrieve_raw = lambda: raw.get("/v2/projects/42/").json()  # noqa: E731
    cases: dict[str, tuple[Callable[[], Any], Callable[[], Any], int]] = {
        "list": (list_raw, lambda: client.projects.list(per_page=50), batches),
        "retrieve": (retrieve_raw, lambda: client.projects.retrieve(42), batches),
        "list_read": (lambda: [p["title"] for p in list_raw()["data"]],
                      lambda: [p.title for p in client.projects.list(per_page=50).results], batches),
        "retrieve_nested": (lambda: retrieve_raw()["data"]["configuration"]["tools"][0]["options"]["color"],
                            lambda: client.projects.retrieve(42).configuration.tools[0].options.color, batches),
        "list_python": (list_raw, lambda: python_client.projects.list(per_page=50), batches // 4),
        "retrieve_python": (retrieve_raw, lambda: python_client.projects.retrieve(42), batches // 4),
    }
    out = {name: paired(raw_fn, client_fn, n, calls) for name, (raw_fn, client_fn, n) in cases.items()}
    out.update(size_limit(base, batches, calls))
    out["page_8000"] = big_page(raw, client, max(8, batches // 4))
    return out


def size_limit(base: str, batches: int, calls: int) -> dict[str, Any]:
    """The response-size limit's cost: the client's HTTPClient (counted reads, deadlines) against an httpx.Client
    that reuses the same request parts (headers, parsed URLs, cookie work) but reads bodies as httpx does."""
    from synapse_dyn.transport import HTTPClient, _ReusedRequestParts, make_timeout

    class Unbounded(_ReusedRequestParts, httpx.Client):
        pass

    raw = Unbounded(base_url=base, headers=raw_headers())
    bounded = HTTPClient(base_url=base, headers=raw_headers(), timeout=make_timeout(None))
    assert bounded.limits is not None and bounded.limits.max_response_size
    out = {}
    for name, per_page, n in (("limit_list", 50, calls), ("limit_page_1000", 1000, max(2, calls // 5))):
        out[name] = paired(lambda p=per_page: raw.get("/v2/projects/", params={"per_page": p}).content,
                           lambda p=per_page: bounded.get("/v2/projects/", params={"per_page": p}).content,
                           batches // 2, n)
    return out


def big_page(raw: httpx.Client, client: synapse_dyn.Client, pairs: int) -> dict[str, Any]:
    """A page of 8,000 items: what validating and wrapping it adds to raw httpx's get().json(), pair by pair."""
    raw_t: list[float] = []
    client_t: list[float] = []
    for i in range(pairs + 1):
        start = time.perf_counter()
        raw.get("/v2/projects/", params={"per_page": 8000}).json()
        middle = time.perf_counter()
        page = client.projects.list(per_page=8000)
        if i:  # the first pair warms up
            raw_t.append(middle - start)
            client_t.append(time.perf_counter() - middle)
    assert len(page.results) == 8000
    added = [(c - r) * 1e3 for c, r in zip(client_t, raw_t, strict=True)]
    ratios = [c / r for c, r in zip(client_t, raw_t, strict=True)]
    return {"raw_us": median(raw_t) * 1e6, "client_us": median(client_t) * 1e6, "ratio": median(ratios),
            "spread": spread(ratios), "batches": pairs, "calls": 1, "added_ms": median(added),
            "added_spread": spread(added)}


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(main(args[0], *(int(a) for a in args[1:]))))
