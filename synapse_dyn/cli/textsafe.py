"""Server text made safe for a terminal: control characters shown, never obeyed.

A title holding ``ESC[31m`` or an OSC sequence must not recolour or retitle the user's
terminal, and a tab or newline must not break a table row. Every human-readable format
(tables, yaml on a terminal, error lines) goes through ``escape_controls``; JSON stays exact.
"""

from __future__ import annotations

import re
import unicodedata

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """Control characters (C0, DEL, C1, line separators, bidi overrides) as visible escapes."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(_escape, text)


def display_width(text: str) -> int:
    """Terminal columns a (control-free) string takes: wide East Asian characters count 2."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def truncate(text: str, width: int) -> str:
    """Cut text to at most ``width`` columns, ending in an ellipsis when cut."""
    if display_width(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    out, used = [], 0
    for char in text:
        w = display_width(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))
