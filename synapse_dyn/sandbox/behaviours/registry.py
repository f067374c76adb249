"""Which behaviour serves which operation: a registry filled by decorators, resolved once per operation.

A behaviour is registered as a *factory* ``factory(services, op) -> handler | None``; the app calls
the factories once at start, and the first one that returns a handler serves the operation for the
sandbox's lifetime. Precedence: operationId, then extension, then rule, then (kind, method), then
the fallback. A factory returning None passes the operation on to the next candidate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..calls import Call, Result

if TYPE_CHECKING:  # pragma: no cover
    from ...registry import Operation, Registry
    from ..accounts import Accounts
    from ..blobs import Blobs
    from ..documents import Documents
    from ..resources import Resource
    from ..store import Store

Handler = Callable[[Call], Result]
Factory = Callable[["Services", "Operation"], Handler | None]


@dataclass
class Services:
    """What behaviours work with; ``extra`` holds what a behaviour family adds (its own state)."""

    registry: Registry
    store: Store
    docs: Documents
    accounts: Accounts
    resources: dict[str, Resource]
    blobs: Blobs
    extra: dict[str, Any] = field(default_factory=dict)

    def resource_of(self, op: Operation) -> Resource | None:
        """The stored resource an operation's name chain names (None for actions without one)."""
        return self.resources.get(".".join(op.name.resources))

    def shared(self, name: str, make: Callable[[], Any]) -> Any:
        """One instance per sandbox of a family's state (made on first use)."""
        if name not in self.extra:
            self.extra[name] = make()
        return self.extra[name]


class Behaviours:
    """The registry of behaviour factories."""

    def __init__(self) -> None:
        self._by_id: dict[str, Factory] = {}
        self._by_extension: list[tuple[str, Factory]] = []
        self._rules: list[tuple[Callable[[Operation], bool], Factory]] = []
        self._by_kind: dict[tuple[str, str], list[Factory]] = {}
        self._fallback: list[Factory] = []

    def operation(self, *operation_ids: str) -> Callable[[Factory], Factory]:
        """Serve the operations with these operationIds."""
        def register(factory: Factory) -> Factory:
            self._by_id.update(dict.fromkeys(operation_ids, factory))
            return factory
        return register

    def extension(self, key: str) -> Callable[[Factory], Factory]:
        """Serve operations that carry an ``x-...`` extension key."""
        def register(factory: Factory) -> Factory:
            self._by_extension.append((key, factory))
            return factory
        return register

    def rule(self, predicate: Callable[[Operation], bool]) -> Callable[[Factory], Factory]:
        """Serve operations a predicate accepts (for conventions no extension marks)."""
        def register(factory: Factory) -> Factory:
            self._rules.append((predicate, factory))
            return factory
        return register

    def kind(self, kind: str, *methods: str) -> Callable[[Factory], Factory]:
        """Serve operations of a kind (``collection``, ``item``, ``item_action``...) and HTTP method(s)."""
        def register(factory: Factory) -> Factory:
            for method in methods or ("*",):
                self._by_kind.setdefault((kind, method), []).append(factory)
            return factory
        return register

    def fallback(self, factory: Factory) -> Factory:
        """Serve whatever nothing else serves."""
        self._fallback.append(factory)
        return factory

    def copy(self) -> Behaviours:
        """A registry holding the same registrations, to extend without touching this one."""
        other = Behaviours()
        other._by_id = dict(self._by_id)
        other._by_extension = list(self._by_extension)
        other._rules = list(self._rules)
        other._by_kind = {key: list(value) for key, value in self._by_kind.items()}
        other._fallback = list(self._fallback)
        return other

    def candidates(self, op: Operation) -> list[Factory]:
        """Every factory that may serve an operation, in precedence order."""
        found = [self._by_id[op.operation_id]] if op.operation_id in self._by_id else []
        found += [factory for key, factory in self._by_extension if key in op.raw]
        found += [factory for predicate, factory in self._rules if predicate(op)]
        kind = op.name.kind
        found += self._by_kind.get((kind, op.method), []) + self._by_kind.get((kind, "*"), [])
        return found + self._fallback

    def resolve(self, op: Operation, services: Services) -> Handler:
        """The handler serving an operation (the first factory that accepts it)."""
        for factory in self.candidates(op):
            handler = factory(services, op)
            if handler is not None:
                return handler
        raise LookupError(f"no sandbox behaviour serves {op.qualified_name}")


BEHAVIOURS = Behaviours()
