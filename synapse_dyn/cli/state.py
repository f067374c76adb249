"""Per-invocation state: the global options, and the registry, config and client built on demand.

Nothing here is built before a command needs it, so ``--help`` never imports httpx or
touches the network, and a warm start reads the registry from its JSON cache.
"""

from __future__ import annotations

import os
import sys
import warnings
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from .globals import Connection, GlobalOptions, is_loopback, resolve_connection

if TYPE_CHECKING:
    from ..client import Client
    from ..registry import Registry
    from .config import Config

QUIET_WARNINGS = ("DriftResolvedWarning", "OverrideTargetMissingWarning")


class CliError(click.ClickException):
    """An expected failure: printed as one ``Error: ...`` line, exiting with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class AppState:
    """What every command of one invocation shares (``ctx.obj``)."""

    def __init__(self, options: GlobalOptions | None = None) -> None:
        self.options = options or GlobalOptions()
        self.built: list[str] = []  # resource groups and commands built, in order (cheap-help checks)
        self.allow_new_profile = False  # login may name a profile that does not exist yet
        self._client: Client | None = None
        self._sandbox: Any = None

    @staticmethod
    def of(ctx: click.Context) -> AppState:
        state = ctx.find_object(AppState)
        if state is None:  # a subcommand invoked on its own, e.g. in a test
            state = ctx.ensure_object(AppState)
        return state

    # -- schema -------------------------------------------------------------
    @cached_property
    def registry(self) -> Registry:
        """The registry of ``--schema`` / ``$SYNAPSE_DYN_SCHEMA`` / the bundled schema (SpecError if unusable)."""
        from ..spec import load_spec

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            registry = load_spec(self.options.schema)
        for item in caught:
            self.show_warning(item.message, item.category)
        return registry

    # -- output -------------------------------------------------------------
    @property
    def output_format(self) -> str:
        if self.options.output:
            return self.options.output
        return "table" if sys.stdout.isatty() else "json"

    def note(self, text: str) -> None:
        """A side remark on stderr (request id, next-page hint); silenced by --quiet."""
        if not self.options.quiet:
            click.echo(text, err=True)

    def show_warning(self, message: Any, category: type[Warning], *_: Any, **__: Any) -> None:
        """Print a warning as one line; drift-patch notices only with --debug."""
        if category.__name__ in QUIET_WARNINGS and not self.options.debug:
            return
        click.echo(f"Warning: {message}", err=True)

    # -- config and connection ---------------------------------------------
    @cached_property
    def config(self) -> Config:
        from .config import Config, permission_warning

        config = Config.load()
        warning = permission_warning(config.path)
        if warning:
            click.echo(f"Warning: {warning}", err=True)
        return config

    def connection(self) -> Connection:
        config = self.config
        name = config.active_name(self.options.profile)
        if self.options.profile and name not in config.profiles and not self.allow_new_profile:
            known = ", ".join(sorted(config.profiles)) or "none yet (run synapse-dyn login)"
            raise CliError(f"no profile named {name!r}; known profiles: {known}")
        return resolve_connection(self.options, name, config.profiles.get(name), os.environ)

    def client(self) -> Client:
        """The Client for this invocation (built once; closed when the command ends)."""
        if self._client is not None:
            return self._client
        from ..client import Client

        registry = self.registry
        if self.options.sandbox:
            kwargs = self._sandbox_kwargs()
        else:
            conn = self.connection()
            if not conn.host:
                raise CliError(
                    "no backend host: pass --host URL, set SYNAPSE_BACKEND_V2_HOST, or run synapse-dyn login"
                )
            kwargs = {"base_url": conn.host, "access_token": conn.access_token, "drf_token": conn.drf_token,
                      "tenant": conn.tenant, "allow_insecure": is_loopback(conn.host)}
        self._client = Client(schema=registry, validate_responses="warn", **kwargs)
        return self._client

    def _sandbox_kwargs(self) -> dict[str, Any]:
        try:
            from ..sandbox import open_default
        except ImportError as exc:
            raise CliError(f"--sandbox is not available in this installation ({exc})", exit_code=1) from None
        self._sandbox, given = open_default()
        kwargs = dict(given)
        kwargs.setdefault("allow_insecure", True)
        opts = self.options
        for key, value in (("tenant", opts.tenant), ("access_token", opts.token), ("drf_token", opts.drf_token)):
            if value:
                kwargs[key] = value
        return kwargs

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        closer = getattr(self._sandbox, "close", None)
        if callable(closer):
            closer()
        self._sandbox = None
