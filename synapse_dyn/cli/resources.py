"""Click groups for resources, built from the registry only when a command line reaches them.

``projects`` is a ResourceGroup; ``projects tags`` a NestedGroup that takes the parent's
id before the verb (``projects tags 42 list``). Listing a group's commands in ``--help``
reads the registry and builds nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from ..registry import Operation, ResourceNode
from .operations import OperationCommand, cli_name
from .options import attach_globals
from .params import argument_type
from .state import AppState

VERB_ORDER = ("list", "create", "retrieve", "update", "partial_update", "destroy")
# words users of gh, aws and kubectl type, and the verb they mean (for the "did you mean" hint only)
SYNONYMS = {"get": "retrieve", "show": "retrieve", "describe": "retrieve", "view": "retrieve",
            "delete": "destroy", "remove": "destroy", "rm": "destroy", "ls": "list", "new": "create",
            "add": "create", "edit": "partial-update", "patch": "partial-update", "put": "update"}


def unknown_name_message(kind: str, name: str, where: str, valid: list[str]) -> str:
    import difflib  # only on a typo: start-up does not pay for it

    meant = SYNONYMS.get(name.lower())
    close = [meant] if meant in valid else sorted(difflib.get_close_matches(name, valid, n=3), key=valid.index)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"No such {kind} {name!r}{where}.{hint} Valid: {', '.join(valid)}"


def resource_summary(node: ResourceNode, document: dict[str, Any]) -> str:
    """One line about a resource: its tag's description when the schema has one, else its verbs."""
    tags = Counter(t for op in node.verbs.values() for t in (op.raw.get("tags") or [])[:1])
    if tags:
        tag = tags.most_common(1)[0][0]
        for entry in document.get("tags") or []:
            if isinstance(entry, dict) and entry.get("name") == tag and entry.get("description"):
                return " ".join(str(entry["description"]).split())
    names = [cli_name(v) for v in ordered_verbs(node)] + [f"{cli_name(c)} …" for c in sorted(node.children)]
    text = ", ".join(names)
    return text if len(text) <= 60 else text[:59].rsplit(",", 1)[0] + ", …"


def ordered_verbs(node: ResourceNode) -> list[str]:
    standard = [v for v in VERB_ORDER if v in node.verbs]
    return standard + sorted(v for v in node.verbs if v not in VERB_ORDER)


class ResourceGroup(click.Group):
    """A resource: its verbs and nested resources, as lazily built subcommands."""

    def __init__(self, name: str, node: ResourceNode, *, help_text: str | None = None,
                 extras: dict[str, tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(name, help=help_text, **kwargs)
        self.node = node
        self.extras = extras or {}

    def _entries(self) -> dict[str, tuple[str, str]]:
        """command word -> ('verb' | 'child' | 'extra', name); verbs first in CRUD order."""
        entries = {cli_name(v): ("verb", v) for v in ordered_verbs(self.node)}
        entries.update({cli_name(c): ("child", c) for c in sorted(self.node.children)})
        entries.update({word: ("extra", word) for word in self.extras if word not in entries})
        return entries

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self._entries())

    def _lookup(self, cmd_name: str) -> tuple[str, str] | None:
        entries = self._entries()
        return entries.get(cmd_name) or entries.get(cli_name(cmd_name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self._lookup(cmd_name)
        if found is None:
            return None
        kind, name = found
        word = cli_name(name)
        state = AppState.of(ctx)
        if kind == "extra":
            import importlib

            module_name, attr = self.extras[name]
            return attach_globals(getattr(importlib.import_module(module_name), attr))
        if kind == "verb":
            state.built.append(".".join(self.node.path + (name,)))
            return attach_globals(OperationCommand(word, self.node.verbs[name]))
        child = self.node.children[name]
        state.built.append(".".join(child.path))
        return attach_globals(NestedGroup(word, child))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        where = f" under {' '.join(cli_name(p) for p in self.node.path)!r}"
        return resolve_or_explain(self, ctx, args, "verb or resource", where, super().resolve_command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List verbs and nested resources from the registry, without building their commands."""
        rows = [(cli_name(v), self.node.verbs[v].summary or f"{self.node.verbs[v].method.upper()} "
                 f"{self.node.verbs[v].path}") for v in ordered_verbs(self.node)]
        rows += [(word, "(CLI) " + (self.get_command(ctx, word).get_short_help_str(60) or ""))
                 for word in self.extras if word not in self.node.verbs]
        if rows:
            with formatter.section("Verbs"):
                formatter.write_dl(rows)
        nested = [(f"{cli_name(c)} {depth_metavar(self.node.children[c])} VERB",
                   f"nested resource: {', '.join(cli_name(v) for v in ordered_verbs(self.node.children[c]))}")
                  for c in sorted(self.node.children)]
        if nested:
            with formatter.section("Nested resources"):
                formatter.write_dl(nested)


def depth_metavar(node: ResourceNode) -> str:
    return cli_name(node.depth_param or "parent_id").upper().replace("-", "_")


def _depth_operation(node: ResourceNode) -> Operation | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.verbs:
            return next(iter(current.verbs.values()))
        stack.extend(current.children.values())
    return None


class NestedGroup(ResourceGroup):
    """A nested resource: ``<parent id> <verb>``; the id is bound like ``client.projects.tags(42)``."""

    PARENT_DEST = "parent_id"

    def __init__(self, name: str, node: ResourceNode) -> None:
        op = _depth_operation(node)
        spec = op.path_param_specs.get(node.depth_param or "", {}) if op is not None else {}
        param_type = argument_type(op.registry, spec.get("schema")) if op is not None else click.STRING
        aliases = sorted(a for a, real in node.keyword_aliases.items() if real == node.depth_param)
        help_text = (f"Nested resource {' '.join(cli_name(p) for p in node.path)}: give the parent's "
                     f"{node.depth_param}" + (f" (alias {', '.join(aliases)})" if aliases else "")
                     + " before the verb.")
        super().__init__(name, node, help_text=help_text,
                         params=[click.Argument([self.PARENT_DEST], type=param_type, metavar=depth_metavar(node))])

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        words = self._entries()
        if (not ctx.resilient_parsing and args and args[0] in words
                and (len(args) == 1 or args[1] not in words)):
            raise click.UsageError(
                f"{ctx.command_path} needs the parent's {depth_metavar(self.node)} before the verb: "
                f"{ctx.command_path} {depth_metavar(self.node)} {args[0]}", ctx)
        return super().parse_args(ctx, args)


def resolve_or_explain(group: click.Group, ctx: click.Context, args: list[str], what: str, where: str,
                       fallback: Any) -> tuple[str | None, click.Command | None, list[str]]:
    """Resolve a subcommand; an unknown name is a usage error that lists the valid ones."""
    name = args[0]
    cmd = group.get_command(ctx, name)
    if cmd is None and not ctx.resilient_parsing:
        if name.startswith("-"):
            return fallback(ctx, args)
        raise click.UsageError(unknown_name_message(what, name, where, group.list_commands(ctx)), ctx)
    return (cmd.name if cmd else None), cmd, args[1:]
