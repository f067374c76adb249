"""Jobs that run: a stored job's status moves through its schema's status enum, its logs grow, it stops.

Served for the agent's API (``schema/synapse-agent.yaml``). The states come from the job schema's
``status`` enum, read as the CLI's ``--watch`` reads them: the ones listed in ``x-synapse-terminal``
are terminal when the schema says so, else every state not written as a present participle
(``pending``, ``running`` are in progress). A job advances one state each time it is read
(``jobs.retrieve``, ``jobs.logs``) and gains a log line while in progress, so a client polling it
sees it start, run and finish; ``jobs.stop`` moves an unfinished job to the stopped state.

Logs are kept in the store's meta table, so a sandbox sharing the database file (the v1 backend's,
whose ``run_plugin`` starts jobs, see ``plugins.py``) sees the same jobs and logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ...registry import Operation
from ..calls import Call, Result
from ..documents import now
from .crud import Crud, crud
from .registry import BEHAVIOURS, Handler, Services

_FAILURE_PREFIXES = ("stop", "cancel", "fail", "error", "abort", "kill")


@dataclass(frozen=True)
class Lifecycle:
    """A status enum read as a lifecycle: the in-progress states in order, then success; stop's state."""

    field: str
    in_progress: tuple[str, ...]
    success: str | None
    stopped: str | None

    def after(self, status: Any) -> Any:
        """The state following ``status`` (unchanged once terminal or unknown)."""
        path = [*self.in_progress, *([self.success] if self.success else [])]
        return path[path.index(status) + 1] if status in path[:-1] else status

    def running(self, status: Any) -> bool:
        return status in self.in_progress


def lifecycle_of(services: Services, schema: Any, field: str = "status") -> Lifecycle | None:
    """The lifecycle of an object schema's status property, or None when it has no enum."""
    registry = services.registry
    props = registry.object_properties(registry.resolve(schema or {})) if schema else {}
    prop = registry.resolve(props.get(field) or {})
    states = [s for s in prop.get("enum") or [] if isinstance(s, str)]
    if not states:
        return None
    terminal = prop.get("x-synapse-terminal")
    if isinstance(terminal, list):
        in_progress = tuple(s for s in states if s not in terminal)
    else:
        in_progress = tuple(s for s in states if s.lower().endswith("ing"))
    finals = [s for s in states if s not in in_progress]
    success = next((s for s in finals if not s.lower().startswith(_FAILURE_PREFIXES)), None)
    stopped = next((s for s in finals if s.lower().startswith(("stop", "cancel"))), None)
    return Lifecycle(field, in_progress, success, stopped)


class JobLogs:
    """A job's log lines, in the store's meta table (shared by sandboxes on one database file)."""

    def __init__(self, services: Services) -> None:
        self.store = services.store

    def _key(self, tenant: str, object_id: int) -> str:
        return f"jobs.logs:{tenant}:{object_id}"

    def lines(self, tenant: str, object_id: int) -> list[str]:
        raw = self.store.get_meta(self._key(tenant, object_id))
        return json.loads(raw) if raw else []

    def append(self, tenant: str, object_id: int, line: str) -> list[str]:
        lines = [*self.lines(tenant, object_id), f"{now()} {line}"]
        self.store.set_meta(self._key(tenant, object_id), json.dumps(lines))
        return lines


def _job_lifecycle(services: Services, op: Operation) -> Lifecycle | None:
    res = services.resource_of(op)
    return lifecycle_of(services, res.schemas[0]) if res is not None and res.schemas else None


def _advance(services: Services, serving: Crud, call: Call, op: Operation) -> tuple[int, dict[str, Any]] | None:
    """Read the job, move it one state on (logging the step), store it; None when it has no lifecycle."""
    res = services.resource_of(op)
    life = _job_lifecycle(services, op)
    if res is None or life is None:
        return None
    object_id, doc = serving.find(call, res)
    status = doc.get(life.field)
    following = life.after(status)
    logs = JobLogs(services)
    if life.running(status):
        logs.append(call.tenant, object_id, f"{doc.get('action') or 'job'}: {status}, step "
                                            f"{len(logs.lines(call.tenant, object_id)) + 1}")
    if following != status:
        doc[life.field] = following
        if life.running(following) and "start_time" in doc:
            doc["start_time"], doc["end_time"] = now(), None
        elif not life.running(following):
            doc["end_time"] = now()
            logs.append(call.tenant, object_id, f"job {following}")
        serving.store.replace(res.key, object_id, doc)
    return object_id, doc


@BEHAVIOURS.operation("agent_jobs_retrieve")
def job_retrieve(services: Services, op: Operation) -> Handler | None:
    """A job read: it moves one state on, then answers."""
    serving = crud(services)
    if _job_lifecycle(services, op) is None:
        return None

    def handle(call: Call) -> Result:
        row = _advance(services, serving, call, op)
        res = services.resource_of(op)
        assert row is not None and res is not None
        return Result(op.success_status, serving.shape(call, res, row, op.success_schema))
    return handle


@BEHAVIOURS.operation("agent_jobs_logs")
def job_logs(services: Services, op: Operation) -> Handler | None:
    """A job's logs: one more line each read while it runs."""
    serving = crud(services)
    if _job_lifecycle(services, op) is None:
        return None

    def handle(call: Call) -> Result:
        row = _advance(services, serving, call, op)
        assert row is not None
        text = "\n".join(JobLogs(services).lines(call.tenant, row[0]))
        return Result(op.success_status, services.docs.generate(op.success_schema, seed=row[0],
                                                                hints={"logs": text}))
    return handle


@BEHAVIOURS.operation("agent_jobs_stop")
def job_stop(services: Services, op: Operation) -> Handler | None:
    """Stop a job: an unfinished one moves to the stopped state (``stopped: true``); a finished one stays."""
    serving = crud(services)
    life = _job_lifecycle(services, op)
    res = services.resource_of(op)
    if life is None or life.stopped is None or res is None:
        return None

    def handle(call: Call) -> Result:
        object_id, doc = serving.find(call, res)
        stopped = life.running(doc.get(life.field))
        if stopped and not call.dry_run:
            doc[life.field] = life.stopped
            doc["end_time"] = now()
            serving.store.replace(res.key, object_id, doc)
            JobLogs(services).append(call.tenant, object_id, f"job {life.stopped} on request")
        hints = {**doc, "stopped": stopped}
        return Result(op.success_status, services.docs.generate(op.success_schema, seed=object_id, hints=hints))
    return handle
