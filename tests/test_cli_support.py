"""Shared helpers for the CLI tests: isolated env, the live backend's envelope, running the CLI.

Other test_cli*.py modules import the fixtures from here; this module has no tests itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import BUNDLED_SCHEMA, REPO_ROOT

from synapse_dyn.cli import cli

TOKEN = "syn_0123456789abcdefSECRET"
DRF = "drf0123456789abcdefSECRET"
CREATED = "2026-01-02T03:04:05Z"


def envelope(data: Any, request_id: str = "req_test", *, next_cursor: str | None = None,
             paginated: bool | None = None) -> str:
    """A body in the live backend's {data, meta} envelope (lists get a cursor pagination block)."""
    meta: dict[str, Any] = {"request_id": request_id}
    if paginated or (paginated is None and isinstance(data, list)):
        meta["pagination"] = {"next_cursor": next_cursor, "previous_cursor": None, "per_page": 2}
    return json.dumps({"data": data, "meta": meta})


def error_body(code: str, message: str, request_id: str = "req_err", details: list | None = None) -> str:
    return json.dumps({"error": {"code": code, "message": message, "details": details or []},
                       "meta": {"request_id": request_id}})


def project_item(i: int) -> dict[str, Any]:
    return {"id": i, "title": f"project {i}", "category": "image", "category_display": "Image",
            "created": CREATED, "is_archived": False, "task_count": i * 3}


def project_detail(i: int = 42, **extra: Any) -> dict[str, Any]:
    return {"id": i, "tenant_id": 1, "data_collection_id": 7, "title": "demo", "description": "",
            "category": "image", "category_display": "Image", "configuration": {}, "settings": {},
            "caution": "sensitive_content", "access_level": "private", "count_max_assignments_per_task": 1,
            "can_discard": False, "is_archived": False, "created": CREATED, "task_count": 0, **extra}


@pytest.fixture
def schema2(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Commands built from the bundled v2 schema (via $SYNAPSE_DYN_SCHEMA): a superset of release 2 that is
    always present, so the CLI tests never depend on the reference releases."""
    assert BUNDLED_SCHEMA.exists(), f"the bundled schema is missing: {BUNDLED_SCHEMA}"
    monkeypatch.setenv("SYNAPSE_DYN_SCHEMA", str(BUNDLED_SCHEMA))
    return BUNDLED_SCHEMA


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One registry cache for the session: each schema is parsed once, later runs hit the cache."""
    return tmp_path_factory.mktemp("registry-cache")


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_cache: Path) -> Path:
    """Isolated config (per test) and cache dirs, and no credentials from the outside environment."""
    config = tmp_path / "config"
    monkeypatch.setenv("SYNAPSE_DYN_CONFIG_DIR", str(config))
    monkeypatch.setenv("SYNAPSE_DYN_CACHE_DIR", str(shared_cache))
    for name in ("SYNAPSE_BACKEND_V2_HOST", "SYNAPSE_BACKEND_V2_ACCESS_TOKEN", "SYNAPSE_BACKEND_V2_DRF_TOKEN",
                 "SYNAPSE_BACKEND_V2_TENANT", "SYNAPSE_DYN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return config


@pytest.fixture
def backend(httpserver: Any, monkeypatch: pytest.MonkeyPatch, schema2: Path) -> Any:
    """The loopback server, with host, tenant and token in the environment."""
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_HOST", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_TENANT", "acme")
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_ACCESS_TOKEN", TOKEN)
    return httpserver


def invoke(*args: str, input: str | None = None, obj: Any = None) -> Result:
    """Run the CLI in-process (stdout and stderr captured separately)."""
    return CliRunner().invoke(cli, list(args), input=input, obj=obj, prog_name="synapse-dyn")


def run_module(*args: str, env: dict[str, str] | None = None, input: str | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m synapse_dyn`` in a real subprocess with the current (monkeypatched) environment."""
    merged = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "synapse_dyn", *args], capture_output=True, text=True,
                          env=merged, input=input, timeout=timeout, cwd=str(REPO_ROOT))
