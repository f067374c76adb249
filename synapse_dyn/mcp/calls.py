"""One tool call through the client's public calling API, and its result as masked JSON text.

Arguments are checked against the tool's argument map (an unknown name is one line listing
the valid ones), then the operation method is reached the way a user would reach it
(``client.projects.tags(7).list(...)``), so validation, retries and error mapping are the
client's own. Results and errors pass through the same masking: secret-named fields are
masked and every credential value the client holds is scrubbed from the text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SynapseError
from ..masking import mask_secret_fields, scrub
from ..records import Page
from .catalog import ToolSpec
from .schemas import DRY_RUN


class ToolError(Exception):
    """A call that ended in an expected failure; ``str`` is the one-line message for the agent."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass
class Outcome:
    """A finished call: JSON text for the agent, and the request id (None for a dry run)."""

    text: str
    request_id: str | None = None


def split_arguments(spec: ToolSpec, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any], bool]:
    """(parent ids, keyword arguments, dry run) for the operation method; ToolError on an unknown name."""
    op = spec.op
    known = spec.input.arguments
    unknown = sorted(k for k in arguments if k not in known)
    if unknown:
        raise ToolError(f"{spec.name}: unknown argument(s) {', '.join(unknown)}; valid: {', '.join(known) or 'none'}")
    parents: dict[str, Any] = {}
    keywords: dict[str, Any] = {}
    dry_run = False
    for key, value in arguments.items():
        target = known[key]
        if target.location == "dry_run":
            dry_run = bool(value)
        elif target.location == "path" and target.name in op.bound_path_params:
            parents[target.name] = value
        else:
            keywords[target.name] = value
    missing = [name for name in op.bound_path_params if name not in parents]
    if missing:
        raise ToolError(f"{spec.name}: missing required argument(s) {', '.join(missing)}")
    return [parents[name] for name in op.bound_path_params], keywords, dry_run


def operation_method(client: Any, spec: ToolSpec, parents: list[Any]) -> Any:
    """``client.projects.tags(parent).list``: the operation reached through the client's attributes."""
    resources = spec.op.name.resources
    target: Any = getattr(client, resources[0])
    for resource, parent in zip(resources[1:], parents, strict=False):
        target = getattr(target, resource)(parent)
    return getattr(target, spec.op.verb)


def run(client: Any, spec: ToolSpec, arguments: Mapping[str, Any]) -> Outcome:
    """Call (or, with ``dry_run``, prepare) the operation; ToolError carries any expected failure."""
    secrets = client.credentials.secret_header_values()
    try:
        parents, keywords, dry_run = split_arguments(spec, arguments)
        method = operation_method(client, spec, parents)
        if dry_run:
            prepared = method.prepare(**keywords)
            return Outcome(to_text({DRY_RUN: True, "request": prepared.describe()}, secrets))
        with client.capture_request_ids():
            result = method(**keywords)
            request_id = client.last_request_id
    except ToolError as exc:
        raise ToolError(scrub(str(exc), secrets)) from None
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line for the agent
        raise ToolError(error_line(exc, secrets), getattr(exc, "request_id", None)) from None
    return Outcome(to_text(shape(result), secrets), request_id)


def shape(result: Any) -> Any:
    """Pages as ``{results, next}`` (``count`` when sent); 204 as ``{"ok": true}``; the rest as is."""
    if isinstance(result, Page):
        out: dict[str, Any] = {"results": result.results, "next": result.next}
        if result.count is not None:
            out["count"] = result.count
        return out
    if result is None:
        return {"ok": True}
    return result


def to_text(value: Any, secrets: list[str]) -> str:
    """Compact JSON with secret-named fields masked and every known secret scrubbed."""
    text = json.dumps(mask_secret_fields(value), ensure_ascii=False, separators=(",", ":"), default=str)
    return scrub(text, secrets)


def error_line(exc: BaseException, secrets: list[str]) -> str:
    """One line: the client's own message (with its request id) for its errors, else the type and text."""
    text = str(exc) if isinstance(exc, SynapseError | TypeError | AttributeError) else f"{type(exc).__name__}: {exc}"
    line = " ".join(text.split()) or type(exc).__name__
    return scrub(line, secrets)
