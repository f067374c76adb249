"""Runs v1 calls on a core Client: arguments sorted by the method table -> one operation -> plain JSON.

The core builds, validates, sends (with its retry policy), maps errors and pages; this module only
sorts v1 arguments into a BoundCall, applies a slow endpoint's read timeout, turns Records and
Pages back into the plain dicts v1 returned, and re-raises transport failures as v1 ClientErrors.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .. import errors as core_errors
from ..client import Client
from ..core import PreparedRequest
from ..records import Page
from ..registry import Operation
from ..retry import RetryPolicy
from ..util.plain import to_plain
from .errors import TransportClientError, as_client_error
from .table import MethodSpec
from .url_conversion import MediaCache, UrlConversion

LIST_ALL_PAGE_SIZE = 100
T = TypeVar("T")

plain = to_plain  # Records and Pages as the builtin dicts and lists v1 returned


def v1_errors(step: Callable[[], T]) -> T:
    """Run one client step; transport failures become v1 ClientErrors."""
    try:
        return step()
    except TransportClientError:
        raise
    except core_errors.TransportError as exc:
        raise as_client_error(exc) from exc


def prepare(client: Client, op: Operation, *, path: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
            body: Any = None, headers: dict[str, Any] | None = None,
            read_timeout: float | None = None) -> PreparedRequest:
    """The request for ``op`` with these parts (validated when the client validates requests)."""
    request = client.build_request(op, path=path, query=query, headers=headers, body=body)
    request.read_timeout = read_timeout
    return request


def send(client: Client, request: PreparedRequest, *, paginated: bool = False,
         retry: RetryPolicy | None = None) -> Any:
    """Send one request on the client (its retry policy unless ``retry``); returns plain JSON."""
    return plain(v1_errors(lambda: client.send(request, paginated=paginated, retry=retry)))


def call(client: Client, op: Operation, *, path: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
         body: Any = None, timeout_read: float | None = None, paginated: bool = False) -> Any:
    """Send one operation; returns the plain JSON result (a page dict for a paginated one)."""
    request = prepare(client, op, path=path, query=query, body=body, read_timeout=timeout_read)
    return send(client, request, paginated=paginated)


def page_pair(client: Client, op: Operation, query: dict[str, Any], convert: Callable[[list[Any]], None],
              timeout_read: float | None) -> tuple[Iterator[Any], int | None]:
    """(generator over every item, total count): the first page is fetched now, the rest as the generator runs."""
    pages = client.paginate(prepare(client, op, query=query, read_timeout=timeout_read))
    first = v1_errors(lambda: next(pages))

    def items() -> Iterator[Any]:
        page: Page | None = first
        while page is not None:
            results = plain(page.results)
            convert(results)
            yield from results
            page = v1_errors(lambda: next(pages, None))

    return items(), first.count


def stream_lines(client: Client, op: Operation, request: PreparedRequest) -> Iterator[str]:
    """Each non-empty line of a streamed text reply, newline-terminated, as it arrives."""
    lines = client.iter_lines(request)
    while True:
        line = v1_errors(lambda: next(lines, None))
        if line is None:
            return
        yield line


def data_uri(value: Any) -> Any:
    """A file path as a base64 ``data:`` URI; anything else (an existing URI, text) unchanged."""
    if isinstance(value, str) and (value.startswith("data:") or not os.path.isfile(value)):
        return value
    if not isinstance(value, str | os.PathLike):
        return value
    path = Path(value)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{media_type};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def prepare_body(spec: MethodSpec, body: Any) -> Any:
    """Apply the table's body rules: wrap in a list, inline files as data: URIs, mark file parts."""
    if spec.body_as_list and isinstance(body, Mapping):
        body = [body]
    if spec.data_uri_fields and body is not None:
        items = body if isinstance(body, list) else [body]
        items = [{k: data_uri(v) if k in spec.data_uri_fields and v else v for k, v in item.items()}
                 if isinstance(item, Mapping) else item for item in items]
        body = items if isinstance(body, list) else items[0]
    if spec.multipart_files and isinstance(body, Mapping):
        body = {k: Path(v) if k in spec.multipart_files and isinstance(v, str) else v for k, v in body.items()}
    return body


def invoke(client: Client, op: Operation, spec: MethodSpec, arguments: dict[str, Any], media: MediaCache) -> Any:
    """Run one flat method: ``arguments`` are its bound parameters by name."""
    path: dict[str, Any] = {}
    query: dict[str, Any] = dict(spec.fixed_query)
    body: Any = None
    fields: dict[str, Any] = {}
    list_all = False
    given_conversion = None
    for name, target in spec.bind.items():
        value = arguments[name]
        kind, _, key = target.partition(".")
        if kind == "path":
            path[key] = value
        elif target == "query":
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"{spec.name}(): {name} must be a dict of query parameters, not {type(value).__name__}")
            query.update(value or {})
        elif target == "body":
            body = value
        elif kind == "body":
            fields[key] = value
        elif target == "list_all":
            list_all = bool(value)
        elif target == "url_conversion":
            given_conversion = value
    if fields:
        body = {**(body or {}), **fields}
    body = prepare_body(spec, body)
    conversion = UrlConversion.merge(spec.url_conversion, given_conversion)

    def convert(objects: list[Any]) -> None:
        if conversion is not None:
            media.convert(conversion, objects)

    if spec.returns == "lines":
        return stream_lines(client, op, prepare(client, op, path=path, query=query))
    if spec.returns == "paged_or_pair" and list_all:
        query.setdefault("page_size", LIST_ALL_PAGE_SIZE)
        return page_pair(client, op, query, convert if conversion and conversion.is_list else _keep,
                         spec.timeout_read)
    paginated = spec.returns in ("page", "paged_or_pair")
    result = call(client, op, path=path, query=query, body=body, timeout_read=spec.timeout_read,
                  paginated=paginated)
    if conversion is not None:
        results = op.pagination.results
        if conversion.is_list and isinstance(result, dict) and isinstance(result.get(results), list):
            convert(result[results])
        else:
            convert(result if isinstance(result, list) else [result])
    return result


def _keep(objects: list[Any]) -> None:
    return None
