"""``synapse-dyn api METHOD PATH``: the escape hatch for endpoints the schema does not describe."""

from __future__ import annotations

from typing import Any

import click

from ..util.urls import is_relative_path, origin
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
    if not is_relative_path(path):
        if origin(path) != origin(base_url):
            raise click.BadParameter(
                f"{path} is not on the configured host {'://'.join(origin(base_url))}; "
                "use a path like /v2/projects/", param_hint="'PATH'")
        return path
    return path if path.startswith("/") else "/" + path


def parse_headers(pairs: tuple[str, ...]) -> dict[str, str]:
    """``Name: value`` strings -> headers; credentials headers cannot be replaced this way."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, colon, value = pair.partition(":")
        if not colon or not name.strip():
            raise click.BadParameter(f"{pair!r} is not 'Name: value'", param_hint="'-H' / '--header'")
        out[name.strip()] = value.strip()
    return out


def parse_fields(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` body fields (gh's -f): the value as JSON when it parses, else as text."""
    import json

    fields: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="'-f' / '--field'")
        try:
            fields[key] = json.loads(value)
        except ValueError:
            fields[key] = value
    return fields


@click.command("api")
@click.argument("method", type=click.Choice(METHODS, case_sensitive=False))
@click.argument("path")
@click.option("--data", metavar="JSON|@FILE|-", help="Request body as JSON, @file.json, or - for stdin.")
@click.option("-f", "--field", "fields", multiple=True, metavar="KEY=VALUE",
              help="A body field (repeatable; JSON values like 3 or true are typed); merged over --data.")
@click.option("-q", "--param", "query", multiple=True, metavar="KEY=VALUE", help="Query parameter (repeatable).")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
              help="An extra request header (repeatable).")
@click.option("--paginate", is_flag=True, help="Follow the next-page links and print every item.")
@click.option("-i", "--include", is_flag=True, help="Print the response's status line and headers first.")
@click.pass_context
def api_command(ctx: click.Context, method: str, path: str, data: str | None, fields: tuple[str, ...],
                query: tuple[str, ...], headers: tuple[str, ...], paginate: bool, include: bool) -> None:
    """Call METHOD PATH on the backend with the configured credentials.

    The response is unwrapped from the {data, meta} envelope like any other call, and
    errors map to the usual exit codes; a body that is not JSON prints as it came. Example:

    \b
    synapse-dyn api GET /v2/projects/ -q per_page=5 -q category=image
    synapse-dyn api POST /v2/projects/ -f title=demo -f category=image -f configuration={}
    synapse-dyn api GET /v2/jobs/ --paginate -o ndjson
    """
    from . import output, safety
    from .params import load_body

    state = AppState.of(ctx)
    method = method.upper()
    params = parse_query(query)
    body = load_body(data, parse_fields(fields) or None)
    extra_headers = parse_headers(headers)
    if include:
        state.recorder = RecordingTransport()
    client = state.client()
    path = check_path(client.base_url, path)
    prepared = client.prepare_request(method, path, params=params, json=body)
    _add_headers(prepared, extra_headers)
    if state.options.dry_run or state.options.curl:
        safety.print_dry_run(state, prepared)
        return
    if method == "DELETE":
        safety.confirm(state, f"send {method} {safety.describe(prepared)['url']}")
    opts = output.options_for(state)
    with client.capture_request_ids():
        if paginate:
            output.stream(_every_item(client, prepared), opts)
        else:
            result = client.send(prepared)
            if include and state.recorder.last is not None:
                click.echo(state.recorder.head() + "\n")
            _print_result(result, opts)
        request_id = client.last_request_id
    if request_id:
        state.note(f"request_id={request_id}")


class RecordingTransport:
    """An httpx transport that keeps the status line and headers of the last response (for --include)."""

    def __init__(self) -> None:
        import httpx

        self.inner = httpx.HTTPTransport()
        self.last: Any = None

    def handle_request(self, request: Any) -> Any:
        self.last = self.inner.handle_request(request)
        return self.last

    def close(self) -> None:
        self.inner.close()

    def head(self) -> str:
        from .textsafe import escape_controls

        response = self.last
        lines = [f"{response.extensions.get('http_version', b'HTTP/1.1').decode()} {response.status_code} "
                 f"{response.extensions.get('reason_phrase', b'').decode()}".rstrip()]
        lines += [escape_controls(f"{name}: {value}") for name, value in response.headers.items()]
        return "\n".join(lines)


def _every_item(client: Any, prepared: Any) -> Any:
    """Items of every page, following the conventions' next links or cursors (on the same origin)."""
    for page in client.paginate(prepared):
        yield from page.results


def _add_headers(prepared: Any, extra: dict[str, str]) -> None:
    from ..auth import check_header_value

    protected = {name.lower() for name in prepared.headers}
    for name, value in extra.items():
        if name.lower() in protected:
            raise click.BadParameter(f"{name} is set by the client (credentials, tenant, content type); "
                                     "use the global options instead", param_hint="'-H' / '--header'")
        prepared.headers[name] = check_header_value(name, value)


def _print_result(result: Any, opts: Any) -> None:
    """A text body prints raw (as gh api does); anything else through the output format."""
    from . import output

    if isinstance(result, str | bytes) and opts.query is None:
        text = result.decode("utf-8", "replace") if isinstance(result, bytes) else result
        from .tables import styled
        from .textsafe import escape_controls

        click.echo(escape_controls(text).replace("\\n", "\n") if styled() else text, nl=not text.endswith("\n"))
        return
    output.emit(result, opts)
