"""Distinct findings with counts, and the drift log they are appended to (one line per distinct finding).

A finding is (operation, direction, field path, kind): values are never recorded, list
indexes are folded (``results/7/category`` counts with ``results/0/category``), and only
its first sighting is written to the log, in the line format ``schema drift-report`` reads.
A log that cannot be written is counted, never raised: traffic must not notice.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from ..drift import DriftLog

_INDEX = re.compile(r"(^|/)\d+(?=/|$)")


def finding_key(entry: dict[str, Any]) -> tuple[str, ...]:
    field = _INDEX.sub(r"\1*", str(entry.get("field", "")))
    status = str(entry.get("status")) if entry.get("kind") in ("status", "content_type") else ""
    return (str(entry.get("operation", "")), str(entry.get("direction", "response")), field,
            str(entry.get("kind", "")), status)


class Findings(DriftLog):
    """Thread-safe store of distinct findings; appends each new one to ``path`` when given."""

    def __init__(self, path: str | Path | None = None, *, samples: bool = False) -> None:
        super().__init__(path or "")
        self.enabled = path is not None
        self.samples = samples
        self.counts: dict[tuple[str, ...], int] = {}
        self.first: dict[tuple[str, ...], dict[str, Any]] = {}
        self.log_errors = 0
        self._state = threading.Lock()
        self._local = threading.local()  # the redacted sample of the exchange being checked

    def add(self, entries: list[dict[str, Any]], sample: Any = None) -> None:
        """Count entries; log the ones never seen before (with the redacted sample, when enabled)."""
        fresh = []
        with self._state:
            for entry in entries:
                key = finding_key(entry)
                self.counts[key] = self.counts.get(key, 0) + 1
                if key not in self.first:
                    self.first[key] = entry
                    fresh.append({**entry, "sample": sample} if self.samples and sample is not None else entry)
        if fresh and self.enabled:
            self._append(fresh)

    def _write(self, entries: list[dict[str, Any]]) -> None:
        """DriftLog.check's sink: response findings join the same counted store."""
        self.add([{"direction": "response", **e} for e in entries], getattr(self._local, "sample", None))

    def check_response(self, op: Any, status: int, content_type: str, payload: Any, problems: list[dict],
                       sample: Any = None) -> None:
        self._local.sample = sample
        try:
            self.check(op, status, content_type, payload, problems)
        finally:
            self._local.sample = None

    def _append(self, entries: list[dict[str, Any]]) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        lines = "".join(json.dumps({"time": stamp, **e}, sort_keys=True, default=str) + "\n" for e in entries)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(lines)
        except OSError:
            with self._state:
                self.log_errors += 1

    def snapshot(self) -> list[dict[str, Any]]:
        """Every distinct finding with its count, most frequent first (no values, no samples)."""
        with self._state:
            rows = [{"operation": k[0], "direction": k[1], "field": k[2], "kind": k[3], "count": n,
                     **({"status": int(k[4])} if k[4].isdigit() else {})} for k, n in self.counts.items()]
        return sorted(rows, key=lambda r: (-r["count"], r["operation"], r["field"]))
