"""Shared fixtures: where the reference releases live, and skipping cleanly when they are absent.

Only the reference releases may be absent. A skip because one of the project's own modules did not
import, or because the bundled schema is missing, is turned into a failure: it means the package is broken.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference" / "synapse-v2"
BUNDLED_SCHEMA = REPO_ROOT / "schema" / "openapi.yaml"


def reference_release(number: int) -> Path:
    """Path of a published v2 release, or skip the test when the reference folder is absent."""
    path = REFERENCE_DIR / f"release-{number}.yaml"
    if not path.exists():
        pytest.skip(f"reference release {number} not available at {path}")
    return path


@pytest.fixture
def release1() -> Path:
    return reference_release(1)


@pytest.fixture
def release2() -> Path:
    return reference_release(2)


@pytest.fixture(autouse=True, scope="session")
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the registry cache, config and sandbox data of the test run out of the user's home."""
    import os

    base = tmp_path_factory.mktemp("synapse-dyn-home")
    for name, sub in (("SYNAPSE_DYN_CACHE_DIR", "cache"), ("SYNAPSE_DYN_CONFIG_DIR", "config"),
                      ("SYNAPSE_DYN_SANDBOX_DB", "sandbox/sandbox.db")):
        os.environ.setdefault(name, str(base / sub))
    for name in ("SYNAPSE_BACKEND_V2_ACCESS_TOKEN", "SYNAPSE_BACKEND_V2_DRF_TOKEN", "SYNAPSE_BACKEND_V2_TENANT",
                 "SYNAPSE_DYN_SCHEMA", "SYNAPSE_ACCESS_TOKEN", "SYNAPSE_API_TOKEN", "SYNAPSE_AGENT_TOKEN"):
        os.environ.pop(name, None)


_BROKEN = re.compile(r"could not import '(synapse_dyn|helpers|faultserver|conftest)\b|bundled schema", re.IGNORECASE)


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _fail_broken_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    """A skip that hides a broken package becomes a failure naming the reason."""
    if report.skipped and not hasattr(report, "wasxfail") and _BROKEN.search(_skip_reason(report)):
        report.outcome = "failed"
        report.longrepr = f"not a valid reason to skip: {_skip_reason(report)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    _fail_broken_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield
    _fail_broken_skip(outcome.get_result())
