"""The backend's conventions as typed, read-only data: credentials, envelope, pagination, API family.

They come from the document root extension ``x-synapse-conventions`` (merged over the v2
defaults below; the legacy root ``x-synapse-auth`` still names the credentials), and an
overrides file's top-level ``conventions:`` mapping is deep-merged on top of that (overrides.py
merges it into the document before the registry sees it). An operation may declare its own
``x-synapse-pagination`` or ``x-synapse-envelope``, merged over the document's (the registry
exposes the result as ``op.pagination`` and ``op.envelope``). Every other module reads these
properties; none reads ``x-synapse-*`` keys itself.

```yaml
x-synapse-conventions:
  family: v2                      # v2 | v1 | agent | ray | anything else
  auth:                           # name -> {header, format, legacy_format, env, secret}; null removes one
    access_token: {header: SYNAPSE-ACCESS-TOKEN, env: [SYNAPSE_BACKEND_V2_ACCESS_TOKEN]}
  envelope: {style: meta, request_id: meta.request_id, next_cursor: meta.pagination.next_cursor}
  pagination: {style: offset, size_param: limit, offset_param: offset, count: count}
paths:
  /api/serve/applications/:
    get:
      x-synapse-envelope: {style: none}   # this answer is plain JSON, the others enveloped
```
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from .errors import SpecError

EXTENSION = "x-synapse-conventions"
LEGACY_AUTH_EXTENSION = "x-synapse-auth"
OPERATION_PAGINATION = "x-synapse-pagination"
OPERATION_ENVELOPE = "x-synapse-envelope"
OPERATION_CREDENTIAL = "x-synapse-credential"
OPERATION_EXTRA_QUERY = "x-synapse-extra-query"
ENVELOPE_STYLES = ("meta", "flag", "none")
PAGINATION_STYLES = ("cursor", "offset", "none")
NOT_SECRET = frozenset({"tenant"})


class AuthScheme(NamedTuple):
    """One credential: which header carries it, in what format, and where its value may come from."""

    name: str
    header: str
    format: str = "{}"
    legacy_format: str | None = None
    env: tuple[str, ...] = ()
    secret: bool = True

    def __repr__(self) -> str:
        return f"AuthScheme({self.name!r}, header={self.header!r}, format={self.format!r})"


class Envelope(NamedTuple):
    """How a successful answer wraps its data: ``meta`` {data, meta} (v2), ``flag`` {result, msg, data}, none."""

    style: str = "meta"
    data: str = "data"
    meta: str = "meta"
    request_id: str = "meta.request_id"
    next_cursor: str = "meta.pagination.next_cursor"
    previous_cursor: str = "meta.pagination.previous_cursor"
    count: str = "meta.pagination.count"
    ok: str = "result"
    message: str = "msg"


class Pagination(NamedTuple):
    """How list answers page: cursor tokens, offset/page numbers with a count, or not at all."""

    style: str = "cursor"
    cursor_param: str = "cursor"
    size_param: str = "per_page"
    offset_param: str = "offset"
    results: str = "results"
    next: str = "next"
    previous: str = "previous"
    count: str = "count"

    @property
    def by_page_number(self) -> bool:
        """Offset style counting pages (``page=2``) rather than items (``offset=50``)."""
        return self.style == "offset" and self.offset_param in ("page", "page_number")


class Conventions(NamedTuple):
    """Everything backend-specific that is not an operation: read from the document once."""

    family: str
    auth: Mapping[str, AuthScheme]
    envelope: Envelope
    pagination: Pagination

    @property
    def secret_credentials(self) -> tuple[str, ...]:
        return tuple(name for name, scheme in self.auth.items() if scheme.secret)


V2_AUTH: dict[str, dict[str, Any]] = {
    "access_token": {"header": "SYNAPSE-ACCESS-TOKEN", "format": "{}", "env": ["SYNAPSE_BACKEND_V2_ACCESS_TOKEN"]},
    "drf_token": {"header": "Authorization", "format": "Token {}", "env": ["SYNAPSE_BACKEND_V2_DRF_TOKEN"]},
    "tenant": {"header": "SYNAPSE-Tenant", "format": "{}", "legacy_format": "Token {}",
               "env": ["SYNAPSE_BACKEND_V2_TENANT"]},
}
V2_DEFAULTS: dict[str, Any] = {"family": "v2", "auth": V2_AUTH, "envelope": {}, "pagination": {}}
FAMILY_PRESETS: dict[str, dict[str, Any]] = {
    # v1: offset pages numbered by ``page`` with ``page_size``, {count, next, previous, results}, no envelope
    "v1": {"envelope": {"style": "none"},
           "pagination": {"style": "offset", "offset_param": "page", "size_param": "page_size"}},
}
SECTIONS = ("family", "auth", "envelope", "pagination")


def default_auth() -> Mapping[str, AuthScheme]:
    """The v2 credentials, for Credentials built without a registry."""
    return MappingProxyType({name: auth_scheme(name, spec, name) for name, spec in V2_AUTH.items()})


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``top`` over ``base``, recursively for nested mappings; None in top removes a key."""
    out = {k: copy.deepcopy(v) for k, v in base.items()}
    for key, value in top.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def family_of(document: Mapping[str, Any]) -> str:
    """The API family a document declares; documents without the extension: v1 when titled so, else v2."""
    declared = (document.get(EXTENSION) or {}).get("family") if isinstance(document.get(EXTENSION), Mapping) else None
    if isinstance(declared, str) and declared:
        return declared
    title = str((document.get("info") or {}).get("title", "")) if isinstance(document.get("info"), Mapping) else ""
    return "v1" if title.rstrip().endswith("v1") else "v2"


