"""JSON Pointer (RFC 6901) tokens: escaping written once."""

from __future__ import annotations

from collections.abc import Iterable


def escape(token: str) -> str:
    """One reference token as it appears in a pointer (``~`` -> ``~0``, ``/`` -> ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """The key a pointer token names."""
    return token.replace("~1", "/").replace("~0", "~")


def to_pointer(tokens: Iterable[str], *, fragment: bool = False) -> str:
    """``/a/b~1c`` (or ``#/a/b~1c`` with fragment=True) from tokens."""
    text = "/" + "/".join(escape(str(t)) for t in tokens)
    return "#" + text if fragment else text


def split(pointer: str) -> list[str]:
    """Tokens of ``/a/b`` or ``#/a/b`` (unescaped); ``""``, ``/``, ``#`` and ``#/`` are the root."""
    text = pointer[1:] if pointer.startswith("#") else pointer
    if text in ("", "/"):
        return []
    return [unescape(t) for t in text[1:].split("/")]
