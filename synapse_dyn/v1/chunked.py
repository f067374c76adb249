"""The v1 chunked-upload protocol, on a core Client's connection pool.

1. ``PUT chunked_upload/``: multipart with form field ``filename`` and file part ``file`` (the
   chunk), header ``Content-Range: bytes {start}-{end}/{total}``.
2. The reply ``{id, url, offset}`` says where the next chunk goes (``url``, followed as given, same
   origin only) and from which byte (``offset``).
3. ``POST`` to the last ``url`` with ``{md5}`` of the whole file; the reply is ``{id, file, checksum, size}``.

Each chunk is streamed from the file as the multipart file part, read a piece (1 MiB) at a time as
httpx sends it, and every piece is handed to a thread that updates the MD5 of the whole file while
the next piece is framed and sent (hashlib releases the GIL): one pass over the bytes, no chunk
buffer, so memory stays near a few pieces whatever the chunk and file size. A chunk is idempotent
(its Content-Range names its bytes), so connection errors and 5xx replies are retried with
backoff; a retry reads the chunk from the file again, and bytes already hashed are not hashed
twice. A failure carries ``upload_state`` (the last reply); passing it, or the upload's URL, as
``resume=`` continues from the server's offset: the finished prefix is read again only to hash
it, never re-sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import queue
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from .. import errors as core_errors
from ..client import Client
from ..core import PreparedRequest
from ..registry import Operation
from ..retry import RetryPolicy
from ..util.urls import same_origin_url
from . import calls

CHUNK_SIZE = 50 * 1024 * 1024
HASH_PIECE = 1024 * 1024  # bytes per read when hashing a resumed prefix
PIECE = 1024 * 1024  # bytes per read of a chunk as it is sent
PENDING = 4  # pieces read and sent but not hashed yet, at most
CHUNK_RETRY = RetryPolicy(retries=3, backoff=0.5, max_backoff=8.0, max_total=600.0,
                          statuses=frozenset({429, 500, 502, 503, 504}))
CHUNK_READ_TIMEOUT = 60.0
FINISH_READ_TIMEOUT = 300.0
OPERATIONS = {"start": "create_chunked_upload_chunk", "append": "append_chunked_upload_chunk",
              "complete": "finish_chunked_upload", "status": "get_chunked_upload"}

ProgressCallback = Callable[[int, int], Any]


class ChunkPart:
    """The multipart file part of one chunk: bytes ``start`` to ``start + length`` of an open file.

    httpx reads it like a file; each piece is read from the file when httpx asks for it
    (``os.pread``: no shared file position) and shown to ``seen(position, piece)`` on its way out.
    Not an ``io`` file: httpx asks for 64 KiB at a time, and ``read`` hands out ``PIECE`` bytes
    whatever it is asked for, which cuts the per-piece work (a read, a hash update, a socket
    write) sixteen-fold. ``seek`` and ``tell`` let httpx measure the part and a retry rewind it.
    """

    def __init__(self, fd: int, start: int, length: int, name: str,
                 seen: Callable[[int, bytes], None] | None = None) -> None:
        self._fd = fd
        self._start = start
        self._length = length
        self._seen = seen
        self._pos = 0
        self.name = name

    def read(self, size: int | None = -1) -> bytes:
        """The next piece: ``PIECE`` bytes (all the rest for ``size`` None or negative); b"" at the end."""
        left = self._length - self._pos
        want = left if size is None or size < 0 else min(left, max(size, PIECE))
        if want <= 0:
            return b""
        position = self._start + self._pos
        data = os.pread(self._fd, want, position)
        if len(data) < want:
            raise ValueError(f"the file shrank to {position + len(data)} bytes during the upload")
        if self._seen is not None:
            self._seen(position, data)
        self._pos += want
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


class Hasher:
    """MD5 updated on a worker thread, pieces handed over in order; at most ``PENDING`` pieces wait.

    hashlib releases the GIL while it hashes, so the file's MD5 is computed on another core while
    the calling thread frames and sends the same bytes; ``hexdigest`` waits for the pieces handed over.
    """

    def __init__(self) -> None:
        self._md5 = hashlib.md5()
        self._pieces: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._room = threading.Semaphore(PENDING)
        self._worker: threading.Thread | None = None

    def update(self, piece: Any) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="synapse-dyn-md5", daemon=True)
            self._worker.start()
        self._room.acquire()
        self._pieces.put(piece)

    def _run(self) -> None:
        while (piece := self._pieces.get()) is not None:
            self._md5.update(piece)
            self._room.release()

    def close(self) -> None:
        """Wait for the pieces handed over and stop the worker."""
        if self._worker is not None:
            self._pieces.put(None)
            self._worker.join()
            self._worker = None

    def hexdigest(self) -> str:
        self.close()
        return self._md5.hexdigest()


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
        self.retry = dataclasses.replace(CHUNK_RETRY, retries=retries)
        self.fh = fh
        self.name = name
        self.total = total
        self.chunk_size = chunk_size
        self.md5 = Hasher()
        self.hashed = 0
        self.state: dict[str, Any] | None = None

    def follow(self, url: str) -> str:
        """The absolute URL the server named, if it is on the client's own origin."""
        return same_origin_url(self.client.base_url, url, "send upload data")

    def send(self, op: Operation, request: PreparedRequest, read_timeout: float) -> dict[str, Any]:
        if self.state is not None:
            request.url = self.follow(self.state["url"])
        request.read_timeout = read_timeout
        return calls.send(self.client, request, retry=self.retry)

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
        self.hash_to(offset)

    def hash(self, position: int, data: bytes) -> None:
        """Add the part of ``data`` (the file's bytes from ``position``) not hashed yet; bytes come in order."""
        if position <= self.hashed < position + len(data):
            self.md5.update(memoryview(data)[self.hashed - position:] if self.hashed > position else data)
            self.hashed = position + len(data)

    def hash_to(self, end: int) -> None:
        """Hash the file up to byte ``end`` (a resumed prefix, or what a chunk's send did not read)."""
        fd = self.fh.fileno()
        while self.hashed < end:
            data = os.pread(fd, min(HASH_PIECE, end - self.hashed), self.hashed)
            if not data:
                raise ValueError("the file is shorter than the part already uploaded")
            self.hash(self.hashed, data)

    def send_chunk(self, offset: int) -> int:
        """Send the chunk starting at ``offset`` (hashing it as it goes out); returns the server's new offset."""
        n = min(self.chunk_size, self.total - offset, os.fstat(self.fh.fileno()).st_size - offset)
        if n <= 0:
            raise ValueError(f"the file shrank to {offset} bytes during the upload")
        new_offset = self._put(ChunkPart(self.fh.fileno(), offset, n, self.name, self.hash), offset, n)
        self.hash_to(offset + n)  # a reply that came before the whole body was read
        return new_offset

    def _put(self, part: ChunkPart, offset: int, n: int) -> int:
        first = self.state is None
        op = self.ops["start" if first else "append"]
        body = {"filename": self.name, "file": part}
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
            job.md5.close()
            exc.upload_state = dict(job.state) if job.state else None  # type: ignore[attr-defined]
            if job.state:
                exc.add_note(f"upload stopped at byte {job.state['offset']} of {total}; "
                             f"resume with resume={job.state['url']!r}")
            raise
