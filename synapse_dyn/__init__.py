"""synapse-dyn: a Synapse backend client assembled at runtime from the backend's OpenAPI document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "Client",
    "Page",
    "Record",
    "__version__",
    "capture_request_ids",
    "load_spec",
    "mask_token",
]

_LAZY = {
    "Client": ("client", "Client"),
    "AsyncClient": ("client", "AsyncClient"),
    "load_spec": ("spec", "load_spec"),
    "mask_token": ("auth", "mask_token"),
    "Page": ("records", "Page"),
    "Record": ("records", "Record"),
    "capture_request_ids": ("observability", "capture_request_ids"),
    "errors": ("errors", None),
}

if TYPE_CHECKING:  # pragma: no cover
    from .auth import mask_token
    from .client import AsyncClient, Client
    from .observability import capture_request_ids
    from .records import Page, Record
    from .spec import load_spec


def __getattr__(name: str) -> Any:
    """Import submodules on first use, so ``import synapse_dyn`` stays cheap."""
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        module = importlib.import_module(f".{module_name}", __name__)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'synapse_dyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
