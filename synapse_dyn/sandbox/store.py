"""SQLite persistence for the sandbox: objects, users, tenants and credentials.

One connection guarded by a lock serves every thread, so concurrent clients never
interleave half-written transactions; a file database runs in WAL mode. Objects are
JSON documents keyed by (resource, id) and scoped by tenant and parent path.

The database (and SQLite's ``-wal`` and ``-shm`` files, which take its mode) is private to its
owner: 0600, in a directory made 0700 when the store creates it. Passwords are salted PBKDF2
hashes; DRF tokens and access tokens are stored as SHA-256 digests, so the file holds no
usable credential.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL,
    id INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    parent TEXT NOT NULL,
    key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (resource, id)
);
CREATE INDEX IF NOT EXISTS objects_scope ON objects (tenant, resource, parent, id);
CREATE INDEX IF NOT EXISTS objects_key ON objects (tenant, resource, parent, key);
CREATE TABLE IF NOT EXISTS counters (resource TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    drf_token TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS memberships (
    user_id INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    PRIMARY KEY (user_id, tenant)
);
CREATE TABLE IF NOT EXISTS access_tokens (
    digest TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    object_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drf_tokens (
    digest TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
FILE_MODE, DIR_MODE = 0o600, 0o700
_DIGEST_LENGTH = 64


@dataclass(frozen=True, slots=True)
class User:
    """A sandbox user (credentials are stored as digests only, never here)."""

    id: int
    email: str


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant (workspace)."""

    id: int
    code: str
    name: str


def private_file(path: Path) -> None:
    """Create ``path`` (and missing parent directories) readable by its owner only, or tighten it."""
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    with contextlib.suppress(OSError):  # a file system without modes
        path.chmod(FILE_MODE)


def digest(secret: str) -> str:
    """How a secret is stored: its SHA-256, never the plaintext."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted PBKDF2 hash."""
    salt = salt or os.urandom(16)
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 20_000)
    return f"{salt.hex()}${derived.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether a password matches its stored hash."""
    salt, _, _ = stored.partition("$")
    try:
        return hash_password(password, bytes.fromhex(salt)) == stored
    except ValueError:
        return False


