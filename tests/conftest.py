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
