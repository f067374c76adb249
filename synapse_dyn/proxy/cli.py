"""``synapse-dyn proxy``: a validating pass-through proxy in front of a live backend (the drift radar)."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import click

from ..util.urls import is_loopback_host


def _status_line(stats: dict) -> str:
    top = ", ".join(f"{f['operation'] or '?'} {f['field'] or '<root>'} {f['kind']} x{f['count']}"
                    for f in stats["findings"][:3])
    return (f"[proxy] {stats['requests']} requests, {stats['validated']} validated, "
            f"{stats['distinct_findings']} distinct findings" + (f": {top}" if top else "")
            + (f"; {stats['skipped_too_large']} too large to validate" if stats["skipped_too_large"] else ""))


def _report_status(proxy: object, every: float, stop: threading.Event) -> None:
    last = ""
    while not stop.wait(every):
        line = _status_line(proxy.stats())  # type: ignore[attr-defined]
        if line != last:
            click.echo(line, err=True)
            last = line


@click.command("proxy")
@click.option("--upstream", required=True, help="The live backend's base URL, e.g. https://api.example.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (loopback by default).")
@click.option("--port", default=8780, show_default=True, type=click.IntRange(0, 65535), help="Port (0 = any free).")
@click.option("--schema", default=None, help="Schema to validate against: v2 (default), v1, a path or an https URL.")
@click.option("--overrides", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Overrides file to apply to the schema (default: the bundled one).")
@click.option("--drift-log", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append one JSON line per distinct finding here (for `schema drift-report`).")
@click.option("--samples", is_flag=True, help="Add a redacted sample (secrets masked) to each logged finding.")
@click.option("--max-body", type=click.IntRange(min=0), default=10 * 1024 * 1024, show_default=True,
              help="Bodies larger than this many bytes are streamed through unvalidated (and counted).")
@click.option("--status-every", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds between status lines on stderr when something changed (0 = none).")
@click.pass_context
def proxy_command(ctx: click.Context, upstream: str, host: str, port: int, schema: str | None,
                  overrides: str | None, drift_log: Path | None, samples: bool, max_body: int,
                  status_every: float) -> None:
    """Relay traffic to UPSTREAM unchanged and record where it disagrees with the schema.

    Findings so far: GET /__proxy__/stats on the proxy.
    """
    from ..spec import load_spec
    from .server import STATS_PATH, ValidationProxy

    options = getattr(ctx.find_root().obj, "options", None)
    schema = schema or getattr(options, "schema", None)  # the global --schema, when given before the command

    if not upstream.startswith(("http://", "https://")):
        raise click.BadParameter("expected an http(s) URL", param_hint="'--upstream'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry = load_spec(schema, overrides=overrides)
    proxy = ValidationProxy(upstream, registry, drift_log=drift_log, samples=samples, max_body=max_body)
    try:
        server = proxy.make_server(host, port)
    except OSError as exc:
        proxy.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if not is_loopback_host(host):
        click.echo(f"warning: listening on {host}, reachable from other machines", err=True)
    url = f"http://{host}:{server.server_address[1]}"
    click.echo(f"Validating proxy: {url} -> {proxy.upstream} ({registry.label} schema, "
               f"{len(registry.operations)} operations){'; log ' + str(drift_log) if drift_log else ''}")
    click.echo(f"Findings so far: {url}{STATS_PATH}  (Ctrl-C to stop)")
    stop = threading.Event()
    if status_every:
        threading.Thread(target=_report_status, args=(proxy, status_every, stop), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        click.echo("\nStopping.", err=True)
    finally:
        stop.set()
        server.server_close()
        proxy.close()
        click.echo(_status_line(proxy.stats()), err=True)
