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
from .options import attach_globals, root_options
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
    "config": ("synapse_dyn.cli.config_cmd", "config_group", "Get, set and unset defaults (host, tenant, output)."),
    "upload": ("synapse_dyn.cli.upload", "upload_command", "Upload a file with the v1 chunked-upload protocol."),
    "mcp": ("synapse_dyn.mcp.cli", "mcp_command", "Serve the loaded schema's operations as MCP tools."),
    "stubs": ("synapse_dyn.stubs.cli", "stubs_command", "Write typing stubs for the loaded schema."),
    "proxy": ("synapse_dyn.proxy.cli", "proxy_command", "Run a validating pass-through proxy (drift radar)."),
}


# resource word -> {command: (module, attribute)}: CLI commands beside the schema's verbs (gh's auth status)
EXTRA_COMMANDS: dict[str, dict[str, tuple[str, str]]] = {
    "auth": {"status": ("synapse_dyn.cli.profiles", "auth_status_command")},
}


def _extras_group(word: str, extras: dict[str, tuple[str, str]]) -> click.Group:
    """A group holding only the extra commands, for a schema without that resource."""
    group = click.Group(word, help=f"{word} commands of the CLI.")
    for name, (module_name, attr) in extras.items():
        group.add_command(getattr(importlib.import_module(module_name), attr), name)
    return group


def _unavailable(name: str, reason: str) -> click.Command:
    def fail() -> None:
        raise CliError(f"the {name} command is not available in this installation ({reason})", exitcodes.OTHER)

    return click.Command(name, callback=fail, help=f"Not available: {reason}", context_settings={
        "ignore_unknown_options": True, "allow_extra_args": True})


class RootGroup(click.Group):
    """The top-level group: global options via click, resource groups built lazily, errors mapped."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not isinstance(ctx.obj, AppState):
            ctx.obj = AppState()
        ctx.call_on_close(ctx.obj.close)
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

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
                return attach_globals(getattr(importlib.import_module(module_name), attr))
            except ImportError as exc:
                return _unavailable(cmd_name, str(exc))
        words = self._resource_words(ctx)
        word = cmd_name if cmd_name in words else cmd_name.replace("_", "-")
        extras = EXTRA_COMMANDS.get(word, {})
        if word not in words:
            return attach_globals(_extras_group(word, extras)) if extras else None
        from .resources import ResourceGroup, resource_summary

        state = AppState.of(ctx)
        node = state.registry.root.children[words[word]]
        state.built.append(words[word])
        group = ResourceGroup(word, node, help_text=resource_summary(node, state.registry.document), extras=extras)
        return attach_globals(group)

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
                raise click.Abort() from None
            except Exception as exc:
                if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
                    _quiet_stdout()
                    ctx.exit(exitcodes.OK)
                ctx.exit(report_error(state, exc))

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """click's main, but Ctrl-C (at any prompt too) exits 130 and a closed pipe exits quietly."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except (click.Abort, KeyboardInterrupt):
            click.echo("Interrupted.", err=True)
            sys.exit(exitcodes.INTERRUPTED)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else exitcodes.OK)


def _quiet_stdout() -> None:
    """The reader went away (``| head -1``): drop what is left, as other Unix tools do."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def report_error(state: AppState, exc: BaseException) -> int:
    """Print the error line (and the traceback with --debug); return the exit code."""
    from ..errors import SynapseError

    if state.options.debug:
        import traceback

        from ..masking import scrub

        sys.stderr.write(scrub("".join(traceback.format_exception(exc))))  # every credential seen is masked
    from .textsafe import escape_controls

    line = escape_controls(exitcodes.error_line(exc))
    if not isinstance(exc, SynapseError):
        line += "" if state.options.debug else " (unexpected; run with --debug for the traceback)"
    click.echo(line, err=True)
    return exitcodes.exit_code_for(exc)


@click.group(PROG_NAME, cls=RootGroup, context_settings=CONTEXT_SETTINGS, params=root_options(),
             invoke_without_command=False, no_args_is_help=False)
@click.version_option(__version__, "-V", "--version", prog_name=PROG_NAME)
def cli() -> None:
    """Every operation of the Synapse API as a command, built from its OpenAPI document.

    \b
    synapse-dyn projects list --per-page 20 --category image
    synapse-dyn projects retrieve 42 -o yaml
    synapse-dyn projects tags 42 create --name urgent --category project

    Global options work before or after the command (--schema before it). Exit codes: 0 ok,
    2 usage, 3 validation, 4 auth, 5 forbidden, 6 not found, 7 conflict, 8 rate limited,
    9 server, 10 transport, 11 schema, 130 interrupted, 1 other.

    \b
    Environment: SYNAPSE_BACKEND_V2_HOST, SYNAPSE_BACKEND_V2_TENANT,
    SYNAPSE_BACKEND_V2_ACCESS_TOKEN, SYNAPSE_BACKEND_V2_DRF_TOKEN, SYNAPSE_DYN_PROFILE,
    SYNAPSE_DYN_OUTPUT, SYNAPSE_DYN_SCHEMA, SYNAPSE_DYN_OVERRIDES, SYNAPSE_DYN_CONFIG_DIR (profiles and defaults),
    SYNAPSE_DYN_DATA_DIR (synced schemas), NO_COLOR.
    """


def main(argv: list[str] | None = None) -> Any:
    """The console-script entry point."""
    return cli.main(args=argv, prog_name=PROG_NAME)
