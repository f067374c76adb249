"""The exception hierarchy: every failure the client raises is a SynapseError.

HTTP errors carry the backend's error envelope (code, message, details, request id);
client-side failures (bad arguments, bad schema, bad configuration) have their own
classes that also derive from the matching builtin (TypeError, AttributeError,
ValueError) so ordinary Python habits keep working.
"""

from __future__ import annotations

from typing import Any


class SynapseError(Exception):
    """Base class of everything this package raises."""


class SpecError(SynapseError, ValueError):
    """The schema or an overrides file cannot be loaded or is inconsistent."""


class ConfigurationError(SynapseError, ValueError):
    """A constructor argument or setting is unusable (bad URL, CR/LF in a header value...)."""


class UnknownNameError(SynapseError, AttributeError):
    """An attribute that is not a resource or verb of the loaded schema."""


class UnknownArgumentError(SynapseError, TypeError):
    """A call with a keyword or positional argument the operation does not take."""


class ClientError(SynapseError):
    """The backend answered with an error status (or a request failed validation before sending).

    ``status_code`` is None for a request rejected before it was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        response: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.details = normalize_details(details)
        self.request_id = request_id
        self.response = response

    @property
    def status(self) -> int | None:
        """Older name of ``status_code``."""
        return self.status_code

    @property
    def reason(self) -> Any:
        """Older scripts read ``reason``: the parsed body for 400, else the message."""
        if self.status_code == 400 and isinstance(self.response, dict | list):
            return self.response
        return self.message

    def __str__(self) -> str:
        parts = [type(self).__name__]
        if self.status_code is not None:
            parts.append(str(self.status_code))
        if self.code:
            parts.append(self.code + ":")
        text = " ".join(parts) + " " + self.message
        unnamed = [d for d in self.details if not (d["field"] and f"{d['field']} (" in self.message)]
        if unnamed:
            fields = ", ".join(
                f"{d['field']}: {d['message']}" if d["field"] else str(d["message"]) for d in unnamed[:5]
            )
            text += f" [{fields}]"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def __repr__(self) -> str:
        shown = [f"status_code={self.status_code!r}", f"code={self.code!r}", f"message={self.message!r}"]
        if self.details:
            shown.append(f"fields={[d['field'] for d in self.details]!r}")
        if self.request_id:
            shown.append(f"request_id={self.request_id!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def normalize_details(details: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """One shape for every per-field problem, client- or server-side: ``field`` (None when the problem
    concerns the whole input) and ``message``, plus ``kind`` / ``code`` when known."""
    out = []
    for item in details or []:
        entry: dict[str, Any] = dict(item) if isinstance(item, dict) else {"message": str(item)}
        entry.setdefault("field", None)
        entry["message"] = str(entry.get("message") or "")
        out.append(entry)
    return out


class AuthenticationError(ClientError):
    """401: missing or invalid credentials."""


class AuthorizationError(ClientError):
    """403: the credentials may not do this (or belong to another tenant)."""


class NotFoundError(ClientError):
    """404."""


class ValidationError(ClientError):
    """400/422 from the backend, or a request/response that does not match the schema.

    ``details`` lists the failing fields (``field``, ``message``, ``kind``), never the offending
    values, in the same shape for client-side and server-side failures; ``schema`` names what
    was checked. ``detail`` is the older ``{"schema", "errors"}`` view of the same list. The
    original validator error stays on ``__cause__``.
    """

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if detail and not kwargs.get("details"):
            kwargs["details"] = detail.get("errors")
        status = kwargs.get("status_code")
        if status is not None and status < 400 and SCHEMA_DRIFT_HINT not in message:
            message = f"{message}; {SCHEMA_DRIFT_HINT}"  # a success answer that fails its schema: drift
        super().__init__(message, **kwargs)
        self.schema: str | None = (detail or {}).get("schema")

    @property
    def detail(self) -> dict[str, Any]:
        """``{"schema": ..., "errors": details}`` (the older spelling; ``errors`` is ``details`` itself)."""
        return {"schema": self.schema, "errors": self.details} if (self.schema or self.details) else {}


class ConflictError(ClientError):
    """409."""


class RateLimitError(ClientError):
    """429; ``retry_after`` is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ClientError):
    """5xx."""


class ClientClosedError(SynapseError, RuntimeError):
    """The client was closed (``close()``, or its ``with`` block ended) or its event loop is gone."""


class TransportError(SynapseError):
    """The request did not complete: connection refused or reset, timeout, unreadable response."""

    def __init__(self, message: str, *, sent: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sent = sent

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, sent={self.sent!r})"


class TimeoutError(TransportError):  # noqa: A001 - deliberate: synapse_dyn.errors.TimeoutError
    """Connect or read timeout."""


class ProtocolError(TransportError):
    """The server answered something that is not a usable response (truncated, malformed, not JSON)."""


class DriftResolvedWarning(UserWarning):
    """An override patch was skipped because the schema no longer has the bug it fixes."""


class OverrideTargetMissingWarning(UserWarning):
    """An override patch was skipped because its target is absent from the schema."""


class InsecureTransportWarning(UserWarning):
    """A plain http:// base URL sends credentials in clear text."""


class ResponseValidationWarning(UserWarning):
    """A response did not match its schema (validate_responses='warn')."""


class RequestValidationWarning(UserWarning):
    """A request did not match its schema and was sent anyway (validate_requests='warn')."""


STATUS_ERRORS: dict[int, type[ClientError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: AuthorizationError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def error_class_for(status: int) -> type[ClientError]:
    """The exception class for an HTTP error status."""
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    return ServerError if status >= 500 else ClientError


SCHEMA_DRIFT_HINT = (
    "the backend sent something the loaded schema does not describe (a newer backend?): "
    "install its schema with `synapse-dyn schema sync`, or pass validate_responses=\"warn\" to keep going"
)

