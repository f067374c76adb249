"""``synapse-dyn sandbox``: serve the sandbox over HTTP, or run the demo walkthrough."""

from __future__ import annotations

from pathlib import Path

import click

from ..util.urls import is_loopback_host
from .demo import DEMO_EMAIL, DEMO_TENANT, ensure_demo_data, new_password, run_demo
from .faults import Faults
from .server import Limits
from .service import MAX_BODY, Sandbox


def _statuses(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        statuses = tuple(int(s) for s in value.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of HTTP statuses, e.g. 500,502,503") from None
    if not statuses or any(not 400 <= s <= 599 for s in statuses):
        raise click.BadParameter("statuses must be between 400 and 599")
    return statuses


@click.group("sandbox")
def sandbox_group() -> None:
    """A local Synapse-compatible backend driven by the schema."""


@sandbox_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port (0 = any free).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file (default: in memory).")
@click.option("--schema", default=None, help="Schema to serve: v2 (default), v1, agent, ray, or a path.")
@click.option("--demo-data", is_flag=True, help="Seed the demo user, tenant, token and tasks.")
@click.option("--latency", type=click.FloatRange(min=0), default=0.0, help="Seconds added to every request.")
@click.option("--jitter", type=click.FloatRange(min=0), default=0.0, help="Up to this many more seconds.")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of requests that fail.")
@click.option("--error-statuses", default="500,502,503", show_default=True, callback=_statuses,
              help="Statuses failing requests get.")
@click.option("--rate-limit-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of requests answered 429.")
@click.option("--retry-after", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Retry-After seconds on 429.")
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Share of requests whose connection is closed without an answer.")
@click.option("--seed", type=int, default=None, help="Random seed, for reproducible faults.")
@click.option("--max-body", type=click.IntRange(min=1), default=MAX_BODY, show_default=True,
              help="Largest request body in bytes (413 above).")
@click.option("--idle-timeout", type=click.FloatRange(min=0.1), default=Limits.idle_timeout, show_default=True,
              help="Seconds before an idle connection is closed.")
@click.option("--max-connections", type=click.IntRange(min=1), default=Limits.max_connections, show_default=True,
              help="Connections served at once (503 beyond).")
@click.option("--quiet", is_flag=True, help="Do not log each request.")
def serve(host: str, port: int, db: Path | None, schema: str | None, demo_data: bool, latency: float,
          jitter: float, error_rate: float, error_statuses: tuple[int, ...], rate_limit_rate: float,
          retry_after: float, drop_rate: float, seed: int | None, max_body: int, idle_timeout: float,
          max_connections: int, quiet: bool) -> None:
    """Serve the sandbox over HTTP until Ctrl-C."""
    from .server import SandboxServer

    faults = Faults(latency=latency, jitter=jitter, error_rate=error_rate, error_statuses=error_statuses,
                    rate_limit_rate=rate_limit_rate, retry_after=retry_after, drop_rate=drop_rate, seed=seed)
    sandbox = Sandbox(schema, db=db, faults=faults, max_body=max_body)
    password = new_password() if demo_data else None
    token = ensure_demo_data(sandbox, password=password) if demo_data else None
    limits = Limits(idle_timeout=idle_timeout, max_connections=max_connections)
    try:
        server = SandboxServer(sandbox, host, port, limits=limits,
                               access_log=None if quiet else lambda line: click.echo(line, err=True))
    except OSError as exc:
        sandbox.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if not is_loopback_host(host):
        click.echo(f"warning: listening on {host}, reachable from other machines; the sandbox is for local use",
                   err=True)
    where = str(db) if db else "memory"
    click.echo(f"Synapse sandbox: {sandbox.registry.label} schema, {len(sandbox.registry.operations)} operations, "
               f"db {where}")
    click.echo(f"Listening on {server.url}  (Ctrl-C to stop)")
    if token:
        click.echo(f"Demo user {DEMO_EMAIL} / {password}, tenant {DEMO_TENANT!r}  (password made for this run)")
        click.echo(f"Access token: {token}")
    if faults.active:
        click.echo(f"Faults: {faults}")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        click.echo("\nStopping.", err=True)
    finally:
        server.server_close()
        sandbox.close()


@sandbox_group.command("demo")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file (default: in memory).")
@click.option("--tasks", type=click.IntRange(1, 1000), default=25, show_default=True, help="Tasks to create.")
@click.option("--per-page", type=click.IntRange(1, 100), default=10, show_default=True, help="Page size.")
def demo(db: Path | None, tasks: int, per_page: int) -> None:
    """Walk through login, access token, data, pagination and permissions against a sandbox."""
    run_demo(click.echo, db=db, tasks=tasks, per_page=per_page)
