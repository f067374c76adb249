"""Shared benchmark helpers: result rows, robust statistics, subprocess timing, the loopback server."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"  # scratch space (git-ignored): caches, generated schemas
PYTHON = sys.executable
TOKEN = "syn_benchbenchbench1234"
TENANT = "bench"


def raw_headers() -> dict[str, str]:
    """The headers the client sends for these credentials, for the raw-httpx baselines."""
    from synapse_dyn.core import user_agent

    return {"Accept": "application/json", "User-Agent": user_agent(), "SYNAPSE-ACCESS-TOKEN": TOKEN,
            "SYNAPSE-Tenant": TENANT}


@dataclass
class Row:
    """One figure: what was measured, the number its target is stated in, and the verdict."""

    group: str
    name: str
    value: str  # the measurements, human-readable ("181.8 ms vs 160.2 ms")
    measure: float | None  # the number compared with the target (a ratio, MB, pages, seconds)
    unit: str  # how ``measure`` is written: "x", " MB", " pages", " s"
    target: str
    passed: bool | None  # None: for information only
    detail: str = ""

    @property
    def verdict(self) -> str:
        return "INFO" if self.passed is None else ("PASS" if self.passed else "FAIL")

    @property
    def measure_text(self) -> str:
        if self.measure is None:
            return "-"
        digits = 3 if self.unit in ("x", " s") else (0 if self.measure == int(self.measure) else 2)
        return f"{self.measure:.{digits}f}{self.unit}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ``bench/run --quick`` (CI) fails only on a gross regression: every target loosened by this factor.
SLACK = {"factor": 1.0}


def at_most(group: str, name: str, value: str, measure: float, limit: float, detail: str = "",
            unit: str = "x") -> Row:
    """A row whose measure must not exceed ``limit`` (times the --quick slack)."""
    limit *= SLACK["factor"]
    return Row(group, name, value, measure, unit, f"<= {limit:g}{unit}", measure <= limit, detail)


def at_least(group: str, name: str, value: str, measure: float, limit: float, detail: str = "",
             unit: str = "x") -> Row:
    """A row whose measure must reach ``limit`` (divided by the --quick slack)."""
    limit /= SLACK["factor"]
    return Row(group, name, value, measure, unit, f">= {limit:g}{unit}", measure >= limit, detail)


def info(group: str, name: str, value: str, measure: float | None, detail: str = "", unit: str = "x") -> Row:
    """A row reported for information, with no target."""
    return Row(group, name, value, measure, unit, "(info)", None, detail)


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    """Inter-quartile range as ``p25-p75`` (of ratios or seconds), for reporting noise."""
    if len(values) < 4:
        return f"{min(values):.3f}-{max(values):.3f}"
    q = statistics.quantiles(values, n=4)
    return f"{q[0]:.3f}-{q[2]:.3f}"


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for measured subprocesses: bytecode cached as after a normal install."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(WORK_DIR / "pycache"))
    env.update(extra)
    return env


def time_command(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds to run one command to completion (output discarded; failure raises)."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def interleaved(commands: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each measurement once per round, in a rotating order, so machine drift hits all alike.

    One untimed pass first: bytecode is written and the registry cache filled before any round.
    """
    for measure in commands.values():
        measure()
    samples: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(commands[name]())
    return samples


def run_json(argv: list[str], env: dict[str, str] | None = None, timeout: float = 240) -> Any:
    """Run a bench worker that prints one JSON document on its last stdout line."""
    done = subprocess.run(argv, env=env or bench_env(), capture_output=True, text=True, timeout=timeout,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def loopback_server(total: int | None = None) -> Iterator[str]:
    """Start bench/server.py in its own process (``total`` items in its list); yields its base URL."""
    env = bench_env() if total is None else bench_env(BENCH_TOTAL=str(total))
    proc = subprocess.Popen([PYTHON, str(BENCH_DIR / "server.py")], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rss_bytes() -> int:
    """This process's resident set size now (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """Peak resident set size since start or the last :func:`reset_peak_rss` (VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
