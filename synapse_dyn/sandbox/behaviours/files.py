"""Operations that carry file bytes: chunked uploads, data files and models (by their v1 operationIds).

``POST data_files/`` stores a direct multipart ``file`` (checksum and size computed here) or takes a
completed chunked upload (``{chunked_upload, meta: {filename}}``); ``POST models/`` with
``chunked_upload`` takes that upload's file; ``data_files/verify_checksums/`` answers which of the
given checksums the tenant's data files hold. A schema without these operationIds is served by the
generic behaviours alone. File bytes live in the sandbox's blobs (``blobs.py``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ...registry import Operation
from ..blobs import Blobs, download_url, new_key
from ..calls import Call, Result, mapping
from ..messages import ApiError
from ..parsing import UploadedFile
from ..store import Store
from .crud import Crud, crud
from .registry import BEHAVIOURS, Handler, Services
from .uploads import ChunkedUploads

DATA_FILES, MODELS = "data_files", "models"


class Files:
    """The file-carrying operations of a schema."""

    def __init__(self, crud: Crud, store: Store, blobs: Blobs) -> None:
        self.crud = crud
        self.store = store
        self.blobs = blobs
        self.uploads = ChunkedUploads(store, blobs)

    def create_data_file(self, call: Call) -> Result:
        """``POST data_files/``: a direct multipart ``file``, or a completed chunked upload."""
        body = dict(mapping(call.body))
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
            filename = str(mapping(body.get("meta")).get("filename") or upload.get("filename") or "file")
        else:
            raise ApiError(400, "No file was submitted.",
                           details=[{"field": "file", "message": "No file was submitted."}])
        body.update(file=download_url(call.request.origin, blob, filename), checksum=checksum, size=size,
                    filename=filename, blob=blob)
        return self._create(call, DATA_FILES, body)

    def create_model(self, call: Call) -> Result:
        """``POST models/``: with ``chunked_upload``, the model's file is that completed upload."""
        body = dict(mapping(call.body))
        if body.get("chunked_upload") is not None:
            upload = self.uploads.completed(call, body["chunked_upload"])
            filename = str(upload.get("filename") or "model")
            body.update(file=download_url(call.request.origin, upload["blob"], filename),
                        checksum=upload["checksum"], size=upload["total"], blob=upload["blob"])
        return self._create(call, MODELS, body)

    def verify_checksums(self, call: Call) -> Result:
        """``POST data_files/verify_checksums/``: which of the given checksums are stored in the tenant."""
        wanted = [str(c) for c in mapping(call.body).get("checksums") or []]
        stored = {doc.get("checksum") for _id, doc in self.store.scan(DATA_FILES, call.tenant, "")}
        return Result(call.op.success_status, {"checksums": [c for c in dict.fromkeys(wanted) if c in stored]})

    def _create(self, call: Call, resource: str, body: dict[str, Any]) -> Result:
        res = self.crud.resources.get(resource)
        if res is None:
            return self.crud.action(call)
        row, _extra = self.crud.create_one(call, res, body)
        return Result(call.op.success_status, self.crud.shape(call, res, row, call.op.success_schema))




def files(services: Services) -> Files:
    """The sandbox's one Files."""
    return services.shared("files", lambda: Files(crud(services), services.store, services.blobs))


def _serving(pick: Any) -> Any:
    def factory(services: Services, op: Operation) -> Handler:
        return pick(files(services))
    return factory


BEHAVIOURS.operation("create_chunked_upload_chunk")(_serving(lambda f: f.uploads.start))
BEHAVIOURS.operation("append_chunked_upload_chunk")(_serving(lambda f: f.uploads.append))
BEHAVIOURS.operation("get_chunked_upload")(_serving(lambda f: f.uploads.status))
BEHAVIOURS.operation("finish_chunked_upload")(_serving(lambda f: f.uploads.finish))
BEHAVIOURS.operation("create_data_file")(_serving(lambda f: f.create_data_file))
BEHAVIOURS.operation("create_model")(_serving(lambda f: f.create_model))
BEHAVIOURS.operation("verify_data_files_checksums")(_serving(lambda f: f.verify_checksums))
