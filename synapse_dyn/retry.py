"""When to retry: a pure policy (no sleeping, no IO) that both clients consult."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    import email.utils

    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by total time.

    Idempotent methods retry on connection errors, timeouts and 429/502/503/504; POST
    and PATCH only when the request provably never reached the server (connect failure).
    """

    retries: int = 3
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_total: float = 60.0
    statuses: frozenset[int] = RETRY_STATUSES

    @classmethod
    def coerce(cls, value: Any) -> RetryPolicy:
        if isinstance(value, RetryPolicy):
            return value
        if value is None:
            return cls()
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"retries must be a non-negative int or a RetryPolicy, not {value!r}")
        return cls(retries=value)

    def delay(self, method: str, attempt: int, elapsed: float, *, status: int | None = None,
              retry_after: str | None = None, failure_sent: bool | None = None,
              now: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to stop.

        ``status`` for an HTTP answer; ``failure_sent`` for a transport failure (False = never
        reached the server); ``now``: the caller's wall clock (epoch seconds), for an HTTP-date Retry-After.
        """
        if attempt >= self.retries:
            return None
        idempotent = method.upper() in IDEMPOTENT_METHODS
        if status is not None:
            if status not in self.statuses or not idempotent:
                return None
            hinted = parse_retry_after(retry_after, now) if status in (429, 503) else None
        else:
            if not idempotent and failure_sent is not False:
                return None
            hinted = None
        import random

        wait = hinted if hinted is not None else random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))
        if elapsed + wait > self.max_total:
            return None
        return wait
