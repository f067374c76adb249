"""Schema maintenance as pure functions: diff two registries, list an inventory, sync a download.

The CLI's ``schema`` commands are thin shells over these, so they are usable from
scripts and tests without click.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import SpecError
from .registry import Operation, Registry


@dataclass(frozen=True)
class OperationRef:
    """One operation, by name, for listings."""

    name: str
    method: str
    path: str
    summary: str = ""

    @classmethod
    def of(cls, op: Operation) -> OperationRef:
        return cls(op.qualified_name, op.method.upper(), op.path, op.summary)


@dataclass
class OperationChange:
    """What changed in one operation present in both schemas (empty lists = unchanged)."""

    name: str
    renamed_from: str | None = None
    method: tuple[str, str] | None = None
    path: tuple[str, str] | None = None
    parameters_added: list[str] = field(default_factory=list)
    parameters_removed: list[str] = field(default_factory=list)
    body_fields_added: list[str] = field(default_factory=list)
    body_fields_removed: list[str] = field(default_factory=list)
    response_fields_added: list[str] = field(default_factory=list)
    response_fields_removed: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not any(v for k, v in asdict(self).items() if k != "name")

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v or k == "name"}


@dataclass
class SchemaDiff:
    """Operations added, removed and changed between an old and a new schema."""

    added: list[OperationRef] = field(default_factory=list)
    removed: list[OperationRef] = field(default_factory=list)
    changed: list[OperationChange] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [asdict(r) for r in self.added],
            "removed": [asdict(r) for r in self.removed],
            "changed": [c.to_dict() for c in self.changed],
        }


def parameter_keys(op: Operation) -> set[str]:
    return {f"{p['name']} ({p.get('in', 'query')})" for p in op.parameters}


def body_field_names(op: Operation) -> set[str]:
    return set(op.body_fields)


def response_field_names(op: Operation) -> set[str]:
    """Fields of the success response; of one item for a list (paginated or a plain array)."""
    schema = op.success_schema
    if not schema:
        return set()
    registry = op.registry
    try:
        if op.is_paginated:
            results = registry.object_properties(registry.resolve(schema))["results"]
            schema = registry.resolve(results).get("items") or {}
        elif registry.resolve(schema).get("type") == "array":
            schema = registry.resolve(schema).get("items") or {}
        return set(registry.object_properties(schema))
    except (KeyError, SpecError):
        return set()


def compare_operations(old: Operation, new: Operation) -> OperationChange:
    change = OperationChange(new.qualified_name)
    if old.qualified_name != new.qualified_name:
        change.renamed_from = old.qualified_name
    if old.method != new.method:
        change.method = (old.method.upper(), new.method.upper())
    if old.path != new.path:
        change.path = (old.path, new.path)
    for attr, extract in (("parameters", parameter_keys), ("body_fields", body_field_names),
                          ("response_fields", response_field_names)):
        before, after = extract(old), extract(new)
        setattr(change, f"{attr}_added", sorted(after - before))
        setattr(change, f"{attr}_removed", sorted(before - after))
    return change


def diff_registries(old: Registry, new: Registry) -> SchemaDiff:
    """Match operations by name, then the leftovers by operationId (a moved path keeps its id)."""
    old_ops = {op.qualified_name: op for op in old.operations}
    new_ops = {op.qualified_name: op for op in new.operations}
    pairs = [(old_ops[n], new_ops[n]) for n in old_ops if n in new_ops]
    gone = [op for n, op in old_ops.items() if n not in new_ops]
    fresh = [op for n, op in new_ops.items() if n not in old_ops]
    fresh_by_id = {op.operation_id: op for op in fresh if op.operation_id}
    unmatched_old = []
    for op in gone:
        match = fresh_by_id.pop(op.operation_id, None) if op.operation_id else None
        if match is None:
            unmatched_old.append(op)
        else:
            pairs.append((op, match))
            fresh.remove(match)
    diff = SchemaDiff(
        added=sorted((OperationRef.of(op) for op in fresh), key=lambda r: r.name),
        removed=sorted((OperationRef.of(op) for op in unmatched_old), key=lambda r: r.name),
    )
    changes = (compare_operations(a, b) for a, b in pairs)
    diff.changed = sorted((c for c in changes if not c.is_empty()), key=lambda c: c.name)
    return diff


def inventory_rows(registry: Registry) -> list[dict[str, str]]:
    """Every operation as {resource, verb, method, path, summary}, grouped by resource."""
    rows = [
        {"resource": ".".join(op.name.resources), "verb": op.verb, "method": op.method.upper(), "path": op.path,
         "summary": op.summary}
        for op in registry.operations
    ]
    return sorted(rows, key=lambda r: (r["resource"], r["path"], r["method"]))


@dataclass(frozen=True)
class SyncResult:
    path: Path
    operations: int
    sha256: str
    validator: str  # "passed", "failed", or "not installed"
    problems: tuple[str, ...] = ()


def spec_validator_problems(document: dict[str, Any]) -> list[str] | None:
    """openapi-spec-validator's verdict: [] valid, [problem] invalid, None when not installed."""
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return None
    try:
        validate(document)
    except Exception as exc:  # noqa: BLE001 - any validator failure is a finding, not a crash
        where = getattr(exc, "json_path", None) or ""
        message = " ".join(str(getattr(exc, "message", exc)).split())
        message = message if len(message) <= 200 else message[:199] + "…"
        return [f"{where}: {message}" if where else message]
    return []


