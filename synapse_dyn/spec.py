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
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import __version__
from .errors import SpecError
from .overrides import OverrideReport, apply_patches, emit_warnings, validate_overrides
from .registry import Registry
from .util.atomic import write_atomic
from .util.dirs import user_dir
from .util.jsonpointer import to_pointer, unescape
from .util.urls import origin

SCHEMA_ENV = "SYNAPSE_DYN_SCHEMA"
CACHE_ENV = "SYNAPSE_DYN_CACHE_DIR"
MAX_DOCUMENT_BYTES = 32 * 2**20  # a schema or overrides file; the bundled v2 schema is about 0.2 MB
MAX_ALIAS_NODES = 1_000_000  # nodes YAML aliases may add to a document
BUNDLED = {"v2": "openapi.yaml", "v1": "synapse-v1.yaml", "agent": "synapse-agent.yaml", "ray": "ray-dashboard.yaml"}
CACHE_FORMAT = 3  # bump when the cached registry inputs change shape


def bundled_dir(kind: str) -> Path:
    """Where the bundled ``schema/`` or ``overrides/`` folder is (installed wheel or source tree)."""
    here = Path(__file__).resolve().parent
    installed = here / "_bundled" / kind
    return installed if installed.is_dir() else here.parent / kind


def schema_path(name: str) -> Path:
    return bundled_dir("schema") / BUNDLED[name]


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_source(source: str | os.PathLike[str], *, allow_insecure: bool = False, what: str = "schema",
                max_bytes: int | None = None) -> bytes:
    """The raw bytes of a file or URL (https only unless allow_insecure), at most ``max_bytes``."""
    text = os.fspath(source)
    limit = MAX_DOCUMENT_BYTES if max_bytes is None else max_bytes
    if is_url(text):
        if text.startswith("http://") and not allow_insecure:
            raise SpecError(f"refusing to load a {what} over plain http ({text}); use https or allow_insecure=True")
        return _download(text, what, limit)
    try:
        with open(Path(text).expanduser(), "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise SpecError(f"cannot read {what} {text}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise SpecError(f"{text}: the {what} is larger than {limit} bytes; refusing to read it")
    return raw


def _download(url: str, what: str, limit: int) -> bytes:
    import httpx

    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream("GET", url, timeout=30, follow_redirects=False) as response:
            if response.status_code != 200:
                raise SpecError(f"cannot download {what} from {url}: HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise SpecError(f"{url}: the {what} is larger than {limit} bytes; refusing to read it")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise SpecError(f"cannot download {what} from {url}: {type(exc).__name__}: {exc}") from None
    return b"".join(chunks)


def parse_document(raw: bytes, label: str, *, max_bytes: int = 0, max_alias_nodes: int = MAX_ALIAS_NODES) -> Any:
    """Parse JSON or YAML with safe loaders only; errors name the source and position.

    YAML aliases may add at most ``max_alias_nodes`` nodes to the document: a few hundred
    bytes of nested aliases otherwise expand to billions of nodes (an alias bomb).
    """
    limit = max_bytes or MAX_DOCUMENT_BYTES
    if len(raw) > limit:
        raise SpecError(f"{label}: the document is larger than {limit} bytes ({len(raw)}); refusing to parse it")
    stripped = raw.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            pass  # YAML is a superset; let the YAML parser report the position
    import yaml  # only on a cold start: a warm start reads the JSON cache

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when built with libyaml; both safe
    if not _ALIAS.search(raw):
        try:
            return yaml.load(raw, Loader=loader_class)  # noqa: S506 - CSafeLoader/SafeLoader only
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, label) from None
    loader = loader_class(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_alias_expansion(node, label, max_alias_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, label) from None
    finally:
        loader.dispose()


_ALIAS = re.compile(rb"(?:^|[\s\[{,])\*[^\s,\]}]")  # a YAML alias token; text like "**bold**" may match too


def _yaml_error(exc: Exception, label: str) -> SpecError:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return SpecError(f"{label}: not valid YAML/JSON{where}: {problem}")


def check_alias_expansion(root: Any, label: str, max_alias_nodes: int) -> None:
    """Refuse a YAML node graph whose aliases expand it by more than ``max_alias_nodes`` nodes (or loop)."""
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise SpecError(f"{label}: a YAML alias refers to a node that contains it; refusing a recursive document")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    expanded = sizes[id(root)]
    if expanded > len(sizes) + max_alias_nodes:
        raise SpecError(f"{label}: YAML aliases expand the document to {expanded} nodes from {len(sizes)} "
                        f"(more than {max_alias_nodes} added); refusing it as an alias bomb")


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


def _ref_location(base: str, target: str) -> str:
    if is_url(target) or os.path.isabs(target):
        return target
    if is_url(base):
        return base.rsplit("/", 1)[0] + "/" + target
    return str(Path(base).parent / target)


def _check_ref_origin(base: str, location: str, ref: str, at: list[str]) -> None:
    """A remote document may reference only its own origin; nothing may use another URL scheme."""
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", ref)
    foreign_scheme = scheme is not None and len(scheme.group(1)) > 1 and scheme.group(1).lower() not in (
        "http", "https")  # one letter is a Windows drive, not a scheme
    if foreign_scheme or is_url(base) and (not is_url(location) or origin(location) != origin(base)):
        allowed = "://".join(origin(base)) if is_url(base) else "local files and https URLs"
        raise SpecError(f"{base}: $ref {ref!r} at {to_pointer(at, fragment=True)} leaves the document's origin "
                        f"({allowed}); a remote document may reference only its own origin")


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
            _check_ref_origin(base, location, ref, at)
            if location not in loaded:
                raw = read_source(location, allow_insecure=allow_insecure, what="$ref target")
                loaded[location] = parse_document(raw, location)
            value: Any = loaded[location]
            try:
                for token in [t for t in fragment.split("/") if t]:
                    value = value[unescape(token)]
            except (KeyError, TypeError):
                raise SpecError(f"$ref {ref!r} at {to_pointer(at, fragment=True)} points at nothing") from None
            parent: Any = document
            for token in at[:-1]:
                parent = parent[int(token)] if isinstance(parent, list) else parent[token]
            parent[int(at[-1]) if isinstance(parent, list) else at[-1]] = value
    raise SpecError("external $refs nest too deeply")


def default_overrides_for(document: dict[str, Any]) -> Path | None:
    """The bundled overrides for the document's API family (declared in its conventions), if any."""
    from .conventions import family_of

    family = family_of(document)
    path = bundled_dir("overrides") / BUNDLED.get(family, BUNDLED["v2"])
    return path if path.exists() else None


def cache_dir() -> Path:
    return user_dir("cache", CACHE_ENV)


def _cache_key(*parts: bytes) -> str:
    digest = hashlib.sha256(f"{CACHE_FORMAT}:{__version__}".encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:32]


def _cache_secret() -> bytes | None:
    """This user's key for authenticating cache files (created 0600 on first use; None when unusable).

    A cache file's name and ``key`` field are a hash anyone can compute; the MAC under this
    private key is what shows the file was written by this user's own loader.
    """
    path = cache_dir() / "cache-key"
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            secret = fh.read(128)
        if not _private(info) or len(secret) < 32:
            return None
        return secret
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None  # a read-only cache dir, or another process just created the key: no cache this time
    secret = os.urandom(32).hex().encode()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret)
    return secret


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    own = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return own and not info.st_mode & 0o022


def _mac(secret: bytes, key: str, body: bytes) -> str:
    import hmac

    return hmac.new(secret, key.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def _cache_head(key: str, mac: str) -> bytes:
    return f'{{"key":"{key}","mac":"{mac}'.encode()


def _read_cache(key: str) -> dict[str, Any] | None:
    """The cached registry inputs, only when this user's loader provably wrote them for this key."""
    secret = _cache_secret()
    if secret is None:
        return None
    path = cache_dir() / f"registry-{key}.json"
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            raw = fh.read()
        import hmac

        head = _cache_head(key, "")
        mac, rest = raw[len(head):len(head) + 64], raw[len(head) + 66:]
        if (not _private(info) or not raw.startswith(head) or raw[len(head) + 64:len(head) + 66] != b'",'
                or not hmac.compare_digest(mac, _mac(secret, key, rest).encode())):
            return None
        data = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"document", "index", "report"} <= set(data):
        return None
    return data


def _write_cache(key: str, payload: dict[str, Any]) -> None:
    """Write atomically (temp file + rename), so racing processes never see half a file.

    One JSON object that starts with the key and the MAC, under this user's cache key, of the rest.
    """

    directory = cache_dir()
    secret = _cache_secret()
    if secret is None:
        return
    fields = {k: v for k, v in payload.items() if k not in ("key", "mac")}
    rest = json.dumps(fields, separators=(",", ":")).encode()[1:]  # dumps uses the C encoder; dump does not
    head = _cache_head(key, _mac(secret, key, rest))
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(directory / f"registry-{key}.json", head + b'",' + rest)
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


def _overrides_source(overrides: Any, label: str, allow_insecure: bool) -> tuple[str, bytes, Any]:
    """(label, raw bytes, parsed data or None) of the overrides ``load_spec`` was given (or the bundled ones)."""
    if isinstance(overrides, dict):
        return "<overrides>", json.dumps(overrides, sort_keys=True, default=str).encode(), overrides
    if overrides is not False and overrides is not None:
        overrides_label = os.fspath(overrides)
        return overrides_label, read_source(overrides_label, allow_insecure=allow_insecure, what="overrides"), None
    if overrides is None and label in BUNDLED:
        path = bundled_dir("overrides") / BUNDLED[label]
        if path.exists():
            return str(path), path.read_bytes(), None
    return "", b"", None


def _resolve_external_refs(document: dict[str, Any], label: str, location: str, allowed: bool,
                           allow_insecure: bool) -> None:
    """Inline the document's external ``$ref``s when allowed; refuse them (naming the first) otherwise."""
    refs = external_refs(document)
    if not refs:
        return
    if not allowed:
        at, ref = refs[0]
        raise SpecError(
            f"{label}: $ref {ref!r} at {to_pointer(at, fragment=True)} points outside the document; "
            f"external references are refused unless allow_external_refs=True ({len(refs)} found)"
        )
    inline_external_refs(document, location, allow_insecure=allow_insecure)


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

    overrides_label, overrides_raw, overrides_data = _overrides_source(overrides, label, allow_insecure)
    key = _cache_key(raw, overrides_raw, label.encode() if label in BUNDLED else b"",
                     b"x" if allow_external_refs else b"", b"o" if overrides is None else b"")
    cached = _read_cache(key) if cache else None
    if cached is not None:
        report = OverrideReport(**cached["report"])
        emit_warnings(report)
        return Registry(cached["document"], index=cached["index"], label=label, report=report)

    document = parse_document(raw, label)
    check_document(document, label)
    _resolve_external_refs(document, label, location, allow_external_refs, allow_insecure)
    if overrides is None and not overrides_raw:
        default = default_overrides_for(document)
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
        _write_cache(key, {"key": key, "document": document, "index": registry.index(), "report": vars(report)})
    return registry
