"""The global options as click options on every command (``attach_globals``), recording what they
are given in the invocation's AppState; their names and help are ``globals.GLOBALS``."""

from __future__ import annotations

from typing import Any

import click

from .globals import GLOBALS, GlobalSpec
from .state import AppState

GLOBALS_EPILOG = ("Global options (-o, --query, --columns, --host, --profile, --dry-run, ...) work here too; "
                  "see synapse-dyn --help.")


class GlobalOption(click.Option):
    """A global option on some command; documented in full only in the root's ``--help``."""

    def __init__(self, spec: GlobalSpec, flags: list[str]) -> None:
        self.spec = spec
        kwargs: dict[str, Any] = {"expose_value": False, "callback": _store, "help": spec.help}
        if spec.metavar is None:
            kwargs.update(is_flag=True, default=False)
        elif spec.choices:
            kwargs.update(type=click.Choice(spec.choices), metavar=spec.metavar)
        elif spec.path:
            kwargs.update(type=click.Path(), metavar=spec.metavar)
        else:
            kwargs.update(metavar=spec.metavar)
        if spec.attr == "profile":
            kwargs["shell_complete"] = _complete_profiles
        if spec.attr in ("schema", "overrides", "debug"):
            kwargs["is_eager"] = True  # before --help, which shows commands built from the schema
        super().__init__([*flags, f"global_{spec.attr}"], **kwargs)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        return super().get_help_record(ctx) if ctx.parent is None else None


def _complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from .profiles import complete_profiles

    return complete_profiles(incomplete)


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Record a global option given on this command (a later one overrides an earlier one)."""
    if value is None or value is False or ctx.resilient_parsing:
        return value
    assert isinstance(param, GlobalOption)
    AppState.of(ctx).set_option(ctx, param.spec.attr, value)
    return value


def root_options() -> list[click.Option]:
    return [GlobalOption(spec, list(spec.flags)) for spec in GLOBALS]


def attach_globals(command: click.Command) -> click.Command:
    """Give a command (and its subcommands) every global option it does not define itself."""
    if getattr(command, "_synapse_globals", False):
        return command
    own = {name for param in command.params for name in (*getattr(param, "opts", ()),
                                                          *getattr(param, "secondary_opts", ()))}
    for spec in GLOBALS:
        flags = [flag for flag in spec.flags if flag not in own]
        if flags:
            command.params.append(GlobalOption(spec, flags))
    if not command.epilog:
        command.epilog = GLOBALS_EPILOG
    command._synapse_globals = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            attach_globals(sub)
    return command
