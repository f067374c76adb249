"""Time to first result: a fresh process that imports, connects and prints one page, against raw httpx.

Each command is a whole process run against bench/server.py on loopback (wall time, output
discarded): the raw script ``import httpx; httpx.get(url, params=...).json()``, the client
``import synapse_dyn; Client(url).projects.list(per_page=50)`` with a warm and with an empty
registry cache, and the CLI ``synapse-dyn projects list --per-page 50 -o json``. Commands are
interleaved round by round in rotating order; each figure is the median of per-round ratios.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common import (
    PYTHON,
    TENANT,
    TOKEN,
    WORK_DIR,
    Row,
    at_most,
    bench_env,
    interleaved,
    median,
    ms,
    spread,
    time_command,
)

RAW = ("import sys, httpx; httpx.get(sys.argv[1] + '/v2/projects/', params={'per_page': 50}, "
       "headers={'SYNAPSE-ACCESS-TOKEN': sys.argv[2], 'SYNAPSE-Tenant': sys.argv[3]}).json()")
CLIENT = ("import sys, synapse_dyn; synapse_dyn.Client(sys.argv[1], access_token=sys.argv[2], tenant=sys.argv[3], "
          "allow_insecure=True).projects.list(per_page=50)")


def cli_head() -> list[str]:
    script = Path(PYTHON).parent / "synapse-dyn"
    return [str(script)] if script.exists() else [PYTHON, "-m", "synapse_dyn"]


def run(base: str, rounds: int = 15) -> list[Row]:
    warm_dir = WORK_DIR / "cache-firstresult"
    shutil.rmtree(warm_dir, ignore_errors=True)
    config = Path(tempfile.mkdtemp(prefix="config-", dir=WORK_DIR))  # no profile or default of the user's
    env = bench_env(SYNAPSE_DYN_CACHE_DIR=str(warm_dir), SYNAPSE_DYN_CONFIG_DIR=str(config))
    for name in ("SYNAPSE_DYN_SCHEMA", "SYNAPSE_DYN_PROFILE", "SYNAPSE_DYN_OUTPUT"):
        env.pop(name, None)
    cold_root = Path(tempfile.mkdtemp(prefix="cold-first-", dir=WORK_DIR))
    args = [base, TOKEN, TENANT]
    cli = [*cli_head(), "--host", base, "--token", TOKEN, "--tenant", TENANT, "projects", "list", "--per-page", "50",
           "-o", "json"]

    def cold() -> float:
        fresh = tempfile.mkdtemp(dir=cold_root)
        try:
            return time_command([PYTHON, "-c", CLIENT, *args], dict(env, SYNAPSE_DYN_CACHE_DIR=fresh))
        finally:
            shutil.rmtree(fresh, ignore_errors=True)

    commands = {
        "raw": lambda: time_command([PYTHON, "-c", RAW, *args], env),
        "warm": lambda: time_command([PYTHON, "-c", CLIENT, *args], env),
        "cold": cold,
        "cli": lambda: time_command(cli, env),
    }
    try:
        s = interleaved(commands, rounds)
    finally:
        shutil.rmtree(cold_root, ignore_errors=True)
        shutil.rmtree(config, ignore_errors=True)

    def row(name: str, label: str, limit: float, note: str) -> Row:
        ratios = [a / b for a, b in zip(s[name], s["raw"], strict=True)]
        return at_most("first", label, f"{ms(median(s[name]))} vs {ms(median(s['raw']))}", median(ratios), limit,
                       f"per-round ratio IQR {spread(ratios)}; {rounds} rounds; {note}")

    return [
        row("warm", "fresh process to first page: import + Client(url).projects.list(per_page=50) "
            "vs import httpx; httpx.get().json()", 1.25, "warm registry cache"),
        row("cold", "the same, cold (empty registry cache)", 2.0, "empty cache dir each run"),
        row("cli", "CLI: synapse-dyn projects list --per-page 50 -o json vs the same raw script", 1.6,
            "warm cache, output to /dev/null"),
    ]
