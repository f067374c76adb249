"""Async throughput: 2,000 ``retrieve`` calls, 50 at a time, AsyncClient vs raw httpx.AsyncClient.

One round per process (``python bench/asyncload.py BASE_URL raw|client``): both sides get an
AsyncHTTPTransport with the same connection limits, 50 workers, an untimed warm-up that opens
every connection, then 2,000 timed calls. Separate processes keep one side's pool state (and
httpx's per-connection bookkeeping) from slowing the other; the orchestrator alternates sides.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from common import TENANT, TOKEN, raw_headers

import synapse_dyn

CALLS = 2_000
CONCURRENCY = 50


def limits() -> httpx.Limits:
    return httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)


async def drive(call: Callable[[], Awaitable[Any]], calls: int, workers: int) -> float:
    """Calls per second with ``workers`` tasks sharing ``calls`` calls."""
    return (await drive_timed(call, calls, workers))[0]


async def drive_timed(call: Callable[[], Awaitable[Any]], calls: int, workers: int) -> tuple[float, float]:
    """(calls per second, CPU seconds of this process per call)."""
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return calls / (time.perf_counter() - start), (time.process_time() - cpu) / calls


async def one_round(base: str, side: str, calls: int) -> tuple[float, float]:
    transport = httpx.AsyncHTTPTransport(limits=limits())
    if side == "raw":
        raw = httpx.AsyncClient(base_url=base, headers=raw_headers(), transport=transport)

        async def call() -> Any:
            return (await raw.get("/v2/projects/42/")).json()

        close = raw.aclose
    else:
        client = synapse_dyn.AsyncClient(base, access_token=TOKEN, tenant=TENANT, allow_insecure=True,
                                         validate_responses="strict", transport=transport)

        async def call() -> Any:
            return await client.projects.retrieve(42)

        close = client.aclose
    await drive(call, 4 * CONCURRENCY, CONCURRENCY)  # warm-up: every connection open
    rate, cpu = await drive_timed(call, calls, CONCURRENCY)
    await close()
    return rate, cpu


def main(base: str, side: str, calls: int = CALLS) -> dict[str, Any]:
    rate, cpu = asyncio.run(one_round(base, side, calls))
    return {"side": side, "per_s": rate, "cpu_per_call": cpu, "calls": calls}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:]))))
