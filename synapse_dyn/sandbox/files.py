"""Operations that carry file bytes: chunked uploads, data files, models, and blob downloads.

``POST data_files/`` stores a direct multipart ``file`` (checksum and size computed here) or takes a
completed chunked upload (``{chunked_upload, meta: {filename}}``); ``POST models/`` with
``chunked_upload`` takes that upload's file; ``data_files/verify_checksums/`` answers which of the
given checksums the tenant's data files hold. Operations are recognised by their v1 operationIds;
a schema without them is served by the generic handlers alone.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..registry import Operation
from .blobs import DOWNLOAD_PREFIX, Blobs, download_url, is_key, new_key
from .handlers import Call, Handlers, Result
from .messages import ApiError, Request, Response
from .parsing import UploadedFile
from .store import Store
from .uploads import ChunkedUploads

DATA_FILES, MODELS = "data_files", "models"
Handler = Callable[[Call], Result]


def blob_directory(store: Store) -> Path | None:
    """``<db>.files/`` next to a database file; None (a temporary directory) for an in-memory store."""
    return None if store.path is None else store.path.with_name(store.path.name + ".files")


class FileService:
    """The file-carrying operations of a schema, by operationId, and the download route."""

    def __init__(self, handlers: Handlers, store: Store) -> None:
        self.handlers = handlers
        self.store = store
        self.blobs = Blobs(blob_directory(store))
        self.uploads = ChunkedUploads(store, self.blobs)
        self.routes: dict[str, Handler] = {
            "create_chunked_upload_chunk": self.uploads.start,
            "append_chunked_upload_chunk": self.uploads.append,
            "get_chunked_upload": self.uploads.status,
            "finish_chunked_upload": self.uploads.finish,
            "create_data_file": self.create_data_file,
            "create_model": self.create_model,
            "verify_data_files_checksums": self.verify_checksums,
        }

    def handler(self, op: Operation) -> Handler | None:
        """The handler for an operation, or None when the generic handlers serve it."""
        return self.routes.get(op.operation_id or "")

    def close(self) -> None:
        """Remove a temporary blob directory."""
        self.blobs.close()

    # -- operations ------------------------------------------------------------
    def create_data_file(self, call: Call) -> Result:
        """``POST data_files/``: a direct multipart ``file``, or a completed chunked upload."""
        body = dict(_mapping(call.body))
        given = body.get("file")
        if isinstance(given, UploadedFile):
            blob = new_key()
            if not call.dry_run:
                self.blobs.write_at(blob, 0, given.content)
            checksum = hashlib.md5(given.content).hexdigest()  # noqa: S324 - the API's checksum
            size, filename = len(given.content), str(given["filename"])
        elif body.get("chunked_upload") is not None:
            upload = self.uploads.completed(call, body["chunked_upload"])
            blob, checksum, size = upload["blob"], upload["checksum"], upload["total"]
            filename = str(_mapping(body.get("meta")).get("filename") or upload.get("filename") or "file")
        else:
            raise ApiError(400, "No file was submitted.",
                           details=[{"field": "file", "message": "No file was submitted."}])
        body.update(file=download_url(call.request.origin, blob, filename), checksum=checksum, size=size,
                    filename=filename, blob=blob)
        return self._create(call, DATA_FILES, body)

    def create_model(self, call: Call) -> Result:
        """``POST models/``: with ``chunked_upload``, the model's file is that completed upload."""
        body = dict(_mapping(call.body))
        if body.get("chunked_upload") is not None:
            upload = self.uploads.completed(call, body["chunked_upload"])
            filename = str(upload.get("filename") or "model")
            body.update(file=download_url(call.request.origin, upload["blob"], filename),
                        checksum=upload["checksum"], size=upload["total"], blob=upload["blob"])
        return self._create(call, MODELS, body)

    def verify_checksums(self, call: Call) -> Result:
        """``POST data_files/verify_checksums/``: which of the given checksums are stored in the tenant."""
        wanted = [str(c) for c in _mapping(call.body).get("checksums") or []]
        stored = {doc.get("checksum") for _id, doc in self.store.scan(DATA_FILES, call.tenant, "")}
        return Result(call.op.success_status, {"checksums": [c for c in dict.fromkeys(wanted) if c in stored]})

    def download(self, request: Request) -> Response | None:
        """The bytes of a blob for ``GET /_sandbox/files/{key}/{name}`` (None for any other request)."""
        if request.method not in ("GET", "HEAD") or not request.path.startswith(DOWNLOAD_PREFIX):
            return None
        key, _, name = request.path[len(DOWNLOAD_PREFIX):].partition("/")
        if not is_key(key) or not name or "/" in name or not self.blobs.path(key).exists():
            return Response(404, {"Content-Type": "application/json"}, b'{"detail":"Not found."}')
        kind = mimetypes.guess_type(unquote(name))[0] or "application/octet-stream"
        return Response(200, {"Content-Type": kind}, b"".join(self.blobs.read(key)))

    def _create(self, call: Call, resource: str, body: dict[str, Any]) -> Result:
        res = self.handlers.resources.get(resource)
        if res is None:
            return self.handlers.dispatch(call)
        row, _extra = self.handlers.create_one(call, res, body)
        return Result(call.op.success_status, self.handlers.shape(call, res, row, call.op.success_schema))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

