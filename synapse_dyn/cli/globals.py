"""Global options: accepted anywhere on the command line, as kubectl accepts its flags.

``prescan`` pulls them out of argv before click parses the rest, so
``synapse-dyn -o json projects list`` and ``synapse-dyn projects list -o json`` mean the
same. ``resolve_connection`` decides host, tenant and tokens from flags, environment
and the stored profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import click

OUTPUT_FORMATS = ("table", "json", "yaml", "ndjson")
ENV = {
    "host": "SYNAPSE_BACKEND_V2_HOST",
    "access_token": "SYNAPSE_BACKEND_V2_ACCESS_TOKEN",
    "drf_token": "SYNAPSE_BACKEND_V2_DRF_TOKEN",
    "tenant": "SYNAPSE_BACKEND_V2_TENANT",
}
CONNECTION_KEYS = ("host", "access_token", "drf_token", "tenant")


@dataclass
class GlobalOptions:
    """The global options of one invocation (None / False when not given)."""

    host: str | None = None
    tenant: str | None = None
    token: str | None = None
    drf_token: str | None = None
    profile: str | None = None
    output: str | None = None
    schema: str | None = None
    debug: bool = False
    quiet: bool = False
    sandbox: bool = False
    yes: bool = False
    dry_run: bool = False
    given: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class GlobalSpec:
    attr: str
    flags: tuple[str, ...]
    metavar: str | None  # None = a flag without a value
    help: str


GLOBALS: tuple[GlobalSpec, ...] = (
    GlobalSpec("host", ("--host",), "URL", f"Backend base URL [env {ENV['host']}]."),
    GlobalSpec("tenant", ("--tenant",), "CODE", f"Tenant code [env {ENV['tenant']}]."),
    GlobalSpec("token", ("--token",), "TOKEN", f"Access token (syn_...) [env {ENV['access_token']}]."),
    GlobalSpec("drf_token", ("--drf-token",), "TOKEN", f"Legacy DRF token [env {ENV['drf_token']}]."),
    GlobalSpec("profile", ("--profile",), "NAME", "Stored profile to use (default: the current one)."),
    GlobalSpec("output", ("-o", "--output"), "FORMAT",
               "table, json, yaml or ndjson (default: table on a terminal, json when piped)."),
    GlobalSpec("schema", ("--schema",), "PATH|URL", "OpenAPI document to build commands from [env SYNAPSE_DYN_SCHEMA]."),
    GlobalSpec("debug", ("--debug",), None, "Show tracebacks and DEBUG logs of synapse_dyn."),
    GlobalSpec("quiet", ("--quiet",), None, "Do not print the request id (or other notes) to stderr."),
    GlobalSpec("sandbox", ("--sandbox",), None, "Talk to the persistent local sandbox instead of a backend."),
    GlobalSpec("yes", ("-y", "--yes"), None, "Do not ask for confirmation (DELETE operations)."),
    GlobalSpec("dry_run", ("--dry-run",), None, "Print the request (tokens masked) instead of sending it."),
)
_BY_FLAG = {flag: spec for spec in GLOBALS for flag in spec.flags}
GLOBAL_FLAGS = frozenset(_BY_FLAG)
RESERVED_LONG_NAMES = frozenset(f[2:] for spec in GLOBALS for f in spec.flags if f.startswith("--"))


def prescan(args: list[str], local: tuple[str, frozenset[str]] | None = None) -> tuple[GlobalOptions, list[str]]:
    """Split argv into (global options, everything else); ``--`` ends the scan.

    ``local`` is (command word, option names): after that word those options belong to the
    command (``sandbox serve --host``), not to the globals. Raises click.UsageError for a
    global option missing its value or a bad ``--output``.
    """
    opts = GlobalOptions()
    rest: list[str] = []
    word, names = local or ("", frozenset())
    seen_word = False
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            rest.extend(args[i:])
            break
        name, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        spec = _BY_FLAG.get(name)
        if spec is None and token.startswith("-o") and len(token) > 2 and not token.startswith("--"):
            spec, name, eq, inline = _BY_FLAG["-o"], "-o", "=", token[2:]
        if spec is None or (seen_word and name in names):
            seen_word = seen_word or (bool(word) and token == word)
            rest.append(token)
            i += 1
            continue
        if spec.metavar is None:
            if eq:
                raise click.UsageError(f"{name} is a flag and takes no value")
            setattr(opts, spec.attr, True)
        elif eq:
            setattr(opts, spec.attr, inline)
        elif i + 1 < len(args):
            i += 1
            setattr(opts, spec.attr, args[i])
        else:
            raise click.UsageError(f"Option '{name}' requires an argument ({spec.metavar}).")
        opts.given.add(spec.attr)
        i += 1
    if opts.output is not None and opts.output not in OUTPUT_FORMATS:
        raise click.UsageError(
            f"Invalid value for '-o' / '--output': {opts.output!r} is not one of {', '.join(OUTPUT_FORMATS)}."
        )
    return opts, rest


def help_options() -> list[click.Option]:
    """Click options that only document the globals in ``--help`` (prescan does the parsing)."""
    out = []
    for spec in GLOBALS:
        if spec.metavar is None:
            out.append(click.Option(list(spec.flags), is_flag=True, expose_value=False, help=spec.help))
        else:
            out.append(click.Option(list(spec.flags), metavar=spec.metavar, expose_value=False, help=spec.help))
    return out


def options_as_dict(opts: GlobalOptions) -> dict[str, Any]:
    return {f.name: getattr(opts, f.name) for f in fields(opts) if f.name != "given"}


def normalize_host(host: str | None) -> str | None:
    return host.rstrip("/") if host else None


def is_loopback(url: str) -> bool:
    """Whether a URL points at this machine (plain http is fine there)."""
    import ipaddress

    hostname = urlsplit(url).hostname or ""
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


@dataclass
class Connection:
    """Where and as whom to connect; ``profile`` names the stored profile that contributed, if any."""

    host: str | None = None
    access_token: str | None = None
    drf_token: str | None = None
    tenant: str | None = None
    profile: str | None = None


def resolve_connection(
    opts: GlobalOptions, profile_name: str | None, profile: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> Connection:
    """Flags win. Then, with an explicit ``--profile``, that profile before the environment;
    without one, the environment before the current profile. A profile's values (its
    tokens above all) are only used when the host in effect is the profile's own host.
    """
    flags = {"host": opts.host, "access_token": opts.token, "drf_token": opts.drf_token, "tenant": opts.tenant}
    env = {key: environ.get(var) or None for key, var in ENV.items()}
    stored = {key: (profile or {}).get(key) or None for key in CONNECTION_KEYS}
    layers = [flags, stored, env] if opts.profile else [flags, env, stored]
    host = next((layer["host"] for layer in layers if layer["host"]), None)
    if profile and normalize_host(stored["host"]) != normalize_host(host):
        layers = [flags, env]
        profile_name = None
    elif not profile:
        profile_name = None
    values = {key: next((layer[key] for layer in layers if layer[key]), None) for key in CONNECTION_KEYS}
    return Connection(**values, profile=profile_name)
