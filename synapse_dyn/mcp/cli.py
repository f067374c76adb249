"""``synapse-dyn mcp``: serve the loaded schema's operations as MCP tools, over stdio or HTTP.

The connection comes from the CLI's global options and profiles (``--schema``, ``--profile``,
``--host``, ``--token``, ``--sandbox``, ...), exactly as for any other command.
"""

from __future__ import annotations

import logging
import sys

import click

from ..cli.state import AppState, CliError
from ..util.urls import is_loopback_url
from .policy import DEFAULT_MAX_TOOLS, Policy, PolicyError


def _policy(allow_writes: bool, allow_deletes: bool, allow: tuple[str, ...], deny: tuple[str, ...],
            tools: str) -> Policy:
    if tools == "all":
        cap = None
    else:
        try:
            cap = int(tools)
        except ValueError:
            raise CliError(f"--tools must be a number or 'all', got {tools!r}") from None
    return Policy(allow_writes=allow_writes, allow_deletes=allow_deletes, allow=allow, deny=deny, max_tools=cap)


def _configure_logging(ctx: click.Context, state: AppState) -> None:
    """One line per call on stderr (stdout is the protocol); --quiet keeps warnings only."""
    logger = logging.getLogger("synapse_dyn.mcp")
    if state.options.debug:
        return  # the root command already routes synapse_dyn.* to stderr at DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if state.options.quiet else logging.INFO)
    logger.propagate = False

    def undo() -> None:
        logger.removeHandler(handler)
        logger.level, logger.propagate = previous

    ctx.call_on_close(undo)


@click.command("mcp")
@click.option("--http", "port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help="Serve streamable HTTP on PORT (0 = any free) instead of stdio.")
@click.option("--bind", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="Interface for --http; anything but loopback exposes your credentials' reach.")
@click.option("--allow-writes", is_flag=True, help="Expose POST, PUT and PATCH operations (read-only otherwise).")
@click.option("--allow-deletes", is_flag=True, help="Expose DELETE operations.")
@click.option("--allow", multiple=True, metavar="PATTERN",
              help="Expose only matching operations: resource, resource.verb or a glob (repeatable).")
@click.option("--deny", multiple=True, metavar="PATTERN", help="Never expose matching operations (repeatable).")
@click.option("--tools", default=str(DEFAULT_MAX_TOOLS), show_default=True, metavar="N|all",
              help="Most tools to list, search_operations and call_operation included; they reach the rest.")
@click.pass_context
def mcp_command(ctx: click.Context, port: int | None, bind: str, allow_writes: bool, allow_deletes: bool,
                allow: tuple[str, ...], deny: tuple[str, ...], tools: str) -> None:
    """Serve every operation of the loaded schema as an MCP tool (stdio, or --http PORT).

    \b
    synapse-dyn mcp --sandbox                      # try it against the local sandbox
    synapse-dyn mcp --profile prod --allow projects --allow tasks
    synapse-dyn mcp --allow-writes --deny '*.invite' --http 8808
    """
    import anyio

    from .catalog import Catalog
    from .server import create_server, serve_http, serve_stdio

    state = AppState.of(ctx)
    policy = _policy(allow_writes, allow_deletes, allow, deny, tools)
    try:
        policy.check_patterns(state.registry)
    except PolicyError as exc:
        raise CliError(str(exc)) from None
    client = state.client()
    catalog = Catalog(client.registry, policy)
    _configure_logging(ctx, state)
    server = create_server(client, catalog)
    mode = ", ".join(["reads"] + ["writes"] * allow_writes + ["deletes"] * allow_deletes)
    summary = (f"{len(catalog.listed) + 2} tools listed, {len(catalog.specs)} operations reachable "
               f"({mode if mode != 'reads' else 'read-only'}, schema {client.registry.label})")
    if port is None:
        state.note(f"synapse-dyn MCP server on stdio: {summary}")
        anyio.run(serve_stdio, server)
        return
    if not is_loopback_url(f"http://{bind}/"):
        click.echo(f"Warning: --bind {bind} is not loopback: anyone who reaches it acts with these credentials",
                   err=True)
    serve_http(server, bind, port, lambda url: click.echo(f"synapse-dyn MCP server at {url}: {summary}", err=True))
