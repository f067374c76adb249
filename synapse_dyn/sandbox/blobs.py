"""File bytes the sandbox keeps: chunked uploads and data files, one file per blob on disk.

Blobs live in a directory next to the SQLite database (``sandbox.db.files/``, mode 0700, files 0600),
or in a temporary directory, made on first use and removed on close, for an in-memory sandbox. A blob is named by a
random hex key; chunks are written at their offset, so no upload is ever held in memory whole.
Each blob can be downloaded at ``/_sandbox/files/{key}/{filename}``, without credentials, as a
presigned storage URL would be.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

from .messages import Request, Response

READ_BLOCK = 1024 * 1024
FILE_MODE, DIR_MODE = 0o600, 0o700
DOWNLOAD_PREFIX = "/_sandbox/files/"
_KEY = re.compile(r"^[0-9a-f]{32}$")


def new_key() -> str:
    """A fresh, unguessable blob key."""
    return secrets.token_hex(16)


def is_key(text: str) -> bool:
    """Whether a string is a well-formed blob key (never a path)."""
    return bool(_KEY.match(text))


def download_url(origin: str, key: str, filename: str) -> str:
    """The absolute URL a blob is downloaded from (the file name keeps its suffix for the client's cache)."""
    return f"{origin}{DOWNLOAD_PREFIX}{key}/{quote(filename or 'file', safe='')}"


class Blobs:
    """Blob files under one directory (``None``: a temporary directory)."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()

    @property
    def directory(self) -> Path:
        """Where the blobs are (created when first asked for)."""
        with self._lock:
            if self._directory is None:
                self._temporary = tempfile.TemporaryDirectory(prefix="synapse-sandbox-", ignore_cleanup_errors=True)
                self._directory = Path(self._temporary.name)
            if not self._directory.exists():
                self._directory.mkdir(mode=DIR_MODE, parents=True)
            self._directory.chmod(DIR_MODE)
            return self._directory

    def path(self, key: str) -> Path:
        """The file of a blob."""
        if not is_key(key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.directory / key

    def write_at(self, key: str, offset: int, data: bytes | memoryview) -> None:
        """Write ``data`` at ``offset``, dropping anything stored beyond it."""
        path = self.path(key)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
        with open(path, "r+b") as fh:
            fh.truncate(offset)
            fh.seek(offset)
            fh.write(data)

    def md5(self, key: str) -> str:
        """Hex MD5 of a blob, read in blocks."""
        digest = hashlib.md5()  # noqa: S324 - the protocol's checksum, not security
        for block in self.read(key):
            digest.update(block)
        return digest.hexdigest()

    def read(self, key: str) -> Iterator[bytes]:
        """A blob's bytes in blocks (nothing for a missing blob)."""
        path = self.path(key)
        if not path.exists():
            return
        with open(path, "rb") as fh:
            while block := fh.read(READ_BLOCK):
                yield block

    def close(self) -> None:
        """Remove the temporary directory, if one was made."""
        with self._lock:
            if self._temporary is not None:
                self._temporary.cleanup()
                self._temporary = None
                self._directory = None


def blob_directory(store_path: Path | None) -> Path | None:
    """``<db>.files/`` next to a database file; None (a temporary directory) for an in-memory store."""
    return None if store_path is None else store_path.with_name(store_path.name + ".files")


def download(blobs: Blobs, request: Request) -> Response | None:
    """The bytes of a blob for ``GET /_sandbox/files/{key}/{name}`` (None for any other request)."""
    if request.method not in ("GET", "HEAD") or not request.path.startswith(DOWNLOAD_PREFIX):
        return None
    key, _, name = request.path[len(DOWNLOAD_PREFIX):].partition("/")
    if not is_key(key) or not name or "/" in name or not blobs.path(key).exists():
        return Response(404, {"Content-Type": "application/json"}, b'{"detail":"Not found."}')
    kind = mimetypes.guess_type(unquote(name))[0] or "application/octet-stream"
    return Response(200, {"Content-Type": kind}, b"".join(blobs.read(key)))
