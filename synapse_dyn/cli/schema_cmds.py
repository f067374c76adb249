"""``synapse-dyn schema ...``: sync, diff, inventory, check-overrides and drift-report."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from ..util.atomic import write_atomic
from . import exitcodes
from .state import AppState, CliError


@click.group("schema")
def schema_group() -> None:
    """Maintain the OpenAPI document the commands are built from."""


@schema_group.command("sync")
@click.option("--url", required=True, help="Where to download the schema (https; http needs --allow-insecure).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write it (default: the user data dir, which the CLI then uses).")
@click.option("--strict", is_flag=True, help="Fail (exit 11) on validator findings the bundled overrides leave.")
@click.pass_context
def schema_sync(ctx: click.Context, url: str, out: Path | None, strict: bool) -> None:
    """Download a schema, report validator findings, check it loads with the bundled overrides, write it.

    The file is written as published, atomically, to the user data dir
    ($SYNAPSE_DYN_DATA_DIR overrides); from then on the CLI builds its commands from it
    unless --schema or $SYNAPSE_DYN_SCHEMA says otherwise. A refused connection exits 10,
    an unusable schema 11.
    """
    from .datadir import synced_path
    from .schema_sync import after_sync, sync

    state = AppState.of(ctx)
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("expected an http(s) URL", param_hint="'--url'")
    if url.startswith("http://") and not state.options.allow_insecure:
        raise click.BadParameter("plain http is refused; use https or pass --allow-insecure", param_hint="'--url'")
    report = sync(url, out or synced_path(), allow_insecure=state.options.allow_insecure)
    for finding in report.fixed:
        click.echo(f"finding (fixed by the bundled overrides): {finding}", err=True)
    for finding in report.remaining:
        click.echo(f"finding: {finding}", err=True)
    if strict and report.remaining:
        raise CliError(f"{len(report.remaining)} validator finding(s) remain after the bundled overrides "
                       f"(--strict); nothing was written", exitcodes.SCHEMA)
    report.write()
    click.echo(f"wrote {report.target} ({report.operations} operations, sha256 {report.sha256[:16]}; "
               f"{len(report.fixed)} finding(s) fixed by overrides, {len(report.remaining)} remaining)")
    if out is None:
        state.note("The CLI now builds its commands from this schema (unless --schema or SYNAPSE_DYN_SCHEMA).")
    after_sync(state, report.target)


@schema_group.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
@click.option("--overrides", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Apply this overrides file to both schemas (default: compare them as published).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the schemas differ (as git diff --exit-code).")
@click.pass_context
def schema_diff(ctx: click.Context, old: str, new: str, as_json: bool, overrides: str | None,
                exit_code: bool) -> None:
    """Operations added, removed and changed from OLD to NEW (paths, URLs, or v2).

    Operations are named both ways: the CLI's words (projects tags list) and Python's
    (projects.tags.list).
    """
    from ..schema_tools import diff_registries
    from ..spec import load_spec
    from .output import to_json, to_yaml

    state = AppState.of(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = load_spec(old, overrides=overrides or False, allow_insecure=state.options.allow_insecure)
        after = load_spec(new, overrides=overrides or False, allow_insecure=state.options.allow_insecure)
    diff = diff_registries(before, after)
    fmt = "json" if as_json else state.output_format
    if fmt in ("json", "ndjson"):
        click.echo(to_json(_with_cli_names(diff.to_dict())))
    elif fmt == "yaml":
        click.echo(to_yaml(_with_cli_names(diff.to_dict())), nl=False)
    else:
        _print_diff_table(diff, old, new)
    if exit_code and not diff.is_empty():
        ctx.exit(1)


def command_words(python_name: str) -> str:
    """``projects.tags.list`` -> ``projects tags list`` (the words typed on the command line)."""
    from .operations import cli_name

    return " ".join(cli_name(part) for part in python_name.split("."))


def _with_cli_names(data: dict[str, Any]) -> dict[str, Any]:
    for entries in data.values():
        for entry in entries:
            entry["command"] = command_words(entry["name"])
    return data


def _print_diff_table(diff: Any, old: str, new: str) -> None:
    """Plain rows: change, command words, Python name, details (one line per detail)."""
    from .tables import print_rows

    if diff.is_empty():
        click.echo(f"no operation changes between {old} and {new}")
        return
    click.echo(f"{old} -> {new}: {len(diff.added)} added, {len(diff.removed)} removed, "
               f"{len(diff.changed)} changed")
    rows = [{"change": kind, "command": command_words(ref.name), "python": ref.name,
             "details": f"{ref.method} {ref.path}"} for kind, refs in (("added", diff.added),
                                                                      ("removed", diff.removed)) for ref in refs]
    rows += [{"change": "changed", "command": command_words(c.name), "python": c.name,
              "details": "; ".join(_change_lines(c))} for c in diff.changed]
    print_rows(rows, ["change", "command", "python", "details"])


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
    from .output import show

    state = AppState.of(ctx)
    registry = load_spec(schema) if schema else state.registry
    rows = [{**row, "resource": " ".join(cli_name(p) for p in row["resource"].split(".")),
             "verb": cli_name(row["verb"]), "python": f"{row['resource']}.{row['verb']}"}
            for row in inventory_rows(registry)]
    show(state, rows, ["resource", "verb", "python", "method", "path", "summary"])


@schema_group.command("check-overrides")
@click.option("--overrides", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Overrides file to check (default: the bundled one for the schema).")
@click.option("--examples", is_flag=True, help="Also validate every example in the schema against its own schema.")
@click.pass_context
def schema_check_overrides(ctx: click.Context, overrides: str | None, examples: bool) -> None:
    """Check that every override patch still applies to the schema (global --schema, else the active one).

    Exits 11 when a patch's drift is gone from the schema (remove the patch) or its
    target is missing (fix the patch), or with --examples when an example disagrees with its schema.
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
    found = []
    if examples:
        from ..schema_tools import check_examples

        found = check_examples(registry)
        for finding in found:
            click.echo(f"example disagrees with its schema: {finding.line()}")
    if report.resolved or report.missing or found:
        raise CliError(f"{len(report.resolved)} resolved and {len(report.missing)} missing override(s)"
                       + (f", {len(found)} example disagreement(s)" if examples else "")
                       + f" for {registry.label}", exitcodes.SCHEMA)
    skipped = f" ({len(report.not_applicable)} not applicable to this schema family)" if report.not_applicable else ""
    click.echo(f"all {len(report.applied)} patches apply to {registry.label}{skipped}"
               + ("; every example matches its schema" if examples else ""))


@schema_group.command("drift-report")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the proposed overrides here instead of stdout.")
def schema_drift_report(path: str, out: Path | None) -> None:
    """Turn a drift log into proposed override patches (YAML).

    Record a log from the CLI with the global --drift-log FILE (or Client(drift_log=FILE)).
    """
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
    write_atomic(out, text, mode=0o644)
    click.echo(f"wrote {out}", err=True)
