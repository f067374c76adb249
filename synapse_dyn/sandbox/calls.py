"""One routed request on its way through a behaviour, and the behaviour's answer before the envelope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..registry import Operation
from .accounts import Principal
from .messages import Request


@dataclass
class Call:
    """One routed, authenticated and validated request."""

    op: Operation
    request: Request
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    principal: Principal | None
    dry_run: bool = False

    @property
    def tenant(self) -> str:
        """The caller's tenant code ('' when the operation needs none)."""
        return self.principal.tenant.code if self.principal and self.principal.tenant else ""

    @property
    def user_id(self) -> int | None:
        """The caller's user id."""
        return self.principal.user.id if self.principal else None


@dataclass
class Result:
    """A behaviour's answer before the envelope: status, data, and pagination meta for cursor pages."""

    status: int
    data: Any = None
    pagination: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def mapping(value: Any) -> dict[str, Any]:
    """A body as a dict (a copy; anything else as an empty dict)."""
    return dict(value) if isinstance(value, dict) else {}
