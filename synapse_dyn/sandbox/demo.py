"""Demo data, the persistent default sandbox, and the ``sandbox demo`` walkthrough.

Demo data is created through the real Client over the in-process transport (never through fault
injection), so it is exactly what the backend would hold after the same calls. The demo user's
password is random, made when the user is seeded and printed by whoever needs it (``sandbox serve
--demo-data``); the database keeps only hashes, so every open of the persistent sandbox mints a new
secret for the same demo token object (earlier secrets stay valid until that token is deleted).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..auth import mask_token
from ..util.dirs import user_dir
from .accounts import new_access_token
from .behaviours.crud import crud
from .service import SANDBOX_ORIGIN, Sandbox

DEMO_EMAIL = "demo@synapse.local"
DEMO_TENANT = "demo"
DEMO_TASKS = 30
DB_ENV = "SYNAPSE_DYN_SANDBOX_DB"
_TOKEN_KEY = "demo_token_id"
_SEEDED_KEY = "demo_seeded"
_LEGACY_TOKEN_KEY = "demo_access_token"
_WORKFLOW = ("data_collections.create", "data_units.create", "projects.create", "tasks.create")


def default_db_path() -> Path:
    """``$SYNAPSE_DYN_SANDBOX_DB``, else ``sandbox.db`` in the user data directory."""
    env = os.environ.get(DB_ENV)
    return Path(env).expanduser() if env else user_dir("data") / "sandbox.db"


def _client(sandbox: Sandbox, **kwargs: Any) -> Any:
    from ..client import Client

    return Client(SANDBOX_ORIGIN, transport=sandbox.transport(faults=False), schema=sandbox.registry, retries=0,
                  **kwargs)


def _has(sandbox: Sandbox, *dotted: str) -> bool:
    names = {op.qualified_name for op in sandbox.registry.operations}
    return all(name in names for name in dotted)


def new_password() -> str:
    """A random demo password (printed once, stored hashed)."""
    return secrets.token_urlsafe(12)


def ensure_demo_data(sandbox: Sandbox, tasks: int = DEMO_TASKS, password: str | None = None) -> str:
    """Seed the demo user, tenant and workflow once; returns a fresh secret for the demo access token.

    ``password`` (re)sets the demo user's password; without it a new user gets a random one.
    """
    with sandbox.store.transaction():
        forget_legacy_token(sandbox)
        seeded = sandbox.store.get_meta(_SEEDED_KEY) is not None
        if not seeded or password is not None:
            sandbox.create_user(DEMO_EMAIL, password or new_password(), DEMO_TENANT)
        token = demo_token(sandbox)
        if not seeded:
            seed_demo_objects(sandbox, token, tasks)
            sandbox.store.set_meta(_SEEDED_KEY, "1")
        return token


def forget_legacy_token(sandbox: Sandbox) -> None:
    """An older sandbox kept the demo token in clear in ``meta``: keep only which token object it was."""
    legacy = sandbox.store.get_meta(_LEGACY_TOKEN_KEY)
    if legacy is None:
        return
    record = sandbox.store.access_token(legacy)
    if record is not None:
        sandbox.store.set_meta(_TOKEN_KEY, str(record[2]))
    sandbox.store.set_meta(_SEEDED_KEY, "1")
    sandbox.store.delete_meta(_LEGACY_TOKEN_KEY)


def demo_token(sandbox: Sandbox) -> str:
    """A new secret for the demo token object (a new object when that one was deleted)."""
    token_id = sandbox.store.get_meta(_TOKEN_KEY)
    found = sandbox.store.user_by_email(DEMO_EMAIL)
    if found is None:
        sandbox.create_user(DEMO_EMAIL, new_password(), DEMO_TENANT)
    elif token_id is not None and sandbox.store.has_access_token(int(token_id)):
        secret = new_access_token()
        sandbox.store.add_access_token(secret, found[0].id, DEMO_TENANT, int(token_id))
        return secret
    secret = sandbox.issue_token(DEMO_EMAIL, DEMO_TENANT, description="demo")
    record = sandbox.store.access_token(secret)
    if record is not None:
        sandbox.store.set_meta(_TOKEN_KEY, str(record[2]))
    return secret


def seed_demo_objects(sandbox: Sandbox, token: str, tasks: int) -> None:
    """The demo workflow (when the schema has it) and sample objects of read-only resources."""
    if _has(sandbox, *_WORKFLOW):
        with _client(sandbox, access_token=token, tenant=DEMO_TENANT) as client:
            seed_workflow(client, tasks)
    traits = crud(sandbox.app.services).traits
    for name, res in sandbox.app.resources.items():
        if not res.has_create and not res.parent_params and res.has_retrieve and not traits.of(res):
            sandbox.seed(name, 3, tenant=DEMO_TENANT)


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
    password = new_password()
    with Sandbox(db=db) as sandbox:
        sandbox.create_user(DEMO_EMAIL, password, DEMO_TENANT)
        echo(f"Sandbox: {sandbox.registry.label} schema, {len(sandbox.registry.operations)} operations, "
             f"{'database ' + str(sandbox.db_path) if sandbox.db_path else 'in-memory database'}")
        with _client(sandbox, tenant=DEMO_TENANT) as client:
            client.auth.login(email=DEMO_EMAIL, password=password)
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
