"""The v1 chunked-upload protocol.

``PUT chunked_upload/`` opens an upload with its first chunk, ``PUT chunked_upload/{id}/`` appends the
chunk that starts at the stored offset, ``GET chunked_upload/{id}/`` reports the state for resuming,
and ``POST chunked_upload/{id}/ {md5}`` completes the upload once every byte arrived and the MD5 of the
stored file matches. Chunks are multipart (form field ``filename``, file part ``file``) with
``Content-Range: bytes {start}-{end}/{total}``. A chunk at the wrong offset is refused with 400 and the
upload's ``{id, url, offset}``, so a client can resume there.

An upload is a ``chunked_upload`` object, private to its tenant and creator, plus a blob holding the
bytes received so far. ``expires`` is reported (one day after the start) but not enforced.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from ..blobs import Blobs, download_url, is_key, new_key
from ..calls import Call, Result
from ..documents import now
from ..messages import ApiError
from ..parsing import UploadedFile
from ..store import Store

RESOURCE = "chunked_upload"
ITEM_PATH = "/chunked_upload/{id}/"
UPLOADING, COMPLETE = "uploading", "complete"
LIFETIME = _dt.timedelta(days=1)
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_STRIPES = 64


@dataclass(frozen=True, slots=True)
class ContentRange:
    """``bytes {start}-{end}/{total}``: the inclusive byte range of one chunk in the whole file."""

    start: int
    end: int
    total: int

    @property
    def length(self) -> int:
        """Bytes the range names."""
        return self.end - self.start + 1


def parse_range(header: str | None) -> ContentRange:
    """The chunk's Content-Range, or ApiError 400."""
    match = _RANGE.match((header or "").strip())
    if match is None:
        raise _field_error("Content-Range", "Expected 'bytes {start}-{end}/{total}'.")
    found = ContentRange(*(int(g) for g in match.groups()))
    if found.end < found.start:
        raise _field_error("Content-Range", f"The range ends (byte {found.end}) before it starts ({found.start}).")
    if found.total < found.end + 1:
        raise _field_error("Content-Range", f"The range ends at byte {found.end}, past the {found.total}-byte file.")
    return found


