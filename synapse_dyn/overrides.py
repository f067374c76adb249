"""Drift patches: declarative fixes for where the live backend differs from its published schema.

An overrides file is YAML::

    patches:
      - id: dc-category-data
        why: the backend returns category=data; the published enum omits it
        target: /components/schemas/DataCollectionCategory/enum   # JSON Pointer; '*' matches any key
        where: {key: "^DataCollection"}                            # optional: regex on what the first '*' matched
        op: add | replace | remove | merge
        value: data
        when: {lacks: data}        # self-diagnosis: holds while the bug is present
        applies_to:                # optional: the schema family the bug lives in (else: not applicable)
          - {target: /components/schemas/*/properties/*/x-spec-enum-id, when: {present: true}}
    names:
      resources: {users: auth}
      verbs: {projects.join_requests: request_join}
      keywords: {data_collections.groups: {dc_id: dc_pk}}   # alias -> real parameter
    conventions:                   # deep-merged over the schema's x-synapse-conventions (see conventions.py)
      pagination: {style: offset, size_param: limit, offset_param: offset}

A patch whose ``when`` no longer holds is skipped with DriftResolvedWarning; one whose
target is absent is skipped with OverrideTargetMissingWarning. Both are also returned
by :func:`apply_patches` so ``schema check-overrides`` can report them. A patch whose
``applies_to`` holds for no target (a schema of another family, which never had the bug)
is neither: it is recorded as not applicable and is not a finding.
"""

from __future__ import annotations

import copy
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from . import conventions
from .errors import DriftResolvedWarning, OverrideTargetMissingWarning, SpecError
from .naming import OperationName
from .util import jsonpointer

PATCH_OPS = ("add", "replace", "remove", "merge")
CONDITIONS = ("absent", "present", "lacks", "lacks_item", "equals", "not_equals", "required_without_property")


@dataclass
class OverrideReport:
    """What happened to each patch and rename when an overrides file was applied."""

    applied: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.resolved and not self.missing


_unescape = jsonpointer.unescape
_escape = jsonpointer.escape


def split_pointer(pointer: str) -> list[str]:
    if pointer in ("", "/"):
        return []
    if not pointer.startswith("/"):
        raise SpecError(f"override target {pointer!r} is not a JSON Pointer (must start with '/')")
    return [_unescape(t) for t in pointer[1:].split("/")]


def resolve_pointer(document: Any, tokens: list[str]) -> Any:
    """The value at tokens, following a local ``$ref`` where a token is not found; or raise KeyError."""
    node = document
    for token in tokens:
        for _ in range(16):
            if isinstance(node, dict) and token not in node and isinstance(node.get("$ref"), str):
                ref = node["$ref"]
                if not ref.startswith("#/"):
                    raise KeyError(token)
                node = resolve_pointer(document, [_unescape(t) for t in ref[2:].split("/")])
            else:
                break
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(token)
    return node


def expand(document: Any, tokens: list[str], where: dict[str, str] | None) -> list[tuple[list[str], list[str]]]:
    """Every concrete pointer matching tokens ('*' = any key); returns (tokens, wildcard matches)."""
    results: list[tuple[list[str], list[str]]] = [([], [])]
    for token in tokens:
        nxt: list[tuple[list[str], list[str]]] = []
        for prefix, matched in results:
            if token != "*":
                nxt.append((prefix + [token], matched))
                continue
            try:
                node = resolve_pointer(document, prefix)
            except (KeyError, IndexError, ValueError):
                continue
            keys = [str(i) for i in range(len(node))] if isinstance(node, list) else list(node or {})
            nxt.extend((prefix + [k], matched + [k]) for k in keys)
        results = nxt
    if where and where.get("key"):
        pattern = re.compile(where["key"])
        results = [(t, m) for t, m in results if m and pattern.search(m[0])]
    return results


def _condition_holds(when: dict[str, Any] | None, document: Any, tokens: list[str]) -> bool:
    if not when:
        return True
    try:
        current = resolve_pointer(document, tokens)
        exists = True
    except (KeyError, IndexError, ValueError):
        current, exists = None, False
    for kind, expected in when.items():
        if kind == "absent":
            ok = (not exists) == bool(expected)
        elif kind == "present":
            ok = exists == bool(expected)
        elif kind == "lacks":
            ok = exists and isinstance(current, list) and expected not in current
        elif kind == "lacks_item":
            ok = exists and isinstance(current, list) and not any(
                isinstance(i, dict) and all(i.get(k) == v for k, v in expected.items()) for i in current
            )
        elif kind == "equals":
            ok = exists and current == expected
        elif kind == "not_equals":
            ok = exists and current != expected
        elif kind == "required_without_property":
            ok = (
                exists
                and isinstance(current, dict)
                and expected in (current.get("required") or [])
                and expected not in (current.get("properties") or {})
            )
        else:
            raise SpecError(f"unknown override condition {kind!r}; valid: {', '.join(CONDITIONS)}")
        if not ok:
            return False
    return True


