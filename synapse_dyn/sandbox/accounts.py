"""Users, tenants and credentials, as the backend checks them.

Which header carries which credential, and its format (``Token <drf>``, raw
``syn_...``), comes from the registry's conventions (``registry.conventions.auth``), so the v1 formats
(``Synapse-Access-Token: Token ...``) work with the v1 schema unchanged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ..registry import Operation, Registry
from .messages import ApiError, Request
from .store import Store, Tenant, User, check_password


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and in which tenant (None only for tenant-free operations)."""

    user: User
    tenant: Tenant | None


def new_access_token() -> str:
    """A fresh ``syn_`` access token."""
    return "syn_" + secrets.token_hex(20)


def new_drf_token() -> str:
    """A fresh DRF-style token key."""
    return secrets.token_hex(20)


def strip_scheme(value: str, fmt: str) -> str:
    """``Token abc`` -> ``abc`` (the format's prefix, or a bare ``Token``/``Bearer``, is optional)."""
    value = value.strip()
    prefix = fmt.split("{}", 1)[0]
    for candidate in (prefix, "Token ", "Bearer "):
        if candidate and value.lower().startswith(candidate.lower()):
            return value[len(candidate):].strip()
    return value


class Accounts:
    """Authenticates requests against the store, following the registry's auth scheme."""

    def __init__(self, registry: Registry, store: Store) -> None:
        self.registry = registry
        self.store = store
        self.scheme = registry.conventions.auth
        security = (registry.document.get("components") or {}).get("securitySchemes") or {}
        tenant = self.scheme.get("tenant")
        tenant_header = tenant.header.lower() if tenant is not None else ""
        self._tenant_schemes = {name for name, spec in security.items()
                                if str(spec.get("name", "")).lower() == tenant_header}

    # -- seeding ----------------------------------------------------------
    def create_user(self, email: str, password: str, tenants: list[str]) -> User:
        """Add (or update) a user and their tenant memberships."""
        user = self.store.upsert_user(email, password)
        for code in tenants:
            self.store.ensure_tenant(code)
            self.store.add_membership(user.id, code)
        return user

    def login(self, email: Any, password: Any) -> tuple[User, str]:
        """(user, a new DRF token) for an email and password, or ApiError 400 like DRF's obtain-token view.

        Only the token's digest is stored, so each login mints a new token (earlier ones stay valid).
        """
        found = self.store.user_by_email(str(email or ""))
        if found is None or not check_password(str(password or ""), found[1]):
            raise ApiError(400, "Unable to log in with provided credentials.", code="INVALID_CREDENTIALS",
                           details=[{"field": "non_field_errors",
                                     "message": "Unable to log in with provided credentials."}])
        token = new_drf_token()
        self.store.add_drf_token(token, found[0].id)
        return found[0], token

    # -- checking ----------------------------------------------------------
    def credentials(self, request: Request) -> dict[str, str]:
        """The credentials a request carries, by name, without their header prefixes."""
        out: dict[str, str] = {}
        for name, spec in self.scheme.items():
            raw = request.header(spec.header)
            if raw and raw.strip():
                out[name] = strip_scheme(raw, spec.format)
        return out

    def is_public(self, op: Operation) -> bool:
        """Whether an operation needs no credentials (``security: []`` on it, or on the document)."""
        return op.raw.get("security", self.registry.document.get("security")) == []

    def tenant_optional(self, op: Operation) -> bool:
        """Whether some security requirement of the operation needs no tenant header."""
        requirements = op.raw.get("security", self.registry.document.get("security"))
        if not requirements:
            return False
        return any(req and not (set(req) & self._tenant_schemes) for req in requirements)

    def token_credential(self, creds: dict[str, str]) -> str | None:
        """Which credential to check as an issued token: the access token, else (when no DRF token
        came) any other secret credential of the schema, such as an agent's token."""
        if "access_token" in creds:
            return "access_token"
        if "drf_token" in creds:
            return None
        return next((name for name in creds if name != "tenant" and self.scheme[name].secret), None)

    def authenticate(self, request: Request, op: Operation) -> Principal:
        """The caller, or ApiError 401 (no or bad credentials) / 403 (a tenant that is not theirs)."""
        creds = self.credentials(request)
        tenant_code = creds.get("tenant")
        token_name = self.token_credential(creds)
        if token_name is not None:
            found = self.store.access_token(creds[token_name])
            user = self.store.user(found[0]) if found else None
            if found is None or user is None:
                raise ApiError(401, "Invalid access token.", code="AUTHENTICATION_FAILED")
            if tenant_code is not None and tenant_code != found[1]:
                raise ApiError(403, "This access token does not belong to the requested tenant.")
            return Principal(user, self.store.tenant(found[1]))
        if "drf_token" in creds:
            user = self.store.user_by_drf_token(creds["drf_token"])
            if user is None:
                raise ApiError(401, "Invalid token.", code="AUTHENTICATION_FAILED")
            if tenant_code is not None:
                if not self.store.is_member(user.id, tenant_code):
                    raise ApiError(403, "You are not a member of this tenant.")
                return Principal(user, self.store.tenant(tenant_code))
            if self.tenant_optional(op):
                tenants = self.store.tenants_of(user.id)
                return Principal(user, tenants[0] if tenants else None)
            header = self.scheme["tenant"].header if "tenant" in self.scheme else "tenant"
            raise ApiError(403, f"The {header} header is required for this operation.", code="TENANT_REQUIRED")
        raise ApiError(401, "Authentication credentials were not provided.")
