"""v1 errors: the core's exception classes, plus transport failures that older scripts catch as ClientError.

The older v1 client raised ``ClientError(status, reason)`` for everything: a timeout was 408, a
refused connection or DNS failure 503, any other transport failure 500. The classes below are at
once the core's transport error and a ClientError carrying that status, so both
``except ClientError as e: e.status`` and ``except synapse_dyn.errors.TimeoutError`` keep working.
"""

from __future__ import annotations

from .. import errors as core
from ..errors import (
    AuthenticationError,
    AuthorizationError,
    ClientError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    SynapseError,
    TransportError,
    ValidationError,
)

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "ClientError",
    "ConfigurationError",
    "ConflictError",
    "ConnectionFailedError",
    "NotFoundError",
    "ProtocolError",
    "ProtocolFailedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ServerError",
    "SynapseError",
    "TransportClientError",
    "TransportError",
    "TransportFailedError",
    "ValidationError",
    "as_client_error",
    "from_failure",
]


class TransportClientError(ClientError):
    """A request that produced no usable response, seen as a ClientError with the older line's status."""

    def __init__(self, message: str, *, status_code: int, sent: bool | None = None) -> None:
        ClientError.__init__(self, message, status_code=status_code)
        self.sent = sent


class RequestTimeoutError(TransportClientError, core.TimeoutError):
    """Connect or read timeout (status 408)."""


class ConnectionFailedError(TransportClientError, core.TransportError):
    """DNS failure or refused connection: the server was never reached (status 503)."""


class TransportFailedError(TransportClientError, core.TransportError):
    """The connection broke during the request (status 500)."""


class ProtocolFailedError(TransportClientError, core.ProtocolError):
    """The server answered something that is not a usable response (status 500)."""


def from_failure(kind: str, message: str, *, sent: bool | None) -> TransportClientError:
    """The v1 error for a transport failure of ``kind`` (timeout, connect, read, protocol or too_large)."""
    if kind == "timeout":
        return RequestTimeoutError(message, status_code=408, sent=sent)
    if kind in ("protocol", "too_large"):
        return ProtocolFailedError(message, status_code=500, sent=sent)
    if sent is False:
        return ConnectionFailedError(message, status_code=503, sent=sent)
    return TransportFailedError(message, status_code=500, sent=sent)


def as_client_error(exc: core.TransportError) -> TransportClientError:
    """The v1 form of a core transport error (raise it ``from exc``)."""
    if isinstance(exc, TransportClientError):
        return exc
    if isinstance(exc, core.TimeoutError):
        kind = "timeout"
    elif isinstance(exc, core.ProtocolError):
        kind = "protocol"
    else:
        kind = "connect" if exc.sent is False else "read"
    return from_failure(kind, exc.message, sent=exc.sent)
