"""Global options: accepted before or after the command, as kubectl accepts its flags.

Every command gets the global options as real click options (``options.attach_globals``), so click
does all the parsing and a value is never mistaken for an option (``--title -ops-team``).
A global given after the command overrides the same one given before it.
``resolve_connection`` decides host, tenant and tokens from flags, environment and the profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..conventions import V2_AUTH

OUTPUT_FORMATS = ("table", "wide", "json", "yaml", "ndjson")
ENV = {  # the credentials' variables are the v2 conventions' own (conventions.V2_AUTH), named once
    "host": "SYNAPSE_BACKEND_V2_HOST",
    **{name: V2_AUTH[name]["env"][0] for name in ("access_token", "drf_token", "tenant")},
}
PROFILE_ENV = "SYNAPSE_DYN_PROFILE"
OUTPUT_ENV = "SYNAPSE_DYN_OUTPUT"
SCHEMA_ENV = "SYNAPSE_DYN_SCHEMA"
OVERRIDES_ENV = "SYNAPSE_DYN_OVERRIDES"
CONNECTION_KEYS = ("host", "access_token", "drf_token", "tenant")


@dataclass
class GlobalOptions:
    """The global options of one invocation (None / False when not given)."""

    host: str | None = None
    tenant: str | None = None
    token: str | None = None
    drf_token: str | None = None
    token_stdin: bool = False
    drf_token_stdin: bool = False
    profile: str | None = None
    output: str | None = None
    query: str | None = None
    columns: str | None = None
    no_headers: bool = False
    schema: str | None = None
    overrides: str | None = None
    allow_insecure: bool = False
    drift_log: str | None = None
    debug: bool = False
    quiet: bool = False
    sandbox: bool = False
    yes: bool = False
    dry_run: bool = False
    curl: bool = False
    given: set[str] = field(default_factory=set)


class GlobalSpec(NamedTuple):
    attr: str
    flags: tuple[str, ...]
    metavar: str | None  # None = a flag without a value
    help: str
    choices: tuple[str, ...] = ()
    path: bool = False  # complete file names


GLOBALS: tuple[GlobalSpec, ...] = (
    GlobalSpec("host", ("--host",), "URL", f"Backend base URL [env {ENV['host']}]."),
    GlobalSpec("tenant", ("--tenant",), "CODE", f"Tenant code [env {ENV['tenant']}]."),
    GlobalSpec("token", ("--token",), "TOKEN",
               f"Access token (syn_...) [env {ENV['access_token']}]; visible in shell history: "
               "prefer --token-stdin."),
    GlobalSpec("token_stdin", ("--token-stdin",), None, "Read the access token from stdin (one line)."),
    GlobalSpec("drf_token", ("--drf-token",), "TOKEN",
               f"Legacy DRF token [env {ENV['drf_token']}]; prefer --drf-token-stdin."),
    GlobalSpec("drf_token_stdin", ("--drf-token-stdin",), None, "Read the DRF token from stdin (one line)."),
    GlobalSpec("profile", ("--profile",), "NAME",
               f"Stored profile to use [env {PROFILE_ENV}; default: the current one]."),
    GlobalSpec("output", ("-o", "--output"), "FORMAT",
               f"table, wide (every column), json, yaml or ndjson [env {OUTPUT_ENV}; default: table on "
               "a terminal, json when piped].", choices=OUTPUT_FORMATS),
    GlobalSpec("query", ("--query",), "JMESPATH",
               "Filter the result with a JMESPath expression (with --all: each item)."),
    GlobalSpec("columns", ("--columns",), "A,B,...", "Table columns to show, in this order."),
    GlobalSpec("no_headers", ("--no-headers",), None, "Print tables without the header line."),
    GlobalSpec("schema", ("--schema",), "PATH|URL",
               f"OpenAPI document to build commands from, or a bundled one: v2, v1, agent, ray "
               f"[env {SCHEMA_ENV}]; give it before the command.",
               path=True),
    GlobalSpec("overrides", ("--overrides",), "FILE",
               f"Overrides file (drift patches, names, conventions:) applied to the schema instead of the "
               f"bundled one [env {OVERRIDES_ENV}]; give it before the command.", path=True),
    GlobalSpec("allow_insecure", ("--allow-insecure",), None,
               "Allow a plain http:// host or schema URL (tokens travel unencrypted)."),
    GlobalSpec("drift_log", ("--drift-log",), "FILE",
               "Append responses that do not match the schema to FILE (see schema drift-report).", path=True),
    GlobalSpec("debug", ("--debug",), None, "Show tracebacks and DEBUG logs of synapse_dyn."),
    GlobalSpec("quiet", ("--quiet",), None, "Do not print the request id (or other notes) to stderr."),
    GlobalSpec("sandbox", ("--sandbox",), None, "Talk to the persistent local sandbox instead of a backend."),
    GlobalSpec("yes", ("-y", "--yes"), None, "Do not ask for confirmation (DELETE operations)."),
    GlobalSpec("dry_run", ("--dry-run",), None, "Print the request (tokens masked) instead of sending it."),
    GlobalSpec("curl", ("--curl",), None, "Like --dry-run, but print the request as a curl command."),
)
GLOBAL_FLAGS = frozenset(flag for spec in GLOBALS for flag in spec.flags)
RESERVED_LONG_NAMES = frozenset(f[2:] for spec in GLOBALS for f in spec.flags if f.startswith("--"))


def normalize_host(host: str | None) -> str | None:
    return host.rstrip("/") if host else None


@dataclass
class Connection:
    """Where and as whom to connect; ``profile`` names the stored profile that contributed, if any.

    ``dropped`` names a profile whose credentials were not used because the host differs.
    """

    host: str | None = None
    access_token: str | None = None
    drf_token: str | None = None
    tenant: str | None = None
    profile: str | None = None
    dropped: str | None = None


def resolve_connection(
    opts: GlobalOptions, profile_name: str | None, profile: Mapping[str, Any] | None, environ: Mapping[str, str],
    defaults: Mapping[str, Any] | None = None,
) -> Connection:
    """Flags win. Then, with an explicit ``--profile``, that profile before the environment;
    without one, the environment before the current profile; ``config set`` defaults last.
    A profile's values (its tokens above all) are only used when the host in effect is the
    profile's own host.
    """
    flags = {"host": opts.host, "access_token": opts.token, "drf_token": opts.drf_token, "tenant": opts.tenant}
    env = {key: environ.get(var) or None for key, var in ENV.items()}
    stored = {key: (profile or {}).get(key) or None for key in CONNECTION_KEYS}
    fallback = {key: (defaults or {}).get(key) or None for key in CONNECTION_KEYS}
    layers = [flags, stored, env, fallback] if opts.profile else [flags, env, stored, fallback]
    host = next((layer["host"] for layer in layers if layer["host"]), None)
    dropped = None
    if profile and normalize_host(stored["host"]) != normalize_host(host):
        layers = [flags, env, fallback]
        dropped, profile_name = profile_name, None
    elif not profile:
        profile_name = None
    values = {key: next((layer[key] for layer in layers if layer[key]), None) for key in CONNECTION_KEYS}
    return Connection(**values, profile=profile_name, dropped=dropped)
