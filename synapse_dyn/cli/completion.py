"""``synapse-dyn completion bash|zsh|fish``: print click's completion script for the shell.

Resources, verbs and options complete from the loaded schema, lazily like everything else.
"""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_SYNAPSE_DYN_COMPLETE"


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:  eval "$(synapse-dyn completion bash)"      (e.g. in ~/.bashrc)
    zsh:   eval "$(synapse-dyn completion zsh)"       (e.g. in ~/.zshrc)
    fish:  synapse-dyn completion fish > ~/.config/fish/completions/synapse-dyn.fish
    """
    from click.shell_completion import get_completion_class

    from .app import PROG_NAME

    root = ctx.find_root().command
    completer = get_completion_class(shell)
    assert completer is not None
    click.echo(completer(root, {}, PROG_NAME, COMPLETE_VAR).source())
