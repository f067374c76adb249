"""The v1 backend's side of running plugins on an agent (``schema/synapse-v1.yaml`` operationIds).

``run_plugin`` stores a job in the jobs resource (status: the first state of the job schema's
lifecycle, see ``jobs.py``) and logs that it was queued; ``health_check_agent`` says whether the
token names an agent the sandbox knows (one it issued). A v1 sandbox and an agent sandbox opened on
one database file share jobs, logs and tokens, so a job started here is the agent's to run, log
and stop: ``Sandbox("v1", db=path)`` beside ``Sandbox("agent", db=path)``.
"""

from __future__ import annotations

from ...registry import Operation
from ..calls import Call, Result, mapping
from .crud import crud
from .jobs import JobLogs, lifecycle_of
from .registry import BEHAVIOURS, Handler, Services


@BEHAVIOURS.operation("run_plugin")
def run_plugin(services: Services, op: Operation) -> Handler | None:
    """Start a plugin action: a new pending job, answered as the run's result."""
    jobs, plugins = services.resources.get("jobs"), services.resources.get("plugins")
    if jobs is None or not jobs.schemas or plugins is None:
        return None
    life = lifecycle_of(services, jobs.schemas[0])
    first = life.in_progress[0] if life and life.in_progress else None
    serving = crud(services)

    def handle(call: Call) -> Result:
        plugin_id, _plugin = serving.find(call, plugins)
        body = mapping(call.body)
        fields = {"action": body.get("action"), "params": body.get("params") or {}, "plugin": plugin_id,
                  **({"status": first} if first else {}), **({"agent": body["agent"]} if "agent" in body else {})}
        (object_id, doc), _extra = serving.insert(jobs, tenant=call.tenant, scope="", body=fields,
                                                  context=serving.context(call), user_id=call.user_id,
                                                  dry_run=call.dry_run)
        if not call.dry_run:
            JobLogs(services).append(call.tenant, object_id, f"{fields['action']}: queued by plugin {plugin_id}")
        hints = {**doc, "id": object_id, "job_id": object_id}
        return Result(op.success_status, services.docs.generate(op.success_schema, seed=object_id, hints=hints))
    return handle


@BEHAVIOURS.operation("health_check_agent")
def health_check_agent(services: Services, op: Operation) -> Handler:
    """Whether the agent a token names answers: it does when the sandbox issued that token."""
    def handle(call: Call) -> Result:
        known = services.store.access_token(str(call.path.get("token", ""))) is not None
        return Result(op.success_status, {"connected": known, "status": "healthy" if known else "unreachable"})
    return handle
