"""The flat-method table (``methods.yaml``) as checked, typed entries."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError

TABLE_PATH = Path(__file__).with_name("methods.yaml")
ENTRY_KEYS = frozenset({
    "operation", "signature", "bind", "fixed_query", "url_conversion", "timeout_read",
    "multipart_files", "body_as_list", "data_uri_fields", "returns",
})
RETURN_KINDS = frozenset({"dict", "list", "page", "paged_or_pair", "lines"})
BIND_KINDS = frozenset({"query", "body", "list_all", "url_conversion"})
NO_DEFAULT = object()


@dataclass(frozen=True)
class MethodSpec:
    """One flat method: its parameters, where each argument goes, and what it returns."""

    name: str
    operation: str
    parameters: tuple[tuple[str, Any], ...]  # (name, default or NO_DEFAULT), in order
    bind: dict[str, str]
    returns: str
    fixed_query: dict[str, Any] = field(default_factory=dict)
    url_conversion: dict[str, Any] | None = None
    timeout_read: float | None = None
    multipart_files: tuple[str, ...] = ()
    body_as_list: bool = False
    data_uri_fields: tuple[str, ...] = ()


def parse_parameter(text: str, where: str) -> tuple[str, Any]:
    """``'pk'`` -> ('pk', NO_DEFAULT); ``'params=None'`` -> ('params', None)."""
    name, sep, default = text.partition("=")
    name = name.strip()
    if not name.isidentifier():
        raise SpecError(f"{where}: {text!r} is not a parameter name")
    if not sep:
        return name, NO_DEFAULT
    try:
        return name, ast.literal_eval(default.strip())
    except (ValueError, SyntaxError):
        raise SpecError(f"{where}: the default of {name!r} is not a Python literal") from None


def parse_entry(name: str, raw: Any) -> MethodSpec:
    where = f"methods.yaml: {name}"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: an entry must be a mapping")
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown keys {sorted(unknown)}")
    params = tuple(parse_parameter(p, where) for p in raw.get("signature") or [])
    bind = dict(raw.get("bind") or {})
    if set(bind) != {p for p, _ in params}:
        raise SpecError(f"{where}: 'bind' must name every parameter of the signature, and nothing else")
    for param, target in bind.items():
        kind = target.split(".", 1)[0]
        if not (target in BIND_KINDS or (kind in ("path", "body") and "." in target)):
            raise SpecError(f"{where}: {param} binds to unknown target {target!r}")
    returns = raw.get("returns")
    if returns not in RETURN_KINDS:
        raise SpecError(f"{where}: returns must be one of {', '.join(sorted(RETURN_KINDS))}")
    return MethodSpec(
        name=name,
        operation=str(raw.get("operation") or ""),
        parameters=params,
        bind=bind,
        returns=returns,
        fixed_query=dict(raw.get("fixed_query") or {}),
        url_conversion=raw.get("url_conversion"),
        timeout_read=raw.get("timeout_read"),
        multipart_files=tuple(raw.get("multipart_files") or ()),
        body_as_list=bool(raw.get("body_as_list")),
        data_uri_fields=tuple(raw.get("data_uri_fields") or ()),
    )


@cache
def load_table(path: Path = TABLE_PATH) -> dict[str, MethodSpec]:
    """Every entry of the table, checked; raises SpecError naming a bad entry."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("methods"), dict):
        raise SpecError(f"{path.name}: expected 'version: 1' and a 'methods' mapping")
    return {name: parse_entry(name, raw) for name, raw in data["methods"].items()}
