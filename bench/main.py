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
import firstresult
import startup
import stubs as stubs_bench
import targets
from common import (
    BENCH_DIR,
    PYTHON,
    SLACK,
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
            docs["during_construction"] == 0,
            f"docs module {'imported' if docs['docs_module_loaded'] else 'not even imported'}; asking for "
            f"__doc__ and signature() of one operation then makes {docs['after_help']} calls"),
    ]


def percall_rows(base: str, quick: bool) -> list[Row]:
    r = worker("percall.py", base, *((12, 10) if quick else (80, 20)))
    rows = []
    for name, limit, call in (("list", 1.15, "projects.list(per_page=50)"), ("retrieve", 1.10, "projects.retrieve(42)"),
                              ("list_read", 1.15, "projects.list(per_page=50), each item's title read"),
                              ("retrieve_nested", 1.10, "retrieve(42).configuration.tools[0].options.color")):
        f = r[name]
        rows.append(at_most("per-call", f"{call}, strict validation, vs raw httpx get().json()",
                            f"{f['client_us'] / 1000:.3f} ms vs {f['raw_us'] / 1000:.3f} ms raw", f["ratio"], limit,
                            f"median of {f['batches']} paired batches of {f['calls']} calls; ratio IQR {f['spread']}"
                            + ("; nested Records wrapped on read" if name == "retrieve_nested" else "")))
    for name in ("list_python", "retrieve_python"):
        f = r[name]
        rows.append(info("per-call", f"{name.split('_')[0]} with validation_engine='python' (fallback)",
                         f"{f['client_us'] / 1000:.3f} ms vs {f['raw_us'] / 1000:.3f} ms raw", f["ratio"],
                         f"{f['batches']} paired batches; ratio IQR {f['spread']}"))
    for name, what in (("limit_list", "a 50-item page"), ("limit_page_1000", "a 1,000-item page (200 kB)")):
        f = r[name]
        rows.append(at_most("per-call", f"response-size limit: the client's HTTPClient vs httpx.Client, {what}",
                            f"{f['client_us'] / 1000:.3f} ms vs {f['raw_us'] / 1000:.3f} ms raw", f["ratio"], 1.05,
                            "bodies read with a running count (no second copy); the httpx.Client reuses the same request parts, "
                            f"so only reading differs; median of {f['batches']} paired "
                            f"batches of {f['calls']}; ratio IQR {f['spread']}"))
    f = r["page_8000"]
    rows.append(at_most("per-call", "a page of 8,000 items: validating and wrapping it, added to get().json()",
                        f"{f['client_us'] / 1000:.1f} ms vs {f['raw_us'] / 1000:.1f} ms raw (ratio {f['ratio']:.2f}x)",
                        f["added_ms"] / 1000, 0.05, f"median of {f['batches']} paired calls; added ms IQR "
                        f"{f['added_spread']}", unit=" s"))
    return rows


def listall_rows(base: str, total: int = 100_000, warm_up: int = 20_000) -> list[Row]:
    traced = worker("listall.py", base, "tracemalloc", warm_up)
    rss = worker("listall.py", base, "rss", warm_up)
    page = traced["page_bytes"]
    rows = []
    for label, r in (("tracemalloc peak", traced), ("RSS peak", rss)):
        if "error" in r:
            rows.append(info("scale", f"list_all over {total:,} items: {label}", "not measured", None, r["error"]))
            continue
        assert r["items"] == total, r
        growth = r["stream_peak"] - r["baseline_peak"]
        rows.append(at_most("scale", f"list_all over {total:,} items: {label} above one page's",
                            f"+{growth / 1024:.0f} KiB over {r['baseline_peak'] / 1024:.0f} KiB"
                            if label.startswith("trace") else f"+{growth / 1024:.0f} KiB over {mb(r['baseline_peak'])}",
                            growth / page, 2, f"page = {page / 1024:.0f} KiB (100 records); "
                            f"{total // 100:,} pages in {r['seconds']:.1f} s", unit=" pages"))
    return rows


