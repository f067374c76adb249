"""One click command per operation: path parameters as arguments, query parameters and
top-level body fields as typed options, ``--data`` for a whole body, ``--all`` for lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import click

from ..registry import Operation
from .globals import RESERVED_LONG_NAMES
from .params import NULL, OptionShape, argument_type, complete_json_source, load_body, option_shape
from .state import AppState

COMMAND_OPTIONS = frozenset({"data", "all", "help", "max-items", "watch", "follow", "interval"})
RENAMED = {"dry-run": "server-dry-run"}
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")


def cli_name(name: str) -> str:
    """A schema or registry name as a command-line word (``data_collections`` -> ``data-collections``)."""
    return _NOT_NAME.sub("-", name).strip("-") or name


@dataclass(frozen=True)
class Binding:
    """Where the value of one click parameter goes: ``path``, ``query``, ``header`` or ``body``."""

    dest: str
    location: str
    name: str


_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)\.\s")


def _first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence ("e.g." and "i.e." do not end one), cut at ``limit`` characters."""
    text = " ".join((text or "").split())
    match = _SENTENCE_END.search(text)
    text = text[: match.start() + 1] if match and match.start() < limit else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _option_help(description: str, required: bool, where: str) -> str:
    listing_choices = description.lstrip().startswith("* `")  # DRF's enum listing repeats the choices
    parts = [_first_sentence(description)] if description and not listing_choices else []
    if required:
        parts.append(f"(required {where})" if where == "body field" else "(required)")
    return " ".join(parts)


class OperationCommand(click.Command):
    """The command for one operation; its help is the schema's (summary, parameters, body, result)."""

    def __init__(self, name: str, op: Operation) -> None:
        self.op = op
        self.bindings: list[Binding] = []
        params = self._arguments() + self._options()
        super().__init__(name, params=params, help=None, short_help=op.summary or op.qualified_name,
                         no_args_is_help=False)

    # -- parameters ---------------------------------------------------------
    def _arguments(self) -> list[click.Parameter]:
        op = self.op
        out: list[click.Parameter] = []
        for index, name in enumerate(op.own_path_params):
            dest = f"path_{index}"
            spec = op.path_param_specs[name]
            out.append(click.Argument([dest], type=argument_type(op.registry, spec.get("schema")),
                                      metavar=cli_name(name).upper().replace("-", "_")))
            self.bindings.append(Binding(dest, "path", name))
        return out

    def _options(self) -> list[click.Parameter]:
        op = self.op
        taken = set(RESERVED_LONG_NAMES) | COMMAND_OPTIONS
        out: list[click.Parameter] = []
        entries: list[tuple[str, str, Any, str, bool]] = []
        for name, spec in op.query_params.items():
            entries.append(("query", name, spec.get("schema"), spec.get("description") or "", bool(spec.get("required"))))
        for name, spec in op.header_params.items():
            entries.append(("header", name, spec.get("schema"), spec.get("description") or "", bool(spec.get("required"))))
        required_fields: set[str] = set()
        if op.body is not None:
            required_fields = set(op.registry.resolve(op.body.schema).get("required") or [])
            for name, schema in op.body_fields.items():
                target = op.registry.resolve(schema)
                if target.get("readOnly"):
                    continue
                entries.append(("body", name, schema, target.get("description") or "", name in required_fields))
        for index, (location, name, schema, description, required) in enumerate(entries):
            long_name = cli_name(name)
            if long_name in taken:
                long_name = RENAMED.get(long_name) or f"{'field' if location == 'body' else location}-{long_name}"
            taken.add(long_name)
            dest = f"{location}_{index}"
            shape = option_shape(op.registry, schema, location=location)
            where = "body field" if location == "body" else "parameter"
            # a required body field may come from --data, so click never enforces it
            click_required = required and location != "body"
            out.append(self._option(long_name, dest, shape, _option_help(description, required, where),
                                    click_required))
            self.bindings.append(Binding(dest, location, name))
        return out + self._command_options(taken)

    def _command_options(self, taken: set[str]) -> list[click.Parameter]:
        """The CLI's own options of this operation: --data, --all / --max-items, --follow, --watch, --interval."""
        op = self.op
        out: list[click.Parameter] = []
        if op.body is not None:
            out.append(click.Option(["--data"], metavar="JSON|@FILE|-", shell_complete=complete_json_source,
                                    help="The whole request body as JSON, @file.json, or - for stdin; "
                                         "field options override its fields."))
        if op.is_paginated:
            out.append(click.Option(["--all", "list_all"], is_flag=True,
                                    help="Stream every page (follows the cursor)."))
            # ``--limit`` is the same option unless the schema has a parameter of that name (offset pages)
            names = ["--max-items"] + ([] if "limit" in taken else ["--limit"])
            out.append(click.Option([*names, "max_items"], type=click.IntRange(min=1), metavar="N",
                                    help="Stop after N items, across pages."))
            out.append(click.Option(["--follow"], is_flag=True,
                                    help="Keep polling and print new items as they appear (Ctrl-C stops)."))
        from .watch import status_values

        if op.method == "get" and not op.is_paginated and status_values(op):
            out.append(click.Option(["--watch"], is_flag=True,
                                    help="Poll until the status is terminal (see synapse-dyn --help)."))
        if op.is_paginated or status_values(op):
            out.append(click.Option(["--interval"], type=click.FloatRange(min=0), default=2.0, show_default=True,
                                    metavar="SECONDS", help="Seconds between polls (--watch, --follow)."))
        return out

    @staticmethod
    def _option(long_name: str, dest: str, shape: OptionShape, help_text: str, required: bool) -> click.Option:
        if shape.is_flag:
            return click.Option([f"--{long_name}/--no-{long_name}", dest], default=None, help=help_text,
                                required=required)
        return click.Option([f"--{long_name}", dest], type=shape.type, multiple=shape.multiple,
                            metavar=shape.metavar, help=help_text, required=required,
                            default=() if shape.multiple else None)

    # -- help ---------------------------------------------------------------
    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The schema's help, verbatim (click would rewrap its parameter lists)."""
        from ..docs import help_text

        formatter.write_paragraph()
        text = help_text(self.op).replace("list_all=True", "--all")  # the CLI's words, not Python's
        with formatter.indentation():
            for line in text.splitlines():
                formatter.write(f"{'':>{formatter.current_indent}}{line}\n" if line.strip() else "\n")

    # -- running ------------------------------------------------------------
    def invoke(self, ctx: click.Context) -> Any:
        return run_operation(ctx, self.op, self.bindings)


