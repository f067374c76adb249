"""Guards before anything destructive is sent: confirmation prompts and ``--dry-run``."""

from __future__ import annotations

import sys
from typing import Any

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


def print_dry_run(state: AppState, description: dict[str, Any]) -> None:
    """Print a request description (headers already masked) instead of sending it."""
    from .output import to_json, to_yaml

    if state.options.output == "yaml":
        click.echo(to_yaml(description), nl=False)
    else:
        click.echo(to_json(description))
    state.note("dry run: nothing was sent")