def _exists(document: Any, tokens: list[str]) -> bool:
    try:
        resolve_pointer(document, tokens)
        return True
    except (KeyError, IndexError, ValueError):
        return False


def _parent_exists(document: Any, tokens: list[str], op: str) -> bool:
    """Whether the patch has somewhere to go (add may create one missing container)."""
    if _exists(document, tokens[:-1] if op == "add" else tokens):
        return True
    return op == "add" and len(tokens) >= 2 and _exists(document, tokens[:-2])


def _follow(document: Any, node: Any, token: str) -> Any:
    """Where ``token`` is not in node but node is a local $ref, the referenced schema."""
    for _ in range(16):
        if isinstance(node, dict) and token not in node and isinstance(node.get("$ref"), str):
            node = resolve_pointer(document, [_unescape(t) for t in node["$ref"][2:].split("/")])
        else:
            break
    return node


def _apply_one(document: Any, tokens: list[str], op: str, value: Any) -> None:
    if op == "add":
        parent_tokens, last = tokens[:-1], tokens[-1]
        if not _exists(document, parent_tokens):
            grand = resolve_pointer(document, parent_tokens[:-1])
            grand[parent_tokens[-1]] = [] if last == "-" or last.isdigit() else {}
        parent = _follow(document, resolve_pointer(document, parent_tokens), last)
        if isinstance(parent, list):
            if last == "-":
                parent.append(copy.deepcopy(value))
            else:
                parent.insert(int(last), copy.deepcopy(value))
        else:
            target = parent.get(last)
            if isinstance(target, list) and not isinstance(value, list):
                target.append(copy.deepcopy(value))
            else:
                parent[last] = copy.deepcopy(value)
        return
    last = tokens[-1]
    parent = _follow(document, resolve_pointer(document, tokens[:-1]), last)
    key: Any = int(last) if isinstance(parent, list) else last
    if op == "replace":
        parent[key] = copy.deepcopy(value)
    elif op == "remove":
        del parent[key]
    elif op == "merge":
        if not isinstance(parent[key], dict) or not isinstance(value, dict):
            raise SpecError(f"merge needs an object at {'/'.join(tokens)} and an object value")
        _deep_merge(parent[key], value)


def _deep_merge(into: dict, value: dict) -> None:
    for k, v in value.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _deep_merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)


def validate_overrides(data: Any, source: str) -> dict[str, Any]:
    """Check the structure of an overrides file; raise SpecError naming the bad entry."""
    if data is None:
        return {"patches": [], "names": {}, "conventions": {}}
    if not isinstance(data, dict):
        raise SpecError(f"{source}: an overrides file must be a mapping with 'patches', 'names' and/or 'conventions'")
    unknown = set(data) - {"version", "patches", "names", "conventions", "description"}
    if unknown:
        raise SpecError(f"{source}: unknown top-level keys {sorted(unknown)}; valid: patches, names, conventions, version")
    for i, patch in enumerate(data.get("patches") or []):
        label = f"{source}: patch #{i + 1} ({patch.get('id', 'no id') if isinstance(patch, dict) else patch!r})"
        if not isinstance(patch, dict) or "target" not in patch or "op" not in patch:
            raise SpecError(f"{label} needs 'target' and 'op'")
        if patch["op"] not in PATCH_OPS:
            raise SpecError(f"{label}: op {patch['op']!r} is not one of {', '.join(PATCH_OPS)}")
        if patch["op"] != "remove" and "value" not in patch:
            raise SpecError(f"{label}: op {patch['op']!r} needs a 'value'")
        split_pointer(patch["target"])
        _check_applies_to(patch.get("applies_to"), label)
    names = data.get("names") or {}
    unknown = set(names) - {"resources", "verbs", "keywords"}
    if unknown:
        raise SpecError(f"{source}: unknown keys under names: {sorted(unknown)}; valid: resources, verbs, keywords")
    settings = conventions.check_section(data["conventions"], source) if data.get("conventions") else {}
    return {"patches": data.get("patches") or [], "names": names, "conventions": settings}


def _check_applies_to(scope: Any, label: str) -> None:
    for item in [scope] if isinstance(scope, dict) else (scope or []):
        if not isinstance(item, dict) or "target" not in item or not isinstance(item.get("when"), dict):
            raise SpecError(f"{label}: each applies_to entry needs 'target' (a JSON Pointer) and a 'when' mapping")
        split_pointer(item["target"])


