"""``synapse-dyn config get|set|unset|list``: defaults for host, tenant and output (as gh config)."""

from __future__ import annotations

import click

from .config import DEFAULT_KEYS
from .globals import OUTPUT_FORMATS
from .state import AppState, CliError

KEY_HELP = ", ".join(f"{k} ({v})" for k, v in DEFAULT_KEYS.items())


def _check_key(key: str) -> str:
    if key not in DEFAULT_KEYS:
        raise click.BadParameter(f"{key!r} is not a config key; valid: {', '.join(DEFAULT_KEYS)}",
                                 param_hint="'KEY'")
    return key


def _complete_key(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [k for k in DEFAULT_KEYS if k.startswith(incomplete)]


@click.group("config")
def config_group() -> None:
    """Defaults used when no flag, environment variable or profile gives a value.

    \b
    Keys: host, tenant, output. Order of precedence: flags, then environment
    (SYNAPSE_BACKEND_V2_HOST, SYNAPSE_BACKEND_V2_TENANT, SYNAPSE_DYN_OUTPUT), then the
    profile, then these defaults. Stored in the config file ($SYNAPSE_DYN_CONFIG_DIR).
    """


@config_group.command("get")
@click.argument("key", shell_complete=_complete_key)
@click.pass_context
def config_get(ctx: click.Context, key: str) -> None:
    """Print the default for KEY (exit 1 when unset)."""
    value = AppState.of(ctx).config.defaults.get(_check_key(key))
    if value is None:
        raise CliError(f"{key} is not set", exit_code=1)
    click.echo(value)


@config_group.command("set")
@click.argument("key", shell_complete=_complete_key)
@click.argument("value")
@click.pass_context
def config_set(ctx: click.Context, key: str, value: str) -> None:
    """Set the default for KEY."""
    _check_key(key)
    if key == "output" and value not in OUTPUT_FORMATS:
        raise click.BadParameter(f"{value!r} is not one of {', '.join(OUTPUT_FORMATS)}", param_hint="'VALUE'")
    if key == "host" and not value.startswith(("https://", "http://")):
        raise click.BadParameter("expected an http(s) URL", param_hint="'VALUE'")
    state = AppState.of(ctx)
    state.config.defaults[key] = value
    state.config.save()
    state.note(f"{key} = {value} ({state.config.path})")


@config_group.command("unset")
@click.argument("key", shell_complete=_complete_key)
@click.pass_context
def config_unset(ctx: click.Context, key: str) -> None:
    """Remove the default for KEY."""
    state = AppState.of(ctx)
    if state.config.defaults.pop(_check_key(key), None) is not None:
        state.config.save()
    state.note(f"{key} unset")


@config_group.command("list")
@click.pass_context
def config_list(ctx: click.Context) -> None:
    """Every default that is set, as KEY=VALUE lines."""
    for key, value in sorted(AppState.of(ctx).config.defaults.items()):
        click.echo(f"{key}={value}")
