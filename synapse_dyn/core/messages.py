"""What flows exchange with drivers: requests, raw responses, transport failures and actions.

Responses, failures and actions are named tuples (immutable, and cheap to define at import).
A flow yields an action and receives its outcome: ``Send`` -> RawResponse | TransportFailure,
every other action -> None. Side effects (sleeping, remembering a request id, appending to the
drift log, warning) are actions, so flows stay pure and are tested by feeding outcomes by hand.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..auth import mask_headers, mask_secret_fields
from ..registry import Operation


@dataclass(slots=True, repr=False)
class PreparedRequest:
    """Everything needed to send one HTTP request. Its repr masks credentials and never shows the body."""

    method: str
    url: str
    headers: dict[str, str]
    params: list[tuple[str, str]] = field(default_factory=list)
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    content: bytes | None = None
    operation: Operation | None = None
    read_timeout: float | None = None  # a longer read timeout for one slow request
    warnings: tuple[str, ...] = ()  # request problems the caller chose to be warned about, not refused for

    def describe(self) -> dict[str, Any]:
        """A printable, token-masked view (for --dry-run and logs)."""
        out: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.params:
            out["params"] = self.params
        out["headers"] = mask_headers(self.headers)
        if self.json is not None:
            out["json"] = mask_secret_fields(self.json)
        if self.data:
            out["data"] = mask_secret_fields(self.data)
        if self.files:
            out["files"] = sorted(self.files)
        return out

    def __repr__(self) -> str:
        parts = [f"{self.method} {self.url}"]
        if self.params:
            parts.append(f"params={sorted({name for name, _ in self.params})}")
        parts.append(f"headers={mask_headers(self.headers)}")
        if self.content is not None:
            parts.append(f"body=<{len(self.content)} bytes>")
        elif self.data or self.files:
            parts.append(f"form=<fields {sorted(set(self.data or ()) | set(self.files or ()))}>")
        return f"<PreparedRequest {' '.join(parts)}>"


class RawResponse(NamedTuple):
    status: int
    headers: Mapping[str, str]
    content: bytes
    reason: str = ""


class TransportFailure(NamedTuple):
    """A request that produced no response. ``sent`` False means it never reached the server."""

    kind: str  # connect | timeout | read | protocol | too_large (over max_response_size)
    message: str
    sent: bool


class Send(NamedTuple):
    """Send this request; the outcome (RawResponse or TransportFailure) is sent back into the flow."""

    request: PreparedRequest


class Sleep(NamedTuple):
    seconds: float


class RequestIdObserved(NamedTuple):
    """A response carried this request id (the driver keeps it per thread / task)."""

    request_id: str


class DriftObserved(NamedTuple):
    """A response differed from its schema (or matched it): the driver writes it to the drift log."""

    operation: Operation
    status: int
    content_type: str
    payload: Any
    problems: list[dict[str, Any]]


class Warn(NamedTuple):
    """Warn the caller (the driver points the warning at the first frame outside this package)."""

    message: str
    category: type[Warning]


class PageReady(NamedTuple):
    """One page of a paginated listing, handed out before the next one is fetched."""

    page: Any


Action = Send | Sleep | RequestIdObserved | DriftObserved | Warn | PageReady
Flow = Generator[Action, Any, Any]
