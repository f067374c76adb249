"""The v1 chunked-upload protocol, on a core Client's connection pool.

1. ``PUT chunked_upload/``: multipart with form field ``filename`` and file part ``file`` (the
   chunk), header ``Content-Range: bytes {start}-{end}/{total}``.
2. The reply ``{id, url, offset}`` says where the next chunk goes (``url``, followed as given, same
   origin only) and from which byte (``offset``).
3. ``POST`` to the last ``url`` with ``{md5}`` of the whole file; the reply is ``{id, file, checksum, size}``.

One chunk buffer is allocated and reused, and each chunk is streamed from it as the multipart file
part, so memory stays near one chunk whatever the file size. The MD5 of the whole file is updated
chunk by chunk, in a thread while the chunk is on the wire. A chunk is idempotent (its Content-Range names its bytes), so connection errors and 5xx replies are
retried with backoff. A failure carries ``upload_state`` (the last reply); passing it, or the
upload's URL, as ``resume=`` continues from the server's offset: the finished prefix is read again
only to hash it, never re-sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from .. import core
from .. import errors as core_errors
from ..client import Client
from ..registry import Operation
from ..retry import RetryPolicy
from . import calls

CHUNK_SIZE = 50 * 1024 * 1024
CHUNK_RETRY = RetryPolicy(retries=3, backoff=0.5, max_backoff=8.0, max_total=600.0,
                          statuses=frozenset({429, 500, 502, 503, 504}))
CHUNK_READ_TIMEOUT = 60.0
FINISH_READ_TIMEOUT = 300.0
OPERATIONS = {"start": "create_chunked_upload_chunk", "append": "append_chunked_upload_chunk",
              "complete": "finish_chunked_upload", "status": "get_chunked_upload"}

ProgressCallback = Callable[[int, int], Any]


class ChunkReader(io.RawIOBase):
    """A seekable, read-only file over one chunk's bytes, so httpx streams the part without copying the chunk."""

    def __init__(self, view: memoryview, name: str) -> None:
        super().__init__()
        self._view = view
        self._pos = 0
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        data = self._view[self._pos:end].tobytes()
        self._pos = max(self._pos, end)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


