"""Sandbox behaviours: one module per family, each registering handlers in ``BEHAVIOURS``.

- ``crud``: plain stored objects (list, create, retrieve, update, destroy) and generated answers
  for every other operation; ``traits`` holds what makes a resource special (owner-only tokens,
  tenants read from memberships), as a table.
- ``accounts``: login (trading email and password for a DRF token).
- ``files``: chunked uploads, data files and models (v1 operationIds).
- ``jobs``: jobs whose status moves through their schema's enum, logs that grow, stop (the agent's API).
- ``cluster``: nodes, tasks, containers, Serve applications and metrics (the agent's and Ray's APIs).
- ``plugins``: v1 ``run_plugin`` starts a job an agent sandbox on the same database runs.

The app resolves each operation to one handler at start (``BEHAVIOURS.resolve(op, services)``):
operationId first, then extension, rule, (kind, method), fallback.

Adding a family (e.g. agent jobs whose status moves through the schema's status enum, logs that
grow, nodes): write ``behaviours/jobs.py`` and import it below. A registration is a factory that
gets the sandbox's ``Services`` and the operation, and returns a handler ``Call -> Result`` (or
None to let the next candidate serve the operation)::

    from ..calls import Call, Result
    from .crud import crud
    from .registry import BEHAVIOURS, Handler, Services

    @BEHAVIOURS.operation("agent_jobs_logs_retrieve")       # or .extension("x-..."), .kind("item", "get")
    def job_logs(services: Services, op) -> Handler | None:
        state = services.shared("jobs", dict)               # per-sandbox state of the family
        serving = crud(services)                            # the generic behaviours, to build on

        def handle(call: Call) -> Result:
            job_id, job = serving.find(call, serving.resources["agent_jobs"])
            lines = state.setdefault(job_id, [])
            lines.append(f"step {len(lines) + 1}")           # logs that grow with every read
            return Result(op.success_status, {"lines": lines})
        return handle

Stored objects are ``services.store`` documents; ``services.docs`` projects them onto response
schemas; ``services.registry.resolve`` walks the schema (e.g. a status property's ``enum``, to move
a job through its states on each read).
"""

from __future__ import annotations

from . import accounts, cluster, crud, files, jobs, plugins  # noqa: F401 - importing a family registers its behaviours
from .registry import BEHAVIOURS, Behaviours, Handler, Services

__all__ = ["BEHAVIOURS", "Behaviours", "Handler", "Services"]
