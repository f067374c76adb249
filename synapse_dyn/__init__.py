"""synapse-dyn: a Synapse backend client assembled at runtime from the backend's OpenAPI document."""

from __future__ import annotations

import typing

from ._version import __version__

_ERRORS = (
    "SynapseError", "ClientError", "AuthenticationError", "AuthorizationError", "NotFoundError",
    "ValidationError", "ConflictError", "RateLimitError", "ServerError", "TransportError", "TimeoutError",
    "ProtocolError", "ConfigurationError", "SpecError", "UnknownNameError", "UnknownArgumentError",
    "ResponseValidationWarning",
)

_LAZY: dict[str, tuple[str, str | None]] = {
    "Client": ("client", "Client"),
    "AsyncClient": ("client", "AsyncClient"),
    **{name: ("family", name) for name in ("AgentClient", "AsyncAgentClient", "RayClient", "AsyncRayClient")},
    "load_spec": ("spec", "load_spec"),
    "mask_token": ("auth", "mask_token"),
    "Page": ("records", "Page"),
    "Record": ("records", "Record"),
    "Exchange": ("records", "Exchange"),
    "capture_request_ids": ("observability", "capture_request_ids"),
    "errors": ("errors", None),
    "sandbox": ("sandbox", None),
    **{name: ("errors", name) for name in _ERRORS},
}

__all__ = [
    "AgentClient",
    "AsyncAgentClient",
    "AsyncClient",
    "AsyncRayClient",
    "AuthenticationError",
    "AuthorizationError",
    "Client",
    "ClientError",
    "ConfigurationError",
    "ConflictError",
    "Exchange",
    "NotFoundError",
    "Page",
    "ProtocolError",
    "RateLimitError",
    "RayClient",
    "Record",
    "ResponseValidationWarning",
    "ServerError",
    "SpecError",
    "SynapseError",
    "TimeoutError",
    "TransportError",
    "UnknownArgumentError",
    "UnknownNameError",
    "ValidationError",
    "__version__",
    "capture_request_ids",
    "load_spec",
    "mask_token",
]


if typing.TYPE_CHECKING:  # pragma: no cover
    from . import errors, sandbox  # noqa: F401 - lazily imported submodules
    from .auth import mask_token
    from .errors import (
        AuthenticationError,
        AuthorizationError,
        ClientError,
        ConfigurationError,
        ConflictError,
        NotFoundError,
        ProtocolError,
        RateLimitError,
        ResponseValidationWarning,
        ServerError,
        SpecError,
        SynapseError,
        TimeoutError,
        TransportError,
        UnknownArgumentError,
        UnknownNameError,
        ValidationError,
    )
    from .family import AgentClient, AsyncAgentClient, AsyncRayClient, RayClient
    from .observability import capture_request_ids
    from .records import Exchange
    from .spec import load_spec
    from .typed.api import AsyncClient, Client  # the typed surface: stubs built from the bundled schema
    from .typed.base import Page, Record

del typing


def __getattr__(name: str) -> object:
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
    """The public names only (no ``typing`` helpers), plus the subpackages worth exploring."""
    return sorted({*__all__, "errors", "sandbox", "__version__"})


def load_ipython_extension(shell: object) -> None:
    """``%load_ext synapse_dyn``: IPython's non-jedi completer completes clients, resources and records."""
    from .docs import allow_ipython_completion

    allow_ipython_completion(shell)
