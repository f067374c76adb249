"""``upload FILE``: send a file through the v1 chunked-upload protocol, with a progress bar.

``upload_command`` is the click command the main CLI registers. It prints the server's reply
``{id, file, checksum, size}`` as JSON on stdout; the progress bar goes to stderr. An interrupted
upload can be continued with ``--resume URL`` (the URL the failure message names).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from .errors import SynapseError

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
                    transient=False)


@click.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--chunk-size", type=SizeType(), default="50MiB", show_default=True,
              help="Bytes per chunk: a number, or with a unit (8MiB, 50MB).")
@click.option("--resume", metavar="URL", help="Continue the interrupted upload at this URL.")
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True,
              help="Retries of a failed chunk before giving up.")
@click.option("--base-url", envvar="SYNAPSE_BACKEND_URL", required=True,
              help="The backend's base URL (env SYNAPSE_BACKEND_URL).")
@click.option("--access-token", help="Access token (default: $SYNAPSE_ACCESS_TOKEN, then $SYNAPSE_API_TOKEN).")
@click.option("--tenant", help="Tenant code.")
@click.option("--allow-insecure", is_flag=True, help="Allow a plain http:// base URL.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def upload_command(file: Path, chunk_size: int, resume: str | None, retries: int, base_url: str,
                   access_token: str | None, tenant: str | None, allow_insecure: bool, quiet: bool) -> None:
    """Upload FILE in chunks (resumable); prints the upload's id, file, checksum and size."""
    from .v1 import BackendClient

    total = file.stat().st_size
    try:
        with BackendClient(base_url, access_token, tenant=tenant, allow_insecure=allow_insecure) as backend, \
                _progress(quiet) as progress:
            task = progress.add_task(file.name, total=total)
            result = backend.create_chunked_upload(
                file, chunk_size=chunk_size, resume=resume, retries=retries,
                on_progress=lambda offset, _total: progress.update(task, completed=offset))
    except (SynapseError, KeyboardInterrupt) as exc:
        state = getattr(exc, "upload_state", None)
        hint = f"\nresume with: upload {file} --resume {state['url']}" if state else ""
        raise click.ClickException(f"{exc or 'interrupted'}{hint}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2, default=str))
