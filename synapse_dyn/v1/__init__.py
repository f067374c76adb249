"""The v1 BackendClient: the original SDK's flat methods, built on the core client and the v1 schema.

``from synapse_dyn.v1 import BackendClient, ClientError, StorageProvider``. Submodules load on
first use, so importing the package itself loads no schema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors as _errors

__all__ = ["BackendClient", "JobStatus", "StorageCategory", "StorageProvider", "upload_in_chunks",
           *_errors.__all__]

_LAZY = {
    "BackendClient": ("client", "BackendClient"),
    "StorageCategory": ("enums", "StorageCategory"),
    "StorageProvider": ("enums", "StorageProvider"),
    "JobStatus": ("enums", "JobStatus"),
    "upload_in_chunks": ("chunked", "upload"),
    **{name: ("errors", name) for name in _errors.__all__},
}

if TYPE_CHECKING:  # pragma: no cover
    from .chunked import upload as upload_in_chunks
    from .client import BackendClient
    from .enums import JobStatus, StorageCategory, StorageProvider
    from .errors import *  # noqa: F403


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module_name}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'synapse_dyn.v1' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