class ChunkedUploads:
    """Serves the four chunked-upload operations from the store and the blobs."""

    def __init__(self, store: Store, blobs: Blobs) -> None:
        self.store = store
        self.blobs = blobs
        self._locks = [threading.Lock() for _ in range(_STRIPES)]

    # -- operations ------------------------------------------------------------
    def start(self, call: Call) -> Result:
        """``PUT chunked_upload/``: a new upload holding its first chunk."""
        chunk = _chunk(call)
        span = parse_range(call.request.header("content-range"))
        if span.start != 0:
            raise _field_error("Content-Range", f"The first chunk must start at byte 0, not {span.start}.")
        _check_length(span, chunk)
        created = _dt.datetime.now(_dt.UTC)
        doc = {"id": str(uuid.uuid4()), "filename": str(_mapping(call.body).get("filename") or chunk["filename"]),
               "offset": span.length, "total": span.total, "status": UPLOADING, "chunks": 1, "blob": new_key(),
               "user_id": call.user_id, "created": _stamp(created), "expires": _stamp(created + LIFETIME)}
        if not call.dry_run:
            self.blobs.write_at(doc["blob"], 0, chunk.content)
            with self.store.transaction():
                self.store.insert(RESOURCE, call.tenant, "", doc["id"], self.store.next_id(RESOURCE), doc)
        return Result(call.op.success_status, self.progress(call, doc))

    def append(self, call: Call) -> Result:
        """``PUT chunked_upload/{id}/``: store the chunk that starts at the upload's offset."""
        chunk = _chunk(call)
        span = parse_range(call.request.header("content-range"))
        _check_length(span, chunk)
        with self._lock(call):
            object_id, doc = self.find(call)
            if doc.get("status") == COMPLETE:
                raise ApiError(400, "Upload has already been marked as complete.")
            if span.total != doc.get("total"):
                raise ApiError(400, f"Content-Range names a {span.total}-byte file; this upload is of "
                                    f"{doc.get('total')} bytes.", extra=self.progress(call, doc))
            if span.start != doc.get("offset"):
                raise ApiError(400, f"Offsets do not match: the chunk starts at byte {span.start}, the upload "
                                    f"holds {doc.get('offset')} bytes.", extra=self.progress(call, doc))
            blob = _blob(doc)
            doc.update(offset=span.end + 1, chunks=int(doc.get("chunks") or 0) + 1)
            if not call.dry_run:
                self.blobs.write_at(blob, span.start, chunk.content)
                self.store.replace(RESOURCE, object_id, doc)
        return Result(call.op.success_status, self.progress(call, doc))

    def status(self, call: Call) -> Result:
        """``GET chunked_upload/{id}/``: the upload's state."""
        _object_id, doc = self.find(call)
        state = {**self.progress(call, doc), "filename": str(doc.get("filename") or ""),
                 "status": doc.get("status") or UPLOADING}
        return Result(call.op.success_status, state)

    def finish(self, call: Call) -> Result:
        """``POST chunked_upload/{id}/ {md5}``: complete the upload when all bytes arrived and the MD5 matches."""
        md5 = str(_mapping(call.body).get("md5", "")).lower()
        with self._lock(call):
            object_id, doc = self.find(call)
            if doc.get("status") != COMPLETE:
                if doc.get("offset") != doc.get("total"):
                    raise ApiError(400, f"The upload is incomplete: {doc.get('offset')} of {doc.get('total')} "
                                        "bytes received.", extra=self.progress(call, doc))
                doc["checksum"] = self.blobs.md5(_blob(doc))
            if md5 != doc.get("checksum"):
                raise _field_error("md5", f"MD5 checksum does not match: the {doc.get('total')} bytes received "
                                          f"hash to {doc.get('checksum')}, not {md5}.")
            if doc.get("status") != COMPLETE:
                doc.update(status=COMPLETE, completed=now())
                if not call.dry_run:
                    self.store.replace(RESOURCE, object_id, doc)
        return Result(call.op.success_status, {"id": doc["id"], "file": self.file_url(call, doc),
                                               "checksum": doc["checksum"], "size": doc["total"]})

    # -- shared ------------------------------------------------------------------
    def completed(self, call: Call, upload_id: Any, field: str = "chunked_upload") -> dict[str, Any]:
        """A completed upload of the caller, for ``data_files/`` and ``models/``; ApiError 400 otherwise."""
        found = self.store.find(RESOURCE, call.tenant, "", str(upload_id))
        if found is None or not _owned(call, found[1]):
            raise _field_error(field, f"No chunked upload with id {upload_id}.")
        doc = found[1]
        if doc.get("status") != COMPLETE or not is_key(str(doc.get("blob", ""))):
            raise _field_error(field, f"Chunked upload {upload_id} is not complete: POST its md5 first.")
        return doc

    def find(self, call: Call) -> tuple[int, dict[str, Any]]:
        """The upload the path names, if the caller may see it; else ApiError 404."""
        found = self.store.find(RESOURCE, call.tenant, "", str(call.path.get("id", "")))
        if found is None or not _owned(call, found[1]):
            raise ApiError(404, "No chunked upload matches the given query.")
        return found

    def progress(self, call: Call, doc: dict[str, Any]) -> dict[str, Any]:
        """``{id, url, offset, expires}``: where the next chunk goes and from which byte."""
        out = {"id": doc["id"], "url": call.request.origin + ITEM_PATH.replace("{id}", str(doc["id"])),
               "offset": int(doc.get("offset") or 0)}
        if isinstance(doc.get("expires"), str):
            out["expires"] = doc["expires"]
        return out

    def file_url(self, call: Call, doc: dict[str, Any]) -> str:
        """Where the assembled file of a completed upload can be downloaded."""
        return download_url(call.request.origin, doc["blob"], str(doc.get("filename") or "upload"))

    def _lock(self, call: Call) -> threading.Lock:
        return self._locks[hash(str(call.path.get("id", ""))) % _STRIPES]


def _chunk(call: Call) -> UploadedFile:
    chunk = _mapping(call.body).get("file")
    if not isinstance(chunk, UploadedFile):
        raise _field_error("file", "The submitted data was not a file. Check the encoding type on the form.")
    return chunk


def _check_length(span: ContentRange, chunk: UploadedFile) -> None:
    if len(chunk.content) != span.length:
        raise _field_error("Content-Range", f"The range names {span.length} bytes but the chunk holds "
                                            f"{len(chunk.content)}.")


def _blob(doc: dict[str, Any]) -> str:
    blob = str(doc.get("blob", ""))
    if not is_key(blob):
        raise ApiError(400, "This upload holds no stored bytes; start a new upload.")
    return blob


def _owned(call: Call, doc: dict[str, Any]) -> bool:
    """Uploads are private to the user who started them (seeded ones, without a user, to their tenant)."""
    return doc.get("user_id") in (None, call.user_id)


def _field_error(field: str, message: str) -> ApiError:
    return ApiError(400, message, details=[{"field": field, "message": message}])


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _stamp(moment: _dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