class _Upload:
    """The state of one upload: the open file, its running MD5, and the server's last reply."""

    def __init__(self, client: Client, fh: BinaryIO, name: str, total: int, chunk_size: int, retries: int) -> None:
        registry = client.registry
        missing = [op_id for op_id in OPERATIONS.values() if op_id not in registry.by_operation_id]
        if missing:
            raise core_errors.ConfigurationError(
                f"the client's schema ({registry.label}) lacks the chunked-upload operations "
                f"{', '.join(missing)}; use schema='v1'")
        self.ops: dict[str, Operation] = {k: registry.by_operation_id[v] for k, v in OPERATIONS.items()}
        self.client = client
        self.session = dataclasses.replace(client._session, retry=dataclasses.replace(CHUNK_RETRY, retries=retries))
        self.fh = fh
        self.name = name
        self.total = total
        self.chunk_size = chunk_size
        self.buffer = bytearray(min(chunk_size, total))
        self.md5 = hashlib.md5()
        self.hashed = 0
        self.state: dict[str, Any] | None = None

    def follow(self, url: str) -> str:
        """The absolute URL the server named, if it is on the client's own origin."""
        return core.same_origin_url(self.client.base_url, url, "send upload data")

    def send(self, op: Operation, request: core.PreparedRequest, read_timeout: float) -> dict[str, Any]:
        if self.state is not None:
            request.url = self.follow(self.state["url"])
        request.read_timeout = read_timeout
        return calls.plain(calls.run(self.client, core.call_flow(self.session, op, request)))

    def resume_from(self, resume: Mapping[str, Any] | str) -> None:
        """Ask the upload's URL (given, or in a previous reply) for its state, then hash the finished prefix.

        The server's word wins over a saved reply: a chunk may have been stored after its reply was lost.
        """
        if not isinstance(resume, str):
            if "url" not in resume or "offset" not in resume:
                raise ValueError("resume= needs the last reply of the upload ({id, url, offset}) or its URL")
            resume = str(resume["url"])
        if isinstance(resume, str):
            upload_id = [s for s in urlsplit(resume).path.split("/") if s][-1]
            self.state = {"id": upload_id, "url": resume, "offset": 0}
            op = self.ops["status"]
            request = calls.prepare(self.client, op, path={"id": upload_id})
            reply = self.send(op, request, CHUNK_READ_TIMEOUT)
            self.state = {"id": reply.get("id", upload_id), "url": reply.get("url") or resume,
                          "offset": reply["offset"]}
        offset = self.state["offset"]
        if not 0 <= offset <= self.total:
            raise ValueError(f"the upload is at byte {offset}, outside this {self.total}-byte file")
        self.fh.seek(0)
        while self.hashed < offset:
            n = self.fh.readinto(memoryview(self.buffer)[: min(len(self.buffer), offset - self.hashed)])
            if not n:
                raise ValueError("the file is shorter than the part already uploaded")
            self.md5.update(memoryview(self.buffer)[:n])
            self.hashed += n

    def send_chunk(self, offset: int) -> int:
        """Send the chunk starting at ``offset``; returns the server's new offset."""
        self.fh.seek(offset)
        n = self.fh.readinto(memoryview(self.buffer)[: min(self.chunk_size, self.total - offset)])
        if not n:
            raise ValueError(f"the file shrank to {offset} bytes during the upload")
        view = memoryview(self.buffer)[:n]
        hashing = None
        if offset + n > self.hashed:  # hash while the chunk is on the wire (hashlib releases the GIL)
            hashing = threading.Thread(target=self.md5.update, args=(view[self.hashed - offset:],), daemon=True)
            hashing.start()
            self.hashed = offset + n
        try:
            return self._put(view, offset)
        finally:
            if hashing is not None:
                hashing.join()

    def _put(self, view: memoryview, offset: int) -> int:
        n = len(view)
        first = self.state is None
        op = self.ops["start" if first else "append"]
        body = {"filename": self.name, "file": ChunkReader(view, self.name)}
        headers = {"Content-Range": f"bytes {offset}-{offset + n - 1}/{self.total}"}
        request = calls.prepare(self.client, op, path={} if first else {"id": self.state["id"]},
                                headers=headers, body=body)
        try:
            reply = self.send(op, request, CHUNK_READ_TIMEOUT)
        except core_errors.ValidationError as exc:
            # A retried chunk whose first attempt was stored (its reply lost): the server names its offset.
            stored = exc.response if isinstance(exc.response, dict) else {}
            if first or stored.get("offset") != offset + n or not stored.get("url"):
                raise
            reply = stored
        new_offset = reply.get("offset")
        if not isinstance(new_offset, int) or not offset < new_offset <= offset + n or not reply.get("url"):
            raise core_errors.ProtocolError(
                f"the server answered a chunk of bytes {offset}-{offset + n - 1} with offset {new_offset!r}"
                f"{'' if reply.get('url') else ' and no url'}")
        self.state = {"id": reply.get("id"), "url": reply["url"], "offset": new_offset}
        return new_offset

    def finish(self) -> dict[str, Any]:
        op = self.ops["complete"]
        assert self.state is not None
        request = calls.prepare(self.client, op, path={"id": self.state["id"]}, body={"md5": self.md5.hexdigest()})
        return self.send(op, request, FINISH_READ_TIMEOUT)


def upload(
    client: Client,
    file_path: str | os.PathLike[str],
    *,
    chunk_size: int = CHUNK_SIZE,
    on_progress: ProgressCallback | None = None,
    resume: Mapping[str, Any] | str | None = None,
    retries: int = CHUNK_RETRY.retries,
) -> dict[str, Any]:
    """Upload a file in chunks; returns the server's ``{id, file, checksum, size}``.

    ``on_progress(offset, total)`` runs after each chunk (and once at the start of a resume).
    On failure the raised error's ``upload_state`` is the last reply: pass it (or its ``url``)
    as ``resume=`` to continue without re-sending finished chunks.
    """
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive number of bytes, not {chunk_size!r}")
    path = Path(file_path)
    with open(path, "rb") as fh:
        total = os.fstat(fh.fileno()).st_size
        if total == 0:
            raise ValueError(f"{path} is empty: a chunked upload needs at least one byte")
        job = _Upload(client, fh, path.name, total, chunk_size, retries)
        try:
            offset = 0
            if resume is not None:
                job.resume_from(resume)
                offset = job.state["offset"] if job.state else 0
                if on_progress is not None:
                    on_progress(offset, total)
            while offset < total:
                offset = job.send_chunk(offset)
                if on_progress is not None:
                    on_progress(offset, total)
            return job.finish()
        except BaseException as exc:  # Ctrl-C too: the caller needs the state to resume
            exc.upload_state = dict(job.state) if job.state else None  # type: ignore[attr-defined]
            if job.state:
                exc.add_note(f"upload stopped at byte {job.state['offset']} of {total}; "
                             f"resume with resume={job.state['url']!r}")
            raise
