"""The steps of ``schema sync``: download, validator findings, load with the bundled overrides, write.

A published release may carry defects the validator dislikes (an empty ``enum: []``) that
the bundled drift overrides repair: those are reported as findings fixed by the overrides,
and the sync succeeds when the patched schema loads. Nothing is written until it does.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..util.atomic import write_atomic
from . import exitcodes
from .state import CliError

MAX_FINDINGS = 20


def validator_findings(document: Any) -> list[str]:
    """openapi-spec-validator's findings as short lines (path: what failed), at most MAX_FINDINGS."""
    try:
        from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
    except ImportError:
        return []
    version = str((document or {}).get("openapi", "3.0"))
    validator_class = OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    findings: list[str] = []
    try:
        for error in validator_class(document).iter_errors():
            findings.append(_finding_line(error))
            if len(findings) >= MAX_FINDINGS:
                break
    except Exception as exc:  # noqa: BLE001 - a validator crash is one more finding
        findings.append(f"the validator stopped: {type(exc).__name__}")
    return list(dict.fromkeys(findings))


def _finding_line(error: Any) -> str:
    where = getattr(error, "json_path", None) or "/".join(str(p) for p in getattr(error, "absolute_path", []))
    keyword = getattr(error, "validator", None)
    if keyword and str(keyword) != "<unset>":
        expected = getattr(error, "validator_value", None)
        shown = repr(expected) if isinstance(expected, int | str | bool) else ""
        reason = f"fails {keyword!s}" + (f" {shown}" if shown and len(shown) < 40 else "")
    else:
        reason = " ".join(str(getattr(error, "message", error)).split()).split(" Failed validating")[0]
        reason = reason if len(reason) <= 120 else reason[:119] + "…"
    return f"{where or '<root>'}: {reason}"


@dataclass
class SyncReport:
    target: Path
    raw: bytes
    operations: int
    fixed: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    def write(self) -> None:
        """Write the schema as published: temp file in the same dir, fsync, atomic rename."""
        self.target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.target, self.raw, mode=0o644, fsync=True)


def download(url: str, allow_insecure: bool) -> bytes:
    """The document's bytes; a connection failure is a transport error (exit 10)."""
    import httpx

    from ..errors import SpecError
    from ..spec import read_source

    try:
        return read_source(url, allow_insecure=allow_insecure)
    except SpecError as exc:
        if isinstance(exc.__context__, httpx.TransportError):
            raise CliError(f"cannot download {url}: {type(exc.__context__).__name__}", exitcodes.TRANSPORT) from None
        raise


def sync(url: str, target: Path, *, allow_insecure: bool = False) -> SyncReport:
    """Download and check a schema for ``target``; nothing is written (see ``SyncReport.write``)."""
    from ..errors import SpecError
    from ..spec import default_overrides_for, load_spec, parse_document

    raw = download(url, allow_insecure)
    document = parse_document(raw, url)
    if not isinstance(document, dict):
        raise SpecError(f"{url} is not an OpenAPI document (expected a mapping at the top)")
    before = validator_findings(document)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schema.yaml"
        path.write_bytes(raw)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                registry = load_spec(path, overrides=default_overrides_for(document) or False, cache=False)
        except SpecError as exc:
            message = " ".join(str(exc).replace(str(path), url).split())
            raise CliError(f"the schema does not load even with the bundled overrides: {message[:300]}",
                           exitcodes.SCHEMA) from None
    after = validator_findings(registry.document) if before else []
    return SyncReport(target, raw, len(registry.operations),
                      fixed=[f for f in before if f not in after], remaining=after)


# (module, function) run after a sync, as the CLI's plug-in commands are named in app.COMMANDS: front
# ends that build on the CLI (typing stubs) plug in here without the CLI importing them.
AFTER_SYNC = (("synapse_dyn.stubs.cli", "stubs_after_sync"),)


def after_sync(state: Any, path: Path) -> None:
    """Work to do once a schema is synced, e.g. regenerating typing stubs for the new schema."""
    import importlib

    for module_name, attr in AFTER_SYNC:
        getattr(importlib.import_module(module_name), attr)(state, path)