def _as_used(path: Path) -> Registry:
    """The schema with its family's bundled overrides applied (their skip warnings are not news here)."""
    import warnings

    from .spec import load_spec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_spec(path, overrides=None, cache=False)


def sync_schema(url: str, out: str | os.PathLike[str], *, allow_insecure: bool = False,
                strict: bool = True) -> SyncResult:
    """Download a schema, check it, and replace ``out`` atomically; ``out`` is untouched on failure.

    The download must load with ``load_spec(..., overrides=False)``; openapi-spec-validator
    findings (when it is installed) fail the sync unless ``strict=False``. They are judged on the
    document as the client uses it (the family's bundled drift patches applied), so a published
    defect a patch repairs (``enum: []``) does not refuse the release; the file is written as published.
    """
    from .spec import load_spec, read_source

    raw = read_source(url, allow_insecure=allow_insecure)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            registry = load_spec(tmp, overrides=False, cache=False)
        except SpecError as exc:
            raise SpecError(str(exc).replace(str(tmp), url)) from None
        problems = spec_validator_problems(_as_used(tmp).document)
        if problems and strict:
            raise SpecError(f"{url} fails openapi-spec-validator: {problems[0]}")
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    verdict = "not installed" if problems is None else ("failed" if problems else "passed")
    return SyncResult(target, len(registry.operations), hashlib.sha256(raw).hexdigest(), verdict,
                      tuple(problems or ()))


@dataclass(frozen=True)
class ExampleFinding:
    """One way a schema's own example disagrees with the schema it illustrates (no values)."""

    where: str  # JSON Pointer of the example
    schema: str
    field: str
    kind: str
    message: str

    def line(self) -> str:
        return f"{self.where}: {self.field or '<root>'} {self.message} ({self.schema})"


def _examples_of(node: dict[str, Any], where: list[str]) -> list[tuple[list[str], Any]]:
    """(pointer tokens, value) of a node's ``example`` and every ``examples/*/value``."""
    found = [(where + ["example"], node["example"])] if "example" in node else []
    for name, item in (node.get("examples") or {}).items():
        if isinstance(item, dict) and "value" in item:
            found.append((where + ["examples", str(name), "value"], item["value"]))
    return found


def _example_sites(document: dict[str, Any]) -> list[tuple[list[str], Any, dict[str, Any], str, bool]]:
    """(where, example, schema, direction, may be enveloped) for every example in the document."""
    sites: list[tuple[list[str], Any, dict[str, Any], str, bool]] = []
    for path, item in (document.get("paths") or {}).items():
        for method, op in (item or {}).items():
            if not isinstance(op, dict) or method == "parameters":
                continue
            base = ["paths", path, method]
            for i, param in enumerate(op.get("parameters") or []):
                if isinstance(param, dict) and isinstance(param.get("schema"), dict):
                    sites += [(w, v, param["schema"], "request", False)
                              for w, v in _examples_of(param, base + ["parameters", str(i)])]
            media = [(base + ["requestBody"], (op.get("requestBody") or {}), "request")]
            media += [(base + ["responses", str(s)], r, "response") for s, r in (op.get("responses") or {}).items()]
            for where, holder, direction in media:
                for ctype, content in ((holder or {}).get("content") or {}).items():
                    if "json" in ctype and isinstance(content, dict) and isinstance(content.get("schema"), dict):
                        sites += [(w, v, content["schema"], direction, direction == "response")
                                  for w, v in _examples_of(content, where + ["content", ctype])]
    for name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
        if not isinstance(schema, dict):
            continue
        direction = "request" if name.endswith("Request") else "response"
        base = ["components", "schemas", name]
        sites += [(w, v, schema, direction, False) for w, v in _examples_of(schema, base)]
        for prop, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict):
                sites += [(w, v, sub, direction, False) for w, v in _examples_of(sub, base + ["properties", prop])]
    return sites


def check_examples(registry: Registry) -> list[ExampleFinding]:
    """Validate every example in the document against its own schema, with the client's validators.

    A response example shown inside the backend's ``{data, meta}`` envelope (while its schema
    describes the bare body) is unwrapped first, as the client would.
    """
    from .drift import undocumented_fields
    from .overrides import pointer
    from .proxy.envelope import unwrap
    from .registry import ref_name
    from .validation import Validators

    validators = Validators(registry)
    findings: list[ExampleFinding] = []
    for where, example, schema, direction, enveloped in _example_sites(registry.document):
        if enveloped and isinstance(example, dict) and "data" not in registry.object_properties(
                registry.resolve(schema)):
            example = unwrap(example, registry.conventions.envelope, registry.conventions.pagination)
        compiled = validators.compile(schema, direction)
        name = ref_name(schema) or "inline schema"
        if not compiled.is_valid(example):
            findings += [ExampleFinding(pointer(where), name, e["field"], e["kind"], e["message"])
                         for e in compiled.errors(example)]
        findings += [ExampleFinding(pointer(where), name, field, "undocumented", "is not in the schema")
                     for field in undocumented_fields(registry, schema, example)]
    return findings
