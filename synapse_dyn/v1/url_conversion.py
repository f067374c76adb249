"""url_conversion: replace file URLs in v1 replies by local paths of cached downloads.

A conversion names dotted field paths (``files``, ``data.files``). A field holding a URL becomes
the local ``Path``; a field holding a dict (or list) has each URL in it replaced, and a nested
``{url: ...}`` dict loses ``url`` and gains ``path``. Downloads are cached under the md5 of the URL
without its query plus the URL's suffix, written atomically, streamed in chunks, and run on a
thread pool, so converting works the same inside a running event loop. ``data:`` URIs are decoded
instead of downloaded. Downloads carry no credentials (file URLs are often presigned elsewhere).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import mimetypes
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit, urlunsplit

import httpx

from ..errors import error_class_for
from ..spec import cache_dir
from ..transport import to_failure
from .errors import from_failure

DOWNLOAD_WORKERS = 8
URL_PREFIXES = ("http://", "https://", "data:")


@dataclass(frozen=True)
class UrlConversion:
    """Which fields to convert, whether to convert each item of ``results``, and a per-Path hook."""

    files_fields: tuple[str, ...] = ()
    coerce: Callable[[Path], Any] | None = None
    is_list: bool = True

    @classmethod
    def merge(cls, default: Mapping[str, Any] | None, given: Mapping[str, Any] | None) -> UrlConversion | None:
        """The method's default conversion updated by the caller's dict (the v1 rule); None when empty."""
        settings: dict[str, Any] = {"files_fields": (), "coerce": None, "is_list": True}
        settings.update(default or {})
        if given:
            unknown = set(given) - set(settings)
            if unknown:
                raise TypeError(f"url_conversion got unknown keys {sorted(unknown)}; valid: {', '.join(settings)}")
            settings.update(given)
        conversion = cls(tuple(settings["files_fields"] or ()), settings["coerce"], bool(settings["is_list"]))
        return conversion if conversion.files_fields else None


def clean_url(url: str) -> str:
    """The URL without query and fragment (presigned URLs change their query on every request)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def cache_name(url: str) -> str:
    """md5 of the URL without its query, plus the file's suffix (or the data: URI's media type's)."""
    if url.startswith("data:"):
        media_type = url[5:].split(",", 1)[0].split(";", 1)[0] or "text/plain"
        return hashlib.md5(url.encode()).hexdigest() + (mimetypes.guess_extension(media_type) or "")
    cleaned = clean_url(url)
    return hashlib.md5(cleaned.encode()).hexdigest() + PurePosixPath(urlsplit(cleaned).path).suffix


def decode_data_uri(uri: str) -> bytes:
    """The bytes a ``data:`` URI carries (base64 or percent-encoded)."""
    header, sep, payload = uri[5:].partition(",")
    if not sep:
        raise ValueError("malformed data: URI (no comma)")
    if header.endswith(";base64"):
        try:
            return base64.b64decode(payload, validate=False)
        except binascii.Error as exc:
            raise ValueError(f"malformed base64 in a data: URI: {exc}") from None
    return unquote_to_bytes(payload)


class MediaCache:
    """Downloads into a cache directory (default: the user cache's ``media`` folder), once per URL."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, timeout: Any = None,
                 workers: int = DOWNLOAD_WORKERS) -> None:
        self._directory = Path(directory) if directory is not None else None
        self._timeout = timeout if timeout is not None else httpx.Timeout(15, connect=5)
        self._workers = workers
        self._http: httpx.Client | None = None

    @property
    def directory(self) -> Path:
        return self._directory if self._directory is not None else cache_dir() / "media"

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=self._timeout, follow_redirects=True)
        return self._http

    def fetch(self, url: str) -> Path:
        """The local path of ``url``'s content, downloading it unless cached."""
        directory = self.directory
        path = directory / cache_name(url)
        if path.is_file():
            return path
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                if url.startswith("data:"):
                    out.write(decode_data_uri(url))
                else:
                    self._download(url, out)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path

    def _download(self, url: str, out: Any) -> None:
        shown = clean_url(url)
        try:
            with self._client().stream("GET", url) as response:
                if response.status_code >= 400:
                    cls = error_class_for(response.status_code)
                    raise cls(f"download of {shown} failed: HTTP {response.status_code} {response.reason_phrase}",
                              status_code=response.status_code)
                for chunk in response.iter_bytes():  # as read from the socket: no re-chunking copy
                    out.write(chunk)
        except httpx.HTTPError as exc:
            failure = to_failure(exc)
            raise from_failure(failure.kind, f"download of {shown}: {failure.message}", sent=failure.sent) from exc

    def fetch_all(self, urls: Iterable[str]) -> dict[str, Path]:
        """Each URL's local path; one download per cache entry, several at once."""
        by_name: dict[str, str] = {}
        names = {url: by_name.setdefault(cache_name(url), url) for url in urls}
        first_urls = list(by_name.values())
        if len(first_urls) <= 1:
            fetched = {url: self.fetch(url) for url in first_urls}
        else:
            with ThreadPoolExecutor(max_workers=min(self._workers, len(first_urls))) as pool:
                fetched = dict(zip(first_urls, pool.map(self.fetch, first_urls), strict=True))
        return {url: fetched[first] for url, first in names.items()}

    def convert(self, conversion: UrlConversion, objects: list[Any]) -> None:
        """Replace, in place, the URLs in ``conversion.files_fields`` of each object by local paths."""
        slots = [slot for obj in objects for dotted in conversion.files_fields for slot in _url_slots(obj, dotted)]
        if not slots:
            return
        paths = self.fetch_all(url for _, _, url, _ in slots)
        for container, key, url, nested in slots:
            local = paths[url]
            value = conversion.coerce(local) if conversion.coerce else local
            if nested:
                del container[key]["url"]
                container[key]["path"] = value
            else:
                container[key] = value

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(URL_PREFIXES)


def _url_slots(obj: Any, dotted: str) -> list[tuple[Any, Any, str, bool]]:
    """(container, key, url, nested) for every URL the dotted field holds; missing fields give none."""
    *parents, last = dotted.split(".")
    node = obj
    for name in parents:
        if not isinstance(node, Mapping) or name not in node:
            return []
        node = node[name]
    if not isinstance(node, Mapping) or last not in node:
        return []
    value = node[last]
    if _is_url(value):
        return [(node, last, value, False)]
    if isinstance(value, Mapping):
        keys: Iterable[Any] = list(value)
    elif isinstance(value, list):
        keys = range(len(value))
    else:
        return []
    slots = []
    for key in keys:
        item = value[key]
        if _is_url(item):
            slots.append((value, key, item, False))
        elif isinstance(item, dict) and _is_url(item.get("url")):
            slots.append((value, key, item["url"], True))
    return slots

