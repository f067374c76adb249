"""The root ``synapse-dyn`` group: global options, built-in commands and one group per resource.

Resources come from the registry at runtime, so a new schema brings new commands with no
code change. Nothing is built for a resource the command line does not name, and every
expected failure ends as one ``Error:`` line with an exit code from exitcodes.py.
"""

from __future__ import annotations

import errno
import importlib
import sys
import warnings
from typing import Any

import click

from .. import __version__
from . import exitcodes
from .globals import GLOBAL_FLAGS, GlobalOptions, help_options, prescan
from .state import AppState, CliError

PROG_NAME = "synapse-dyn"
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}

# name -> (module, attribute, one-line help); imported only when the command is used
BUILTINS: dict[str, tuple[str, str, str]] = {
    "login": ("synapse_dyn.cli.profiles", "login_command", "Log in with email and password and store a profile."),
    "logout": ("synapse_dyn.cli.profiles", "logout_command", "Forget (and revoke) a profile's credentials."),
    "profiles": ("synapse_dyn.cli.profiles", "profiles_group", "List, show and switch stored profiles."),
    "api": ("synapse_dyn.cli.api_cmd", "api_command", "Call any METHOD PATH, for what the schema lacks."),
    "schema": ("synapse_dyn.cli.schema_cmds", "schema_group", "Sync, diff, inventory and check schemas."),
    "completion": ("synapse_dyn.cli.completion", "completion_command", "Print the shell completion script."),
    "sandbox": ("synapse_dyn.sandbox.cli", "sandbox_group", "Run and manage the local sandbox backend."),
    "upload": ("synapse_dyn.cli_upload", "upload_command", "Upload a file with the v1 chunked-upload protocol."),
}


def _unavailable(name: str, reason: str) -> click.Command:
    def fail() -> None:
        raise CliError(f"the {name} command is not available in this installation ({reason})", exitcodes.OTHER)

    return click.Command(name, callback=fail, help=f"Not available: {reason}", context_settings={
        "ignore_unknown_options": True, "allow_extra_args": True})


class RootGroup(click.Group):
    """The top-level group: pre-scans global options, builds resource groups lazily, maps errors."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            options, rest = prescan(list(args))
            word = next((t for t in rest if not t.startswith("-")), None)
            if word in BUILTINS:
                clash = self._builtin_option_names(ctx, word, rest) & GLOBAL_FLAGS
                if clash:
                    options, rest = prescan(list(args), local=(word, frozenset(clash)))
        except click.UsageError as exc:
            if ctx.resilient_parsing:
                options, rest = GlobalOptions(), list(args)
            else:
                exc.ctx = ctx
                raise
        if isinstance(ctx.obj, AppState):
            ctx.obj.options = options
        else:
            ctx.obj = AppState(options)
        _configure_logging(ctx, ctx.obj)
        ctx.call_on_close(ctx.obj.close)
        return super().parse_args(ctx, rest)

    def _builtin_option_names(self, ctx: click.Context, word: str, rest: list[str]) -> set[str]:
        """Option spellings declared by a built-in command and the subcommands named after it."""
        command: click.Command | None = self.get_command(ctx, word)
        names: set[str] = set()
        tokens = iter(rest[rest.index(word) + 1:])
        while command is not None:
            for param in command.params:
                names.update(getattr(param, "opts", ()), getattr(param, "secondary_opts", ()))
            if not isinstance(command, click.Group):
                break
            sub = next((t for t in tokens if not t.startswith("-")), None)
            command = command.get_command(ctx, sub) if sub else None
        return names

    # -- commands -----------------------------------------------------------
    def _resource_words(self, ctx: click.Context) -> dict[str, str]:
        from .operations import cli_name

        registry = AppState.of(ctx).registry
        words: dict[str, str] = {}
        for name in registry.resources:
            word = cli_name(name)
            words[f"{word}-resource" if word in BUILTINS else word] = name
        return words

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            resources = list(self._resource_words(ctx))
        except Exception:  # noqa: BLE001 - completion and help must survive a broken schema
            resources = []
        return resources + sorted(BUILTINS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in BUILTINS:
            module_name, attr, _ = BUILTINS[cmd_name]
            try:
                return getattr(importlib.import_module(module_name), attr)
            except ImportError as exc:
                return _unavailable(cmd_name, str(exc))
        words = self._resource_words(ctx)
        word = cmd_name if cmd_name in words else cmd_name.replace("_", "-")
        if word not in words:
            return None
        from .resources import ResourceGroup, resource_summary

        state = AppState.of(ctx)
        node = state.registry.root.children[words[word]]
        state.built.append(words[word])
        return ResourceGroup(word, node, help_text=resource_summary(node, state.registry.document))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        from .resources import resolve_or_explain

        return resolve_or_explain(self, ctx, args, "resource or command", "", super().resolve_command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Resources with a one-line description each (nothing is built), then the built-in commands."""
        from .resources import resource_summary

        try:
            state = AppState.of(ctx)
            registry = state.registry
            rows = [(word, resource_summary(registry.root.children[name], registry.document))
                    for word, name in self._resource_words(ctx).items()]
        except Exception as exc:  # noqa: BLE001 - help must survive a broken schema
            rows = [("(none)", f"cannot load the schema: {exitcodes.error_line(exc)[7:]}")]
        with formatter.section("Resources"):
            formatter.write_dl(rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, _, text) in sorted(BUILTINS.items())])

    # -- running --------------------------------------------------------------
    def invoke(self, ctx: click.Context) -> Any:
        state = AppState.of(ctx)
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            if not state.options.debug:
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", PendingDeprecationWarning)
            warnings.showwarning = state.show_warning
            try:
                return super().invoke(ctx)
            except (click.ClickException, click.exceptions.Exit, click.Abort):
                raise
            except KeyboardInterrupt:
                click.echo("Interrupted.", err=True)
                ctx.exit(exitcodes.INTERRUPTED)
            except Exception as exc:
                if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
                    raise
                ctx.exit(report_error(state, exc))


def report_error(state: AppState, exc: BaseException) -> int:
    """Print the error line (and the traceback with --debug); return the exit code."""
    from ..errors import SynapseError

    if state.options.debug:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    line = exitcodes.error_line(exc)
    if not isinstance(exc, SynapseError):
        line += "" if state.options.debug else " (unexpected; run with --debug for the traceback)"
    click.echo(line, err=True)
    return exitcodes.exit_code_for(exc)


def _configure_logging(ctx: click.Context, state: AppState) -> None:
    if not state.options.debug:
        return
    import logging

    logger = logging.getLogger("synapse_dyn")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    ctx.call_on_close(undo)


@click.group(PROG_NAME, cls=RootGroup, context_settings=CONTEXT_SETTINGS, params=help_options(),
             invoke_without_command=False, no_args_is_help=True)
@click.version_option(__version__, "--version", prog_name=PROG_NAME)
def cli() -> None:
    """Every operation of the Synapse API as a command, built from its OpenAPI document.

    \b
    synapse-dyn projects list --per-page 20 --category image
    synapse-dyn projects retrieve 42 -o yaml
    synapse-dyn projects tags 42 create --name urgent --category project

    Global options work before or after the command. Exit codes: 0 ok, 2 usage, 3 validation,
    4 auth, 5 forbidden, 6 not found, 7 conflict, 8 rate limited, 9 server, 10 transport,
    11 schema, 1 other.
    """


def main(argv: list[str] | None = None) -> Any:
    """The console-script entry point."""
    return cli.main(args=argv, prog_name=PROG_NAME)
