"""Transfer throughput: chunked uploads and downloads, the client against raw httpx, one round per process.

``python bench/transfer.py MODE BASE_URL FILE [CHUNK]`` prints ``{seconds, mb_s, rss_growth, ...}``.
Upload modes (all send ``FILE`` to the same server, chunk by chunk, with the same Content-Range headers):

- ``client``: ``BackendClient.create_chunked_upload`` (reads, hashes, frames, sends, finishes);
- ``hand``: the protocol written by hand with httpx: each chunk read into bytes, sent with ``files=``,
  MD5 updated, then the finishing POST;
- ``prebuilt``: the wire limit of the protocol: each chunk's multipart body built beforehand (on disk,
  untimed, MD5 known) and streamed from the file as ``content=``;
- ``raw``: the file's bytes streamed in one PUT, no multipart, no chunks (what the wire can take).

Download modes fetch ``BASE_URL/blob/{size}`` into a file: ``download-client`` through the v1
MediaCache (what url_conversion does), ``download-raw`` with ``httpx.stream`` and ``iter_bytes``.
RSS growth is the peak resident size during the transfer above the resident size before it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import TOKEN, peak_rss_bytes, reset_peak_rss, rss_bytes

BOUNDARY = "5e1a3c0b9d7f4e2a8c6b1d0f3e5a7c9b"
HTTPX_CHUNK = 1 << 20


def ranges(total: int, chunk: int) -> list[tuple[int, int]]:
    return [(start, min(chunk, total - start)) for start in range(0, total, chunk)]


def headers() -> dict[str, str]:
    return {"Synapse-Access-Token": f"Token {TOKEN}"}


def upload_client(base: str, path: Path, chunk: int) -> dict[str, Any]:
    from synapse_dyn.v1 import BackendClient

    token = os.environ.get("BENCH_TOKEN", TOKEN)
    with BackendClient(base, access_token=token, tenant=os.environ.get("BENCH_TENANT"), allow_insecure=True) as backend:
        backend.create_chunked_upload(path, chunk_size=min(chunk, path.stat().st_size))  # warm-up: one connection
        return timed(lambda: backend.create_chunked_upload(path, chunk_size=chunk))


def upload_hand(base: str, path: Path, chunk: int) -> dict[str, Any]:
    total = path.stat().st_size

    def run() -> Any:
        md5 = hashlib.md5()
        url = f"{base}/chunked_upload/"
        with open(path, "rb") as fh:
            for start, n in ranges(total, chunk):
                data = fh.read(n)
                md5.update(data)
                reply = http.put(url, files={"file": (path.name, data)}, data={"filename": path.name},
                                 headers={"Content-Range": f"bytes {start}-{start + n - 1}/{total}"})
                reply.raise_for_status()
                url = reply.json()["url"]
        return http.post(url, json={"md5": md5.hexdigest()}).json()

    with httpx.Client(headers=headers(), timeout=120) as http:
        http.get(f"{base}/blob/1")
        return timed(run)


def multipart_body(name: str, data: bytes) -> tuple[bytes, bytes]:
    """(head, tail) around the chunk's bytes: the framing httpx writes for ``files=`` and ``data=``."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"filename\"\r\n\r\n{name}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def upload_prebuilt(base: str, path: Path, chunk: int) -> dict[str, Any]:
    total = path.stat().st_size
    scratch = Path(tempfile.mkdtemp(prefix="prebuilt-", dir=path.parent))
    bodies = []
    with open(path, "rb") as fh:
        for i, (start, n) in enumerate(ranges(total, chunk)):
            head, tail = multipart_body(path.name, b"")
            body = scratch / f"{i}.body"
            with open(body, "wb") as out:
                out.write(head)
                out.write(fh.read(n))
                out.write(tail)
            bodies.append((body, start, n))
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    content_type = f"multipart/form-data; boundary={BOUNDARY}"

    def run() -> Any:
        url = f"{base}/chunked_upload/"
        for body, start, n in bodies:
            with open(body, "rb") as fh:
                reply = http.put(url, content=fh, headers={
                    "Content-Range": f"bytes {start}-{start + n - 1}/{total}", "Content-Type": content_type,
                    "Content-Length": str(body.stat().st_size)})
            reply.raise_for_status()
            url = reply.json()["url"]
        return http.post(url, json={"md5": digest}).json()

    try:
        with httpx.Client(headers=headers(), timeout=120) as http:
            http.get(f"{base}/blob/1")
            return timed(run)
    finally:
        for body, _, _ in bodies:
            body.unlink()
        scratch.rmdir()


