"""The tools: one per exposed operation, named from its resource path and verb, plus two meta tools.

``search_operations`` and ``call_operation`` reach every exposed operation, so the listed
tools can be capped (``--tools N``) without losing any: on a schema ten times the bundled
one the list stays the same size. Listed first are the top-level ``list`` and ``retrieve``
verbs, then other verbs, then nested resources.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..registry import Operation, Registry
from .policy import Policy, is_write
from .schemas import ToolInput, first_sentence, tool_input

SEARCH_TOOL = "search_operations"
CALL_TOOL = "call_operation"
META_TOOLS = (SEARCH_TOOL, CALL_TOOL)
NAME_LIMIT = 64
VERB_RANK = {"list": 0, "retrieve": 1, "create": 2, "partial_update": 3, "update": 4, "destroy": 5}
SUMMARY_LIMIT = 100
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_WORD = re.compile(r"[a-z0-9]+")


def tool_name(op: Operation, separator: str = "_") -> str:
    """``projects.tags.list`` -> ``projects_tags_list``: safe for every MCP client (``[A-Za-z0-9_-]{1,64}``)."""
    name = _NOT_NAME.sub("_", separator.join(op.name.resources + (op.verb,))).strip("_") or "operation"
    if len(name) > NAME_LIMIT:
        digest = hashlib.sha1(op.qualified_name.encode()).hexdigest()[:8]
        name = f"{name[: NAME_LIMIT - 9]}_{digest}"
    return name


@dataclass
class ToolSpec:
    """One operation as a tool."""

    name: str
    op: Operation

    @property
    def writes(self) -> bool:
        return is_write(self.op)

    @cached_property
    def input(self) -> ToolInput:
        return tool_input(self.op, with_dry_run=self.writes)

    @property
    def description(self) -> str:
        op = self.op
        return first_sentence(op.summary or op.description, SUMMARY_LIMIT) or f"{op.method.upper()} {op.path}"

    def annotations(self) -> dict[str, bool]:
        method = self.op.method.lower()
        if not self.writes:
            return {"readOnlyHint": True}
        return {"readOnlyHint": False, "destructiveHint": method in ("put", "delete"),
                "idempotentHint": method in ("put", "delete")}

    def summary(self) -> dict[str, Any]:
        """What ``search_operations`` returns for this operation."""
        return {"tool": self.name, "operation": self.op.qualified_name, "method": self.op.method.upper(),
                "path": self.op.path, "summary": self.description, "input_schema": self.input.schema}


class Catalog:
    """Every exposed operation by tool name, the listed subset, and search over all of them."""

    def __init__(self, registry: Registry, policy: Policy) -> None:
        self.registry = registry
        self.policy = policy
        self.specs: dict[str, ToolSpec] = {}
        self._by_operation: dict[str, ToolSpec] = {}
        for op in policy.exposed(registry.operations):
            name = tool_name(op)
            if name in self.specs or name in META_TOOLS:
                name = tool_name(op, "__")
            spec = ToolSpec(name, op)
            self.specs[name] = spec
            self._by_operation[op.qualified_name] = spec
            if op.operation_id:
                self._by_operation.setdefault(op.operation_id, spec)

    @cached_property
    def listed(self) -> list[ToolSpec]:
        """The operation tools ``tools/list`` shows, in priority order, within ``max_tools``."""
        order = {name: index for index, name in enumerate(self.specs)}
        ranked = sorted(self.specs.values(), key=lambda s: (
            len(s.op.name.resources), VERB_RANK.get(s.op.verb, len(VERB_RANK)), order[s.name]))
        cap = self.policy.max_tools
        return ranked if cap is None else ranked[: max(cap - len(META_TOOLS), 0)]

    @property
    def hidden_count(self) -> int:
        return len(self.specs) - len(self.listed)

    def find(self, name: str) -> ToolSpec | None:
        """A spec by tool name, dotted operation name or operationId."""
        return self.specs.get(name) or self._by_operation.get(name)

    def refusal(self, name: str) -> str:
        """Why ``name`` cannot be called: not exposed by the policy, or unknown."""
        op: Operation | None
        try:
            op = self.registry.operation(name)
        except Exception:  # noqa: BLE001 - SpecError or a malformed dotted name
            op = next((s for s in self.registry.operations if tool_name(s) == name), None)
        if op is not None and (reason := self.policy.refusal(op)):
            return reason
        return f"no operation {name!r}; use {SEARCH_TOOL} to find one"

    def search(self, query: str, limit: int = 10) -> list[ToolSpec]:
        """Exposed operations ranked by how many query words their name, summary and path contain."""
        words = _WORD.findall(query.lower())
        scored: list[tuple[int, int, ToolSpec]] = []
        for index, spec in enumerate(self.specs.values()):
            op = spec.op
            name = op.qualified_name.lower().replace("_", " ")
            text = f"{op.summary} {op.description[:200]} {op.operation_id or ''}".lower()
            score = sum(3 * (w in name) + 2 * (w in text) + (w in op.path.lower()) for w in words)
            if score or not words:
                scored.append((-score, index, spec))
        scored.sort(key=lambda item: item[:2])
        return [spec for _, _, spec in scored[: max(limit, 0)]]
