"""Session: everything a call needs besides its arguments; shared by Client, AsyncClient and the flows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..auth import Credentials
from ..records import Record, RecordTypes
from ..registry import Registry
from ..retry import RetryPolicy
from ..validation import Validators

VALIDATION_MODES = ("strict", "warn", "off")


def validation_mode(value: Any, name: str) -> str:
    """``strict`` / ``warn`` / ``off`` (True and False mean strict and off); anything else is refused."""
    if value is True:
        return "strict"
    if value is False:
        return "off"
    if value not in VALIDATION_MODES:
        raise errors.ConfigurationError(f"{name} must be one of {', '.join(VALIDATION_MODES)}, not {value!r}")
    return str(value)


@dataclass
class Session:
    """Configuration of one client: where to send, what to validate, how to retry; the clock is injected."""

    base_url: str
    registry: Registry
    credentials: Credentials
    validators: Validators
    validate_responses: str = "strict"
    validate_requests: str = "strict"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    drift_log: Any = None
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time  # epoch seconds, for HTTP dates (Retry-After)

    parse_dates: bool = False
    _record_types: RecordTypes | None = None

    def secrets(self) -> list[str]:
        return self.credentials.secret_header_values()

    def record_class(self, schema_name: str | None) -> type[Record]:
        """The Record class of a component schema (its nested fields become Records on first read)."""
        types = self._record_types
        if types is None:
            types = self._record_types = RecordTypes(self.registry, parse_dates=self.parse_dates)
        return types.for_name(schema_name)