def applies(document: Any, scope: Any) -> bool:
    """Whether a patch's ``applies_to`` holds: every entry's ``when`` holds at one of its targets at least."""
    for item in [scope] if isinstance(scope, dict) else (scope or []):
        tokens = split_pointer(item["target"])
        if not any(_condition_holds(item["when"], document, t) for t, _ in expand(document, tokens, item.get("where"))):
            return False
    return True


def apply_patches(document: dict[str, Any], overrides: dict[str, Any], report: OverrideReport) -> None:
    """Apply every patch in place, recording in report the ones applied and skipped."""
    for patch in overrides.get("patches", []):
        pid = patch.get("id") or patch["target"]
        if not applies(document, patch.get("applies_to")):
            report.not_applicable.append(pid)
            continue
        tokens = split_pointer(patch["target"])
        op = patch["op"]
        matches = expand(document, tokens, patch.get("where"))
        matches = [(t, m) for t, m in matches if _parent_exists(document, t, op)]
        if not matches:
            report.missing.append(f"{pid}: target {patch['target']} is absent from the schema")
            continue
        applied = 0
        for t, _ in matches:
            checked = t[:-1] if t[-1] == "-" else t
            if _condition_holds(patch.get("when"), document, checked):
                _apply_one(document, t, op, patch.get("value"))
                applied += 1
        if not applied:
            why = patch.get("why", "").strip()
            report.resolved.append(f"{pid}: the drift it fixes is gone from this schema" + (f" ({why})" if why else ""))
            continue
        report.applied.append(pid)
    apply_conventions(document, overrides.get("conventions") or {})


def apply_conventions(document: dict[str, Any], settings: dict[str, Any]) -> None:
    """Deep-merge an overrides file's ``conventions:`` into the document's root extension."""
    if settings:
        declared = document.get(conventions.EXTENSION) or {}
        document[conventions.EXTENSION] = conventions.deep_merge(declared, settings)


_warned: set[str] = set()


def emit_warnings(report: OverrideReport) -> None:
    """Warn once per process about each skipped patch or rename."""
    for text, category in [(t, DriftResolvedWarning) for t in report.resolved] + [
        (t, OverrideTargetMissingWarning) for t in report.missing
    ]:
        if text not in _warned:
            _warned.add(text)
            warnings.warn(f"override skipped: {text}", category, stacklevel=4)


def pointer(tokens: list[str]) -> str:
    return jsonpointer.to_pointer(tokens)


# -- names: resource, verb and keyword renames ---------------------------------------------


def rename(name: OperationName, names: dict[str, Any]) -> OperationName:
    """An operation's name after the overrides file's ``names.resources`` / ``names.verbs``."""
    resources = list(name.resources)
    verb = (names.get("verbs") or {}).get(".".join(name.resources + (name.verb,)), name.verb)
    resource_map = names.get("resources") or {}
    for i in range(len(resources), 0, -1):
        key = ".".join(name.resources[:i])
        if key in resource_map:
            resources[i - 1] = resource_map[key]
    return OperationName(tuple(resources), verb, name.depth_params, name.kind)


def check_names(names: dict[str, Any], derived: list[OperationName], report: OverrideReport) -> None:
    """Record in report every rename or alias whose resource or operation the schema lacks."""
    known_resources = {".".join(n.resources[:i]) for n in derived for i in range(1, len(n.resources) + 1)}
    known_verbs = {".".join(n.resources + (n.verb,)) for n in derived}
    for key in names.get("resources") or {}:
        if key not in known_resources:
            report.missing.append(f"resource rename {key!r}: no such resource")
    for key in names.get("verbs") or {}:
        if key not in known_verbs:
            report.missing.append(f"verb rename {key!r}: no such operation")
    for key in names.get("keywords") or {}:
        if key not in known_resources and key not in known_verbs:
            report.missing.append(f"keyword aliases for {key!r}: no such resource or operation")


def keyword_aliases(names: dict[str, Any], original: tuple[str, ...], real: set[str],
                    ) -> tuple[dict[str, str], list[tuple[int, dict[str, str]]]]:
    """(alias -> parameter for one operation, [(resource depth, aliases) for its accessors]).

    ``original`` is the operation's name before renames; ``real`` its parameter names.
    """
    own: dict[str, str] = {}
    accessors: list[tuple[int, dict[str, str]]] = []
    for key, aliases in (names.get("keywords") or {}).items():
        parts = tuple(key.split("."))
        if original[: len(parts)] != parts:
            continue
        own.update({alias: target for alias, target in aliases.items() if target in real})
        if len(parts) < len(original):
            accessors.append((len(parts), dict(aliases)))
    return own, accessors
