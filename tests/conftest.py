"""Shared fixtures: where the reference releases live, and skipping cleanly when they are absent."""

from __future__ import annotations

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
