"""Write a file atomically (temp file in the same directory + rename): readers never see half a file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o600, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` in one step; the file is created with ``mode`` (0600 by default).
    ``fsync`` flushes it to disk before the rename (for files a crash must not leave empty)."""
    import tempfile  # here: start-up (which only reads files) does not pay for it

    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", suffix=".tmp", dir=target.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