class Store:
    """The sandbox database (a file path, or in memory when ``path`` is None)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else Path(path).expanduser()
        if self.path is not None:
            private_file(self.path)
        target = ":memory:" if self.path is None else str(self.path)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.RLock()
        self._depth = 0
        with self._lock:
            self._conn.execute("PRAGMA busy_timeout = 30000")
            self._conn.execute("PRAGMA secure_delete = ON")  # a replaced secret leaves no copy in free pages
            if self.path is not None:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(SCHEMA)
            self._hash_plain_drf_tokens()
        if self.path is not None:
            for suffix in ("-wal", "-shm"):
                sidecar = self.path.with_name(self.path.name + suffix)
                if sidecar.exists():
                    sidecar.chmod(FILE_MODE)

    def _hash_plain_drf_tokens(self) -> None:
        """A database written by an older sandbox kept DRF tokens in clear: keep only their digests."""
        rows = self._conn.execute("SELECT id, drf_token FROM users WHERE length(drf_token) != ?",
                                  (_DIGEST_LENGTH,)).fetchall()
        for user_id, token in rows:
            self._conn.execute("UPDATE users SET drf_token = ? WHERE id = ?", (digest(token), user_id))
            self._conn.execute("INSERT OR IGNORE INTO drf_tokens (digest, user_id) VALUES (?, ?)",
                               (digest(token), user_id))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; nested uses join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # -- objects ------------------------------------------------------------
    def next_id(self, resource: str, *, peek: bool = False) -> int:
        """The next id of a resource (consumed unless ``peek``); ids are never reused."""
        with self.transaction() as conn:
            row = conn.execute("SELECT last FROM counters WHERE resource = ?", (resource,)).fetchone()
            value = (row[0] if row else 0) + 1
            if not peek:
                conn.execute("INSERT OR REPLACE INTO counters (resource, last) VALUES (?, ?)", (resource, value))
            return value

    def insert(self, resource: str, tenant: str, parent: str, key: str, object_id: int, doc: dict[str, Any]) -> None:
        """Store a new object."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO objects (resource, id, tenant, parent, key, doc) VALUES (?, ?, ?, ?, ?, ?)",
                (resource, object_id, tenant, parent, key, json.dumps(doc, separators=(",", ":"))),
            )

    def find(self, resource: str, tenant: str, parent: str, key: str) -> tuple[int, dict[str, Any]] | None:
        """(id, document) of the object with a public key in one scope."""
        rows = self._query(
            "SELECT id, doc FROM objects WHERE tenant = ? AND resource = ? AND parent = ? AND key = ? LIMIT 1",
            (tenant, resource, parent, key),
        )
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def replace(self, resource: str, object_id: int, doc: dict[str, Any]) -> None:
        """Overwrite a document."""
        with self.transaction() as conn:
            conn.execute("UPDATE objects SET doc = ? WHERE resource = ? AND id = ?",
                         (json.dumps(doc, separators=(",", ":")), resource, object_id))

    def delete(self, resource: str, object_id: int) -> None:
        """Remove an object."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM objects WHERE resource = ? AND id = ?", (resource, object_id))

    def scan(self, resource: str, tenant: str, parent: str, *, after: int | None = None,
             before: int | None = None, descending: bool = False, batch: int = 200,
             ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Objects of one scope in id order (ascending, or descending), lazily in batches."""
        last = after if not descending else before
        while True:
            sql = "SELECT id, doc FROM objects WHERE tenant = ? AND resource = ? AND parent = ?"
            args: list[Any] = [tenant, resource, parent]
            if descending:
                if last is not None:
                    sql += " AND id < ?"
                    args.append(last)
                sql += " ORDER BY id DESC"
            else:
                if last is not None:
                    sql += " AND id > ?"
                    args.append(last)
                if before is not None:
                    sql += " AND id < ?"
                    args.append(before)
                sql += " ORDER BY id"
            rows = self._query(sql + " LIMIT ?", (*args, batch))
            for object_id, doc in rows:
                yield object_id, json.loads(doc)
            if len(rows) < batch:
                return
            last = rows[-1][0]

    def count_linked(self, resource: str, tenant: str, fields: tuple[str, ...], value: Any) -> int:
        """How many objects of a resource name ``value`` in one of ``fields`` (``project``/``project_id``)."""
        condition = " OR ".join("json_extract(doc, ?) = ?" for _ in fields)
        args: list[Any] = [tenant, resource]
        for name in fields:
            args += [f"$.{name}", value]
        return self._query(f"SELECT COUNT(*) FROM objects WHERE tenant = ? AND resource = ? AND ({condition})",
                           tuple(args))[0][0]

    def count(self, resource: str, tenant: str | None = None) -> int:
        """How many objects a resource holds (in one tenant, or in all)."""
        if tenant is None:
            return self._query("SELECT COUNT(*) FROM objects WHERE resource = ?", (resource,))[0][0]
        return self._query("SELECT COUNT(*) FROM objects WHERE resource = ? AND tenant = ?", (resource, tenant))[0][0]

    # -- tenants and users -------------------------------------------------
    def ensure_tenant(self, code: str, name: str | None = None) -> Tenant:
        """The tenant with a code, created when missing."""
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO tenants (code, name) VALUES (?, ?)", (code, name or code.title()))
            row = conn.execute("SELECT id, code, name FROM tenants WHERE code = ?", (code,)).fetchone()
        return Tenant(*row)

    def tenant(self, code: str) -> Tenant | None:
        """A tenant by code."""
        rows = self._query("SELECT id, code, name FROM tenants WHERE code = ?", (code,))
        return Tenant(*rows[0]) if rows else None

    def tenants_of(self, user_id: int) -> list[Tenant]:
        """The tenants a user belongs to."""
        rows = self._query(
            "SELECT t.id, t.code, t.name FROM tenants t JOIN memberships m ON m.tenant = t.code "
            "WHERE m.user_id = ? ORDER BY t.id", (user_id,))
        return [Tenant(*row) for row in rows]

    def is_member(self, user_id: int, tenant: str) -> bool:
        """Whether a user belongs to a tenant."""
        return bool(self._query("SELECT 1 FROM memberships WHERE user_id = ? AND tenant = ?", (user_id, tenant)))

    def upsert_user(self, email: str, password: str) -> User:
        """Create a user, or set the password of an existing one."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id, email FROM users WHERE email = ?", (email,)).fetchone()
            if row is None:
                conn.execute("INSERT INTO users (email, password, drf_token) VALUES (?, ?, ?)",
                             (email, hash_password(password), digest(secrets.token_hex(20))))
                row = conn.execute("SELECT id, email FROM users WHERE email = ?", (email,)).fetchone()
            else:
                conn.execute("UPDATE users SET password = ? WHERE id = ?", (hash_password(password), row[0]))
        return User(*row)

    def add_membership(self, user_id: int, tenant: str) -> None:
        """Make a user a member of a tenant."""
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO memberships (user_id, tenant) VALUES (?, ?)", (user_id, tenant))

    def user_by_email(self, email: str) -> tuple[User, str] | None:
        """(user, stored password hash) for an email, case-insensitively."""
        rows = self._query("SELECT id, email, password FROM users WHERE lower(email) = lower(?)", (email,))
        return (User(*rows[0][:2]), rows[0][2]) if rows else None

    def add_drf_token(self, secret: str, user_id: int) -> None:
        """Record a DRF token (by digest) for a user."""
        with self.transaction() as conn:
            conn.execute("INSERT INTO drf_tokens (digest, user_id) VALUES (?, ?)", (digest(secret), user_id))

    def user_by_drf_token(self, token: str) -> User | None:
        """The user a DRF token belongs to."""
        rows = self._query("SELECT u.id, u.email FROM users u JOIN drf_tokens d ON d.user_id = u.id "
                           "WHERE d.digest = ?", (digest(token),))
        return User(*rows[0]) if rows else None

    def user(self, user_id: int) -> User | None:
        """A user by id."""
        rows = self._query("SELECT id, email FROM users WHERE id = ?", (user_id,))
        return User(*rows[0]) if rows else None

    # -- access tokens -----------------------------------------------------
    def add_access_token(self, secret: str, user_id: int, tenant: str, object_id: int) -> None:
        """Record an access token (by digest) for a user in a tenant."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO access_tokens (digest, user_id, tenant, object_id) VALUES (?, ?, ?, ?)",
                         (digest(secret), user_id, tenant, object_id))

    def access_token(self, secret: str) -> tuple[int, str, int] | None:
        """(user id, tenant, token object id) of a live access token."""
        rows = self._query("SELECT user_id, tenant, object_id FROM access_tokens WHERE digest = ?", (digest(secret),))
        return tuple(rows[0]) if rows else None  # type: ignore[return-value]

    def has_access_token(self, object_id: int) -> bool:
        """Whether a token object still has a live secret."""
        return bool(self._query("SELECT 1 FROM access_tokens WHERE object_id = ? LIMIT 1", (object_id,)))

    def revoke_access_token(self, object_id: int) -> None:
        """Forget every secret of a deleted token object."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM access_tokens WHERE object_id = ?", (object_id,))

    # -- bookkeeping -------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A sandbox bookkeeping value."""
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a sandbox bookkeeping value."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        """Forget a sandbox bookkeeping value."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
