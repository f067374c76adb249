"""Where ``schema sync`` keeps downloaded schemas: the user's data dir, never the installed package.

``platformdirs.user_data_dir('synapse-dyn')``, or ``$SYNAPSE_DYN_DATA_DIR``. When a synced
schema exists (and neither ``--schema`` nor ``$SYNAPSE_DYN_SCHEMA`` is given), the CLI builds
its commands from it.
"""

from __future__ import annotations

from pathlib import Path

from ..util.dirs import user_dir

DATA_ENV = "SYNAPSE_DYN_DATA_DIR"
SYNCED_NAME = "openapi.yaml"


def data_dir() -> Path:
    return user_dir("data", DATA_ENV)


def synced_path() -> Path:
    return data_dir() / "schemas" / SYNCED_NAME


def synced_schema() -> Path | None:
    """The synced schema, when there is one."""
    path = synced_path()
    return path if path.is_file() else None
