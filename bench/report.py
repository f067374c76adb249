"""Report output: one line per figure on the terminal, and bench/RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

from common import BENCH_DIR, Row

RESULTS = BENCH_DIR / "RESULTS.md"

METHOD = """\
## Method

- Start-up: each command runs in a fresh process (wall time), all of them interleaved round by
  round in rotating order; a ratio is the median of the per-round ratios (its IQR is the spread),
  the times shown are medians. Bytecode is cached, as after any install (the measured processes
  get their own `PYTHONPYCACHEPREFIX` and a warm-up run). Warm = the registry cache exists; cold =
  `SYNAPSE_DYN_CACHE_DIR` points at a new empty directory each run.
- Per-call, scale and async run against `bench/server.py` (a threaded HTTP/1.1 server on
  127.0.0.1) in its own process; the client side runs in another. Per-call: batches of raw-httpx
  and client calls alternate, order flipping each batch; the figure is the median of the
  client/raw ratios of paired batches, with their inter-quartile range as spread. Raw httpx
  carries the same headers and parses the same JSON.
- `list_all` memory: 100,000 items in pages of 100. Baseline = peak while fetching one page;
  the figure is how far the streaming peak rises above it, in pages (one page = the traced size of
  a held Page of 100 records). A 20,000-item warm-up first fills bounded caches every HTTP
  client fills (urllib keeps the last 128 parsed URLs). RSS peak via VmHWM, reset with
  `/proc/self/clear_refs`.
- Async: raw `httpx.AsyncClient` and `AsyncClient` each get an `AsyncHTTPTransport` with the
  same limits (50 connections); 50 workers share 2,000 `retrieve` calls after an untimed warm-up;
  each round runs in its own process, sides alternating (raw, client, client, raw, ...).
- Schema scale: the 10x schema is generated at run time from the bundled YAML text (paths and
  components renamed per copy, `$ref`s and operationIds to match, checked for dangling refs).
  Cold = one `load_spec` timed in-process in a fresh process with an empty cache dir (it
  includes the lazy YAML import a first start pays), bundled and 10x alternating, median of the
  per-round ratios; warm = repeated in-process loads with the cache filled.
- This machine is shared: other work runs alongside, so single figures move by several percent
  between runs; every ratio compares measurements taken side by side.
"""


def machine() -> dict[str, str]:
    """Cores, architecture, CPU model string, OS and Python version (no host names or paths)."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": str(os.cpu_count()), "arch": platform.machine(), "cpu": model,
            "python": platform.python_version(), "os": f"{platform.system()} {platform.release().split('-')[0]}"}


def print_row(row: Row) -> None:
    print(f"{row.verdict:4}  {row.group:8}  {row.name:72.72}  {row.measure_text:>11}  {row.target:>11}  "
          f"{row.value}", flush=True)


def write_results(rows: list[Row], errors: list[str], info: dict[str, str], elapsed: float,
                  argv: list[str]) -> None:
    counts = {v: sum(r.verdict == v for r in rows) for v in ("PASS", "FAIL", "INFO")}
    command = "bench/run" + (" " + " ".join(argv) if argv else "")
    lines = [
        "# Benchmark results",
        "",
        f"Recorded {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `{command}` in "
        f"{elapsed:.0f} s: {counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['INFO']} for information.",
        "",
        f"Machine: {info['cores']} cores, {info['arch']}, {info['cpu']}, {info['os']}, Python {info['python']}.",
        "",
        "| verdict | group | figure | measure | target | measured | how |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r.verdict, r.group, r.name, r.measure_text, r.target, r.value, r.detail]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines += [f"| ERROR | {error} | | | | | |" for error in errors]
    lines += ["", METHOD]
    RESULTS.write_text("\n".join(lines))
