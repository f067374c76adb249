"""Run every benchmark, print one PASS / FAIL / INFO line per figure, and write bench/RESULTS.md.

Usage: ``bench/run`` (or ``python bench/main.py [--quick]``). Each group runs its workers in
their own processes; a group that crashes is reported and makes the exit status non-zero,
a FAIL line does not (this is a report).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable

import bigschema
import startup
from common import (
    BENCH_DIR,
    PYTHON,
    WORK_DIR,
    Row,
    at_least,
    at_most,
    bench_env,
    info,
    loopback_server,
    mb,
    median,
    ms,
    run_json,
    spread,
)
from report import RESULTS, machine, print_row, write_results


def worker(script: str, *args: object, env: dict[str, str] | None = None) -> dict:
    return run_json([PYTHON, str(BENCH_DIR / script), *map(str, args)], env=env)


def memory_rows(rounds: int) -> list[Row]:
    env = bench_env(SYNAPSE_DYN_CACHE_DIR=str(WORK_DIR / "cache-memory"))
    worker("memory.py", "rss-client", env=env)  # fills the registry cache and bytecode
    base, client = [], []
    for _ in range(rounds):
        base.append(worker("memory.py", "rss-httpx", env=env)["rss"])
        client.append(worker("memory.py", "rss-client", env=env)["rss"])
    added = median(client) - median(base)
    docs = worker("memory.py", "docs", env=env)
    return [
        at_most("memory", "RSS added by import synapse_dyn + Client() over import httpx",
                f"{mb(median(client))} vs {mb(median(base))}", added / 1e6, 20, f"warm cache; medians of {rounds}",
                unit=" MB"),
        Row("memory", "calls into synapse_dyn.docs while constructing a Client",
            f"{docs['during_construction']} calls",
            docs["during_construction"], "", "= 0",
            docs["during_construction"] == 0 and not docs["docs_module_loaded"],
            f"docs module {'loaded' if docs['docs_module_loaded'] else 'not even imported'}; asking for "
            f"__doc__ and signature() of one operation then makes {docs['after_help']} calls"),
    ]


def percall_rows(base: str, quick: bool) -> list[Row]:
    r = worker("percall.py", base, *((12, 10) if quick else (80, 20)))
    rows = []
    for name, limit in (("list", 1.15), ("retrieve", 1.10)):
        f = r[name]
        call = "projects.list(per_page=50)" if name == "list" else "projects.retrieve(42)"
        rows.append(at_most("per-call", f"{call}, strict validation, vs raw httpx get().json()",
                            f"{f['client_us'] / 1000:.3f} ms vs {f['raw_us'] / 1000:.3f} ms raw", f["ratio"], limit,
                            f"median of {f['batches']} paired batches of {f['calls']} calls; ratio IQR {f['spread']}"))
    for name in ("list_python", "retrieve_python"):
        f = r[name]
        rows.append(info("per-call", f"{name.split('_')[0]} with validation_engine='python' (fallback)",
                         f"{f['client_us'] / 1000:.3f} ms vs {f['raw_us'] / 1000:.3f} ms raw", f["ratio"],
                         f"{f['batches']} paired batches; ratio IQR {f['spread']}"))
    return rows


def listall_rows(base: str) -> list[Row]:
    traced = worker("listall.py", base, "tracemalloc")
    rss = worker("listall.py", base, "rss")
    page = traced["page_bytes"]
    rows = []
    for label, r in (("tracemalloc peak", traced), ("RSS peak", rss)):
        if "error" in r:
            rows.append(info("scale", f"list_all over 100,000 items: {label}", "not measured", None, r["error"]))
            continue
        assert r["items"] == 100_000, r
        growth = r["stream_peak"] - r["baseline_peak"]
        rows.append(at_most("scale", f"list_all over 100,000 items: {label} above one page's",
                            f"+{growth / 1024:.0f} KiB over {r['baseline_peak'] / 1024:.0f} KiB"
                            if label.startswith("trace") else f"+{growth / 1024:.0f} KiB over {mb(r['baseline_peak'])}",
                            growth / page, 2, f"page = {page / 1024:.0f} KiB (100 records); "
                            f"1,000 pages in {r['seconds']:.1f} s", unit=" pages"))
    return rows


def async_rows(base: str, rounds: int) -> list[Row]:
    """Rounds alternate raw, client, client, raw, ... each in its own process."""
    rate: dict[str, list[float]] = {"raw": [], "client": []}
    cpu: dict[str, list[float]] = {"raw": [], "client": []}
    for i in range(rounds):
        for side in ("raw", "client") if i % 2 == 0 else ("client", "raw"):
            r = worker("asyncload.py", base, side)
            rate[side].append(r["per_s"])
            cpu[side].append(r["cpu_per_call"])
    ratios = [c / r for c, r in zip(rate["client"], rate["raw"], strict=True)]
    raw, client = median(rate["raw"]), median(rate["client"])
    return [at_least("async", "2,000 retrieves at concurrency 50: AsyncClient vs raw httpx.AsyncClient",
                     f"{client:.0f}/s vs {raw:.0f}/s", median(ratios), 0.9,
                     f"same limits (50 connections), 50 workers; {rounds} rounds per side, one process each, "
                     f"alternating; median of per-round ratios, IQR {spread(ratios)}; client-process CPU "
                     f"per call {median(cpu['client']) * 1e3:.2f} ms vs {median(cpu['raw']) * 1e3:.2f} ms")]


def bigschema_rows(rounds: int) -> list[Row]:
    from synapse_dyn.spec import schema_path

    target = WORK_DIR / "synthetic-10x.yaml"
    made = bigschema.write_synthetic(schema_path("v2"), target)
    cold: dict[str, list[float]] = {"v2": [], "synthetic": []}
    for _ in range(rounds):
        for name, source in (("v2", "v2"), ("synthetic", str(target))):
            cold[name].append(worker("bigschema.py", "cold", source)["wall"])
    steady = worker("bigschema.py", "steady", target, rounds)
    b, s = median(cold["v2"]), median(cold["synthetic"])
    ratios = [y / x for x, y in zip(cold["v2"], cold["synthetic"], strict=True)]
    size = (f"{made['operations']} operations, {made['bytes'] / 1e6:.2f} MB YAML "
            f"({made['bytes'] / made['bundled_bytes']:.2f}x the bundled)")
    warm = steady["warm"]
    return [
        at_most("schema", "10x schema, cold load_spec vs the bundled schema's", f"{ms(s)} vs {ms(b)}",
                median(ratios), 10, f"{size}; each load in a fresh process, empty cache dir; {rounds} rounds, "
                f"median of per-round ratios, IQR {spread(ratios)}"),
        at_most("schema", "10x schema, warm load_spec", f"{ms(warm['synthetic'])} (bundled {ms(warm['v2'])})",
                warm["synthetic"], 0.1, f"in-process, filled cache; {warm['synthetic'] / warm['v2']:.1f}x the bundled",
                unit=" s"),
        info("schema", "10x schema, cold load_spec repeated in one warmed-up process",
             f"{ms(steady['cold']['synthetic'])} vs {ms(steady['cold']['v2'])}",
             steady["cold"]["synthetic"] / steady["cold"]["v2"],
             f"imports and first-use work already done; ratio IQR {spread(steady['cold_ratios'])}"),
    ]


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    started = time.perf_counter()
    WORK_DIR.mkdir(exist_ok=True)
    info_ = machine()
    print(f"synapse-dyn benchmarks: {info_['cores']} cores, {info_['arch']}, {info_['cpu']}, "
          f"Python {info_['python']}{' (quick)' if quick else ''}", flush=True)
    rows: list[Row] = []
    errors: list[str] = []

    def group(name: str, run: Callable[[], list[Row]]) -> None:
        try:
            for row in run():
                rows.append(row)
                print_row(row)
        except Exception as exc:  # reported, then the exit status says the bench itself broke
            errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            print(f"ERROR {name}: bench crashed", file=sys.stderr)
            traceback.print_exc()

    group("startup", lambda: startup.run(*((5, 2) if quick else (21, 5))))
    group("memory", lambda: memory_rows(2 if quick else 5))
    with loopback_server() as base:
        group("per-call", lambda: percall_rows(base, quick))
        group("scale", lambda: listall_rows(base))
        group("async", lambda: async_rows(base, 2 if quick else 8))
    group("schema", lambda: bigschema_rows(3 if quick else 9))
    elapsed = time.perf_counter() - started
    counts = {v: sum(r.verdict == v for r in rows) for v in ("PASS", "FAIL", "INFO")}
    print(f"{counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['INFO']} INFO in {elapsed:.0f} s"
          f"{'; ERRORS: ' + '; '.join(errors) if errors else ''}", flush=True)
    write_results(rows, errors, info_, elapsed, argv)
    print(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)}")
    return 1 if errors else 0


if __name__ == "__main__":
    os.chdir(BENCH_DIR.parent)
    sys.exit(main(sys.argv[1:]))
