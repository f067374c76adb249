"""``upload FILE``: send a file through the v1 chunked-upload protocol, with a progress bar.

Host, token, tenant, profile, ``--allow-insecure``, ``--dry-run`` and ``--quiet`` are the
global options, as for every command. It prints the server's reply ``{id, file, checksum,
size}`` as JSON on stdout; the progress bar goes to stderr. A failed or interrupted upload
names the command that continues it (``synapse-dyn upload FILE --resume URL``).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import click

from ..util.urls import is_loopback_url
from . import exitcodes
from .options import attach_globals
from .state import AppState, CliError

SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
              "g": 10**9, "gb": 10**9, "gib": 2**30}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``'50MiB'`` -> 52428800; plain digits are bytes. Raises ValueError for anything else."""
    match = _SIZE.match(str(text))
    unit = match.group(2).lower() if match else None
    if not match or unit not in SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. 1048576, 8MiB, 50MB)")
    size = int(match.group(1)) * SIZE_UNITS[unit]
    if size <= 0:
        raise ValueError("the size must be positive")
    return size


class SizeType(click.ParamType):
    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _progress(quiet: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True), disable=quiet,
                    transient=True)


def _resume_hint(ctx: click.Context, file: Path, exc: BaseException) -> str:
    state = getattr(exc, "upload_state", None)
    if not state or not state.get("url"):
        return ""
    return f"; resume with: {ctx.find_root().info_name or 'synapse-dyn'} upload {shlex.quote(str(file))} " \
           f"--resume {shlex.quote(state['url'])}"


def _dry_run(state: AppState, host: str, file: Path, chunk_size: int, resume: str | None) -> None:
    total = file.stat().st_size
    click.echo(json.dumps({"method": "PUT", "url": resume or f"{host.rstrip('/')}/chunked_upload/",
                           "file": str(file), "size": total, "chunk_size": chunk_size,
                           "chunks": max(1, -(-total // chunk_size))}, indent=2))
    state.note("dry run: nothing was sent")


@click.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--chunk-size", type=SizeType(), default="50MiB", show_default=True,
              help="Bytes per chunk: a number, or with a unit (8MiB, 50MB).")
@click.option("--resume", metavar="URL", help="Continue the interrupted upload at this URL.")
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True,
              help="Retries of a failed chunk before giving up.")
@click.option("-q", "no_progress", is_flag=True, help="No progress bar (as --quiet).")
@click.pass_context
def upload_command(ctx: click.Context, file: Path, chunk_size: int, resume: str | None, retries: int,
                   no_progress: bool) -> None:
    """Upload FILE in chunks (resumable); prints the upload's id, file, checksum and size."""
    from ..errors import SynapseError, TransportError
    from ..v1 import BackendClient

    state = AppState.of(ctx)
    conn = state.connection()
    if state.options.sandbox or not conn.host:
        raise CliError("upload needs a v1 backend host: pass --host URL, set SYNAPSE_BACKEND_V2_HOST, "
                       "or run synapse-dyn login")
    if state.options.dry_run or state.options.curl:
        _dry_run(state, conn.host, file, chunk_size, resume)
        return
    state.explain_missing_credentials(conn)
    insecure = state.options.allow_insecure or is_loopback_url(conn.host)
    try:
        with BackendClient(conn.host, conn.access_token, authorization_token=conn.drf_token, tenant=conn.tenant,
                           allow_insecure=insecure) as backend, \
                _progress(no_progress or state.options.quiet) as progress:
            task = progress.add_task(file.name, total=file.stat().st_size)
            result = backend.create_chunked_upload(
                file, chunk_size=chunk_size, resume=resume, retries=retries,
                on_progress=lambda offset, _total: progress.update(task, completed=offset))
    except KeyboardInterrupt as exc:
        hint = _resume_hint(ctx, file, exc)
        if hint:
            click.echo("R" + hint[3:], err=True)  # "; resume with: ..." -> "Resume with: ..."
        raise click.Abort() from None  # prints "Interrupted." and exits 130
    except SynapseError as exc:
        text = exitcodes.error_line(exc)[7:]
        if isinstance(exc, TransportError):  # the v1 class names a pseudo status (503): say what happened
            text = f"cannot upload to {conn.host}: {str(exc).split(': ', 1)[-1]}"
        raise CliError(text + _resume_hint(ctx, file, exc), exitcodes.exit_code_for(exc)) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    click.echo(json.dumps(result, indent=2, default=str))


attach_globals(upload_command)
