"""``synapse-dyn api METHOD PATH``: the escape hatch for endpoints the schema does not describe."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import click

from .state import AppState

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def parse_query(pairs: tuple[str, ...]) -> list[tuple[str, str]]:
    """``key=value`` strings -> query pairs (repeats allowed); a pair without '=' is a usage error."""
    out = []
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="'-q' / '--query'")
        out.append((key, value))
    return out


def check_path(base_url: str, path: str) -> str:
    """A path on the configured host; an absolute URL must have the same origin (tokens go with it)."""
    if path.startswith(("http://", "https://")):
        target, base = urlsplit(path), urlsplit(base_url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise click.BadParameter(
                f"{path} is not on the configured host {base.scheme}://{base.netloc}; "
                "use a path like /v2/projects/", param_hint="'PATH'")
        return path
    return path if path.startswith("/") else "/" + path


@click.command("api")
@click.argument("method", type=click.Choice(METHODS, case_sensitive=False))
@click.argument("path")
@click.option("--data", metavar="JSON|@FILE|-", help="Request body as JSON, @file.json, or - for stdin.")
@click.option("-q", "--query", "query", multiple=True, metavar="KEY=VALUE", help="Query parameter (repeatable).")
@click.pass_context
def api_command(ctx: click.Context, method: str, path: str, data: str | None, query: tuple[str, ...]) -> None:
    """Call METHOD PATH on the backend with the configured credentials.

    The response is unwrapped from the {data, meta} envelope like any other call, and
    errors map to the usual exit codes. Example:

    \b
    synapse-dyn api GET /v2/projects/ -q per_page=5 -q category=image
    """
    from . import output, safety
    from .params import load_body

    state = AppState.of(ctx)
    method = method.upper()
    params = parse_query(query)
    body = load_body(data)
    client = state.client()
    path = check_path(client.base_url, path)
    if state.options.dry_run or method == "DELETE":
        description = describe_raw(client, method, path, params, body)
        if state.options.dry_run:
            safety.print_dry_run(state, description)
            return
        safety.confirm(state, f"send {method} {description['url']}")
    with client.capture_request_ids():
        result = client.request(method, path, params=params, json=body)
        request_id = client.last_request_id
    output.emit(result, state.output_format, note=state.note)
    if request_id:
        state.note(f"request_id={request_id}")


def describe_raw(client: Any, method: str, path: str, params: list[tuple[str, str]], body: Any) -> dict[str, Any]:
    """What ``client.request`` would send, tokens masked."""
    return client.prepare_request(method, path, params=params, json=body).describe()
