"""JSON Schema -> annotation text for the stubs, on top of ``docs.python_annotation`` (the runtime signatures'
mapping), so ``help()`` and the type checker agree on what a parameter takes.

Two directions: *inputs* (parameters, body fields) accept what the client coerces (``UUID``, ``datetime``);
*outputs* (record fields, results) are what the client returns (Records named after their schema).
"""

from __future__ import annotations

import keyword
import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..docs import python_annotation
from ..registry import Operation, Registry, ref_name

BUILTIN_NAMES = frozenset({"int", "float", "bool", "str", "list", "dict", "object", "bytes", "type", "None"})
INPUT_FORMATS = {"uuid": "_uuid.UUID", "date-time": "_dt.datetime", "date": "_dt.date"}


def is_name(text: str) -> bool:
    """Whether ``text`` can be a Python parameter or attribute name."""
    return text.isidentifier() and not keyword.iskeyword(text)


def camel(*parts: str) -> str:
    """``("data_collections", "groups")`` -> ``DataCollectionsGroups``."""
    words = [w for part in parts for w in re.split(r"[^0-9A-Za-z]+", part) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words) or "X"
    return text if not text[0].isdigit() else f"_{text}"


def builtin(name: str, shadowed: Iterable[str]) -> str:
    """A builtin type's name, qualified when a member of the class being written hides it (a verb ``list``)."""
    return f"builtins.{name}" if name in shadowed else name


def union(parts: Iterable[str]) -> str:
    seen: list[str] = []
    for part in parts:
        for piece in _split_union(part):
            if piece not in seen:
                seen.append(piece)
    if "Any" in seen:
        return "Any"
    if "None" in seen:  # None last reads best: ``int | None``
        seen = [p for p in seen if p != "None"] + ["None"]
    return " | ".join(seen) or "Any"


def _split_union(text: str) -> list[str]:
    return split_top(text, "|")


def split_top(text: str, sep: str) -> list[str]:
    """Top-level ``sep``-separated pieces of an annotation or parameter list (not inside brackets or quotes)."""
    pieces, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote and text[i - 1] != "\\" else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == sep and depth == 0:
            pieces.append(text[start:i].strip())
            start = i + 1
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


@dataclass(frozen=True)
class _Scope:
    """What ``docs.python_annotation`` reads from an operation: the registry that resolves references."""

    registry: Registry


@dataclass
class RecordPlan:
    """A Record class to write: its name, the object schema, and a docstring line."""

    name: str
    schema: dict[str, Any]
    doc: str = ""


@dataclass
class TypeMapper:
    """Turns schemas into annotation text; names and queues the Record classes results need."""

    registry: Registry
    reserved: set[str] = field(default_factory=set)
    records: dict[str, RecordPlan] = field(default_factory=dict)
    _by_ref: dict[str, str] = field(default_factory=dict)
    _by_id: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._scope = typing.cast(Operation, _Scope(self.registry))

    def claim(self, wanted: str) -> str:
        """A class name not taken yet (deterministic: the same wanted names in the same order give the same names)."""
        name, n = wanted, 2
        while name in self.reserved:
            name, n = f"{wanted}{n}", n + 1
        self.reserved.add(name)
        return name

    # -- scalars ------------------------------------------------------------
    def _scalar(self, target: dict[str, Any], shadowed: Iterable[str]) -> str:
        annotation = python_annotation(self._scope, target)
        args = typing.get_args(annotation)
        if args and typing.get_origin(annotation) is typing.Literal:
            return "Literal[" + ", ".join(repr(a) for a in args) + "]"
        if annotation is Any or not isinstance(annotation, type):
            return "Any"
        return builtin(annotation.__name__, shadowed)

    @staticmethod
    def _types(target: dict[str, Any]) -> tuple[list[str], bool]:
        """The JSON types a schema names (3.1 lists included) and whether null is allowed."""
        kind = target.get("type")
        kinds = list(kind) if isinstance(kind, list) else ([kind] if kind else [])
        nullable = bool(target.get("nullable")) or "null" in kinds or None in (target.get("enum") or [])
        return [k for k in kinds if k != "null"], nullable

    def _variants(self, target: dict[str, Any]) -> list[dict[str, Any]] | None:
        variants = target.get("oneOf") or target.get("anyOf")
        if variants:
            return list(variants)
        parts = target.get("allOf") or []
        if len(parts) == 1 and not target.get("properties"):
            return [parts[0]]
        return None

    # -- inputs -------------------------------------------------------------
    def input(self, schema: dict[str, Any] | None, shadowed: Iterable[str] = ()) -> str:
        """What a parameter or body field accepts."""
        if not schema:
            return "Any"
        target = self.registry.resolve(schema) or {}
        variants = self._variants(target)
        kinds, nullable = self._types(target)
        if variants is not None:
            text = union(self.input(v, shadowed) for v in variants)
        elif target.get("enum"):
            text = self._scalar({"enum": target["enum"]}, shadowed)
        elif kinds == ["array"] or "items" in target:
            text = f"{builtin('list', shadowed)}[{self.input(target.get('items'), shadowed)}]"
        elif kinds == ["object"] or target.get("properties") or target.get("allOf"):
            text = f"{builtin('dict', shadowed)}[{builtin('str', shadowed)}, Any]"
        elif len(kinds) == 1:
            text = self._scalar({"type": kinds[0]}, shadowed)
            extra = INPUT_FORMATS.get(target.get("format") or "") if kinds == ["string"] else None
            text = f"{text} | {extra}" if extra else text
        else:
            text = "Any"
        return union([text, "None"]) if nullable else text

    # -- outputs ------------------------------------------------------------
    def output(self, schema: dict[str, Any] | None, owner: str = "", shadowed: Iterable[str] = ()) -> str:
        """What the client returns for a schema: a Record class, a list, a scalar (``| None`` when nullable)."""
        if not schema:
            return "Any"
        target = self.registry.resolve(schema) or {}
        variants = self._variants(target)
        kinds, nullable = self._types(target)
        if variants is not None:
            text = union(self.output(v, owner, shadowed) for v in variants)
        elif target.get("enum"):
            text = self._scalar({"enum": target["enum"]}, shadowed)
        elif kinds == ["array"] or "items" in target:
            text = f"{builtin('list', shadowed)}[{self.output(target.get('items'), owner, shadowed)}]"
        elif kinds == ["object"] or target.get("properties") or target.get("allOf"):
            text = self.record(schema, owner)
        elif len(kinds) == 1:
            text = self._scalar({"type": kinds[0]}, shadowed)
        else:
            text = "Any"
        return union([text, "None"]) if nullable else text

    def record(self, schema: dict[str, Any], owner: str = "") -> str:
        """The Record class for an object schema (``AnyRecord`` when it lists no fields), queued for writing."""
        target = self.registry.resolve(schema) or {}
        if not self.registry.object_properties(target):
            return "AnyRecord"
        ref = ref_name(schema)
        if ref is not None:
            if ref not in self._by_ref:
                self._by_ref[ref] = name = self.claim(camel(ref) if not is_name(ref) else ref)
                self.records[name] = RecordPlan(name, target, _first_line(target.get("description")))
            return self._by_ref[ref]
        key = id(target)
        if key not in self._by_id:
            self._by_id[key] = name = self.claim(camel(owner or "Inline", "Record"))
            self.records[name] = RecordPlan(name, target, _first_line(target.get("description")))
        return self._by_id[key]


def _first_line(text: Any) -> str:
    return str(text).strip().splitlines()[0].strip() if isinstance(text, str) and text.strip() else ""
