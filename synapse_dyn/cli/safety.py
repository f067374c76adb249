"""Guards before anything destructive is sent: confirmation prompts, ``--dry-run`` and ``--curl``."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlencode

import click

from . import exitcodes
from .state import AppState, CliError


def confirm(state: AppState, action: str) -> None:
    """Ask before a DELETE unless --yes; refuse when there is no terminal to ask on."""
    if state.options.yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"refusing to {action} without confirmation: stdin is not a terminal; pass --yes",
                       exit_code=exitcodes.USAGE)
    if not click.confirm(f"{action[0].upper()}{action[1:]}?", default=False, err=True):
        raise CliError("aborted: nothing was sent", exit_code=exitcodes.OTHER)


def full_url(url: str, params: Any) -> str:
    """The URL with its query string, as it goes on the wire."""
    if not params:
        return url
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    expanded = [(k, item) for k, v in pairs for item in (v if isinstance(v, list | tuple) else [v])]
    return f"{url}{'&' if '?' in url else '?'}{urlencode(expanded)}"


def describe(prepared: Any) -> dict[str, Any]:
    """A prepared request as a dict for printing: full URL, masked headers and body."""
    description = dict(prepared.describe()) if hasattr(prepared, "describe") else dict(prepared)
    description["url"] = full_url(description["url"], description.get("params"))
    return description


def as_curl(description: dict[str, Any]) -> str:
    """A curl command line for a (masked) request description."""
    import shlex

    from .output import to_json

    parts = ["curl", "-X", description["method"], shlex.quote(description["url"])]
    for name, value in (description.get("headers") or {}).items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if description.get("json") is not None:
        parts += ["-H", shlex.quote("Content-Type: application/json"),
                  "--data-binary", shlex.quote(to_json(description["json"], indent=None))]
    return " ".join(parts)


def print_dry_run(state: AppState, prepared: Any) -> None:
    """Print a request (headers and secret fields masked) instead of sending it."""
    from .output import to_json, to_yaml

    description = describe(prepared)
    if state.options.curl:
        click.echo(as_curl(description))
    elif state.options.output == "yaml":
        click.echo(to_yaml(description), nl=False)
    else:
        click.echo(to_json(description))
    state.note("dry run: nothing was sent")
