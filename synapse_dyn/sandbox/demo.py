"""Demo data, the persistent default sandbox, and the ``sandbox demo`` walkthrough.

Demo data is created through the real Client over the in-process transport, so it is
exactly what the backend would hold after the same calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..auth import mask_token
from .service import SANDBOX_ORIGIN, Sandbox

DEMO_EMAIL = "demo@synapse.local"
DEMO_PASSWORD = "synapse-demo"
DEMO_TENANT = "demo"
DEMO_TASKS = 30
DB_ENV = "SYNAPSE_DYN_SANDBOX_DB"
_TOKEN_KEY = "demo_access_token"
_WORKFLOW = ("data_collections.create", "data_units.create", "projects.create", "tasks.create")


def default_db_path() -> Path:
    """``$SYNAPSE_DYN_SANDBOX_DB``, else ``sandbox.db`` in the user data directory."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("synapse-dyn", appauthor=False)) / "sandbox.db"


def _client(sandbox: Sandbox, **kwargs: Any) -> Any:
    from ..client import Client

    return Client(SANDBOX_ORIGIN, transport=sandbox.transport(), schema=sandbox.registry, retries=0, **kwargs)


def _has(sandbox: Sandbox, *dotted: str) -> bool:
    names = {op.qualified_name for op in sandbox.registry.operations}
    return all(name in names for name in dotted)


def ensure_demo_data(sandbox: Sandbox, tasks: int = DEMO_TASKS) -> str:
    """Seed the demo user, tenant and workflow once; returns the demo access token."""
    with sandbox.store.transaction():
        token = sandbox.store.get_meta(_TOKEN_KEY)
        if token and sandbox.store.access_token(token):
            return token
        sandbox.create_user(DEMO_EMAIL, DEMO_PASSWORD, DEMO_TENANT)
        token = sandbox.issue_token(DEMO_EMAIL, DEMO_TENANT, description="demo")
        if _has(sandbox, *_WORKFLOW):
            with _client(sandbox, access_token=token, tenant=DEMO_TENANT) as client:
                seed_workflow(client, tasks)
        for name, res in sandbox.app.resources.items():
            if not res.has_create and not res.parent_params and res.has_retrieve and name not in ("tenants", "tokens"):
                sandbox.seed(name, 3, tenant=DEMO_TENANT)
        sandbox.store.set_meta(_TOKEN_KEY, token)
    return token


def seed_workflow(client: Any, tasks: int) -> tuple[Any, Any, list[Any]]:
    """A data collection, a project on it, and ``tasks`` tasks (one data unit each)."""
    collection = client.data_collections.create({"name": "Street scenes", "category": "image",
                                                 "description": "Dashcam frames from city drives"})
    project = client.projects.create({
        "title": "Vehicle detection", "category": "image", "data_collection": collection.id,
        "description": "Draw a box around every vehicle",
        "configuration": {"tools": [{"type": "bounding_box", "classes": ["car", "truck", "bus"]}]},
    })
    made = []
    for index in range(tasks):
        unit = client.data_units.create({"data_collection": collection.id, "meta": {"frame": index + 1}})
        made.append(client.tasks.create({"project": project.id, "data_unit": unit.id}))
    return collection, project, made


def open_default(path: str | os.PathLike[str] | None = None) -> tuple[Sandbox, dict[str, Any]]:
    """The persistent sandbox (seeded once with demo data) and the Client keyword arguments for it."""
    sandbox = Sandbox(db=Path(path) if path is not None else default_db_path())
    token = ensure_demo_data(sandbox)
    return sandbox, {"base_url": SANDBOX_ORIGIN, "transport": sandbox.transport(), "access_token": token,
                     "tenant": DEMO_TENANT}


def run_demo(echo: Callable[[str], Any] = print, *, db: str | os.PathLike[str] | None = None,
             tasks: int = 25, per_page: int = 10) -> dict[str, Any]:
    """Walk through login -> access token -> data -> pages -> retrieve -> permissions, printing each step."""
    with Sandbox(db=db) as sandbox:
        sandbox.create_user(DEMO_EMAIL, DEMO_PASSWORD, DEMO_TENANT)
        echo(f"Sandbox: {sandbox.registry.label} schema, {len(sandbox.registry.operations)} operations, "
             f"{'database ' + str(sandbox.db_path) if sandbox.db_path else 'in-memory database'}")
        with _client(sandbox, tenant=DEMO_TENANT) as client:
            client.auth.login(email=DEMO_EMAIL, password=DEMO_PASSWORD)
            echo(f"1. login as {DEMO_EMAIL}: DRF token {mask_token(client.credentials.get('drf_token'))}")

            created = client.tokens.create({"description": "sandbox demo"})
            client.set_access_token(created["token"])
            client.set_drf_token(None)
            echo(f"2. access token #{created.id} created: {mask_token(created['token'])} (shown once)")

            collection, project, made = seed_workflow(client, tasks)
            echo(f"3. data collection #{collection.id} {collection.name!r} ({collection.category})")
            echo(f"4. project #{project.id} {project.title!r} on collection #{project.data_collection_id}")
            echo(f"5. {len(made)} tasks created (ids {made[0].id}-{made[-1].id})")

            page = client.tasks.list(project=project.id, per_page=per_page)
            echo(f"6. first page: {len(page.results)} tasks, next cursor {page.next!r}")
            sizes, seen = [], []
            request = client.tasks.list(project=project.id, per_page=per_page)
            while True:
                sizes.append(len(request.results))
                seen.extend(t.id for t in request.results)
                if not request.next:
                    break
                request = client.tasks.list(project=project.id, per_page=per_page, cursor=request.next)
            echo(f"   walked {len(sizes)} pages of {'+'.join(map(str, sizes))} = {len(seen)} tasks, "
                 f"{len(set(seen))} distinct")

            task = client.tasks.retrieve(made[0].id)
            echo(f"7. task #{task.id}: project #{task.project_id}, data unit #{task.data_unit_id}, "
                 f"status {task.status!r}")

            client.projects.check_permission(project.id, permission="edit")
            summary = client.projects.permissions(project.id)
            role = (summary.role or {}).get("code") if isinstance(summary.role, dict) else summary.role
            echo(f"8. permission check on project #{project.id}: edit allowed; role {role!r}, "
                 f"permissions {', '.join(summary.permissions) or '-'}")
            echo(f"Done. Last request id: {client.last_request_id}")
            return {"collection": collection.id, "project": project.id, "tasks": len(seen),
                    "distinct": len(set(seen)), "pages": sizes}
