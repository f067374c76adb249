"""``synapse-dyn stubs``: write typing stubs for the loaded schema (or regenerate the bundled ones)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import click

from .package import STUB_PACKAGE, stale_bundled, stubs_for, write_bundled, write_package

EXIT_STALE = 11  # the CLI's exit code for an unusable schema or stale schema artefacts (cli/exitcodes.SCHEMA)


@click.command("stubs")
@click.option("--schema", "source", default=None,
              help="Schema to type: a path, an https URL, v2 or v1 (default: the CLI's active schema).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("typings"), show_default=True,
              help=f"Directory that receives the stub-only package {STUB_PACKAGE}/.")
@click.option("--bundled", is_flag=True, help="Regenerate the stubs shipped inside the package (a release step).")
@click.option("--check", is_flag=True, help="With --bundled: exit 11 when the shipped stubs are stale; write nothing.")
@click.pass_context
def stubs_command(ctx: click.Context, source: str | None, out: Path, bundled: bool, check: bool) -> None:
    """Write PEP 561 typing stubs for a schema, so editors complete and mypy / pyright check client calls.

    The stubs ship for the bundled v2 and v1 schemas; for another schema (a synced one,
    a newer release) write OUT/synapse_dyn-stubs and put OUT on the checker's path
    (PYTHONPATH=OUT). They are typing data only: nothing imports them at run time.
    """
    if check and not bundled:
        raise click.UsageError("--check goes with --bundled")
    if bundled:
        _bundled(ctx, check)
        return
    started = time.perf_counter()
    registry = _registry(ctx, source)
    package = write_package(stubs_for(registry), out)
    click.echo(f"wrote {describe(package)} for {registry.label} in {time.perf_counter() - started:.2f} s")
    click.echo(f"use it: PYTHONPATH={out} mypy your_script.py (pyright reads PYTHONPATH too)", err=True)


def _registry(ctx: click.Context, source: str | None) -> Any:
    """``--schema``, else the schema the CLI runs with (global --schema, $SYNAPSE_DYN_SCHEMA, a synced one)."""
    state = ctx.find_root().obj
    if source is None and hasattr(state, "registry"):
        return state.registry
    from ..spec import load_spec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_spec(source)


def _bundled(ctx: click.Context, check: bool) -> None:
    if check:
        stale = stale_bundled()
        if stale:
            click.echo(f"Error: stale stubs: {', '.join(stale)}; run synapse-dyn stubs --bundled", err=True)
            ctx.exit(EXIT_STALE)
        click.echo("the bundled stubs match the bundled schemas")
        return
    written = write_bundled()
    click.echo("wrote " + ", ".join(str(p) for p in written))


def describe(package: Path) -> str:
    """``DIR/synapse_dyn-stubs (4 files, 210 KB)``."""
    files = [p for p in package.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    return f"{package} ({len(files)} files, {size / 1024:.0f} KB)"


def stubs_after_sync(state: Any, path: Path) -> Path | None:
    """After ``schema sync``: stubs for the synced schema beside it (``<dir>/typings``), and a note saying where.

    A schema the client can load but the stubs cannot describe leaves the sync done: the note says so.
    """
    from ..spec import load_spec

    out = path.parent / "typings"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            package = write_package(stubs_for(load_spec(path)), out)
    except Exception as exc:  # the schema is synced either way; the stubs are a convenience
        state.note(f"typing stubs not written for this schema: {type(exc).__name__}: {str(exc)[:200]}")
        return None
    state.note(f"typing stubs for this schema: {package} (type checkers: PYTHONPATH={out})")
    return package
