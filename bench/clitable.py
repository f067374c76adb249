"""Streamed ``--all -o table`` in the CLI: memory stays within two pages, the first row comes with the first page.

``python bench/clitable.py traced BASE_URL`` runs the CLI in-process under tracemalloc, output to
/dev/null: one page (``--per-page 100``), then ``--all`` (every page of bench/server.py's list,
BENCH_TOTAL items); the figure is how far the ``--all`` peak rises above the one-page peak, in pages
(one page = the traced size of a held Page of 100 records).
``first_row(argv)`` (used by main.py) runs the CLI as a process and times its first table row.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from common import TENANT, TOKEN

PER_PAGE = 100


def argv(base: str, *extra: str) -> list[str]:
    return ["--host", base, "--token", TOKEN, "--tenant", TENANT, "projects", "list", "--per-page", str(PER_PAGE),
            "-o", "table", *extra]


def first_row(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(seconds to the first table row on stdout, seconds to the end, rows printed) of one CLI process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    first, rows = None, 0
    assert proc.stdout is not None
    for line in proc.stdout:
        if b"project " in line:
            rows += 1
            if first is None:
                first = time.perf_counter() - start
    if proc.wait() != 0 or first is None:
        raise RuntimeError(f"{' '.join(command[-8:])} failed ({proc.returncode}) or printed no row")
    return first, time.perf_counter() - start, rows


def run_cli(args: list[str]) -> int:
    from synapse_dyn.cli import cli

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        return cli.main(args, prog_name="synapse-dyn", standalone_mode=False)


def traced(base: str) -> dict[str, Any]:
    import synapse_dyn

    run_cli(argv(base))  # warm-up: imports, registry, rich
    client = synapse_dyn.Client(base, access_token=TOKEN, tenant=TENANT, allow_insecure=True)
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    held = client.projects.list(per_page=PER_PAGE)
    page_bytes = tracemalloc.get_traced_memory()[0] - before
    del held
    peaks = {}
    for name, args in (("one", argv(base)), ("all", argv(base, "--all"))):
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        t0 = time.perf_counter()
        code = run_cli(args)
        peaks[name] = tracemalloc.get_traced_memory()[1] - start
        peaks[f"{name}_seconds"] = time.perf_counter() - t0
        if code not in (0, None):
            raise RuntimeError(f"the CLI exited {code}")
    tracemalloc.stop()
    return {"page_bytes": page_bytes, **peaks}


if __name__ == "__main__":
    print(json.dumps(traced(sys.argv[2])))