def async_rows(base: str, rounds: int, calls: int = 2000) -> list[Row]:
    """Rounds alternate raw, client, client, raw, ... each in its own process."""
    rate: dict[str, list[float]] = {"raw": [], "client": []}
    cpu: dict[str, list[float]] = {"raw": [], "client": []}
    for i in range(rounds):
        for side in ("raw", "client") if i % 2 == 0 else ("client", "raw"):
            r = worker("asyncload.py", base, side, calls)
            rate[side].append(r["per_s"])
            cpu[side].append(r["cpu_per_call"])
    ratios = [c / r for c, r in zip(rate["client"], rate["raw"], strict=True)]
    raw, client = median(rate["raw"]), median(rate["client"])
    return [at_least("async", f"{calls:,} retrieves at concurrency 50: AsyncClient vs raw httpx.AsyncClient",
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
    if quick:  # CI machines are noisy: a quick run fails only at twice a target
        SLACK["factor"] = 2.0
    started = time.perf_counter()
    WORK_DIR.mkdir(exist_ok=True)
    info_ = machine()
    info_["load_start"] = f"{os.getloadavg()[0]:.1f}"
    print(f"synapse-dyn benchmarks: {info_['cores']} cores, {info_['arch']}, {info_['cpu']}, "
          f"Python {info_['python']}{' (quick)' if quick else ''}", flush=True)
    rows: list[Row] = []
    errors: list[str] = []

    def group(name: str, run: Callable[[], list[Row]]) -> None:
        began = time.perf_counter()
        try:
            for row in run():
                rows.append(row)
                print_row(row)
            print(f"      {name}: {time.perf_counter() - began:.0f} s", flush=True)
        except Exception as exc:  # reported, then the exit status says the bench itself broke
            errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            print(f"ERROR {name}: bench crashed", file=sys.stderr)
            traceback.print_exc()

    group("startup", lambda: startup.run(*((3, 0) if quick else (21, 5))))
    group("memory", lambda: memory_rows(2 if quick else 5))
    with loopback_server() as base:
        group("first", lambda: firstresult.run(base, 2 if quick else 25))
        group("per-call", lambda: percall_rows(base, quick))
        group("async", lambda: async_rows(base, *((1, 300) if quick else (8, 2000))))
    with loopback_server(total=20_000 if quick else 100_000) as base:
        group("scale", lambda: listall_rows(base, *((20_000, 5_000) if quick else (100_000, 20_000))))
    with loopback_server(total=5_000 if quick else 20_000) as base:
        group("cli", lambda: targets.cli_table_rows(base, 2 if quick else 5))
    group("transfer", lambda: targets.transfer_rows(*((1, 64, True) if quick else (5, 200, False))))
    group("sandbox", lambda: targets.sandbox_rows(*((150, 20_000) if quick else (2000, 1_000_000))))
    group("schema", lambda: bigschema_rows(1 if quick else 9))
    group("stubs", lambda: stubs_bench.rows(WORK_DIR / "synthetic-10x.yaml", 3 if quick else 7))
    elapsed = time.perf_counter() - started
    info_["load_end"] = f"{os.getloadavg()[0]:.1f}"
    counts = {v: sum(r.verdict == v for r in rows) for v in ("PASS", "FAIL", "INFO")}
    print(f"{counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['INFO']} INFO in {elapsed:.0f} s"
          f"{'; ERRORS: ' + '; '.join(errors) if errors else ''}", flush=True)
    target = WORK_DIR / "RESULTS-quick.md" if quick else RESULTS  # RESULTS.md holds full runs only
    write_results(rows, errors, info_, elapsed, argv, target)
    print(f"wrote {target.relative_to(BENCH_DIR.parent)}")
    if quick:  # CI: a gross regression (a FAIL at twice the target) fails the build
        return 1 if errors or counts["FAIL"] else 0
    return 1 if errors else 0


if __name__ == "__main__":
    os.chdir(BENCH_DIR.parent)
    sys.exit(main(sys.argv[1:]))
