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

from ..util.urls import is_loopback_url
from .exitcodes import CliError
from .globals import (
    OUTPUT_ENV,
    OUTPUT_FORMATS,
    OVERRIDES_ENV,
    PROFILE_ENV,
    Connection,
    GlobalOptions,
    resolve_connection,
)

if TYPE_CHECKING:
    from ..client import Client
    from ..registry import Registry
    from .config import Config

QUIET_WARNINGS = ("DriftResolvedWarning", "OverrideTargetMissingWarning")


class AppState:
    """What every command of one invocation shares (``ctx.obj``)."""

    def __init__(self, options: GlobalOptions | None = None) -> None:
        self.options = options or GlobalOptions()
        self.built: list[str] = []  # resource groups and commands built, in order (cheap-help checks)
        self.allow_new_profile = False  # login may name a profile that does not exist yet
        self.stdin_taken: str | None = None  # which option already read stdin
        self.recorder: Any = None  # api --include: a transport that keeps the last response's head
        self._client: Client | None = None
        self._sandbox: Any = None
        self._logging = False

    @staticmethod
    def of(ctx: click.Context) -> AppState:
        state = ctx.find_object(AppState)
        if state is None:  # a subcommand invoked on its own, e.g. in a test
            state = ctx.ensure_object(AppState)
        return state

    def set_option(self, ctx: click.Context, attr: str, value: Any) -> None:
        """Record one global option; ``--schema`` after the commands were built is refused."""
        if attr in ("schema", "overrides") and "registry" in self.__dict__ and value != getattr(self.options, attr):
            raise click.UsageError(f"--{attr} must come before the command (its commands were already built "
                                   "from another schema)", ctx)
        setattr(self.options, attr, value)
        self.options.given.add(attr)
        if attr == "debug":
            self._configure_logging(ctx)

    def read_stdin_once(self, what: str) -> str:
        """One line of stdin for ``what``; two options cannot both read it."""
        if self.stdin_taken:
            raise CliError(f"{what} and {self.stdin_taken} both read stdin; give one of them another way")
        self.stdin_taken = what
        return sys.stdin.readline().rstrip("\r\n")

    # -- schema -------------------------------------------------------------
    @cached_property
    def registry(self) -> Registry:
        """The registry of ``--schema`` / ``$SYNAPSE_DYN_SCHEMA`` / a synced schema / the bundled one,
        patched by ``--overrides`` / ``$SYNAPSE_DYN_OVERRIDES`` (else the bundled overrides)."""
        from ..spec import load_spec

        source = self.options.schema
        overrides: Any = self.options.overrides or os.environ.get(OVERRIDES_ENV) or None
        if source is None and not os.environ.get("SYNAPSE_DYN_SCHEMA"):
            from ..spec import default_overrides_for
            from .datadir import synced_schema

            synced = synced_schema()
            if synced:  # a synced release gets the bundled v2 overrides, as the bundled schema does
                source, overrides = str(synced), overrides or default_overrides_for({})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            registry = load_spec(source, overrides=overrides, allow_insecure=self.options.allow_insecure)
        for item in caught:
            self.show_warning(item.message, item.category)
        return registry

    # -- output -------------------------------------------------------------
    @property
    def output_format(self) -> str:
        """-o, else $SYNAPSE_DYN_OUTPUT, else ``config set output``, else table on a terminal and json when piped."""
        if self.options.output:
            return self.options.output
        chosen = os.environ.get(OUTPUT_ENV) or self.config.defaults.get("output")
        if chosen:
            if chosen not in OUTPUT_FORMATS:
                raise CliError(f"{OUTPUT_ENV} (or the output default) is {chosen!r}; valid: "
                               f"{', '.join(OUTPUT_FORMATS)}")
            return chosen
        return "table" if sys.stdout.isatty() else "json"

    def note(self, text: str) -> None:
        """A side remark on stderr (request id, next-page hint); silenced by --quiet."""
        if not self.options.quiet:
            click.echo(text, err=True)

    def show_warning(self, message: Any, category: type[Warning], *_: Any, **__: Any) -> None:
        """Print a warning as one line; drift-patch notices only with --debug."""
        if category.__name__ in QUIET_WARNINGS and not self.options.debug:
            return
        from .textsafe import escape_controls

        text = str(message).replace("allow_insecure silences this", "--allow-insecure silences this")
        click.echo(f"Warning: {escape_controls(text)}", err=True)

    def _configure_logging(self, ctx: click.Context) -> None:
        if self._logging:
            return
        import logging

        self._logging = True
        logger = logging.getLogger("synapse_dyn")
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        previous = logger.level
        logger.setLevel(logging.DEBUG)

        def undo() -> None:
            logger.removeHandler(handler)
            logger.setLevel(previous)
            self._logging = False

        ctx.find_root().call_on_close(undo)

    # -- config and connection ---------------------------------------------
    @cached_property
    def config(self) -> Config:
        from .config import Config, permission_warning

        config = Config.load()
        warning = permission_warning(config.path)
        if warning:
            click.echo(f"Warning: {warning}", err=True)
        return config

    def profile_name(self) -> str:
        return self.config.active_name(self.options.profile or os.environ.get(PROFILE_ENV) or None)

    def connection(self) -> Connection:
        config = self.config
        explicit = self.options.profile or os.environ.get(PROFILE_ENV) or None
        name = config.active_name(explicit)
        if explicit and name not in config.profiles and not self.allow_new_profile:
            known = ", ".join(sorted(config.profiles)) or "none yet (run synapse-dyn login)"
            raise CliError(f"no profile named {name!r}; known profiles: {known}")
        self._read_token_options()
        opts = self.options
        if explicit and not opts.profile:
            opts = GlobalOptions(**{**vars(opts), "profile": explicit})
        return resolve_connection(opts, name, config.profiles.get(name), os.environ, config.defaults)

    def _read_token_options(self) -> None:
        if self.options.token_stdin and not self.options.token:
            self.options.token = self.read_stdin_once("--token-stdin") or None
        if self.options.drf_token_stdin and not self.options.drf_token:
            self.options.drf_token = self.read_stdin_once("--drf-token-stdin") or None

    def client(self, need_credentials: bool = True) -> Client:
        """The Client for this invocation (built once; closed when the command ends).

        ``need_credentials``: refuse a logged-out profile before sending (login does not need any).
        """
        if self._client is not None:
            return self._client
        from ..client import Client

        registry = self.registry
        kwargs = self._sandbox_kwargs() if self.options.sandbox else self._backend_kwargs(need_credentials)
        if self.options.drift_log:
            kwargs["drift_log"] = self.options.drift_log
        if self.recorder is not None and "transport" not in kwargs:
            kwargs["transport"] = self.recorder
        self._client = Client(schema=registry, validate_responses="warn", **kwargs)
        return self._client

    def _backend_kwargs(self, need_credentials: bool) -> dict[str, Any]:
        conn = self.connection()
        if not conn.host:
            raise CliError("no backend host: pass --host URL, set SYNAPSE_BACKEND_V2_HOST, "
                           "run synapse-dyn config set host URL, or run synapse-dyn login")
        if need_credentials:
            self.explain_missing_credentials(conn)
        from .credentials import credential_kwargs

        opts = self.options
        creds = credential_kwargs(self.registry.conventions.auth,
                                  {"access_token": conn.access_token, "drf_token": conn.drf_token, "tenant": conn.tenant},
                                  {"access_token": opts.token, "drf_token": opts.drf_token, "tenant": opts.tenant})
        return {"base_url": conn.host, **creds,
                "allow_insecure": self.options.allow_insecure or is_loopback_url(conn.host)}

    def explain_missing_credentials(self, conn: Connection) -> None:
        """Say why no credentials will be sent, before a request that would get a 401."""
        from .credentials import has_own_credentials

        if conn.access_token or conn.drf_token or has_own_credentials(self.registry.conventions.auth):
            return
        if conn.dropped:
            self.note(f"Note: not using the credentials of profile {conn.dropped!r}: they belong to "
                      f"{self.config.profiles[conn.dropped].get('host')}, not {conn.host}.")
        elif conn.profile:
            raise CliError(f"profile {conn.profile!r} is logged out: run synapse-dyn login "
                           f"(or pass --token-stdin)", exit_code=4)

    def _sandbox_kwargs(self) -> dict[str, Any]:
        if self.options.host:
            raise CliError("--sandbox and --host cannot be combined: the sandbox is its own host")
        try:
            from ..sandbox import open_default
        except ImportError as exc:
            raise CliError(f"--sandbox is not available in this installation ({exc})", exit_code=1) from None
        from .credentials import credential_kwargs, family_sandbox, main_token

        auth = self.registry.conventions.auth
        self._sandbox, given = open_default() if main_token(auth) == "access_token" else family_sandbox(self.registry)
        kwargs = dict(given)
        kwargs.setdefault("allow_insecure", True)
        self._read_token_options()
        opts = self.options
        for key, value in (("tenant", opts.tenant), ("access_token", opts.token), ("drf_token", opts.drf_token)):
            if value:
                kwargs[key] = value
        flags = {"access_token": opts.token, "drf_token": opts.drf_token, "tenant": opts.tenant}
        values = {key: kwargs.pop(key, None) for key in ("access_token", "drf_token", "tenant")}
        return {**kwargs, **credential_kwargs(auth, values, flags)}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        closer = getattr(self._sandbox, "close", None)
        if callable(closer):
            closer()
        self._sandbox = None
