"""Load an OpenAPI document (file or URL, YAML or JSON), apply overrides, build the registry.

The registry's inputs (the patched document and the override report) are cached on
disk as JSON, keyed by a hash of schema + overrides + package version, so a warm
start parses no YAML. The cache is plain JSON in the user's own cache directory:
nothing is ever unpickled.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import __version__
from .errors import SpecError
from .overrides import OverrideReport, apply_patches, emit_warnings, validate_overrides
from .registry import Registry

SCHEMA_ENV = "SYNAPSE_DYN_SCHEMA"
CACHE_ENV = "SYNAPSE_DYN_CACHE_DIR"
BUNDLED = {"v2": "openapi.yaml", "v1": "synapse-v1.yaml"}
CACHE_FORMAT = 1


def bundled_dir(kind: str) -> Path:
    """Where the bundled ``schema/`` or ``overrides/`` folder is (installed wheel or source tree)."""
    here = Path(__file__).resolve().parent
    installed = here / "_bundled" / kind
    return installed if installed.is_dir() else here.parent / kind


def schema_path(name: str) -> Path:
    return bundled_dir("schema") / BUNDLED[name]


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_source(source: str | os.PathLike[str], *, allow_insecure: bool = False, what: str = "schema") -> bytes:
    """The raw bytes of a file or URL (https only unless allow_insecure)."""
    text = os.fspath(source)
    if is_url(text):
        if text.startswith("http://") and not allow_insecure:
            raise SpecError(f"refusing to load a {what} over plain http ({text}); use https or allow_insecure=True")
        import httpx

        try:
            response = httpx.get(text, timeout=30, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise SpecError(f"cannot download {what} from {text}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise SpecError(f"cannot download {what} from {text}: HTTP {response.status_code}")
        return response.content
    try:
        return Path(text).expanduser().read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read {what} {text}: {exc.strerror or exc}") from exc


def parse_document(raw: bytes, label: str) -> Any:
    """Parse JSON or YAML with safe loaders only; errors name the source and position."""
    stripped = raw.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            pass  # YAML is a superset; let the YAML parser report the position
    import yaml  # only on a cold start: a warm start reads the JSON cache

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when built with libyaml; both are safe
    try:
        return yaml.load(raw, Loader=loader)  # noqa: S506 - CSafeLoader/SafeLoader only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{label}: not valid YAML/JSON{where}: {problem}") from exc


def check_document(document: Any, label: str) -> None:
    if not isinstance(document, dict):
        raise SpecError(f"{label}: an OpenAPI document must be a mapping, got {type(document).__name__}")
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        raise SpecError(f"{label}: not an OpenAPI 3 document (openapi: {version or 'missing'})")
    if not isinstance(document.get("paths"), dict):
        raise SpecError(f"{label}: the document has no 'paths' mapping")


def _has_external_ref(node: Any) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return True
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return False


def external_refs(node: Any) -> list[tuple[list[str], str]]:
    """Every $ref that points outside the document: (where it stands as pointer tokens, the ref)."""
    if not _has_external_ref(node):  # the usual case, found without tracking every node's position
        return []
    found: list[tuple[list[str], str]] = []
    stack: list[tuple[Any, list[str]]] = [(node, [])]
    while stack:
        current, at = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                found.append((at, ref))
            stack.extend((v, at + [str(k)]) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((v, at + [str(i)]) for i, v in enumerate(current))
    return found


def _pointer_text(tokens: list[str]) -> str:
    return "#/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _ref_location(base: str, target: str) -> str:
    if is_url(target) or os.path.isabs(target):
        return target
    if is_url(base):
        return base.rsplit("/", 1)[0] + "/" + target
    return str(Path(base).parent / target)


def inline_external_refs(document: dict[str, Any], base: str, *, allow_insecure: bool) -> None:
    """Replace each external ``$ref`` by the part of the other document it names (when explicitly allowed)."""
    loaded: dict[str, Any] = {}
    for _ in range(32):
        refs = external_refs(document)
        if not refs:
            return
        for at, ref in refs:
            target, _, fragment = ref.partition("#")
            location = _ref_location(base, target)
            if location not in loaded:
                raw = read_source(location, allow_insecure=allow_insecure, what="$ref target")
                loaded[location] = parse_document(raw, location)
            value: Any = loaded[location]
            try:
                for token in [t for t in fragment.split("/") if t]:
                    value = value[token.replace("~1", "/").replace("~0", "~")]
            except (KeyError, TypeError):
                raise SpecError(f"$ref {ref!r} at {_pointer_text(at)} points at nothing") from None
            parent: Any = document
            for token in at[:-1]:
                parent = parent[int(token)] if isinstance(parent, list) else parent[token]
            parent[int(at[-1]) if isinstance(parent, list) else at[-1]] = value
    raise SpecError("external $refs nest too deeply")


def default_overrides_for(schema_source: str | None, document: dict[str, Any]) -> Path | None:
    family = "v1" if schema_source == "v1" or str((document.get("info") or {}).get("title", "")).endswith("v1") else "v2"
    path = bundled_dir("overrides") / BUNDLED[family]
    return path if path.exists() else None


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("synapse-dyn", appauthor=False))


def _cache_key(*parts: bytes) -> str:
    digest = hashlib.sha256(f"{CACHE_FORMAT}:{__version__}".encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:32]


def _read_cache(key: str) -> dict[str, Any] | None:
    path = cache_dir() / f"registry-{key}.json"
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return data


def _write_cache(key: str, payload: dict[str, Any]) -> None:
    """Write atomically (temp file + rename), so racing processes never see half a file."""
    import tempfile

    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".registry-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(payload, separators=(",", ":")))  # dumps uses the C encoder; dump does not
        os.replace(tmp, directory / f"registry-{key}.json")
    except OSError:
        pass  # a read-only or full cache dir only costs speed


def resolve_schema_source(schema: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(the source to read, its label): None -> $SYNAPSE_DYN_SCHEMA or the bundled v2 schema."""
    if schema is None:
        schema = os.environ.get(SCHEMA_ENV) or "v2"
    text = os.fspath(schema)
    if text in BUNDLED:
        return str(schema_path(text)), text
    return text, text


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while a document is parsed and indexed.

    Loading builds a large, acyclic tree; collections triggered meanwhile only rescan it,
    and more often the larger it grows, which made load time superlinear in schema size.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@_collection_paused()
