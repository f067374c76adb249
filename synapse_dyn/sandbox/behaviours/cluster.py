"""A compute cluster as the agent and the Ray dashboard show it: nodes, tasks, containers, Serve apps, metrics.

Nothing creates these through the API, so the first read of a list stores a small cluster for the
caller's tenant (a head node and a worker, a few tasks, a container, a running Serve application);
later reads see the same objects, and ``serve_applications.destroy`` removes one for good.
Answers are shaped by the response schemas, so the agent's flat nodes and the dashboard's
``{summary: [...]}`` with ``raylet`` details are both served from these stored objects.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ...registry import Operation
from ..calls import Call, Result
from ..messages import ApiError
from ..resources import Resource
from .crud import Crud, crud
from .registry import BEHAVIOURS, Handler, Services


def node_id(index: int) -> str:
    """A stable node id, hex like Ray's."""
    return hashlib.sha256(f"sandbox-node-{index}".encode()).hexdigest()[:56]


def _node(index: int) -> dict[str, Any]:
    nid, head, ip = node_id(index), index == 1, f"10.0.0.{index + 1}"
    return {"node_id": nid, "node_ip": ip, "ip": ip, "hostname": f"ray-{'head' if head else 'worker'}-{index}",
            "state": "ALIVE", "is_head_node": head, "cpu": 12.5 * index, "cpus": [8, 4],
            "mem": [32 * 2**30, 24 * 2**30, 8 * 2**30, 25.0],
            "resources_total": {"CPU": 8.0, "memory": 32.0 * 2**30, **({"GPU": 1.0} if not head else {})},
            "raylet": {"nodeId": nid, "state": "ALIVE", "isHeadNode": head, "nodeManagerAddress": ip,
                       "nodeManagerPort": 45000 + index}}


SEEDS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "nodes": lambda: [_node(1), _node(2)],
    "tasks": lambda: [{"task_id": f"{i:016x}", "name": f"plugin_action.step_{i}", "state": state,
                       "job_id": "02000000", "node_id": node_id(1 + i % 2)}
                      for i, state in enumerate(("FINISHED", "RUNNING", "PENDING_NODE_ASSIGNMENT"), 1)],
    "containers": lambda: [{"id": "c0ffee0000" + "0" * 54, "name": "synapse-agent", "image": "synapse/agent:latest",
                            "status": "running"}],
    "serve_applications": lambda: [{"name": "default", "route_prefix": "/", "status": "RUNNING",
                                    "message": "", "last_deployed_time_s": 1767690000.0, "deployments": {}}],
}


def stored(serving: Crud, call: Call, res: Resource) -> list[tuple[int, dict[str, Any]]]:
    """The resource's objects for the caller, storing the seed cluster on first read."""
    rows = list(serving.store.scan(res.key, call.tenant, ""))
    marker = f"cluster.seeded:{res.key}:{call.tenant}"
    if rows or res.key not in SEEDS or serving.store.get_meta(marker):
        return rows
    with serving.store.transaction():
        serving.store.set_meta(marker, "1")
        for doc in SEEDS[res.key]():
            object_id = serving.store.next_id(res.key)
            key = str(doc.get("name") or doc.get("node_id") or object_id)
            serving.store.insert(res.key, call.tenant, "", key, object_id, {res.key_param: key, **doc})
    return list(serving.store.scan(res.key, call.tenant, ""))


def _find(serving: Crud, call: Call, res: Resource, param: str) -> tuple[int, dict[str, Any]]:
    key = str(call.path.get(param, ""))
    found = next((row for row in stored(serving, call, res) if row[1].get(res.key_param) == key), None)
    if found is None:
        raise ApiError(404, f"No {res.names[-1].rstrip('s').replace('_', ' ')} matches the given query.")
    return found


def _cluster_resource(services: Services, op: Operation) -> tuple[Resource, Crud] | None:
    """The cluster resource an operation serves and the store that serves it; None for other resources."""
    res = services.resource_of(op)
    if res is None or res.key not in SEEDS:
        return None
    return res, crud(services)


