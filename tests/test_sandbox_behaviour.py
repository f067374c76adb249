"""How the sandbox behaves like the backend: envelopes, pagination, filters, nesting, errors, auth.

Everything goes through the real Client (or raw httpx) over the in-process transport.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx
import pytest

from synapse_dyn import Client, Page, errors, load_spec
from synapse_dyn.registry import Registry
from synapse_dyn.sandbox import SANDBOX_ORIGIN, Sandbox

ALICE, BOB, PASSWORD = "alice@synapse.local", "bob@synapse.local", "s3cret-pass"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_spec("v2")


@pytest.fixture
def sandbox(registry: Registry) -> Sandbox:
    box = Sandbox(registry)
    box.create_user(ALICE, PASSWORD, ["acme", "beta"])
    box.create_user(BOB, PASSWORD, "globex")
    yield box
    box.close()


def client_for(sandbox: Sandbox, **kwargs: Any) -> Client:
    kwargs.setdefault("retries", 0)
    return Client(SANDBOX_ORIGIN, transport=sandbox.transport(), schema=sandbox.registry, **kwargs)


@pytest.fixture
def alice(sandbox: Sandbox) -> Client:
    return client_for(sandbox, access_token=sandbox.issue_token(ALICE, "acme"), tenant="acme")


def raw(sandbox: Sandbox, method: str, path: str, *, token: str | None = None, tenant: str | None = None,
        **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", {})
    if token:
        headers["SYNAPSE-ACCESS-TOKEN"] = token
    if tenant:
        headers["SYNAPSE-Tenant"] = tenant
    with httpx.Client(transport=sandbox.transport(), base_url=SANDBOX_ORIGIN) as http:
        return http.request(method, path, headers=headers, **kwargs)


def new_project(client: Client, title: str = "Cars") -> Any:
    return client.projects.create({"title": title, "category": "image", "configuration": {"tools": []}})


# -- envelopes and request ids ---------------------------------------------------


def test_success_answers_are_enveloped_with_a_fresh_request_id(sandbox: Sandbox) -> None:
    token = sandbox.issue_token(ALICE, "acme")
    first = raw(sandbox, "GET", "/v2/projects/", token=token, tenant="acme")
    second = raw(sandbox, "GET", "/v2/projects/", token=token, tenant="acme")
    body = first.json()
    assert first.status_code == 200
    assert set(body) == {"data", "meta"} and body["data"] == []
    assert body["meta"]["pagination"] == {"next_cursor": None, "previous_cursor": None, "per_page": 20}
    assert body["meta"]["request_id"] == first.headers["x-request-id"]
    assert second.json()["meta"]["request_id"] != body["meta"]["request_id"]


def test_the_client_sees_the_request_id_of_each_answer(alice: Client) -> None:
    project = new_project(alice)
    first = alice.last_request_id
    alice.projects.retrieve(project.id)
    assert first and alice.last_request_id and alice.last_request_id != first


# -- pagination ------------------------------------------------------------------


def walk(client: Client, **query: Any) -> tuple[list[int], list[Page]]:
    pages = [client.tasks.list(**query)]
    while pages[-1].next:
        pages.append(client.tasks.list(**query, cursor=pages[-1].next))
    return [t.id for p in pages for t in p.results], pages


def test_cursor_pages_cover_every_item_once_in_id_order(sandbox: Sandbox, alice: Client) -> None:
    sandbox.seed("tasks", 250, tenant="acme")
    ids, pages = walk(alice, per_page=20)
    assert ids == list(range(1, 251))
    assert [len(p.results) for p in pages] == [20] * 12 + [10]
    assert pages[0].previous is None and pages[-1].next is None
    for page in pages[:-1]:
        assert not page.next.isdigit() and str(page.results[-1].id) not in page.next
        json.loads(base64.urlsafe_b64decode(page.next + "=" * (-len(page.next) % 4)))  # opaque, not an offset


def test_a_previous_cursor_leads_back_to_the_same_page(sandbox: Sandbox, alice: Client) -> None:
    sandbox.seed("tasks", 50, tenant="acme")
    first = alice.tasks.list(per_page=20)
    second = alice.tasks.list(per_page=20, cursor=first.next)
    third = alice.tasks.list(per_page=20, cursor=second.next)
    back = alice.tasks.list(per_page=20, cursor=third.previous)
    assert [t.id for t in back.results] == [t.id for t in second.results]
    assert [t.id for t in alice.tasks.list(per_page=20, cursor=back.previous).results] == list(range(1, 21))


def test_pages_stay_stable_while_items_are_added_and_removed(sandbox: Sandbox, alice: Client) -> None:
    sandbox.seed("tasks", 40, tenant="acme")
    first = alice.tasks.list(per_page=15)
    alice.tasks.destroy(3)  # already seen
    sandbox.seed("tasks", 5, tenant="acme")
    rest: list[int] = []
    page = alice.tasks.list(per_page=15, cursor=first.next)
    while True:
        rest += [t.id for t in page.results]
        if not page.next:
            break
        page = alice.tasks.list(per_page=15, cursor=page.next)
    assert [t.id for t in first.results] + rest == list(range(1, 46))


def test_list_all_streams_every_item(sandbox: Sandbox, alice: Client) -> None:
    sandbox.seed("tasks", 61, tenant="acme")
    assert [t.id for t in alice.tasks.list(per_page=25, list_all=True)] == list(range(1, 62))


def test_a_forged_cursor_is_refused(alice: Client) -> None:
    with pytest.raises(errors.NotFoundError) as caught:
        alice.tasks.list(cursor="not-a-cursor")
    assert caught.value.code == "INVALID_CURSOR"


# -- filters and nesting -------------------------------------------------------------


def test_query_filters_match_stored_fields_and_their_id_twins(sandbox: Sandbox, alice: Client) -> None:
    first, second = new_project(alice, "A"), new_project(alice, "B")
    for project, count in ((first, 3), (second, 2)):
        for _ in range(count):
            alice.tasks.create({"project": project.id, "data_unit": 1})
    assert {t.project_id for t in alice.tasks.list(project=second.id).results} == {second.id}
    assert len(alice.tasks.list(project=first.id).results) == 3
    assert alice.tasks.list(project=999).results == []
    assert len(alice.tasks.list(is_discarded=False).results) == 5
    assert alice.tasks.list(is_discarded=True).results == []
    alice.data_collections.create({"name": "clips", "category": "video"})
    alice.data_collections.create({"name": "frames", "category": "image"})
    assert [d.name for d in alice.data_collections.list(category="video").results] == ["clips"]


def test_nested_resources_are_scoped_to_their_parent(alice: Client) -> None:
    first, second = new_project(alice, "A"), new_project(alice, "B")
    tag = alice.projects.tags(first.id).create({"name": "blurry", "category": "project"})
    assert tag.project_id == first.id
    assert [t.id for t in alice.projects.tags(first.id).list().results] == [tag.id]
    assert alice.projects.tags(second.id).list().results == []
    assert alice.projects.tags(first.id).retrieve(tag.id).name == "blurry"
    with pytest.raises(errors.NotFoundError):
        alice.projects.tags(second.id).retrieve(tag.id)
    with pytest.raises(errors.NotFoundError):
        alice.projects.tags(404).create({"name": "x", "category": "project"})


def test_live_counts_follow_related_objects(alice: Client) -> None:
    collection = alice.data_collections.create({"name": "dc", "category": "image"})
    project = alice.projects.create({"title": "P", "category": "image", "configuration": {},
                                     "data_collection": collection.id})
    for _ in range(4):
        alice.tasks.create({"project": project.id, "data_unit": 1})
    assert alice.projects.retrieve(project.id).task_count == 4
    assert alice.projects.list().results[0].task_count == 4
    assert alice.data_collections.retrieve(collection.id).count_projects == 1


# -- create / update / destroy --------------------------------------------------------


def test_the_server_fills_read_only_fields(sandbox: Sandbox, alice: Client) -> None:
    sent = raw(sandbox, "POST", "/v2/projects/", token=sandbox.issue_token(ALICE, "acme"), tenant="acme",
               json={"title": "T", "category": "video", "configuration": {}, "id": 999})
    assert sent.status_code == 201 and sent.json()["data"]["id"] == 1  # the server picks the id
    project = alice.projects.retrieve(1)
    assert project.id == 1 and project.title == "T" and project.category == "video"
    assert project.tenant_id == sandbox.store.tenant("acme").id
    created = dt.datetime.fromisoformat(project.created.replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60
    assert project.category_display == "Video"
    assert new_project(alice).id == 2


def test_update_partial_update_and_destroy_persist(alice: Client) -> None:
    project = new_project(alice)
    alice.projects.partial_update(project.id, {"title": "Renamed"})
    assert alice.projects.retrieve(project.id).title == "Renamed"
    alice.projects.update(project.id, {"title": "Replaced", "category": "audio", "configuration": {}})
    again = alice.projects.retrieve(project.id)
    assert (again.title, again.category) == ("Replaced", "audio")
    assert alice.projects.destroy(project.id) is None
    with pytest.raises(errors.NotFoundError):
        alice.projects.retrieve(project.id)


def test_dry_run_validates_without_storing(alice: Client) -> None:
    preview = alice.projects.create({"title": "Draft", "category": "image", "configuration": {}}, dry_run=True)
    assert preview.title == "Draft"
    assert alice.projects.list().results == []
    project = new_project(alice)
    alice.projects.partial_update(project.id, {"title": "Nope"}, dry_run=True)
    alice.projects.destroy(project.id, dry_run=True)
    assert alice.projects.retrieve(project.id).title == "Cars"
    with pytest.raises(errors.ValidationError):
        alice.projects.create({"title": "", "category": "image", "configuration": {}}, dry_run=True)


def test_uuid_keyed_resources_are_stored_under_their_uuid(sandbox: Sandbox, alice: Client) -> None:
    job = sandbox.seed("jobs", tenant="acme")[0]
    assert len(job["id"]) == 36
    assert alice.jobs.retrieve(job["id"]).id == job["id"]
    with pytest.raises(errors.NotFoundError):
        alice.jobs.retrieve("00000000-0000-0000-0000-000000000000")


# -- errors --------------------------------------------------------------------------


def test_invalid_bodies_get_400_with_field_details(sandbox: Sandbox) -> None:
    token = sandbox.issue_token(ALICE, "acme")
    response = raw(sandbox, "POST", "/v2/projects/", token=token, json={"title": "", "category": "nope"})
    body = response.json()
    assert response.status_code == 400
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["meta"]["request_id"] == response.headers["x-request-id"]
    fields = {d["field"] for d in body["error"]["details"]}
    assert fields == {"title", "category", "configuration"}
    unchecked = client_for(sandbox, access_token=token, tenant="acme", validate_requests=False)
    with pytest.raises(errors.ValidationError) as caught:
        unchecked.projects.create({"title": "x", "category": "image"})
    assert caught.value.status_code == 400
    assert [d["field"] for d in caught.value.details] == ["configuration"]


def test_malformed_json_and_bad_query_parameters_are_400(sandbox: Sandbox) -> None:
    token = sandbox.issue_token(ALICE, "acme")
    broken = raw(sandbox, "POST", "/v2/projects/", token=token, content=b"{nope",
                 headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "PARSE_ERROR"
    bad_query = raw(sandbox, "GET", "/v2/tasks/?per_page=many", token=token)
    assert bad_query.status_code == 400
    assert bad_query.json()["error"]["details"][0]["field"] == "per_page"


def test_missing_objects_unknown_paths_and_methods(sandbox: Sandbox, alice: Client) -> None:
    with pytest.raises(errors.NotFoundError) as caught:
        alice.projects.retrieve(12345)
    assert caught.value.code == "NOT_FOUND" and caught.value.request_id
    with pytest.raises(errors.NotFoundError):
        alice.projects.check_permission(12345)
    token = sandbox.issue_token(ALICE, "acme")
    assert raw(sandbox, "GET", "/v2/no-such-thing/", token=token).status_code == 404
    assert raw(sandbox, "GET", "/v2/projects/abc/", token=token).status_code == 404
    wrong_method = raw(sandbox, "DELETE", "/v2/projects/", token=token)
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["allow"]


# -- authentication and tenants --------------------------------------------------------


def test_requests_without_valid_credentials_get_401(sandbox: Sandbox) -> None:
    with pytest.raises(errors.AuthenticationError) as caught:
        client_for(sandbox, tenant="acme").projects.list()
    assert caught.value.status_code == 401 and caught.value.code == "NOT_AUTHENTICATED"
    with pytest.raises(errors.AuthenticationError):
        client_for(sandbox, access_token="syn_" + "0" * 40, tenant="acme").projects.list()
    with pytest.raises(errors.AuthenticationError):
        client_for(sandbox, drf_token="f" * 40, tenant="acme").projects.list()


def test_a_tenant_the_credentials_do_not_belong_to_gets_403(sandbox: Sandbox) -> None:
    token = sandbox.issue_token(ALICE, "acme")
    with pytest.raises(errors.AuthorizationError):
        client_for(sandbox, access_token=token, tenant="globex").projects.list()
    with pytest.raises(errors.AuthorizationError):  # alice belongs to beta, but this token is for acme
        client_for(sandbox, access_token=token, tenant="beta").projects.list()
    drf = client_for(sandbox, tenant="globex")
    drf.auth.login(email=ALICE, password=PASSWORD)
    with pytest.raises(errors.AuthorizationError):
        drf.projects.list()
    drf.set_tenant("beta")
    assert drf.projects.list().results == []


def test_the_tenant_header_also_accepts_the_legacy_token_prefix(sandbox: Sandbox) -> None:
    client = client_for(sandbox, access_token=sandbox.issue_token(ALICE, "acme"), tenant="acme",
                        tenant_token_prefix=True)
    assert client.projects.list().results == []


def test_data_is_isolated_per_tenant(sandbox: Sandbox, alice: Client) -> None:
    bob = client_for(sandbox, access_token=sandbox.issue_token(BOB, "globex"), tenant="globex")
    mine = new_project(alice, "Alice's")
    theirs = new_project(bob, "Bob's")
    assert [p.title for p in alice.projects.list().results] == ["Alice's"]
    assert [p.title for p in bob.projects.list().results] == ["Bob's"]
    with pytest.raises(errors.NotFoundError):
        bob.projects.retrieve(mine.id)
    with pytest.raises(errors.NotFoundError):
        alice.projects.partial_update(theirs.id, {"title": "mine now"})
    assert bob.projects.retrieve(theirs.id).title == "Bob's"


def test_login_then_access_token_shown_only_at_creation(sandbox: Sandbox) -> None:
    client = client_for(sandbox, tenant="acme")
    with pytest.raises(errors.ValidationError):
        client.auth.login(email=ALICE, password="wrong")
    client.auth.login(email=ALICE, password=PASSWORD)
    created = client.tokens.create({"description": "ci"})
    assert created["token"].startswith("syn_")
    listed = client.tokens.list().results
    assert [t.description for t in listed] == ["ci"] and all("token" not in t for t in listed)
    assert "token" not in client.tokens.retrieve(created.id)
    assert created["token"] not in json.dumps([dict(t) for t in listed])
    client.set_access_token(created["token"])
    client.set_drf_token(None)
    assert client.tenants.retrieve("acme").code == "acme"
    assert {t.code for t in client.tenants.list().results} == {"acme", "beta"}
    other = client_for(sandbox, access_token=sandbox.issue_token(ALICE, "acme"), tenant="acme")
    other.tokens.destroy(created.id)
    with pytest.raises(errors.AuthenticationError):
        client.projects.list()


def test_access_tokens_are_private_to_their_owner(sandbox: Sandbox) -> None:
    sandbox.create_user("carol@synapse.local", PASSWORD, "acme")
    alice = client_for(sandbox, access_token=sandbox.issue_token(ALICE, "acme"), tenant="acme")
    carol = client_for(sandbox, access_token=sandbox.issue_token("carol@synapse.local", "acme"), tenant="acme")
    mine = alice.tokens.create({"description": "alice"})
    assert [t.description for t in carol.tokens.list().results] == ["sandbox"]
    with pytest.raises(errors.NotFoundError):
        carol.tokens.destroy(mine.id)


def test_a_drf_token_alone_lists_tenants(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    client.auth.login(email=ALICE, password=PASSWORD)
    assert [t.code for t in client.tenants.list().results] == ["acme", "beta"]
    with pytest.raises(errors.AuthorizationError) as caught:
        client.projects.list()
    assert caught.value.code == "TENANT_REQUIRED"


# -- actions -----------------------------------------------------------------------------


def test_actions_answer_from_their_response_schemas(alice: Client) -> None:
    project = new_project(alice)
    assert alice.projects.check_permission(project.id, permission="edit") is None
    summary = alice.projects.permissions(project.id)
    assert summary.permissions and summary.role["code"]
    assert isinstance(alice.projects.default_roles(), dict)
    configurations = alice.schemas.annotation_configurations()
    assert configurations and configurations[0]["category"]
    join = alice.projects.request_join(project.id, {"role": 7, "message": "let me in"})
    assert (join.role, join.message, join.status) == (7, "let me in", "pending")


# -- the v1 schema ---------------------------------------------------------------------


@pytest.fixture
def v1() -> Sandbox:
    box = Sandbox("v1")
    box.create_user(ALICE, PASSWORD, "acme")
    yield box
    box.close()


def test_v1_lists_are_offset_pages_with_absolute_links(v1: Sandbox) -> None:
    v1.seed("data_units", 45, tenant="acme")
    client = client_for(v1, access_token=v1.issue_token(ALICE, "acme"), tenant="acme")
    page = client.data_units.list(page_size=20)
    assert page.count == 45 and len(page.results) == 20
    assert page.next.startswith(SANDBOX_ORIGIN + "/data_units/?") and "page=2" in page.next
    assert [u.id for u in client.data_units.list(page_size=20, list_all=True)] == list(range(1, 46))
    last = client.data_units.list(page_size=20, page=3)
    assert len(last.results) == 5 and last.next is None and "page=2" in last.previous


def test_v1_answers_are_not_enveloped_and_take_v1_headers(v1: Sandbox) -> None:
    token = v1.issue_token(ALICE, "acme")
    headers = {"Synapse-Access-Token": f"Token {token}", "Synapse-Tenant": "Token acme"}
    response = raw(v1, "POST", "/tasks/", headers=headers, json=[{"project": 1, "data_unit": 2}])
    assert response.status_code == 201
    created = response.json()[0]  # a list body creates (and answers) a list of tasks
    assert created["project"] == 1 and "data" in created and "meta" not in created
    missing = raw(v1, "GET", "/tasks/999/", headers=headers)
    assert missing.status_code == 404 and missing.json() == {"detail": "No task matches the given query."}
    invalid = raw(v1, "POST", "/plugins/", headers=headers, json={"code": "x"})
    assert invalid.status_code == 400 and invalid.json() == {"name": ["This field is required."]}
    assert raw(v1, "GET", "/tasks/").status_code == 401


def test_multipart_bodies_are_parsed_and_typed(v1: Sandbox) -> None:
    headers = {"Synapse-Access-Token": f"Token {v1.issue_token(ALICE, 'acme')}"}
    response = raw(v1, "POST", "/plugin_releases/", headers=headers, data={"plugin": "3", "version": "1.2.0"},
                   files={"file": ("plugin.zip", b"PK" + b"\0" * 100, "application/zip")})
    assert response.status_code == 201
    release = raw(v1, "GET", f"/plugin_releases/{response.json()['id']}/", headers=headers).json()
    assert (release["plugin"], release["version"]) == (3, "1.2.0")
    refused = raw(v1, "POST", "/plugin_releases/", headers=headers, data={"plugin": "three"},
                  files={"file": ("p.zip", b"PK", "application/zip")})
    assert refused.status_code == 400 and "plugin" in refused.json()
