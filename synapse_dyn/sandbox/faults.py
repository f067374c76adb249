"""Faults on demand: latency, server errors, rate limiting and dropped connections.

Rates draw from a private ``random.Random(seed)``, so a seeded run injects the same
faults at the same request numbers. A schedule (``fail_next``, ``rate_limit_next``,
``drop_next``, ``delay_next``) is consumed first, for tests that need one exact fault.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field

DROP_PHASES = ("before", "after")


@dataclass(frozen=True, slots=True)
class Fault:
    """What happens to one request: extra latency, then a status answer, a drop, or normal service."""

    latency: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    drop: bool = False

    @property
    def kind(self) -> str:
        """none | latency | error | rate_limit | drop."""
        if self.drop:
            return "drop"
        if self.status == 429:
            return "rate_limit"
        if self.status is not None:
            return "error"
        return "latency" if self.latency else "none"


NO_FAULT = Fault()


@dataclass
class Faults:
    """Fault injection settings; pass to ``Sandbox(faults=...)`` or set flags on ``sandbox serve``.

    ``latency`` seconds are added to every request (plus up to ``jitter`` more);
    ``error_rate`` of requests get one of ``error_statuses``; ``rate_limit_rate`` get 429
    with ``Retry-After: retry_after``; ``drop_rate`` lose their connection without an
    answer (``drop_phase`` 'before' the request is processed, or 'after' it was).
    """

    latency: float = 0.0
    jitter: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    drop_rate: float = 0.0
    drop_phase: str = "before"
    seed: int | None = None
    injected: Counter[str] = field(default_factory=Counter, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.latency < 0 or self.jitter < 0:
            raise ValueError("latency and jitter must not be negative")
        if self.drop_phase not in DROP_PHASES:
            raise ValueError(f"drop_phase must be one of {', '.join(DROP_PHASES)}")
        self.error_statuses = tuple(int(s) for s in self.error_statuses)
        if self.error_rate and not self.error_statuses:
            raise ValueError("error_rate needs at least one status in error_statuses")
        self._random = random.Random(self.seed)
        self._schedule: deque[Fault] = deque()
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether any fault can happen."""
        return bool(self.latency or self.jitter or self.error_rate or self.rate_limit_rate or self.drop_rate
                    or self._schedule)

    # -- schedule ----------------------------------------------------------
    def fail_next(self, count: int = 1, status: int = 503) -> Faults:
        """Answer the next ``count`` requests with ``status``."""
        return self._queue(count, Fault(status=status))

    def rate_limit_next(self, count: int = 1, retry_after: float | None = None) -> Faults:
        """Answer the next ``count`` requests with 429 and a Retry-After header."""
        wait = self.retry_after if retry_after is None else retry_after
        return self._queue(count, Fault(status=429, retry_after=wait))

    def drop_next(self, count: int = 1) -> Faults:
        """Close the connection of the next ``count`` requests without answering."""
        return self._queue(count, Fault(drop=True))

    def delay_next(self, count: int = 1, seconds: float = 0.1) -> Faults:
        """Delay the next ``count`` requests by ``seconds`` (then serve them normally)."""
        return self._queue(count, Fault(latency=seconds))

    def clear(self) -> None:
        """Forget scheduled faults."""
        with self._lock:
            self._schedule.clear()

    def _queue(self, count: int, fault: Fault) -> Faults:
        with self._lock:
            self._schedule.extend([fault] * count)
        return self

    # -- deciding ------------------------------------------------------------
    def decide(self) -> Fault:
        """The fault for the next request (scheduled first, then drawn from the rates)."""
        with self._lock:
            fault = self._schedule.popleft() if self._schedule else self._draw()
            if fault.kind != "none":
                self.injected[fault.kind] += 1
            return fault

    def _draw(self) -> Fault:
        rng = self._random
        latency = self.latency + (rng.uniform(0, self.jitter) if self.jitter else 0.0)
        roll = rng.random()
        if roll < self.drop_rate:
            return Fault(latency=latency, drop=True)
        roll -= self.drop_rate
        if roll < self.rate_limit_rate:
            return Fault(latency=latency, status=429, retry_after=self.retry_after)
        roll -= self.rate_limit_rate
        if roll < self.error_rate:
            return Fault(latency=latency, status=rng.choice(self.error_statuses))
        return Fault(latency=latency) if latency else NO_FAULT