def parents_of(ctx: click.Context) -> list[Any]:
    """The parent ids given to nested resource groups on the way to this command, outermost first."""
    found: list[Any] = []
    current: click.Context | None = ctx.parent
    while current is not None:
        dest = getattr(current.command, "PARENT_DEST", None)  # a resources.NestedGroup
        if dest is not None:
            found.insert(0, current.params[dest])
        current = current.parent
    return found


def _unwrap(value: Any) -> Any:
    return None if value is NULL else value


def collect_arguments(op: Operation, bindings: list[Binding], params: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """(positional path values, keyword arguments incl. ``body``) for the client call."""
    own_args = [params[b.dest] for b in bindings if b.location == "path"]
    keywords: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for binding in bindings:
        value = params.get(binding.dest)
        if binding.location == "path" or value is None or value == ():
            continue
        value = [_unwrap(v) for v in value] if isinstance(value, tuple) else _unwrap(value)
        (fields if binding.location == "body" else keywords)[binding.name] = value
    if op.body is not None:
        body = load_body(params.get("data"), fields)
        if body is not None:
            keywords["body"] = body
    return own_args, keywords


def bound_method(client: Any, op: Operation, parents: list[Any]) -> Any:
    """``client.projects.tags(42).create``: the operation reached through the client's attributes."""
    target: Any = getattr(client, op.name.resources[0])
    for resource, parent in zip(op.name.resources[1:], parents, strict=False):
        target = getattr(target, resource)(parent)
    return getattr(target, op.verb)


def needs_credentials(op: Operation) -> bool:
    """False for operations the schema marks public (``security: []``), e.g. auth login."""
    security = op.raw.get("security", op.registry.document.get("security"))
    return security != [] and security != [{}]


def run_operation(ctx: click.Context, op: Operation, bindings: list[Binding]) -> None:
    """Call the operation with the parsed command line and print the result."""
    import logging

    from . import output, safety

    state = AppState.of(ctx)
    if ctx.params.get("data") == "-" and (state.options.token_stdin or state.options.drf_token_stdin):
        raise click.BadParameter("stdin cannot carry both the body and a token (--token-stdin)",
                                 param_hint="'--data'")
    own_args, keywords = collect_arguments(op, bindings, ctx.params)
    client = state.client(need_credentials=needs_credentials(op))
    method = bound_method(client, op, parents_of(ctx))
    logging.getLogger(__name__).debug("%s: %s %s, path %s, keywords %s", op.qualified_name,
                                      op.method.upper(), op.path, own_args, sorted(keywords))
    prepared = None
    if state.options.dry_run or state.options.curl or op.method == "delete":
        prepared = method.prepare(*own_args, **keywords)
        if state.options.dry_run or state.options.curl:
            safety.print_dry_run(state, prepared)
            return
        safety.confirm(state, f"send {prepared.method} {prepared.url}")

    opts = output.options_for(state, _columns(op) if state.output_format in ("table", "wide") else None,
                              batch=_batch_size(op, keywords))
    params = ctx.params
    with client.capture_request_ids():
        if params.get("watch") or params.get("follow"):
            from .watch import follow, watch

            if params.get("watch"):
                watch(state, op, method, own_args, keywords, opts, params["interval"])
            else:
                follow(state, op, method, own_args, keywords, opts, params["interval"])
        elif params.get("list_all") or params.get("max_items"):
            import itertools

            items = method(*own_args, list_all=True, **keywords)
            output.stream(itertools.islice(items, params.get("max_items")), opts)
        else:  # a DELETE was prepared (and confirmed) above: send that request, not a second binding
            output.emit(client.send(prepared) if prepared is not None else method(*own_args, **keywords), opts)
        request_id = client.last_request_id
    if request_id:
        state.note(f"request_id={request_id}")


def _batch_size(op: Operation, keywords: dict[str, Any]) -> int:
    """About one page: the size asked for, else the schema's default page size, else 50."""
    try:
        size_param = op.pagination.size_param
    except Exception:  # noqa: BLE001 - a schema without pagination conventions
        return 50
    given = keywords.get(size_param)
    if isinstance(given, int) and given > 0:
        return given
    default = ((op.query_params.get(size_param) or {}).get("schema") or {}).get("default")
    return default if isinstance(default, int) and default > 0 else 50


def _columns(op: Operation) -> list[str] | None:
    from .tables import schema_columns

    try:
        return schema_columns(op) or None
    except (KeyError, TypeError, ValueError):
        return None