def _listing(services: Services, op: Operation) -> Handler | None:
    """A list of a cluster resource: a plain array, or a page object (the dashboard's ``summary``)."""
    found = _cluster_resource(services, op)
    if found is None:
        return None
    res, serving = found

    def handle(call: Call) -> Result:
        rows = stored(serving, call, res)
        if op.is_paginated:
            item = op.list_item_schema
            results = [serving.docs.project(doc, item, seed=oid) for oid, doc in rows]
            return Result(op.success_status, {op.pagination.results: results})
        items = (services.registry.resolve(op.success_schema or {}).get("items")) or {}
        return Result(op.success_status, [serving.docs.project(doc, items, seed=oid) for oid, doc in rows])
    return handle


def _retrieve(services: Services, op: Operation) -> Handler | None:
    """One node: the object, or (the dashboard) ``{detail: node}`` when the schema wraps it."""
    found = _cluster_resource(services, op)
    if found is None:
        return None
    res, serving = found
    registry = services.registry

    def handle(call: Call) -> Result:
        object_id, doc = _find(serving, call, res, res.key_param)
        schema = registry.resolve(op.success_schema or {})
        props = registry.object_properties(schema)
        wrapper = next((name for name in props if name not in doc and len(props) == 1), None)
        if wrapper:
            return Result(op.success_status, {wrapper: serving.docs.project(doc, props[wrapper], seed=object_id)})
        return Result(op.success_status, serving.docs.project(doc, op.success_schema, seed=object_id))
    return handle


def _destroy(services: Services, op: Operation) -> Handler | None:
    found = _cluster_resource(services, op)
    if found is None:
        return None
    res, serving = found

    def handle(call: Call) -> Result:
        object_id, _doc = _find(serving, call, res, res.key_param)
        if not call.dry_run:
            serving.store.delete(res.key, object_id)
        return Result(op.success_status)
    return handle


BEHAVIOURS.operation("agent_nodes_list", "agent_tasks_list", "agent_containers_list",
                     "agent_serve_applications_list", "ray_nodes_list")(_listing)
BEHAVIOURS.operation("ray_nodes_retrieve")(_retrieve)
BEHAVIOURS.operation("agent_serve_applications_destroy")(_destroy)


@BEHAVIOURS.operation("ray_serve_applications_list")
def serve_details(services: Services, op: Operation) -> Handler:
    """The dashboard's Serve state: the stored applications by name, with the proxy and HTTP options."""
    serving = crud(services)
    res = Resource("serve_applications", ("serve_applications",), key_param="name", id_kind="string")
    item = services.registry.resolve(op.success_schema or {})
    app_schema = (services.registry.object_properties(item).get("applications") or {}).get("additionalProperties")

    def handle(call: Call) -> Result:
        apps = {doc["name"]: serving.docs.project(doc, app_schema, seed=oid) for oid, doc in stored(serving, call, res)}
        return Result(op.success_status, {"proxy_location": "EveryNode", "http_options": {"host": "0.0.0.0", "port": 8000},
                                          "controller_info": {"node_id": node_id(1)}, "applications": apps})
    return handle


@BEHAVIOURS.operation("agent_metrics_retrieve")
def metric_panel(services: Services, op: Operation) -> Handler:
    """A panel's last ten minutes, one point a minute (a smooth curve, different per panel)."""
    def handle(call: Call) -> Result:
        panel = str(call.path.get("panel", ""))
        phase = sum(panel.encode()) % 10
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=9)
        series = [{"timestamp": (start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
                   "value": round(50 + 25 * math.sin((i + phase) / 3), 2)} for i in range(10)]
        return Result(op.success_status, {"panel": panel, "unit": "percent", "series": series})
    return handle


@BEHAVIOURS.operation("agent_health_retrieve")
def agent_health(services: Services, op: Operation) -> Handler:
    """The sandbox agent is up and reaches its (sandbox) cluster."""
    def handle(call: Call) -> Result:
        hints = {"status": "healthy", "ray_connected": True, "version": "sandbox"}
        return Result(op.success_status, services.docs.generate(op.success_schema, hints=hints))
    return handle
