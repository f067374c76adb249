"""The benchmark scripts import and run one tiny iteration (the figures themselves come from bench/run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import bigschema  # noqa: E402
import common  # noqa: E402
import listall  # noqa: E402
import percall  # noqa: E402


@pytest.fixture(scope="module")
def base_url() -> str:
    with common.loopback_server() as url:
        yield url


def test_percall_runs_one_tiny_batch(base_url: str) -> None:
    result = percall.main(base_url, batches=4, calls=2)
    assert set(result) == {"list", "retrieve", "list_python", "retrieve_python"}
    assert all(r["ratio"] > 0 for r in result.values())


def test_list_all_streams_a_few_pages(base_url: str) -> None:
    client = listall.make_client(base_url)
    assert listall.stream_all(client, limit=250) == 250


def test_async_load_runs_one_small_round(base_url: str) -> None:
    import asyncload

    assert asyncload.main(base_url, "client", calls=60)["per_s"] > 0
    assert asyncload.main(base_url, "raw", calls=60)["per_s"] > 0


def test_synthetic_schema_is_ten_consistent_copies(tmp_path: Path) -> None:
    from synapse_dyn.spec import load_spec, schema_path

    made = bigschema.write_synthetic(schema_path("v2"), tmp_path / "big.yaml", copies=2)
    assert made["operations"] == 2 * made["bundled_operations"]
    registry = load_spec(str(tmp_path / "big.yaml"), cache=False)
    assert registry.operation("projects_1.retrieve").path == "/v2/projects-1/{id}/"


def test_every_bench_module_imports() -> None:
    import importlib

    for module in ("asyncload", "main", "memory", "report", "server", "startup"):
        importlib.import_module(module)
    assert (BENCH / "run").stat().st_mode & 0o111


def test_report_rows_and_verdicts() -> None:
    row = common.at_most("g", "figure", "1 vs 2", 1.2, 1.5)
    assert (row.verdict, row.measure_text, row.target) == ("PASS", "1.200x", "<= 1.5x")
    assert common.at_least("g", "f", "", 0.8, 0.9).verdict == "FAIL"
    assert common.info("g", "f", "", None).verdict == "INFO"
