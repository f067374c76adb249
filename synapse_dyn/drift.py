"""Drift report: record where live responses differ from the schema, and propose overrides that fix it.

With ``validate_responses='warn'`` and ``Client(drift_log=PATH)`` every mismatch becomes
one JSON line: operation, status, field path, kind (undocumented field, enum value,
type, null, required, format, status code, content type) and the schema location —
never the value itself. :func:`propose_overrides` turns a log into an overrides file
(the overrides in effect plus new patches) that makes the same responses validate.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from .overrides import pointer, split_pointer
from .registry import Operation, Registry

_COMPONENTS = "#/components/schemas/"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "string")


def _deref(registry: Registry, schema: Any, location: list[str]) -> tuple[Any, list[str]]:
    """Follow local $refs, tracking the JSON Pointer of where the schema really is."""
    for _ in range(16):
        if isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
            location = split_pointer(schema["$ref"][1:])
            schema = registry.resolve(schema)
        else:
            break
    return schema, location


def _step(registry: Registry, schema: Any, location: list[str], token: Any) -> tuple[Any, list[str]]:
    """Move from a schema to the sub-schema for one instance token, tracking its JSON Pointer."""
    schema, location = _deref(registry, schema, location)
    if not isinstance(schema, dict):
        return None, location
    if isinstance(token, int) or (isinstance(token, str) and token.isdigit() and "items" in schema):
        return schema.get("items"), location + ["items"]
    for i, part in enumerate(schema.get("allOf") or []):
        sub, sub_location = _step(registry, part, location + ["allOf", str(i)], token)
        if sub is not None:
            return sub, sub_location
    props = schema.get("properties") or {}
    if token in props:
        return props[token], location + ["properties", str(token)]
    return None, location


def schema_location(registry: Registry, root: Any, root_pointer: list[str], path: list[Any]) -> tuple[Any, list[str]]:
    """The schema (and its pointer) that describes the value at an instance path."""
    schema, location = root, root_pointer
    for token in path:
        schema, location = _step(registry, schema, location, token)
        if schema is None:
            return None, location
    return _deref(registry, schema, location)


def _value_at(payload: Any, path: list[Any]) -> Any:
    for token in path:
        try:
            payload = payload[int(token)] if isinstance(payload, list) else payload[token]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return payload


def _undocumented(registry: Registry, schema: Any, location: list[str], payload: Any, path: list[Any],
                  found: list[dict[str, Any]], depth: int = 0) -> None:
    """Fields present in the payload that the schema does not describe (first list item only)."""
    if depth > 8:
        return
    schema, location = _deref(registry, schema, location)
    if not isinstance(schema, dict):
        return
    if isinstance(payload, list) and payload and isinstance(schema.get("items"), dict):
        _undocumented(registry, schema["items"], location + ["items"], payload[0], path + [0], found, depth + 1)
    elif isinstance(payload, dict) and (schema.get("properties") or schema.get("allOf")):
        props = registry.object_properties(schema)
        for key, value in payload.items():
            if key not in props:
                found.append({"field": "/".join(map(str, path + [key])), "kind": "undocumented",
                              "schema_pointer": pointer(location), "actual_type": _json_type(value)})
            elif isinstance(value, dict | list):
                sub, sub_location = _step(registry, schema, location, key)
                _undocumented(registry, sub, sub_location, value, path + [key], found, depth + 1)


def undocumented_fields(registry: Registry, schema: Any, payload: Any) -> list[str]:
    """Instance paths of the fields in payload that schema does not describe (first list item only)."""
    found: list[dict[str, Any]] = []
    _undocumented(registry, schema, [], payload, [], found)
    return [entry["field"] for entry in found]


class DriftLog:
    """Appends one JSON line per response mismatch (thread-safe, append-only)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def check(self, op: Operation, status: int, content_type: str, payload: Any, problems: list[dict]) -> None:
        registry = op.registry
        documented_type, schema = op.response_schema(status)
        entries: list[dict[str, Any]] = []
        base = {"operation": op.qualified_name, "method": op.method.upper(), "path": op.path, "status": status}
        response_pointer = ["paths", op.path, op.method, "responses", str(status), "content",
                            documented_type or "application/json", "schema"]
        if str(status) not in op.responses:
            entries.append({**base, "field": "", "kind": "status", "schema_pointer": pointer(
                ["paths", op.path, op.method, "responses"])})
        elif documented_type and content_type and content_type.split(";")[0].strip() != documented_type:
            entries.append({**base, "field": "", "kind": "content_type", "actual_type": content_type.split(";")[0]})
        for problem in problems:
            if problem["kind"] == "status":
                continue
            path = [int(p) if p.isdigit() else p for p in problem["field"].split("/") if p != ""]
            kind = problem["kind"]
            if kind == "required":
                parent_schema, location = schema_location(registry, schema, response_pointer, path[:-1])
                entries.append({**base, "field": problem["field"], "kind": "required",
                                "schema_pointer": pointer(location), "name": str(path[-1]),
                                "required_now": list((parent_schema or {}).get("required") or [])})
                continue
            _, location = schema_location(registry, schema, response_pointer, path)
            actual = _value_at(payload, path)
            if kind == "type" and actual is None:
                kind = "null"
            entries.append({**base, "field": problem["field"], "kind": kind, "schema_pointer": pointer(location),
                            "actual_type": _json_type(actual)})
        if schema is not None:
            extra: list[dict[str, Any]] = []
            _undocumented(registry, schema, response_pointer, payload, [], extra)
            entries.extend({**base, **e} for e in extra)
        if entries:
            self._write(entries)

    def _write(self, entries: list[dict[str, Any]]) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        lines = "".join(json.dumps({"time": stamp, **e}, sort_keys=True) + "\n" for e in entries)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(lines)


