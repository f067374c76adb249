"""The validation proxy ("drift radar"): relays traffic to a live backend unchanged and records
where requests and responses disagree with the schema, as patches-to-be for ``schema drift-report``."""

from __future__ import annotations

from .findings import Findings
from .inspect import Exchange, Inspector
from .server import STATS_PATH, ValidationProxy

__all__ = ["STATS_PATH", "Exchange", "Findings", "Inspector", "ValidationProxy"]