def upload_raw(base: str, path: Path, chunk: int) -> dict[str, Any]:
    def run() -> Any:
        with open(path, "rb") as fh:
            return http.put(f"{base}/raw/", content=fh,
                            headers={"Content-Length": str(path.stat().st_size)}).raise_for_status()

    with httpx.Client(headers=headers(), timeout=120) as http:
        http.get(f"{base}/blob/1")
        return timed(run)


def download_client(base: str, size: int) -> dict[str, Any]:
    from synapse_dyn.v1.url_conversion import MediaCache

    with tempfile.TemporaryDirectory(prefix="dl-client-") as directory:
        media = MediaCache(directory)
        media.fetch(f"{base}/blob/1024?warm")  # warm-up: one connection
        try:
            return timed(lambda: media.fetch(f"{base}/blob/{size}"), check=lambda p: p.stat().st_size == size)
        finally:
            media.close()


def download_raw(base: str, size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dl-raw-") as directory, httpx.Client(timeout=120) as http:
        http.get(f"{base}/blob/1024")
        target = Path(directory) / "blob"

        def run() -> Path:
            with http.stream("GET", f"{base}/blob/{size}") as response, open(target, "wb") as out:
                response.raise_for_status()
                for piece in response.iter_bytes():
                    out.write(piece)
            return target

        return timed(run, check=lambda p: p.stat().st_size == size)


def md5_only(path: Path) -> dict[str, Any]:
    """The MD5 of the file alone, read in 1 MiB pieces: the protocol's floor on one core."""
    def run() -> str:
        md5 = hashlib.md5()
        with open(path, "rb") as fh:
            while piece := fh.read(HTTPX_CHUNK):
                md5.update(piece)
        return md5.hexdigest()

    return timed(run)


def serve_sandbox() -> None:
    """Serve a v1 sandbox over loopback HTTP; print ``URL TOKEN`` and serve until killed."""
    import warnings

    from synapse_dyn.sandbox import Sandbox

    warnings.simplefilter("ignore")
    sandbox = Sandbox("v1")
    sandbox.create_user("bench@example.com", "bench-password", tenant="bench")
    token = sandbox.issue_token("bench@example.com")
    with sandbox.serve(port=0) as url:
        print(url, token, flush=True)
        while True:
            time.sleep(3600)


def timed(run: Any, check: Any = None) -> dict[str, Any]:
    os.sync()  # no writeback left over from an earlier round (a 200 MiB file) competes with this one
    before = rss_bytes()
    reset_peak_rss()
    start, cpu = time.perf_counter(), time.process_time()
    result = run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if check is not None and not check(result):
        raise RuntimeError("the transfer did not produce the expected result")
    return {"seconds": seconds, "cpu": cpu, "rss_growth": peak_rss_bytes() - before}


def main(mode: str, base: str, target: str, chunk: int) -> dict[str, Any]:
    if mode.startswith("download-"):
        size = int(target)
        out = (download_client if mode == "download-client" else download_raw)(base, size)
    elif mode == "md5":
        path = Path(target)
        size = path.stat().st_size
        out = md5_only(path)
    else:
        path = Path(target)
        size = path.stat().st_size
        run = {"client": upload_client, "hand": upload_hand, "prebuilt": upload_prebuilt, "raw": upload_raw}[mode]
        out = run(base, path, chunk)
    return {**out, "mode": mode, "bytes": size, "mb_s": size / out["seconds"] / 1e6}


if __name__ == "__main__":
    if sys.argv[1] == "serve-sandbox":
        serve_sandbox()
    mode, base, target, *rest = sys.argv[1:]
    print(json.dumps(main(mode, base, target, int(rest[0]) if rest else 50 * 1024 * 1024)))
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown in the figures' process lifetime
