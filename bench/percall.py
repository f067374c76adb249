"""Per-call overhead: the client vs raw httpx against the same loopback server (one process each run)."""

from __future__ import annotations

import json
import statistics
import sys
import time

import httpx

import synapse_dyn

HEADERS = {"SYNAPSE-ACCESS-TOKEN": "syn_benchbenchbench1234", "SYNAPSE-Tenant": "bench",
           "Accept": "application/json", "User-Agent": "bench"}


def timed(fn, rounds: int, inner: int) -> float:
    """Median seconds per call over ``rounds`` batches of ``inner`` calls."""
    for _ in range(inner):
        fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def main() -> None:
    base = sys.argv[1]
    raw = httpx.Client(base_url=base, headers=HEADERS)
    client = synapse_dyn.Client(base, access_token=HEADERS["SYNAPSE-ACCESS-TOKEN"], tenant="bench",
                                allow_insecure=True, validate_responses="strict")
    results = {}
    for name, raw_fn, client_fn in [
        ("list", lambda: raw.get("/v2/projects/", params={"per_page": 50}).json(),
         lambda: client.projects.list(per_page=50)),
        ("retrieve", lambda: raw.get("/v2/projects/42/").json(), lambda: client.projects.retrieve(42)),
    ]:
        assert len(client_fn().results if name == "list" else client_fn()) > 0
        pairs = []
        for _ in range(5):  # interleave, so drift in machine load hits both sides alike
            pairs.append((timed(raw_fn, 5, 40), timed(client_fn, 5, 40)))
        raw_t = statistics.median(p[0] for p in pairs)
        client_t = statistics.median(p[1] for p in pairs)
        results[name] = {"raw_ms": raw_t * 1000, "client_ms": client_t * 1000, "ratio": client_t / raw_t}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
