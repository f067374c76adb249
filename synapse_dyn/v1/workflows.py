"""The v1 composite workflows: calls that chain several requests or read files (not table entries)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import Client
from ..registry import Operation
from . import calls, chunked

CHUNKED_ABOVE = chunked.CHUNK_SIZE

PathLike = str | os.PathLike[str]


def batched(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    """Lists of at most ``size`` items, in order."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Workflows:
    """Composite methods of BackendClient; they call the flat methods and the core operations."""

    _client: Client

    def _operation(self, operation_id: str) -> Operation:
        raise NotImplementedError

    if TYPE_CHECKING:  # flat methods, generated from methods.yaml onto BackendClient
        def get_data_collection(self, data_collection_id: int) -> dict[str, Any]: ...

        def create_data_units(self, uploaded_files: Any) -> Any: ...

        def create_tasks(self, data: Any) -> Any: ...

    def create_chunked_upload(
        self,
        file_path: PathLike,
        *,
        chunk_size: int = chunked.CHUNK_SIZE,
        on_progress: chunked.ProgressCallback | None = None,
        resume: Mapping[str, Any] | str | None = None,
        retries: int = chunked.CHUNK_RETRY.retries,
    ) -> dict[str, Any]:
        """Upload a file through ``chunked_upload/`` in chunks; returns ``{id, file, checksum, size}``.

        Chunks are multipart PUTs with a Content-Range, each sent to the ``url`` the previous reply
        gave; the final POST carries the MD5 of the whole file. Memory stays near one chunk.
        ``on_progress(offset, total)`` runs after each chunk. A failed chunk is retried ``retries``
        times; if the upload still fails, the error's ``upload_state`` (the last reply) or its URL
        passed as ``resume=`` continues it without re-sending finished chunks.
        """
        return chunked.upload(self._client, file_path, chunk_size=chunk_size, on_progress=on_progress,
                              resume=resume, retries=retries)

    def create_data_file(self, file_path: PathLike, use_chunked_upload: bool = False) -> dict[str, Any]:
        """Store one file in ``data_files/``; returns ``{id, file, checksum, size}``.

        Sent directly as the multipart part ``file``, or, with ``use_chunked_upload`` or for files
        over 50 MiB, through a chunked upload first and then as ``{chunked_upload, meta: {filename}}``.
        """
        path = Path(file_path)
        if use_chunked_upload or path.stat().st_size > CHUNKED_ABOVE:
            upload = self.create_chunked_upload(path)
            body: dict[str, Any] = {"chunked_upload": upload["id"], "meta": {"filename": path.name}}
        else:
            body = {"file": path}
        return calls.call(self._client, self._operation("create_data_file"), body=body)

    def upload_data_file(self, organized_file: Mapping[str, Any], collection_id: int,
                         use_chunked_upload: bool = False) -> dict[str, Any]:
        """Upload each file of ``{files: {name: path}, meta}``; returns the data-unit body for them.

        The result is ``{files: {name: {checksum, path}}, data_collection, meta}``, ready for
        ``create_data_units``.
        """
        files = {}
        for name, file_path in organized_file["files"].items():
            created = self.create_data_file(file_path, use_chunked_upload)
            files[name] = {"checksum": created["checksum"], "path": str(file_path)}
        return {"files": files, "data_collection": collection_id, "meta": organized_file.get("meta") or {}}

    def upload_data_collection(self, collection_id: int, data: Iterable[Mapping[str, Any]],
                               project_id: int | None = None, batch_size: int = 1000,
                               workers: int = 10) -> list[dict[str, Any]]:
        """Upload many organized files into a data collection; returns the created data units.

        Files are uploaded by at most ``workers`` threads at once; data units are then created
        ``batch_size`` at a time, and with ``project_id`` a task is created for each unit.
        """
        if workers < 1 or batch_size < 1:
            raise ValueError("workers and batch_size must be at least 1")
        self.get_data_collection(collection_id)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            uploaded = list(pool.map(lambda item: self.upload_data_file(item, collection_id), data))
        units: list[dict[str, Any]] = []
        for batch in batched(uploaded, batch_size):
            created = self.create_data_units(batch)
            created_units: Sequence[dict[str, Any]] = created if isinstance(created, list) else [created]
            units.extend(created_units)
            if project_id is not None:
                self.create_tasks([{"project": project_id, "data_unit": unit["id"]} for unit in created_units])
        return units

    def create_model(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Create a model: ``data['file']`` goes through a chunked upload, the rest is sent as JSON."""
        body = dict(data)
        file_path = body.pop("file", None)
        if file_path is None:
            raise TypeError("create_model(): data needs 'file', the path of the model file")
        body["chunked_upload"] = self.create_chunked_upload(file_path)["id"]
        return calls.call(self._client, self._operation("create_model"), body=body)
