"""A local Synapse-compatible backend driven by the schema: the embedded default.

``Sandbox`` serves every operation of a schema from SQLite, in-process
(``sandbox.transport()``) or over HTTP (``sandbox.serve()``, ``synapse-dyn sandbox serve``);
``Faults`` injects latency, errors, 429s and dropped connections; ``open_default``
opens the persistent demo sandbox in the user's data directory.
"""

from __future__ import annotations

from .faults import Fault, Faults
from .service import SANDBOX_ORIGIN, Sandbox
from .transport import SandboxTransport

__all__ = ["SANDBOX_ORIGIN", "Fault", "Faults", "Sandbox", "SandboxTransport", "open_default"]


def open_default(path: str | None = None) -> tuple[Sandbox, dict]:
    """The persistent demo sandbox and the Client keyword arguments that reach it (see demo.py)."""
    from .demo import open_default as _open

    return _open(path)
