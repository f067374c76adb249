"""Which operations an agent may reach: read-only by default, writes and deletes only when asked.

A pattern is a resource (``projects``, which covers ``projects.tags.*`` too), an operation
(``projects.tags.list``) or a shell-style glob over the dotted name (``*.destroy``). A
pattern that matches no operation of the schema is a usage error, so a typo never silently
widens or narrows what is exposed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from ..registry import Operation, Registry

READ_METHODS = frozenset({"get", "head", "options"})
WRITE_METHODS = frozenset({"post", "put", "patch"})
DELETE_METHODS = frozenset({"delete"})
DEFAULT_MAX_TOOLS = 100  # clients report failures past about a hundred tools


class PolicyError(ValueError):
    """A bad ``--allow`` / ``--deny`` pattern or ``--tools`` value."""


def matches(pattern: str, qualified_name: str) -> bool:
    """Whether one pattern covers one dotted operation name."""
    return (fnmatchcase(qualified_name, pattern) or qualified_name.startswith(pattern + ".")
            or fnmatchcase(qualified_name, pattern + ".*"))


@dataclass(frozen=True)
class Policy:
    """What the server exposes; ``max_tools`` caps ``tools/list``, meta tools included (None: no cap)."""

    allow_writes: bool = False
    allow_deletes: bool = False
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    max_tools: int | None = DEFAULT_MAX_TOOLS

    def check_patterns(self, registry: Registry) -> None:
        """Raise PolicyError for a pattern that matches no operation."""
        names = [op.qualified_name for op in registry.operations]
        for flag, patterns in (("--allow", self.allow), ("--deny", self.deny)):
            for pattern in patterns:
                if not any(matches(pattern, name) for name in names):
                    raise PolicyError(f"{flag} {pattern!r} matches no operation; resources: "
                                      f"{', '.join(registry.resources)}")
        if self.max_tools is not None and self.max_tools < 2:
            raise PolicyError(f"--tools must be at least 2 (search_operations and call_operation), "
                              f"got {self.max_tools}")

    def refusal(self, op: Operation) -> str | None:
        """Why this operation is not exposed, or None when it is."""
        name = op.qualified_name
        if any(matches(p, name) for p in self.deny):
            return f"{name} is excluded by --deny"
        if self.allow and not any(matches(p, name) for p in self.allow):
            return f"{name} is not covered by --allow {' '.join(self.allow)}"
        method = op.method.lower()
        if method in DELETE_METHODS and not self.allow_deletes:
            return f"{name} is a DELETE; the server was started without --allow-deletes"
        if method in WRITE_METHODS and not self.allow_writes:
            return (f"{name} is a write ({method.upper()}); the server is read-only "
                    f"(start it with --allow-writes)")
        if method not in READ_METHODS | WRITE_METHODS | DELETE_METHODS:
            return f"{name} uses {method.upper()}, which the server does not expose"
        return None

    def exposed(self, operations: Iterable[Operation]) -> list[Operation]:
        return [op for op in operations if self.refusal(op) is None]


def is_write(op: Operation) -> bool:
    """Whether the operation changes something (and so takes ``dry_run``)."""
    return op.method.lower() not in READ_METHODS
