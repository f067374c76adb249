"""Resource traits: what makes some resources behave unlike plain stored objects, as data.

The generic behaviours ask the traits, never a resource's name: ``RESOURCE_TRAITS`` names which
resource has which trait, and ``Sandbox(traits={...})`` replaces the table for another backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..accounts import new_access_token

if TYPE_CHECKING:  # pragma: no cover
    from ..calls import Call
    from ..resources import Resource
    from ..store import Store

OWNER_ONLY = "owner_only"  # an object is visible only to the user who made it
ISSUES_ACCESS_TOKEN = "issues_access_token"  # creating one answers a new secret once; deleting revokes it
MEMBERSHIPS = "memberships"  # the objects are the caller's tenant memberships, not stored objects

RESOURCE_TRAITS: Mapping[str, frozenset[str]] = {
    "tokens": frozenset({OWNER_ONLY, ISSUES_ACCESS_TOKEN}),
    "tenants": frozenset({MEMBERSHIPS}),
}

Row = tuple[int, dict[str, Any]]


class Traits:
    """The traits of one sandbox's resources and what each one changes."""

    def __init__(self, store: Store, table: Mapping[str, frozenset[str]] | None = None) -> None:
        self.store = store
        self.table = dict(RESOURCE_TRAITS if table is None else table)

    def of(self, res: Resource) -> frozenset[str]:
        """The traits of a resource (none for most)."""
        return self.table.get(res.key, frozenset())

    def resource_with(self, resources: Mapping[str, Resource], trait: str) -> Resource | None:
        """The first resource that has a trait."""
        return next((res for res in resources.values() if trait in self.of(res)), None)

    def visible(self, call: Call, res: Resource, doc: dict[str, Any]) -> bool:
        """Whether the caller may see a stored object."""
        if OWNER_ONLY not in self.of(res) or call.principal is None:
            return True
        return doc.get("user_id") == call.principal.user.id

    def rows(self, call: Call, res: Resource) -> list[Row] | None:
        """The objects of a resource that is not stored (None: read the store)."""
        if MEMBERSHIPS not in self.of(res):
            return None
        if call.principal is None:
            return []
        return [(t.id, {"id": t.id, "code": t.code, "name": t.name, "slug": t.code, "is_active": True})
                for t in self.store.tenants_of(call.principal.user.id)]

    def before_insert(self, res: Resource, doc: dict[str, Any], user_id: int | None) -> dict[str, Any]:
        """Fields a new object takes and extra answer fields (a new secret), before it is stored."""
        if ISSUES_ACCESS_TOKEN not in self.of(res) or user_id is None:
            return {}
        doc.update(user_id=user_id, last_used=None)
        return {"token": new_access_token()}

    def after_insert(self, res: Resource, extra: dict[str, Any], user_id: int | None, tenant: str,
                     object_id: int) -> None:
        """Record what a new object issued (the secret's digest)."""
        if "token" in extra and ISSUES_ACCESS_TOKEN in self.of(res) and user_id is not None:
            self.store.add_access_token(extra["token"], user_id, tenant, object_id)

    def after_delete(self, res: Resource, object_id: int) -> None:
        """Revoke what a deleted object issued."""
        if ISSUES_ACCESS_TOKEN in self.of(res):
            self.store.revoke_access_token(object_id)


def sliced(rows: list[Row], after: int | None, before: int | None, descending: bool) -> Iterator[Row]:
    """Rows that are not stored, scanned like stored ones (by id, after/before a position)."""
    chosen = [r for r in rows if (after is None or r[0] > after) and (before is None or r[0] < before)]
    return iter(sorted(chosen, key=lambda r: r[0], reverse=descending))
