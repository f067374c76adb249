"""Start-up time: interpreter + import + Client construction, each run in a fresh process.

Compares ``import synapse_dyn; Client(...)`` (warm and cold registry cache) with
``import httpx``, the CLI's ``projects list --help`` with ``import httpx, click``, and
aiopenapi3 loading the same bundled schema. Medians of interleaved runs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from common import (
    PYTHON,
    WORK_DIR,
    Row,
    at_most,
    bench_env,
    info,
    interleaved,
    median,
    ms,
    spread,
    time_command,
)

CLIENT = "import synapse_dyn; synapse_dyn.Client('https://x')"
AIOPENAPI3 = ("import pathlib, sys; from aiopenapi3 import OpenAPI, FileSystemLoader; "
              "OpenAPI.load_file('https://x/', 'openapi.yaml', loader=FileSystemLoader(pathlib.Path(sys.argv[1])))")


def cli_command() -> list[str]:
    script = Path(PYTHON).parent / "synapse-dyn"
    head = [str(script)] if script.exists() else [PYTHON, "-m", "synapse_dyn"]
    return head + ["projects", "list", "--help"]


def schema_dir() -> Path:
    from synapse_dyn.spec import schema_path

    return schema_path("v2").parent


def aiopenapi3_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("aiopenapi3") is not None


def run(rounds: int = 21, aio_rounds: int = 5) -> list[Row]:
    warm_dir = WORK_DIR / "cache-startup"
    shutil.rmtree(warm_dir, ignore_errors=True)
    warm_env = bench_env(SYNAPSE_DYN_CACHE_DIR=str(warm_dir))
    warm_env.pop("SYNAPSE_DYN_SCHEMA", None)
    source_env = dict(warm_env, PYTHONDONTWRITEBYTECODE="1")  # synapse_dyn compiled from source each run
    source_env.pop("PYTHONPYCACHEPREFIX")  # dependencies keep their installed bytecode
    cold_root = Path(tempfile.mkdtemp(prefix="cold-", dir=WORK_DIR))

    def cold() -> float:
        fresh = tempfile.mkdtemp(dir=cold_root)
        try:
            return time_command([PYTHON, "-c", CLIENT], dict(warm_env, SYNAPSE_DYN_CACHE_DIR=fresh))
        finally:
            shutil.rmtree(fresh, ignore_errors=True)

    commands = {
        "httpx": lambda: time_command([PYTHON, "-c", "import httpx"], warm_env),
        "warm": lambda: time_command([PYTHON, "-c", CLIENT], warm_env),
        "cold": cold,
        "httpx_click": lambda: time_command([PYTHON, "-c", "import httpx, click"], warm_env),
        "cli_help": lambda: time_command(cli_command(), warm_env),
        "warm_source": lambda: time_command([PYTHON, "-c", CLIENT], source_env),
    }
    try:
        s = interleaved(commands, rounds)
    finally:
        shutil.rmtree(cold_root, ignore_errors=True)
    m = {k: median(v) for k, v in s.items()}

    def per_round(name: str, base: str) -> tuple[float, str]:
        """Median and IQR of per-round ratios (runs of one round are seconds apart: drift cancels)."""
        ratios = [a / b for a, b in zip(s[name], s[base], strict=True)]
        return median(ratios), f"per-round ratio IQR {spread(ratios)}"

    def vs(name: str, base: str) -> str:
        return f"{ms(m[name])} vs {ms(m[base])}"

    warm, warm_iqr = per_round("warm", "httpx")
    cold, cold_iqr = per_round("cold", "httpx")
    cli, cli_iqr = per_round("cli_help", "httpx_click")
    source, source_iqr = per_round("warm_source", "httpx")
    rows = [
        at_most("startup", "warm: import + Client() vs import httpx", vs("warm", "httpx"), warm, 1.5,
                f"{warm_iqr}; {rounds} runs each"),
        at_most("startup", "cold: import + Client() vs import httpx", vs("cold", "httpx"), cold, 4.0,
                f"{cold_iqr}; empty cache dir each run"),
        at_most("startup", "CLI: projects list --help vs import httpx, click", vs("cli_help", "httpx_click"), cli,
                2.0, cli_iqr),
        info("startup", "warm, synapse_dyn bytecode not cached, vs import httpx", vs("warm_source", "httpx"), source,
             f"{source_iqr}; PYTHONDONTWRITEBYTECODE=1 on a source checkout: every start compiles the package"),
    ]
    rows.append(aiopenapi3_row(warm_env, m, aio_rounds))
    return rows


def aiopenapi3_row(env: dict[str, str], ours: dict[str, float], rounds: int) -> Row:
    name = "aiopenapi3 loading the same schema vs our cold start"
    if rounds == 0:
        return info("startup", name, "not measured", None, "skipped in --quick")
    if not aiopenapi3_available():
        return info("startup", name, "not installed", None, "aiopenapi3 could not be installed here")
    argv = [PYTHON, "-c", AIOPENAPI3, str(schema_dir())]
    try:
        time_command(argv, env)
        times = [time_command(argv, env) for _ in range(rounds)]
    except Exception as exc:  # recorded, not fatal: it is another project's loader
        return info("startup", name, "failed", None, f"aiopenapi3 failed to load the schema ({type(exc).__name__})")
    theirs = median(times)
    return info("startup", name, f"{ms(theirs)} vs {ms(ours['cold'])}", theirs / ours["cold"],
                f"import + OpenAPI.load_file, whole process; {theirs / ours['warm']:.1f}x our warm start; "
                f"{rounds} runs")


if __name__ == "__main__":
    import json

    print(json.dumps([r.to_json() for r in run(int(sys.argv[1]) if len(sys.argv) > 1 else 21)]))
