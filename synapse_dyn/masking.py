"""Log-safe forms of secrets, found by name (token, password, ...) and by value, at every depth.

Masking by name alone misses a credential under a name nobody expected (a schema may rename
the credential header); so every credential a client is given is also registered here, and
any text, header or field holding one of those values is masked wherever it appears.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

SECRET_HEADER = re.compile(r"token|authorization|secret|password|api[_-]?key|cookie|auth|^synapse-agent$",
                           re.IGNORECASE)
SECRET_NAME = re.compile(r"token|password|passwd|secret|authorization|api[_-]?key|credential", re.IGNORECASE)
PASSWORD_NAME = re.compile(r"password|passwd|passphrase|secret", re.IGNORECASE)
FULL_MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values are not searched for in text (they would mask ordinary words)
_MAX_KNOWN = 256

_known: dict[str, None] = {}  # insertion-ordered set of credential values seen by any client
_known_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a credential value, so it is masked wherever it later appears (bounded, oldest dropped)."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _known_lock:
        _known.pop(value, None)
        _known[value] = None
        while len(_known) > _MAX_KNOWN:
            del _known[next(iter(_known))]


def known_secrets() -> tuple[str, ...]:
    return tuple(_known)


def mask_token(token: str | None) -> str:
    """A log-safe form of a token: ``syn_12345678901234`` -> ``syn_***1234``; None -> ``<unset>``."""
    if token is None:
        return "<unset>"
    token = str(token)
    prefix = ""
    match = re.match(r"^([A-Za-z]{1,8}_)", token)
    if match:
        prefix = match.group(1)
    rest = token[len(prefix) :]
    if len(rest) < 8:
        return prefix + FULL_MASK
    return f"{prefix}{FULL_MASK}{rest[-4:]}"


def _secrets(extra: Iterable[str] | None) -> list[str]:
    found = {s for s in (extra or ()) if s and len(s) >= MIN_SECRET_LENGTH}
    found.update(_known)
    return sorted(found, key=len, reverse=True)  # longest first: a secret containing another is masked whole


def scrub(text: str, secrets: Iterable[str] | None = None) -> str:
    """Text with every given or registered secret replaced by its masked form."""
    text = str(text)
    for secret in _secrets(secrets):
        if secret in text:
            text = text.replace(secret, mask_token(secret))
    return text


def mask_headers(headers: Mapping[str, Any] | Any, secrets: Iterable[str] | None = None) -> dict[str, str]:
    """A copy of headers with every credential masked: by header name, and by credential value."""
    known = _secrets(secrets)
    out: dict[str, str] = {}
    for key, value in dict(headers).items():
        text = str(value)
        if SECRET_HEADER.search(key):
            scheme, _, token = text.rpartition(" ")
            out[key] = f"{scheme} {mask_token(token)}".strip()
        elif any(s in text for s in known):
            out[key] = scrub(text, known)
        else:
            out[key] = value
    return out


def mask_secret_fields(value: Any, secrets: Iterable[str] | None = None) -> Any:
    """A deep copy of a JSON-like value with secrets masked at every depth.

    Password-like fields become ``***`` whatever they hold; other secret-named fields keep a
    token's prefix and last four characters; any string holding a registered credential is scrubbed.
    """
    return _mask(value, _secrets(secrets))


def mask_field(key: Any, value: Any) -> Any:
    """One field's value as it may be shown: by the field's name, then by registered credential values."""
    return _mask_field(str(key), value, _secrets(None))


def _mask(value: Any, known: list[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: _mask_field(str(k), v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, known) for v in value]
    if isinstance(value, tuple):
        return tuple(_mask(v, known) for v in value)
    if isinstance(value, str) and any(s in value for s in known):
        return scrub(value, known)
    return value


def _mask_field(key: str, value: Any, known: list[str]) -> Any:
    if value is None or not SECRET_NAME.search(key) and not PASSWORD_NAME.search(key):
        return _mask(value, known)
    if PASSWORD_NAME.search(key) or not isinstance(value, str):
        return FULL_MASK
    return mask_token(value)


def is_secret_name(name: str) -> bool:
    """Whether a field or header name says it holds a secret."""
    return bool(SECRET_NAME.search(name) or PASSWORD_NAME.search(name))
