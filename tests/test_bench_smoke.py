"""The benchmark scripts import and run one tiny iteration (the figures themselves come from bench/run)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import bigschema  # noqa: E402
import common  # noqa: E402
import listall  # noqa: E402
import percall  # noqa: E402
import targets  # noqa: E402


@pytest.fixture(scope="module")
def base_url() -> str:
    with common.loopback_server() as url:
        yield url


def test_percall_pairs_batches_and_reports_the_median_ratio(base_url: str) -> None:
    result = percall.main(base_url, batches=4, calls=2)
    assert set(result) == {"list", "retrieve", "list_read", "retrieve_nested", "list_python", "retrieve_python",
                           "limit_list", "limit_page_1000", "page_8000"}
    for name, row in result.items():
        assert row["raw_us"] > 0 and row["client_us"] > 0, name
        assert 0.2 < row["ratio"] < 50, (name, row)  # a client call is neither free nor minutes long
    assert result["page_8000"]["batches"] >= 8 and result["page_8000"]["raw_us"] > result["list"]["raw_us"]


def test_paired_ratio_is_client_time_over_raw_time() -> None:
    """A 'client' that sleeps ten times longer than 'raw' per call: the ratio is client over raw, not the reverse."""
    def raw() -> None:
        time.sleep(0.001)

    def client() -> None:
        time.sleep(0.01)

    row = percall.paired(raw, client, batches=4, calls=3)
    assert row["batches"] == 4 and row["calls"] == 3
    assert row["raw_us"] >= 1000 and row["client_us"] >= 10_000, row
    assert row["ratio"] > 2, row


def test_list_all_streams_a_few_pages(base_url: str) -> None:
    client = listall.make_client(base_url)
    assert listall.stream_all(client, limit=250) == 250


def test_async_driver_makes_exactly_the_calls_asked(base_url: str) -> None:
    import asyncio

    import asyncload

    made = []

    async def call() -> None:
        made.append(1)
        await asyncio.sleep(0.001)

    rate = asyncio.run(asyncload.drive(call, 40, 8))
    assert len(made) == 40
    assert 40 / 2 < rate <= 40 / 0.005  # 5 rounds of 1 ms sleeps: at least 5 ms in all


def test_synthetic_schema_is_ten_consistent_copies(tmp_path: Path) -> None:
    from synapse_dyn.spec import load_spec, schema_path

    made = bigschema.write_synthetic(schema_path("v2"), tmp_path / "big.yaml", copies=2)
    assert made["operations"] == 2 * made["bundled_operations"]
    registry = load_spec(str(tmp_path / "big.yaml"), cache=False)
    assert registry.operation("projects_1.retrieve").path == "/v2/projects-1/{id}/"


def test_every_bench_module_imports() -> None:
    import importlib

    for module in ("asyncload", "main", "memory", "report", "server", "startup", "sink", "transfer", "sandboxload",
                   "clitable", "firstresult", "targets"):
        importlib.import_module(module)
    assert (BENCH / "run").stat().st_mode & 0o111


def test_report_rows_and_verdicts() -> None:
    row = common.at_most("g", "figure", "1 vs 2", 1.2, 1.5)
    assert (row.verdict, row.measure_text, row.target) == ("PASS", "1.200x", "<= 1.5x")
    assert common.at_least("g", "f", "", 0.8, 0.9).verdict == "FAIL"
    assert common.info("g", "f", "", None).verdict == "INFO"


def test_quick_mode_loosens_every_target_twofold() -> None:
    try:
        common.SLACK["factor"] = 2.0
        assert common.at_most("g", "f", "", 2.2, 1.15).verdict == "PASS"
        assert common.at_most("g", "f", "", 2.4, 1.15).verdict == "FAIL"
        assert common.at_least("g", "f", "", 0.46, 0.9).verdict == "PASS"
    finally:
        common.SLACK["factor"] = 1.0
    assert common.at_most("g", "f", "", 1.2, 1.15).verdict == "FAIL"


@pytest.fixture(scope="module")
def sink_url() -> str:
    with targets.process_server([str(BENCH / "sink.py")]) as port:
        yield f"http://127.0.0.1:{port}"


def test_sink_answers_the_chunked_upload_protocol_and_serves_blobs(sink_url: str) -> None:
    import httpx

    with httpx.Client(base_url=sink_url) as http:
        first = http.put("/chunked_upload/", files={"file": ("a.bin", b"x" * 1000)}, data={"filename": "a.bin"},
                         headers={"Content-Range": "bytes 0-999/3000"}).json()
        assert first["offset"] == 1000 and first["url"].startswith(sink_url)
        chunked = http.put(first["url"], content=iter([b"y" * 10, b"z" * 5]),
                           headers={"Content-Range": "bytes 1000-1999/3000"}).json()
        assert chunked["offset"] == 2000
        assert http.post(first["url"], json={"md5": "-"}).json()["id"] == first["id"]
        assert http.put("/anything/", content=b"q" * 12345).json() == {"received": 12345}
        assert len(http.get("/blob/3000000").content) == 3_000_000


def test_transfer_modes_move_every_byte(sink_url: str, tmp_path: Path) -> None:
    import transfer

    source = tmp_path / "up.bin"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    for mode in ("client", "hand", "prebuilt", "raw", "md5"):
        row = transfer.main(mode, sink_url, str(source), 256 * 1024)
        assert row["bytes"] == 1 << 20 and row["seconds"] > 0, mode
    for mode in ("download-client", "download-raw"):
        assert transfer.main(mode, sink_url, str(3 << 20), 0)["mb_s"] > 0


def test_sandbox_throughput_reports_the_share_openapi_core_takes() -> None:
    import sandboxload

    result = sandboxload.throughput(20)
    for name in ("retrieve", "create"):
        r = result[name]
        assert 0 < r["check_share"] < 1 and r["without_checks_per_s"] > r["per_s"] > 0, r


def test_cli_table_first_row_is_timed(base_url: str, tmp_path: Path) -> None:
    import clitable

    env = common.bench_env(SYNAPSE_DYN_CONFIG_DIR=str(tmp_path))
    first, end, rows = clitable.first_row([*targets.clitable_head(), *clitable.argv(base_url)], env)
    assert rows == clitable.PER_PAGE and 0 < first <= end
