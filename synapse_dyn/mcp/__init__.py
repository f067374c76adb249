"""An MCP server generated from the registry: every operation of the loaded schema as a tool.

``policy`` decides which operations are exposed (read-only unless told otherwise),
``schemas`` derives each tool's compact input schema, ``catalog`` names, orders and
searches the tools, ``calls`` runs one call through the client, and ``server`` wires
them to the official ``mcp`` SDK over stdio or streamable HTTP. Only ``server`` and
``cli`` import the SDK.
"""

from __future__ import annotations

from .catalog import Catalog, ToolSpec
from .policy import Policy, PolicyError

__all__ = ["Catalog", "Policy", "PolicyError", "ToolSpec"]
