"""Persistence: SQLite files survive restarts, concurrent writers do not corrupt them, and
``open_default`` seeds its demo data exactly once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from synapse_dyn import Client, errors, load_spec
from synapse_dyn.registry import Registry
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox, open_default
from synapse_dyn.sandbox.demo import DEMO_TASKS, DEMO_TENANT, default_db_path

EMAIL = "dana@synapse.local"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_spec("v2")


def connect(sandbox: Sandbox, token: str, tenant: str = "acme") -> Client:
    return Client(SANDBOX_ORIGIN, transport=sandbox.transport(), schema=sandbox.registry, access_token=token,
                  tenant=tenant, retries=0)


def test_data_survives_a_restart(tmp_path: Path, registry: Registry) -> None:
    db = tmp_path / "sandbox.db"
    with Sandbox(registry, db=db) as first:
        first.create_user(EMAIL, "pw", "acme")
        token = first.issue_token(EMAIL, "acme")
        client = connect(first, token)
        project = client.projects.create({"title": "Kept", "category": "image", "configuration": {}})
        gone = client.projects.create({"title": "Deleted", "category": "image", "configuration": {}})
        client.projects.destroy(gone.id)
    with Sandbox(registry, db=db) as second:
        client = connect(second, token)
        assert client.projects.retrieve(project.id).title == "Kept"
        assert [p.title for p in client.projects.list().results] == ["Kept"]
        assert client.projects.create({"title": "Next", "category": "image", "configuration": {}}).id == 3
        login = Client(SANDBOX_ORIGIN, transport=second.transport(), schema=registry, tenant="acme")
        login.auth.login(email=EMAIL, password="pw")
        assert login.projects.list().results


def test_a_file_database_runs_in_wal_mode(tmp_path: Path, registry: Registry) -> None:
    with Sandbox(registry, db=tmp_path / "w.db"):
        mode = sqlite3.connect(tmp_path / "w.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_secrets_are_stored_as_digests(tmp_path: Path, registry: Registry) -> None:
    with Sandbox(registry, db=tmp_path / "s.db") as sandbox:
        sandbox.create_user(EMAIL, "hunter22", "acme")
        token = sandbox.issue_token(EMAIL, "acme")
    dump = "\n".join(sqlite3.connect(tmp_path / "s.db").iterdump())
    assert token not in dump and "hunter22" not in dump
    assert token.startswith("syn_") and len(token) > 20


def test_concurrent_writers_do_not_corrupt_the_database(tmp_path: Path, registry: Registry) -> None:
    db = tmp_path / "busy.db"
    boxes = [Sandbox(registry, db=db), Sandbox(registry, db=db)]  # two connections to one file
    boxes[0].create_user(EMAIL, "pw", "acme")
    token = boxes[0].issue_token(EMAIL, "acme")
    failures: list[BaseException] = []

    def writer(box: Sandbox, count: int) -> None:
        try:
            client = connect(box, token)
            for n in range(count):
                client.tasks.create({"project": 1, "data_unit": n + 1})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(boxes[i % 2], 25)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for box in boxes:
        box.close()
    assert failures == []
    with Sandbox(registry, db=db) as fresh:
        ids = [t.id for t in connect(fresh, token).tasks.list(per_page=50, list_all=True)]
    assert sorted(ids) == list(range(1, 201))
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_open_default_seeds_once_and_returns_client_arguments(tmp_path: Path) -> None:
    db = tmp_path / "default.db"
    sandbox, kwargs = open_default(str(db))
    assert set(kwargs) == {"base_url", "transport", "access_token", "tenant"}
    assert kwargs["tenant"] == DEMO_TENANT and kwargs["access_token"].startswith("syn_")
    with Client(**kwargs) as client:
        assert len(list(client.tasks.list(per_page=100, list_all=True))) == DEMO_TASKS
        project = client.projects.list().results[0]
        assert client.projects.retrieve(project.id).task_count == DEMO_TASKS
        assert client.data_files.list().results  # read-only resources get sample objects too
    sandbox.close()
    again, kwargs_again = open_default(str(db))
    assert kwargs_again["access_token"] != kwargs["access_token"]  # a new secret: only digests are stored
    with Client(**kwargs_again) as client, Client(**{**kwargs_again, "access_token": kwargs["access_token"]}) as old:
        assert len(client.projects.list().results) == 1  # seeded once
        assert len(old.projects.list().results) == 1  # the earlier secret still works
        assert len(client.tokens.list().results) == 1  # both are secrets of the one demo token
    again.close()
    content = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("default.db-*"))
    assert kwargs["access_token"].encode() not in content and kwargs_again["access_token"].encode() not in content


def test_open_default_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "env" / "chosen.db"
    monkeypatch.setenv("SYNAPSE_DYN_SANDBOX_DB", str(target))
    assert default_db_path() == target
    sandbox, _kwargs = open_default()
    assert sandbox.db_path == target and target.exists()
    sandbox.close()


def test_open_default_reseeds_when_the_token_was_revoked(tmp_path: Path) -> None:
    sandbox, kwargs = open_default(str(tmp_path / "r.db"))
    with Client(**kwargs) as client:
        own = next(t for t in client.tokens.list().results)
        client.tokens.destroy(own.id)
        with pytest.raises(errors.AuthenticationError):
            client.projects.list()
    sandbox.close()
    again, fresh = open_default(str(tmp_path / "r.db"))
    assert fresh["access_token"] != kwargs["access_token"]
    with Client(**fresh) as client:
        assert client.projects.list().results
    again.close()
