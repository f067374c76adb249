"""Exit codes of ``synapse-dyn``: one per kind of failure, so scripts can branch on them.

=====  ============  ==============================================================
code   name          meaning
=====  ============  ==============================================================
0      OK            success (also: ``--dry-run`` printed the request)
1      OTHER         any other failure: an unexpected error, an unmapped HTTP status,
                     a declined confirmation prompt
2      USAGE         bad command line or configuration: unknown resource, verb or
                     option, a value of the wrong type, malformed ``--data``, no host,
                     a DELETE without ``--yes`` when stdin is not a terminal
3      VALIDATION    the request is invalid: rejected by the schema before sending,
                     or by the backend with 400 / 422
4      AUTH          401: missing or invalid credentials (run ``synapse-dyn login``)
5      FORBIDDEN     403: the credentials may not do this (or the tenant is wrong)
6      NOT_FOUND     404
7      CONFLICT      409
8      RATE_LIMITED  429, after the client's own retries
9      SERVER        5xx, after the client's own retries
10     TRANSPORT     no usable response: connection refused, timeout, broken or
                     malformed response
11     SCHEMA        the OpenAPI document or an overrides file cannot be used, or
                     ``schema check-overrides`` found stale or missing patches
130    INTERRUPTED   Ctrl-C
=====  ============  ==============================================================

Every failure prints one line to stderr (``Error: NotFoundError 404 NOT_FOUND: ...
(request_id=...)``); ``--debug`` adds the traceback.
"""

from __future__ import annotations

from typing import Any

import click

from .. import errors

OK = 0
OTHER = 1
USAGE = 2
VALIDATION = 3
AUTH = 4
FORBIDDEN = 5
NOT_FOUND = 6
CONFLICT = 7
RATE_LIMITED = 8
SERVER = 9
TRANSPORT = 10
SCHEMA = 11
INTERRUPTED = 130

_BY_CLASS: tuple[tuple[type[BaseException], int], ...] = (
    (errors.ValidationError, VALIDATION),
    (errors.AuthenticationError, AUTH),
    (errors.AuthorizationError, FORBIDDEN),
    (errors.NotFoundError, NOT_FOUND),
    (errors.ConflictError, CONFLICT),
    (errors.RateLimitError, RATE_LIMITED),
    (errors.ServerError, SERVER),
    (errors.TransportError, TRANSPORT),
    (errors.SpecError, SCHEMA),
    (errors.UnknownNameError, USAGE),
    (errors.UnknownArgumentError, USAGE),
    (errors.ConfigurationError, USAGE),
)


class CliError(click.ClickException):
    """An expected failure: printed as one ``Error: ...`` line, exiting with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        from .textsafe import escape_controls

        click.echo(f"Error: {escape_controls(self.format_message())}", err=True)


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an exception (most specific class first)."""
    for cls, code in _BY_CLASS:
        if isinstance(exc, cls):
            return code
    return OTHER


def error_line(exc: BaseException) -> str:
    """The one-line message for an exception; a ClientError's ``str`` already names its class."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if isinstance(exc, errors.ClientError):
        return f"Error: {text}"
    return f"Error: {type(exc).__name__}: {text}" if text else f"Error: {type(exc).__name__}"
