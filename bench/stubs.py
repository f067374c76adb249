"""Stubs generation: time and size for the bundled schema (target: under 2 s) and the 10x synthetic schema.

``python bench/stubs.py SCHEMA [ROUNDS]`` prints JSON: the median in-process generation time from a loaded
registry (load_spec from a warm cache, then rendering), and the wall time of ``synapse-dyn stubs --schema SCHEMA`` in a fresh process
(start-up, load_spec with a warm cache, rendering, writing), with the size of what it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from common import BENCH_DIR, PYTHON, Row, at_most, info, median, ms, run_json

TARGET_SECONDS = 2.0


def measure(schema: str, rounds: int) -> dict[str, float]:
    from synapse_dyn.spec import load_spec
    from synapse_dyn.stubs.package import stubs_for

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry = load_spec(schema)
        times, files = [], {}
        for _ in range(rounds):
            started = time.perf_counter()
            files = stubs_for(load_spec(schema))  # a fresh registry: nothing cached on the views
            times.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "synapse_dyn", "stubs", "--schema", schema, "--out", out],
                       check=True, capture_output=True, env={**os.environ})
        wall = time.perf_counter() - started
        written = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
    return {"render": median(times), "wall": wall, "bytes": written, "operations": len(registry.operations),
            "api_bytes": len(files["typed/api.pyi"].encode())}


def rows(synthetic: Path, rounds: int) -> list[Row]:
    """The bench/run rows: bundled and 10x, each measured in its own worker process."""
    if not synthetic.exists():
        import bigschema

        from synapse_dyn.spec import schema_path

        bigschema.write_synthetic(schema_path("v2"), synthetic)
    script = str(BENCH_DIR / "stubs.py")
    bundled = run_json([PYTHON, script, "v2", str(rounds)])
    big = run_json([PYTHON, script, str(synthetic), str(max(1, rounds // 3))])
    warm = "in-process load_spec (warm cache) + generation"
    return [
        at_most("stubs", "synapse-dyn stubs for the bundled schema, fresh process", ms(bundled["wall"]),
                bundled["wall"], TARGET_SECONDS, f"{bundled['operations']} operations, {bundled['bytes'] / 1e3:.0f} KB "
                f"written; {warm} {ms(bundled['render'])}, median of {rounds}", unit=" s"),
        info("stubs", "synapse-dyn stubs for the 10x schema, fresh process", ms(big["wall"]), big["wall"],
             f"{big['operations']} operations, {big['bytes'] / 1e6:.2f} MB written; {warm} {ms(big['render'])}; "
             f"{big['wall'] / bundled['wall']:.1f}x the bundled", unit=" s"),
    ]


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5)))
