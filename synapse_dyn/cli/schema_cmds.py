"""``synapse-dyn schema ...``: sync, diff, inventory, check-overrides and drift-report."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import click

from . import exitcodes
from .state import AppState, CliError


@click.group("schema")
def schema_group() -> None:
    """Maintain the OpenAPI document the commands are built from."""


@schema_group.command("sync")
@click.option("--url", required=True, help="Where to download the schema (https).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write it (default: the bundled v2 schema).")
@click.option("--allow-insecure", is_flag=True, help="Allow a plain http URL.")
@click.option("--lenient", is_flag=True,
              help="Write the schema even when openapi-spec-validator reports problems (it must still load).")
def schema_sync(url: str, out: Path | None, allow_insecure: bool, lenient: bool) -> None:
    """Download a schema, check that it loads (and passes openapi-spec-validator), write it atomically."""
    from ..schema_tools import sync_schema
    from ..spec import schema_path

    if url.startswith("http://") and not allow_insecure:
        raise click.BadParameter("plain http is refused; use https or pass --allow-insecure", param_hint="'--url'")
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("expected an http(s) URL", param_hint="'--url'")
    target = out or schema_path("v2")
    result = sync_schema(url, target, allow_insecure=allow_insecure, strict=not lenient)
    for problem in result.problems:
        click.echo(f"Warning: openapi-spec-validator: {problem}", err=True)
    click.echo(f"wrote {result.path} ({result.operations} operations, sha256 {result.sha256[:16]}, "
               f"openapi-spec-validator: {result.validator})")


@schema_group.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
@click.option("--overrides", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Apply this overrides file to both schemas (default: compare them as published).")
@click.pass_context
def schema_diff(ctx: click.Context, old: str, new: str, as_json: bool, overrides: str | None) -> None:
    """Operations added, removed and changed from OLD to NEW (paths, URLs, or v2)."""
    from ..schema_tools import diff_registries
    from ..spec import load_spec
    from .output import to_json, to_yaml

    state = AppState.of(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = load_spec(old, overrides=overrides or False)
        after = load_spec(new, overrides=overrides or False)
    diff = diff_registries(before, after)
    fmt = "json" if as_json else (state.options.output or "table")
    if fmt in ("json", "ndjson"):
        click.echo(to_json(diff.to_dict()))
    elif fmt == "yaml":
        click.echo(to_yaml(diff.to_dict()), nl=False)
    else:
        _print_diff_table(diff, old, new)


def _print_diff_table(diff: Any, old: str, new: str) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .tables import console

    if diff.is_empty():
        click.echo(f"no operation changes between {old} and {new}")
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold",
                  title=f"{old} -> {new}: {len(diff.added)} added, {len(diff.removed)} removed, "
                        f"{len(diff.changed)} changed")
    table.add_column("change", no_wrap=True)
    table.add_column("operation", no_wrap=True)
    table.add_column("details", overflow="fold")
    for ref in diff.added:
        table.add_row(Text("added"), Text(ref.name), Text(f"{ref.method} {ref.path}"))
    for ref in diff.removed:
        table.add_row(Text("removed"), Text(ref.name), Text(f"{ref.method} {ref.path}"))
    for change in diff.changed:
        table.add_row(Text("changed"), Text(change.name), Text("\n".join(_change_lines(change))))
    console().print(table)


def _change_lines(change: Any) -> list[str]:
    lines = []
    if change.renamed_from:
        lines.append(f"renamed from {change.renamed_from}")
    if change.method:
        lines.append(f"method {change.method[0]} -> {change.method[1]}")
    if change.path:
        lines.append(f"path {change.path[0]} -> {change.path[1]}")
    for label, attr in (("parameters", "parameters"), ("body fields", "body_fields"),
                        ("response fields", "response_fields")):
        for sign, suffix in (("+", "added"), ("-", "removed")):
            names = getattr(change, f"{attr}_{suffix}")
            if names:
                lines.append(f"{sign} {label}: {', '.join(names)}")
    return lines


@schema_group.command("inventory")
@click.argument("schema", required=False)
@click.pass_context
def schema_inventory(ctx: click.Context, schema: str | None) -> None:
    """Every resource and verb with its method, path and summary (default: the active schema)."""
    from ..schema_tools import inventory_rows
    from ..spec import load_spec
    from .operations import cli_name
    from .output import emit

    state = AppState.of(ctx)
    registry = load_spec(schema) if schema else state.registry
    rows = [{**row, "resource": " ".join(cli_name(p) for p in row["resource"].split(".")),
             "verb": cli_name(row["verb"])} for row in inventory_rows(registry)]
    emit(rows, state.output_format, columns=["resource", "verb", "method", "path", "summary"], note=state.note)


@schema_group.command("check-overrides")
@click.option("--overrides", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Overrides file to check (default: the bundled one for the schema).")
@click.pass_context
def schema_check_overrides(ctx: click.Context, overrides: str | None) -> None:
    """Check that every override patch still applies to the schema (global --schema, else the active one).

    Exits 11 when a patch's drift is gone from the schema (remove the patch) or its
    target is missing (fix the patch).
    """
    from ..spec import load_spec

    state = AppState.of(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry = load_spec(state.options.schema, overrides=overrides or None, cache=False)
    report = registry.report
    for text in report.resolved:
        click.echo(f"resolved (remove the patch): {text}")
    for text in report.missing:
        click.echo(f"missing (fix the patch): {text}")
    if report.resolved or report.missing:
        raise CliError(f"{len(report.resolved)} resolved and {len(report.missing)} missing override(s) "
                       f"for {registry.label}", exitcodes.SCHEMA)
    click.echo(f"all {len(report.applied)} patches apply to {registry.label}")


@schema_group.command("drift-report")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the proposed overrides here instead of stdout.")
def schema_drift_report(path: str, out: Path | None) -> None:
    """Turn a drift log (recorded with drift_log=...) into proposed override patches (YAML)."""
    try:
        from ..drift import propose_overrides
    except ImportError as exc:
        raise CliError(f"drift reports need synapse_dyn.drift, which is not available ({exc})",
                       exitcodes.OTHER) from None
    from .output import to_yaml

    text = to_yaml(propose_overrides(path))
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    click.echo(f"wrote {out}", err=True)
