"""The ``synapse-dyn`` command line: every operation of the loaded schema as a click command."""

from __future__ import annotations

from .app import cli, main

__all__ = ["cli", "main"]
