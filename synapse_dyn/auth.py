"""Credentials -> request headers, environment fallbacks, and log-safe masking.

Which header carries which credential, and in what format, is data: the registry's
``conventions.auth`` (see conventions.py), the v2 defaults when a schema declares none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .conventions import AuthScheme, default_auth
from .errors import ConfigurationError
from .masking import (
    SECRET_HEADER,
    SECRET_NAME,
    mask_headers,
    mask_secret_fields,
    mask_token,
    register_secret,
    scrub,
)
from .util.urls import user_agent

SECRET_CREDENTIALS = ("access_token", "drf_token", "agent_token")
_NOT_VISIBLE = re.compile(r"[^\x20-\x7e]")  # a header value carries visible ASCII and spaces only

__all__ = ["SECRET_HEADER", "SECRET_NAME", "Credentials", "check_header_value", "mask_headers",  # noqa: RUF022
           "mask_secret_fields", "mask_token", "scrub"]  # the masking names stay importable from here


def check_header_value(name: str, value: str) -> str:
    """Refuse, before sending, any character a header cannot carry safely; never echo the value."""
    bad = _NOT_VISIBLE.search(value)
    if bad is None:
        return value
    char = bad.group()
    if char in "\r\n\x00":
        kind = "a line break or NUL character"
    elif not char.isascii():
        kind = "a non-ASCII character, which an HTTP header cannot carry"
    else:
        kind = "an invisible control character"
    raise ConfigurationError(f"{name} contains {kind} (U+{ord(char):04X} at position {bad.start()}); "
                             "only visible ASCII and spaces are allowed; refusing to send it")


@dataclass
class Credentials:
    """The credentials one client sends; never shows a secret in its repr."""

    scheme: Mapping[str, AuthScheme] = field(default_factory=default_auth)
    values: dict[str, str | None] = field(default_factory=dict)
    tenant_token_prefix: bool = False
    _base_headers: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_arguments(
        cls,
        scheme: Mapping[str, AuthScheme] | None,
        *,
        tenant_token_prefix: bool = False,
        **given: str | None,
    ) -> Credentials:
        """Take explicit values, falling back to each credential's environment variables."""
        scheme = default_auth() if scheme is None else scheme  # an empty scheme: no credentials at all
        unknown = sorted(k for k, v in given.items() if v is not None and k not in scheme)
        if unknown:
            raise ConfigurationError(
                f"this schema has no credential named {', '.join(unknown)}; valid: {', '.join(sorted(scheme))}"
            )
        creds = cls(scheme=scheme, tenant_token_prefix=tenant_token_prefix)
        for name, spec in scheme.items():
            value = given.get(name)
            if value is None:
                value = next((os.environ[e] for e in spec.env if os.environ.get(e)), None)
            creds.set(name, value)
        return creds

    def set(self, name: str, value: str | None) -> None:
        """Set or clear one credential (validated for header safety)."""
        if name not in self.scheme:
            raise ConfigurationError(f"unknown credential {name!r}; valid: {', '.join(sorted(self.scheme))}")
        if value is not None:
            if self.is_secret(name):
                register_secret(str(value))  # masked by value from now on, wherever it shows up
            check_header_value(name, str(value))
        self.values[name] = None if value is None else str(value)
        self._base_headers = None

    def base_headers(self) -> dict[str, str]:
        """Accept, User-Agent and the auth headers: every request starts from a copy of these (cached)."""
        if self._base_headers is None:
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
            fmt = spec.format
            if self.tenant_token_prefix and name == "tenant":
                fmt = spec.legacy_format or "Token {}"
            out[spec.header] = fmt.format(value)
        return out

    def secret_header_values(self) -> list[str]:
        """Every secret as it appears on the wire, for scrubbing text."""
        return [v for name, v in self.values.items() if v and self.is_secret(name)]

    def is_secret(self, name: str) -> bool:
        spec = self.scheme.get(name)
        return spec.secret if spec is not None else name in SECRET_CREDENTIALS

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={mask_token(v) if self.is_secret(name) else repr(v)}" for name, v in self.values.items()
        )
        return f"Credentials({shown})"
