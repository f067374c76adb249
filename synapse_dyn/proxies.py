"""Attribute access over the registry: resources, nested resources and callable operations.

``client.projects`` is a ResourceProxy, ``client.projects.tags(42)`` a proxy bound to project
42, ``client.projects.list`` an OperationMethod whose help and signature come from the schema,
built on first use. Calls go to the owning client's ``_invoke``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .docs import NestedAccessorHelp, OperationIntrospection, ResourceExtras
from .registry import Operation, ResourceNode

if TYPE_CHECKING:  # pragma: no cover
    from .core import PreparedRequest


class OperationMethod(OperationIntrospection):
    """A callable operation bound to a client (and to parent ids for nested resources).

    Its signature, ``request_schema`` / ``response_schema`` and (on the async client) coroutine
    marks come from OperationIntrospection."""

    __slots__ = ("_client", "op", "_parents")

    def __init__(self, client: Any, op: Operation, parents: tuple[Any, ...]) -> None:
        self._client = client
        self.op = op
        self._parents = parents

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._client._invoke(self.op, self._parents, args, kwargs)

    def prepare(self, *args: Any, **kwargs: Any) -> PreparedRequest:
        """The request this call would send (validated), without sending it: pass it to ``client.send()``."""
        return self._client._prepare(self.op, self._parents, args, kwargs)[1]

    def __get__(self, instance: Any, owner: Any = None) -> OperationMethod:
        return self  # makes pydoc treat it as a routine, so help() shows our docstring

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        from .docs import help_text

        return help_text(self.op)

    @property
    def __name__(self) -> str:
        return self.op.verb

    def __repr__(self) -> str:
        return f"<operation {self.op.qualified_name}: {self.op.method.upper()} {self.op.path}>"


class NestedAccessor(NestedAccessorHelp):
    """``client.projects.tags`` before the parent id is given: call it with the id (a verb used
    before that says so; see NestedAccessorHelp)."""

    __slots__ = ("_client", "_node", "_parents")

    def __init__(self, client: Any, node: ResourceNode, parents: tuple[Any, ...]) -> None:
        self._client = client
        self._node = node
        self._parents = parents

    def __call__(self, *args: Any, **kwargs: Any) -> ResourceProxy:
        if len(args) == 1 and not kwargs:
            return ResourceProxy(self._client, self._node, self._parents + (args[0],))
        names = [self._node.depth_param] + [a for a, r in self._node.keyword_aliases.items()
                                            if r == self._node.depth_param]
        if not args and len(kwargs) == 1 and next(iter(kwargs)) in names:
            value = next(iter(kwargs.values()))
        else:
            raise errors.UnknownArgumentError(
                f"{'.'.join(self._node.path)}() takes exactly one parent id, positionally or as "
                f"{' / '.join(n for n in names if n)}"
            )
        return ResourceProxy(self._client, self._node, self._parents + (value,))

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return (f"Nested resource {'.'.join(self._node.path)}: call with the parent's "
                f"{self._node.depth_param} to reach {', '.join(self._node.attributes())}.")

    def __repr__(self) -> str:
        return f"<nested resource {'.'.join(self._node.path)}({self._node.depth_param})>"


class ResourceProxy(ResourceExtras):
    """A resource: its verbs and nested resources are attributes (and ``with_raw_response``)."""

    __slots__ = ("_client", "_node", "_parents", "_cache")

    def __init__(self, client: Any, node: ResourceNode, parents: tuple[Any, ...] = ()) -> None:
        self._client = client
        self._node = node
        self._parents = parents
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cache = self._cache
        if name in cache:
            return cache[name]
        node = self._node
        if name in node.verbs:
            value: Any = OperationMethod(self._client, node.verbs[name], self._parents)
        elif name in node.children:
            value = NestedAccessor(self._client, node.children[name], self._parents)
        else:
            raise errors.UnknownNameError(
                f"{'.'.join(node.path)} has no verb or resource {name!r}; available: {', '.join(node.attributes())}"
            )
        cache[name] = value
        return value

    def __dir__(self) -> list[str]:
        return self._node.attributes()

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        lines = [f"Resource {'.'.join(self._node.path)}"]
        for verb, op in sorted(self._node.verbs.items()):
            lines.append(f"  {verb}: {op.method.upper()} {op.path}  {op.summary}")
        for child in sorted(self._node.children):
            lines.append(f"  {child}(...): nested resource")
        return "\n".join(lines)

    def __repr__(self) -> str:
        bound = f" {self._parents}" if self._parents else ""
        return f"<resource {'.'.join(self._node.path)}{bound}: {', '.join(self._node.attributes())}>"
