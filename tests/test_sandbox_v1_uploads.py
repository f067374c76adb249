"""The sandbox's chunked-upload protocol, data files and models, end to end with the v1 client over HTTP.

The BackendClient validates every reply strictly against the v1 schema. Protocol refusals (offsets,
lengths, MD5) are checked with raw httpx requests, since a well-behaved client never sends them.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from synapse_dyn import errors
from synapse_dyn.cli.upload import upload_command
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Faults, Sandbox
from synapse_dyn.v1 import BackendClient

KiB = 1024
CHUNK = 64 * KiB
SIZE = 300 * KiB + 123  # five chunks, the last one short
ALICE, CAROL, BOB = "alice@synapse.local", "carol@synapse.local", "bob@synapse.local"
PASSWORD = "correct horse"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox("v1")
    box.create_user(ALICE, PASSWORD, "acme")
    box.create_user(CAROL, PASSWORD, "acme")
    box.create_user(BOB, PASSWORD, "globex")
    yield box
    box.close()


@pytest.fixture
def url(sandbox: Sandbox) -> Iterator[str]:
    with sandbox.serve(port=0) as base:
        yield base


@pytest.fixture
def token(sandbox: Sandbox) -> str:
    return sandbox.issue_token(ALICE, "acme")


@pytest.fixture
def backend(url: str, token: str, tmp_path: Path) -> Iterator[BackendClient]:
    with BackendClient(url, access_token=token, tenant="acme", allow_insecure=True, validate_responses="strict",
                       download_dir=tmp_path / "media") as client:
        yield client


@pytest.fixture
def http(url: str, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers=auth(token)) as client:
        yield client


@pytest.fixture
def payload(tmp_path: Path) -> tuple[Path, bytes]:
    data = random.Random(7).randbytes(SIZE)
    path = tmp_path / "scan.bin"
    path.write_bytes(data)
    return path, data


def auth(token: str, tenant: str = "acme") -> dict[str, str]:
    return {"Synapse-Access-Token": f"Token {token}", "Synapse-Tenant": f"Token {tenant}"}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def put_chunk(http: httpx.Client, target: str, data: bytes, start: int, total: int, *,
              params: dict[str, str] | None = None) -> httpx.Response:
    """One chunk as the protocol sends it: multipart ``filename`` + ``file`` with a Content-Range."""
    return http.put(target, data={"filename": "part.bin"}, files={"file": ("part.bin", data)}, params=params,
                    headers={"Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"})


def stored(sandbox: Sandbox, upload_id: str, tenant: str = "acme") -> dict[str, Any]:
    """The upload as the sandbox stores it."""
    found = sandbox.store.find("chunked_upload", tenant, "", upload_id)
    assert found is not None
    return found[1]


# -- the protocol with the v1 client -----------------------------------------------------


def test_a_multi_chunk_upload_is_checked_stored_and_downloadable(sandbox, backend, url, payload):
    path, data = payload
    offsets: list[int] = []
    result = backend.create_chunked_upload(path, chunk_size=CHUNK,
                                           on_progress=lambda done, _total: offsets.append(done))
    assert (result["checksum"], result["size"]) == (md5(data), SIZE)
    assert offsets == [CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK, SIZE]
    upload = stored(sandbox, result["id"])
    assert (upload["status"], upload["chunks"], upload["offset"]) == ("complete", 5, SIZE)
    assert result["file"].startswith(url + "/_sandbox/files/") and result["file"].endswith("/scan.bin")
    assert httpx.get(result["file"]).content == data
    state = backend.client.chunked_upload.retrieve(result["id"])
    assert (state.offset, state.status, state.url) == (SIZE, "complete", f"{url}/chunked_upload/{result['id']}/")


@pytest.mark.parametrize("resume_with", ["state", "url"])
def test_a_dropped_chunk_resumes_without_resending_stored_chunks(sandbox, backend, payload, resume_with):
    path, data = payload

    def drop_the_second_chunk(done: int, _total: int) -> None:
        if done == CHUNK:
            sandbox.faults.drop_next(1)

    with pytest.raises(errors.TransportError) as caught:
        backend.create_chunked_upload(path, chunk_size=CHUNK, on_progress=drop_the_second_chunk, retries=0)
    state = caught.value.upload_state
    assert state["offset"] == CHUNK and sandbox.faults.injected["drop"] == 1
    assert stored(sandbox, state["id"])["chunks"] == 1

    offsets: list[int] = []
    resume = state if resume_with == "state" else state["url"]
    result = backend.create_chunked_upload(path, chunk_size=CHUNK, resume=resume, retries=0,
                                           on_progress=lambda done, _total: offsets.append(done))
    assert (result["id"], result["checksum"], result["size"]) == (state["id"], md5(data), SIZE)
    assert offsets == [CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK, SIZE]
    assert stored(sandbox, state["id"])["chunks"] == 5  # every chunk reached the server exactly once


def test_a_chunk_stored_before_its_reply_was_lost_is_not_sent_again(payload, tmp_path):
    path, data = payload
    box = Sandbox("v1", faults=Faults(drop_phase="after"))
    box.create_user(ALICE, PASSWORD, "acme")
    with box.serve(port=0) as base, BackendClient(base, access_token=box.issue_token(ALICE, "acme"), tenant="acme",
                                                 allow_insecure=True, download_dir=tmp_path / "m") as client:
        def lose_the_second_reply(done: int, _total: int) -> None:
            if done == CHUNK:
                box.faults.drop_next(1)

        result = client.create_chunked_upload(path, chunk_size=CHUNK, on_progress=lose_the_second_reply)
        assert box.faults.injected["drop"] == 1
        assert (result["checksum"], result["size"]) == (md5(data), SIZE)
        assert stored(box, result["id"])["chunks"] == 5  # the retried chunk was recognised, not stored twice
    box.close()


# -- the protocol's refusals ---------------------------------------------------------------------


def test_a_wrong_md5_is_refused_and_the_upload_stays_open(sandbox, http):
    data = b"model weights" * 100
    first = put_chunk(http, "/chunked_upload/", data, 0, len(data))
    assert first.status_code == 200 and first.json()["offset"] == len(data)
    target = first.json()["url"]
    wrong = http.post(target, json={"md5": md5(b"something else")})
    assert wrong.status_code == 400
    assert "MD5 checksum does not match" in wrong.json()["md5"][0] and md5(data) in wrong.json()["md5"][0]
    assert stored(sandbox, first.json()["id"])["status"] == "uploading"
    right = http.post(target, json={"md5": md5(data).upper()})
    assert right.status_code == 200
    assert right.json() | {"file": None} == {"id": first.json()["id"], "file": None, "checksum": md5(data),
                                             "size": len(data)}
    assert http.post(target, json={"md5": md5(data)}).json() == right.json()  # a repeated finish is harmless
    assert put_chunk(http, target, b"x", len(data), len(data) + 1).status_code == 400  # complete: closed


def test_a_chunk_at_the_wrong_offset_is_refused_with_the_current_offset(sandbox, http):
    data = bytes(range(256)) * 4
    first = put_chunk(http, "/chunked_upload/", data[:300], 0, len(data)).json()
    target = first["url"]

    skipped = put_chunk(http, target, data[600:], 600, len(data))
    assert skipped.status_code == 400
    assert skipped.json() | {"detail": None} == {**first, "detail": None, "offset": 300}
    assert "Offsets do not match" in skipped.json()["detail"]
    repeated = put_chunk(http, target, data[:300], 0, len(data))
    assert repeated.status_code == 400 and repeated.json()["offset"] == 300
    other_total = put_chunk(http, target, data[300:600], 300, len(data) + 1)
    assert other_total.status_code == 400 and other_total.json()["offset"] == 300
    early = http.post(target, json={"md5": md5(data)})
    assert early.status_code == 400 and early.json()["offset"] == 300 and "incomplete" in early.json()["detail"]
    assert http.get(target).json()["offset"] == 300 and stored(sandbox, first["id"])["chunks"] == 1

    assert put_chunk(http, target, data[300:], 300, len(data)).json()["offset"] == len(data)
    assert http.post(target, json={"md5": md5(data)}).json()["checksum"] == md5(data)


@pytest.mark.parametrize(("content_range", "message"), [
    ("bytes 1-4/10", "must start at byte 0"),
    ("bytes 0-9/10", "names 10 bytes but the chunk holds 4"),
    ("bytes 0-3/3", "past the 3-byte file"),
    ("bytes 0-3", "Content-Range"),
])
def test_a_first_chunk_with_a_bad_content_range_is_refused(http, content_range, message):
    response = http.put("/chunked_upload/", data={"filename": "a.bin"}, files={"file": ("a.bin", b"abcd")},
                        headers={"Content-Range": content_range})
    assert response.status_code == 400 and message in str(response.json())


def test_a_chunk_must_be_a_file_part(http):
    response = http.put("/chunked_upload/", data={"filename": "a.bin", "file": "abcd"},
                        headers={"Content-Range": "bytes 0-3/4"})
    assert response.status_code == 400 and "not a file" in response.json()["file"][0]


def test_a_dry_run_chunk_is_answered_but_not_stored(sandbox, http):
    reply = put_chunk(http, "/chunked_upload/", b"abcd", 0, 8, params={"dry_run": "true"})
    assert reply.status_code == 200 and reply.json()["offset"] == 4
    assert sandbox.store.count("chunked_upload") == 0 and http.get(reply.json()["url"]).status_code == 404


def test_uploads_are_private_to_their_creator_and_tenant(sandbox, url, http):
    first = put_chunk(http, "/chunked_upload/", b"abcd", 0, 4).json()
    assert http.post(first["url"], json={"md5": md5(b"abcd")}).status_code == 200
    for email, tenant in ((BOB, "globex"), (CAROL, "acme")):
        with httpx.Client(base_url=url, headers=auth(sandbox.issue_token(email, tenant), tenant)) as other:
            assert other.get(first["url"]).status_code == 404
            assert put_chunk(other, first["url"], b"e", 4, 5).status_code == 404
            assert other.post(first["url"], json={"md5": md5(b"abcd")}).status_code == 404
            refused = other.post("/data_files/", json={"chunked_upload": first["id"]})
            assert refused.status_code == 400 and "No chunked upload" in refused.json()["chunked_upload"][0]
    assert httpx.get(first["url"]).status_code == 401
    assert httpx.put(url + "/chunked_upload/", files={"file": ("a", b"a")},
                     headers={"Content-Range": "bytes 0-0/1"}).status_code == 401


# -- data files and models -------------------------------------------------------------------


def test_create_data_file_direct_and_chunked(backend, http, payload):
    path, data = payload
    direct = backend.create_data_file(path)
    chunked = backend.create_data_file(path, use_chunked_upload=True)
    assert direct["id"] != chunked["id"]
    for created in (direct, chunked):
        assert (created["checksum"], created["size"]) == (md5(data), SIZE)
        assert httpx.get(created["file"]).content == data
    assert backend.verify_data_files_checksums([md5(data), md5(b"never stored")]) == {"checksums": [md5(data)]}

    unfinished = put_chunk(http, "/chunked_upload/", b"abcd", 0, 8).json()
    refused = http.post("/data_files/", json={"chunked_upload": unfinished["id"], "meta": {"filename": "a"}})
    assert refused.status_code == 400 and "not complete" in refused.json()["chunked_upload"][0]
    assert http.post("/data_files/", json={"meta": {"filename": "a"}}).status_code == 400


def test_create_model_with_a_file_references_the_finished_upload(sandbox, backend, payload):
    path, data = payload
    model = backend.create_model({"name": "detector", "file": path, "metrics": {"map": 0.5}})
    assert model["name"] == "detector" and model["metrics"] == {"map": 0.5}
    fetched = backend.get_model(model["id"])  # url_conversion downloads the model file
    assert isinstance(fetched["file"], Path) and fetched["file"].read_bytes() == data
    assert [m["id"] for m in backend.list_models()["results"]] == [model["id"]]
    assert sandbox.store.count("chunked_upload", "acme") == 1


def test_upload_data_collection_creates_files_units_then_tasks(sandbox, backend, tmp_path):
    collection = sandbox.seed("data_collections", tenant="acme")[0]
    project = sandbox.seed("projects", tenant="acme", data_collection=collection["id"])[0]
    items, checksums = [], []
    for index in range(4):
        image = tmp_path / f"image-{index}.jpg"
        image.write_bytes(random.Random(index).randbytes(5 * KiB + index))
        checksums.append(md5(image.read_bytes()))
        items.append({"files": {"image": image}, "meta": {"index": index}})

    units = backend.upload_data_collection(collection["id"], items, project_id=project["id"], workers=3)

    assert sorted(u["files"]["image"]["checksum"] for u in units) == sorted(checksums)
    listed = backend.list_data_units(params={"data_collection": collection["id"]})
    assert listed["count"] == 4 and sorted(u["meta"]["index"] for u in listed["results"]) == [0, 1, 2, 3]
    tasks = backend.list_tasks(params={"project": project["id"]})
    assert tasks["count"] == 4 and sorted(t["data_unit"] for t in tasks["results"]) == sorted(u["id"] for u in units)
    assert sorted(backend.verify_data_files_checksums(checksums)["checksums"]) == sorted(checksums)


# -- the upload command ------------------------------------------------------------------


def test_the_upload_command_sends_the_file_in_chunks(sandbox, url, token, payload):
    path, data = payload
    result = CliRunner().invoke(upload_command, [str(path), "--chunk-size", "64KiB", "--token", token,
                                                 "--tenant", "acme", "--allow-insecure", "--quiet", "--host", url])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.stdout)
    assert (reply["checksum"], reply["size"]) == (md5(data), SIZE)
    assert stored(sandbox, reply["id"])["chunks"] == 5


# -- storage -----------------------------------------------------------------------------


def test_blobs_live_next_to_a_database_file_and_survive_a_restart(tmp_path):
    db, data = tmp_path / "sandbox.db", b"persisted bytes"
    with Sandbox("v1", db=db) as box:
        box.create_user(ALICE, PASSWORD, "acme")
        token = box.issue_token(ALICE, "acme")
        with httpx.Client(base_url=SANDBOX_ORIGIN, transport=box.transport(), headers=auth(token)) as http:
            first = put_chunk(http, "/chunked_upload/", data, 0, len(data)).json()
            assert http.post(first["url"], json={"md5": md5(data)}).status_code == 200
    assert [p.read_bytes() for p in (tmp_path / "sandbox.db.files").iterdir()] == [data]
    with Sandbox("v1", db=db) as box, httpx.Client(base_url=SANDBOX_ORIGIN, transport=box.transport(),
                                                   headers=auth(token)) as http:
        created = http.post("/data_files/", json={"chunked_upload": first["id"], "meta": {"filename": "p.txt"}})
        assert created.status_code == 201 and created.json()["checksum"] == md5(data)
        assert http.get(created.json()["file"]).content == data


def test_an_in_memory_sandbox_removes_its_blobs_on_close(sandbox, http):
    put_chunk(http, "/chunked_upload/", b"abcd", 0, 4)
    directory = sandbox.app.services.blobs.directory
    assert len(list(directory.iterdir())) == 1
    sandbox.close()
    assert not directory.exists()


def test_multipart_with_a_quoted_mixed_case_boundary_and_a_truncated_body(http):
    part = (b'--AbC\r\nContent-Disposition: form-data; name="filename"\r\n\r\nx.bin\r\n'
            b'--AbC\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\n--AbC-ish\r\n')
    headers = {"Content-Type": 'multipart/form-data; boundary="AbC"', "Content-Range": "bytes 0-8/9"}
    complete = http.put("/chunked_upload/", content=part + b"--AbC--\r\n", headers=headers)
    assert complete.status_code == 200 and complete.json()["offset"] == 9
    truncated = http.put("/chunked_upload/", content=part, headers=headers)
    assert truncated.status_code == 400 and "closing boundary" in truncated.json()["detail"]
