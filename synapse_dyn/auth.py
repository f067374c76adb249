"""Credentials -> request headers, environment fallbacks, and log-safe masking.

Which header carries which credential, and in what format, is data: the schema's root
``x-synapse-auth`` extension, or the v2 defaults below when a schema has none.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError

V2_AUTH_SCHEME: dict[str, dict[str, Any]] = {
    "access_token": {"header": "SYNAPSE-ACCESS-TOKEN", "format": "{}", "env": ["SYNAPSE_BACKEND_V2_ACCESS_TOKEN"]},
    "drf_token": {"header": "Authorization", "format": "Token {}", "env": ["SYNAPSE_BACKEND_V2_DRF_TOKEN"]},
    "tenant": {
        "header": "SYNAPSE-Tenant",
        "format": "{}",
        "legacy_format": "Token {}",
        "env": ["SYNAPSE_BACKEND_V2_TENANT"],
    },
}

SECRET_CREDENTIALS = ("access_token", "drf_token", "agent_token")
_UNSAFE_HEADER_CHARS = re.compile(r"[\r\n\x00]")
SECRET_HEADER = re.compile(r"token|authorization|secret|password|api[_-]?key|cookie|^synapse-agent$", re.IGNORECASE)
SECRET_NAME = re.compile(r"token|password|secret|authorization|api[_-]?key|credential", re.IGNORECASE)


def mask_token(token: str | None) -> str:
    """A log-safe form of a secret: ``syn_12345678901234`` -> ``syn_***1234``; None -> ``<unset>``."""
    if token is None:
        return "<unset>"
    token = str(token)
    prefix = ""
    match = re.match(r"^([A-Za-z]{1,8}_)", token)
    if match:
        prefix = match.group(1)
    rest = token[len(prefix) :]
    if len(rest) < 8:
        return prefix + "***"
    return f"{prefix}***{rest[-4:]}"


def check_header_value(name: str, value: str) -> str:
    """Refuse CR, LF, NUL (header injection) and non-ASCII characters in a header value, before sending."""
    if _UNSAFE_HEADER_CHARS.search(value):
        raise ConfigurationError(f"{name} contains a line break or NUL character; refusing to send it")
    if not value.isascii():
        raise ConfigurationError(f"{name} contains non-ASCII characters, which an HTTP header cannot carry")
    return value


@dataclass
class Credentials:
    """The credentials one client sends; never shows a secret in its repr."""

    scheme: dict[str, dict[str, Any]] = field(default_factory=lambda: V2_AUTH_SCHEME)
    values: dict[str, str | None] = field(default_factory=dict)
    tenant_token_prefix: bool = False
    _base_headers: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_arguments(
        cls,
        scheme: dict[str, dict[str, Any]] | None,
        *,
        tenant_token_prefix: bool = False,
        **given: str | None,
    ) -> Credentials:
        """Take explicit values, falling back to each credential's environment variables."""
        scheme = scheme or V2_AUTH_SCHEME
        unknown = sorted(k for k, v in given.items() if v is not None and k not in scheme)
        if unknown:
            raise ConfigurationError(
                f"this schema has no credential named {', '.join(unknown)}; valid: {', '.join(sorted(scheme))}"
            )
        creds = cls(scheme=scheme, tenant_token_prefix=tenant_token_prefix)
        for name, spec in scheme.items():
            value = given.get(name)
            if value is None:
                value = next((os.environ[e] for e in spec.get("env", []) if os.environ.get(e)), None)
            creds.set(name, value)
        return creds

    def set(self, name: str, value: str | None) -> None:
        """Set or clear one credential (validated for header safety)."""
        if name not in self.scheme:
            raise ConfigurationError(f"unknown credential {name!r}; valid: {', '.join(sorted(self.scheme))}")
        if value is not None:
            check_header_value(name, str(value))
        self.values[name] = None if value is None else str(value)
        self._base_headers = None

    def base_headers(self) -> dict[str, str]:
        """Accept, User-Agent and the auth headers: every request starts from a copy of these (cached)."""
        if self._base_headers is None:
            from .core import user_agent

            self._base_headers = {"Accept": "application/json", "User-Agent": user_agent(), **self.headers()}
        return self._base_headers

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def headers(self) -> dict[str, str]:
        """The auth headers for the credentials that are set."""
        out: dict[str, str] = {}
        for name, spec in self.scheme.items():
            value = self.values.get(name)
            if value is None:
                continue
            fmt = spec.get("format", "{}")
            if name == "tenant" and self.tenant_token_prefix:
                fmt = spec.get("legacy_format", "Token {}")
            out[spec["header"]] = fmt.format(value)
        return out

    def secret_header_values(self) -> list[str]:
        """Every secret as it appears on the wire, for scrubbing text."""
        found: list[str] = []
        for name in SECRET_CREDENTIALS:
            value = self.values.get(name)
            if value:
                found.append(value)
        return found

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={mask_token(v) if name in SECRET_CREDENTIALS else repr(v)}" for name, v in self.values.items()
        )
        return f"Credentials({shown})"


def mask_headers(headers: dict[str, str] | Any) -> dict[str, str]:
    """A copy of headers with every credential-carrying value masked."""
    out: dict[str, str] = {}
    for key, value in dict(headers).items():
        if SECRET_HEADER.search(key):
            scheme, _, token = str(value).rpartition(" ")
            out[key] = f"{scheme} {mask_token(token)}".strip()
        else:
            out[key] = value
    return out


def mask_secret_fields(value: Any) -> Any:
    """A copy of a JSON body with the values of secret-named fields (password, token, ...) masked."""
    if isinstance(value, dict):
        return {k: (mask_token(v) if isinstance(v, str) and SECRET_NAME.search(str(k)) else mask_secret_fields(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secret_fields(v) for v in value]
    return value


def scrub(text: str, secrets: list[str]) -> str:
    """Replace each secret found in text by its masked form."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, mask_token(secret))
    return text