def read_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            entries.append(json.loads(line))
    return entries


def _patch_for(entry: dict[str, Any], required: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    kind = entry["kind"]
    target = entry.get("schema_pointer", "")
    pid = f"drift-{kind}-{entry['operation']}-{entry['field'] or 'response'}".replace("/", ".")
    why = f"observed on {entry['method']} {entry['path']} (HTTP {entry['status']}): {kind} at '{entry['field']}'"
    if kind == "undocumented":
        return {"id": pid, "why": why, "target": f"{target}/properties/{entry['field'].split('/')[-1]}",
                "op": "add", "value": {"description": "Observed in live responses; not in the published schema."},
                "when": {"absent": True}}
    if kind == "null":
        return {"id": pid, "why": why, "target": target, "op": "merge", "value": {"nullable": True},
                "when": {"present": True}}
    if kind == "enum":
        return {"id": pid, "why": why + " (a value outside the enum; the value itself is never logged)",
                "target": f"{target}/enum", "op": "remove", "when": {"present": True}}
    if kind == "format":
        return {"id": pid, "why": why, "target": f"{target}/format", "op": "remove", "when": {"present": True}}
    if kind == "type":
        return {"id": pid, "why": why, "target": f"{target}/type", "op": "replace", "value": entry["actual_type"],
                "when": {"present": True}}
    if kind == "required":
        slot = required.setdefault(target, {"names": set(), "now": entry.get("required_now") or [], "why": why})
        slot["names"].add(entry["name"])
        return None
    if kind == "status":
        return {"id": pid, "why": why, "target": f"{target}/{entry['status']}", "op": "add",
                "value": {"description": "Observed in live responses.",
                          "content": {"application/json": {"schema": {}}}},
                "when": {"absent": True}}
    return None


def propose_overrides(log_path: str | os.PathLike[str], base: dict[str, Any] | None = None,
                      ) -> dict[str, Any]:
    """An overrides document: ``base`` (default: the bundled v2 overrides) plus one patch per distinct drift."""
    if base is None:
        import yaml

        from .spec import bundled_dir

        bundled = bundled_dir("overrides") / "openapi.yaml"
        base = yaml.safe_load(bundled.read_text(encoding="utf-8")) if bundled.exists() else {}
    out: dict[str, Any] = {"version": 1, "patches": list((base or {}).get("patches") or []),
                           "names": dict((base or {}).get("names") or {})}
    seen: set[str] = set()
    required: dict[str, dict[str, Any]] = {}
    for entry in read_log(log_path):
        if entry.get("direction", "response") != "response":
            continue  # a request the schema refuses is the caller's to fix (the proxy logs both directions)
        if entry["kind"] == "undocumented":
            key = f"undocumented:{entry.get('schema_pointer')}:{entry['field'].split('/')[-1]}"
        else:
            key = f"{entry['kind']}:{entry.get('schema_pointer')}:{entry.get('name', '')}"
        if key in seen:
            continue
        seen.add(key)
        patch = _patch_for(entry, required)
        if patch is not None:
            out["patches"].append(patch)
    for target, slot in required.items():
        kept = [n for n in slot["now"] if n not in slot["names"]]
        out["patches"].append({"id": f"drift-required-{target.strip('/').replace('/', '.')}",
                               "why": slot["why"] + f" (not always sent: {', '.join(sorted(slot['names']))})",
                               "target": f"{target}/required", "op": "replace", "value": kept,
                               "when": {"equals": slot["now"]}})
    if not out["names"]:
        del out["names"]
    return out
