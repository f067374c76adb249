"""Request path + method -> the schema operation that serves it, straight from the registry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ..registry import Operation, Registry


@dataclass(frozen=True, slots=True)
class Match:
    """A routed request: the operation and its decoded path parameters."""

    op: Operation
    path_params: dict[str, str]


class Router:
    """Matches concrete paths against every templated path of a registry.

    Static segments win over parameters (``/projects/default_roles/`` is not project
    ``default_roles``), so candidates are tried from the most specific template down.
    """

    def __init__(self, registry: Registry) -> None:
        self._routes: dict[int, list[tuple[tuple[int, ...], re.Pattern[str], str]]] = {}
        self._ops: dict[tuple[str, str], Operation] = {}
        for op in registry.operations:
            self._ops[(op.path, op.method)] = op
        for path in {op.path for op in registry.operations}:
            segments = [s for s in path.split("/") if s]
            regex = "^/" + "/".join(
                f"(?P<p{i}>[^/]+)" if _is_param(s) else re.escape(s) for i, s in enumerate(segments)
            ) + ("/" if path.endswith("/") else "") + "$"
            # specificity: where the parameters are (earlier parameters = less specific)
            rank = tuple(1 if _is_param(s) else 0 for s in segments)
            self._routes.setdefault(len(segments), []).append((rank, re.compile(regex), path))
        for routes in self._routes.values():
            routes.sort(key=lambda r: r[0])

    def match(self, method: str, path: str) -> tuple[Match | None, list[str]]:
        """(the match, []) or (None, the methods the path allows: empty when no path matches)."""
        count = len([s for s in path.split("/") if s])
        allowed: list[str] = []
        for _rank, regex, template in self._routes.get(count, []):
            found = regex.match(path)
            if not found:
                continue
            op = self._ops.get((template, method.lower()))
            if op is None:
                allowed.extend(m.upper() for (p, m) in self._ops if p == template)
                continue
            names = [s[1:-1] for s in template.split("/") if _is_param(s)]
            values = [unquote(v) for k, v in sorted(found.groupdict().items(), key=lambda kv: int(kv[0][1:]))]
            return Match(op, dict(zip(names, values, strict=True))), []
        return None, sorted(set(allowed))


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")