def load_spec(
    source: str | os.PathLike[str] | None = None,
    *,
    overrides: str | os.PathLike[str] | bool | dict[str, Any] | None = None,
    allow_insecure: bool = False,
    allow_external_refs: bool = False,
    cache: bool = True,
) -> Registry:
    """Load a schema into a Registry.

    ``source``: a path, an https URL, ``'v2'`` / ``'v1'`` (bundled), or None (``$SYNAPSE_DYN_SCHEMA``,
    else bundled v2). ``overrides``: None = the bundled overrides for the schema's family,
    a path = that file, a dict = those overrides, False = none.
    """
    location, label = resolve_schema_source(source)
    raw = read_source(location, allow_insecure=allow_insecure)

    overrides_raw = b""
    overrides_label = ""
    overrides_data: Any = None
    if isinstance(overrides, dict):
        overrides_data = overrides
        overrides_raw = json.dumps(overrides, sort_keys=True, default=str).encode()
        overrides_label = "<overrides>"
    elif overrides is not False and overrides is not None:
        overrides_label = os.fspath(overrides)
        overrides_raw = read_source(overrides_label, allow_insecure=allow_insecure, what="overrides")
    elif overrides is None and label in BUNDLED:
        path = bundled_dir("overrides") / BUNDLED[label]
        if path.exists():
            overrides_label, overrides_raw = str(path), path.read_bytes()

    key = _cache_key(raw, overrides_raw, label.encode() if label in BUNDLED else b"",
                     b"x" if allow_external_refs else b"", b"o" if overrides is None else b"")
    cached = _read_cache(key) if cache else None
    if cached is not None:
        report = OverrideReport(**cached["report"])
        emit_warnings(report)
        return Registry(cached["document"], names=cached["names"], label=label, report=report)

    document = parse_document(raw, label)
    check_document(document, label)
    refs = external_refs(document)
    if refs:
        if not allow_external_refs:
            at, ref = refs[0]
            raise SpecError(
                f"{label}: $ref {ref!r} at {_pointer_text(at)} points outside the document; "
                f"external references are refused unless allow_external_refs=True ({len(refs)} found)"
            )
        inline_external_refs(document, location, allow_insecure=allow_insecure)

    if overrides is None and not overrides_raw:
        default = default_overrides_for(None, document)
        if default is not None:
            overrides_label, overrides_raw = str(default), default.read_bytes()
    if overrides_raw and overrides_data is None:
        overrides_data = parse_document(overrides_raw, overrides_label)
    report = OverrideReport()
    names: dict[str, Any] = {}
    if overrides_data is not None:
        checked = validate_overrides(overrides_data, overrides_label)
        apply_patches(document, checked, report)
        names = checked["names"]
    registry = Registry(document, names=names, label=label, report=report)
    emit_warnings(report)
    if cache:
        _write_cache(key, {"key": key, "document": document, "names": names, "report": vars(report)})
    return registry