def merged_settings(document: Mapping[str, Any]) -> dict[str, Any]:
    """The raw conventions mapping: v2 defaults < family preset < legacy x-synapse-auth < x-synapse-conventions."""
    declared = document.get(EXTENSION) or {}
    where = f"the schema's {EXTENSION}"
    if not isinstance(declared, Mapping):
        raise SpecError(f"{where} must be a mapping with {', '.join(SECTIONS)}")
    family = family_of(document)
    settings = deep_merge(V2_DEFAULTS, {"family": family, **FAMILY_PRESETS.get(family, {})})
    legacy = document.get(LEGACY_AUTH_EXTENSION)
    if isinstance(legacy, Mapping) and legacy:
        settings["auth"] = copy.deepcopy(dict(legacy))
    return deep_merge(settings, declared)


def build(document: Mapping[str, Any], label: str = "<schema>") -> Conventions:
    """The document's Conventions; a malformed setting is a SpecError naming it and what is valid."""
    settings = merged_settings(document)
    where = f"{label}: {EXTENSION}"
    check_keys(settings, SECTIONS, where)
    family = settings.get("family")
    if not isinstance(family, str) or not family:
        raise SpecError(f"{where}.family must be a non-empty string, e.g. v2 or v1")
    auth = settings.get("auth") or {}
    if not isinstance(auth, Mapping):
        raise SpecError(f"{where}.auth must map credential names to {{header, format, env}}")
    schemes = {str(name): auth_scheme(str(name), spec, f"{where}.auth.{name}") for name, spec in auth.items()}
    envelope = section(Envelope, settings.get("envelope"), f"{where}.envelope")
    pagination = section(Pagination, settings.get("pagination"), f"{where}.pagination")
    check_choice(envelope.style, ENVELOPE_STYLES, f"{where}.envelope.style")
    check_choice(pagination.style, PAGINATION_STYLES, f"{where}.pagination.style")
    return Conventions(family, MappingProxyType(schemes), envelope, pagination)


def operation_pagination(base: Pagination, declared: Any, where: str) -> Pagination:
    """An operation's own ``x-synapse-pagination`` over the registry's pagination."""
    return _operation_section(base, declared, where, PAGINATION_STYLES)


def operation_envelope(base: Envelope, declared: Any, where: str) -> Envelope:
    """An operation's own ``x-synapse-envelope`` over the registry's envelope (``{style: none}``: plain)."""
    return _operation_section(base, declared, where, ENVELOPE_STYLES)


def _operation_section(base: Any, declared: Any, where: str, styles: tuple[str, ...]) -> Any:
    if not declared:
        return base
    merged = deep_merge(base._asdict(), _mapping(declared, where))
    result = section(type(base), merged, where)
    check_choice(result.style, styles, f"{where}.style")
    return result


def credential_capture(declared: Any, where: str) -> Mapping[str, str] | None:
    """``x-synapse-credential``: credential name -> the response field that holds it, or None."""
    if not declared:
        return None
    mapping = _mapping(declared, where)
    if not all(isinstance(v, str) for v in mapping.values()):
        raise SpecError(f"{where}: each credential must name a response field (a string)")
    return MappingProxyType({str(k): v for k, v in mapping.items()})


def check_section(data: Any, source: str) -> dict[str, Any]:
    """Validate an overrides file's ``conventions:`` mapping (its shape; values are checked on build)."""
    mapping = _mapping(data, f"{source}: conventions")
    check_keys(mapping, SECTIONS, f"{source}: conventions")
    for name, cls in (("envelope", Envelope), ("pagination", Pagination)):
        if mapping.get(name) is not None:
            check_keys(_mapping(mapping[name], f"{source}: conventions.{name}"),
                       cls._fields, f"{source}: conventions.{name}")
    return dict(mapping)


def auth_scheme(name: str, spec: Any, where: str) -> AuthScheme:
    spec = dict(_mapping(spec, where))
    spec.setdefault("secret", name not in NOT_SECRET)
    env = spec.get("env") or ()
    spec["env"] = (env,) if isinstance(env, str) else tuple(str(e) for e in env)
    if not isinstance(spec.get("header"), str) or not spec["header"]:
        raise SpecError(f"{where}.header is required: the HTTP header that carries {name}")
    return section(AuthScheme, {"name": name, **spec}, where)


def section(cls: type, data: Any, where: str) -> Any:
    """A section (a named tuple) from a mapping, refusing unknown keys and values of the wrong type."""
    data = _mapping(data or {}, where)
    check_keys(data, cls._fields, where)
    for name, annotation in cls.__annotations__.items():
        if name in data:
            value = data[name]
            declared = getattr(annotation, "__forward_arg__", str(annotation))  # NamedTuple keeps a ForwardRef
            expected = bool if declared == "bool" else (tuple if name == "env" else str)
            optional = "None" in declared
            if not isinstance(value, expected) and not (optional and value is None):
                raise SpecError(f"{where}.{name} must be a {expected.__name__}, not {type(value).__name__}")
    return cls(**data)


def check_keys(data: Mapping[str, Any], valid: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in valid)
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(valid)}")


def check_choice(value: str, valid: tuple[str, ...], where: str) -> None:
    if value not in valid:
        raise SpecError(f"{where} is {value!r}; valid: {', '.join(valid)}")


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise SpecError(f"{where} must be a mapping, not {type(data).__name__}")
    return data


def dotted(payload: Any, path: str) -> Any:
    """The value at a dotted path (``meta.pagination.count``) of nested dicts, or None."""
    node = payload
    for part in path.split(".") if path else ():
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def has_dotted(payload: Any, path: str) -> bool:
    node = payload
    for part in path.split(".") if path else ():
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
