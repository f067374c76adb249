"""File bytes the sandbox keeps: chunked uploads and data files, one file per blob on disk.

Blobs live in a directory next to the SQLite database (``sandbox.db.files/``), or in a temporary
directory, made on first use and removed on close, for an in-memory sandbox. A blob is named by a
random hex key; chunks are written at their offset, so no upload is ever held in memory whole.
Each blob can be downloaded at ``/_sandbox/files/{key}/{filename}``, without credentials, as a
presigned storage URL would be.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

READ_BLOCK = 1024 * 1024
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
            self._directory.mkdir(parents=True, exist_ok=True)
            return self._directory

    def path(self, key: str) -> Path:
        """The file of a blob."""
        if not is_key(key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.directory / key

    def write_at(self, key: str, offset: int, data: bytes | memoryview) -> None:
        """Write ``data`` at ``offset``, dropping anything stored beyond it."""
        path = self.path(key)
        with open(path, "r+b" if path.exists() else "wb") as fh:
            fh.truncate(offset)
            fh.seek(offset)
            fh.write(data)

    def size(self, key: str) -> int:
        """Bytes stored (0 for a missing blob)."""
        path = self.path(key)
        return path.stat().st_size if path.exists() else 0

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
