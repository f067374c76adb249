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
- First result: whole fresh processes against bench/server.py, interleaved round by round: the raw
  script `import httpx; httpx.get(url, params=...).json()`, the client's `import synapse_dyn;
  Client(url).projects.list(per_page=50)` (warm, and cold with an empty registry cache) and the CLI's
  `synapse-dyn projects list --per-page 50 -o json`.
- Per-call budgets as features land: nested Records read through attributes against the same dict
  lookups in raw JSON; the response-size limit as the client's own `HTTPClient` (bodies read with a
  running count) against an `httpx.Client` that reuses the same request parts (merged headers, parsed
  URLs, no cookie-jar work for answers that set no cookie), so only reading differs; a page of 8,000 items, client and raw alternating
  call by call, the figure being the median of the paired differences.
- Transfers: `bench/sink.py` reads request bodies into one reused buffer and answers the
  chunked-upload protocol without storing or hashing, so the figures are the client's cost; each
  mode runs in its own process, modes rotating round by round. Upload modes: the client; the protocol
  by hand with httpx `files=`; pre-built multipart bodies (framing and MD5 made before timing) streamed
  from disk; one raw PUT of the file; the MD5 of the file alone. The protocol's floor is the slower of
  pre-built streaming and the MD5. Against the sandbox served over HTTP the same upload shows the
  server's cost. Downloads: MediaCache.fetch against `httpx.stream` + `iter_bytes` into a file.
  Memory: peak RSS (VmHWM, reset before the transfer) above the RSS before it. Each transfer starts
  after `os.sync()`, so no writeback of an earlier round's file competes with it; downloads run three
  times as many rounds as uploads (they are short, and loopback reads vary).
- Sandbox: a Client on `sandbox.transport()` in one process, each retrieve of a different id (no
  remembered verdict is reused), each create a different body; openapi-core's checks are timed as they
  run, which gives the rate without them in the same run. `list_all` over the sandbox: rows written
  straight into its SQLite store, streamed in pages of 1,000; RSS peak over the last nine tenths
  against the RSS after the first tenth.
- CLI table: `projects list --all -o table` in-process under tracemalloc against one page; the first
  table row's time in fresh processes against a one-page listing's.
- Why the upload cannot reach 0.8x of pre-built streaming here: the protocol ends with the MD5 of the
  whole file, and MD5 is sequential; on this machine it runs at about 650 MB/s on an idle core while
  loopback streams pre-built bodies at 1.2-1.4 GB/s. The client hashes on a second thread while it
  sends (its sending thread then waits on the hasher about half the time), so the upload ends when
  the hash does: its floor is the "MD5 of the file alone" row, and the client is measured against
  that floor in the row after it.
- `bench/run --quick` (CI, under a minute) runs every group with fewer rounds and smaller sizes and
  loosens every target twofold, so it fails (exit 1) only on a gross regression; it writes
  `bench/.work/RESULTS-quick.md` and leaves this file alone.
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


def previous_measures(path: Path) -> dict[tuple[str, str], str]:
    """(group, figure) -> measure of the results file being replaced, for the "before" column."""
    found: dict[tuple[str, str], str] = {}
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0] in ("PASS", "FAIL", "INFO"):
            found[(cells[1], cells[2])] = cells[3]
    return found


def write_results(rows: list[Row], errors: list[str], info: dict[str, str], elapsed: float,
                  argv: list[str], path: Path = RESULTS) -> None:
    before = previous_measures(path)
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
        f"Load average (1 min): {info.get('load_start', '?')} at the start, {info.get('load_end', '?')} at the end "
        f"of the run. The machine was shared with other work running alongside, which is why every figure is a "
        f"ratio of measurements taken side by side.",
        "",
        "`before` is the same figure in the results file this run replaced (- when it was not measured then).",
        "",
        "| verdict | group | figure | measure | before | target | measured | how |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r.verdict, r.group, r.name, r.measure_text, before.get((r.group, r.name), "-"), r.target, r.value,
                 r.detail]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines += [f"| ERROR | {error} | | | | | | |" for error in errors]
    lines += ["", METHOD]
    path.write_text("\n".join(lines))
