"""A broad use of the typed surface: mypy --strict and pyright (strict) report nothing here, and
test_stubs.py runs it against the sandbox, so every call in it is a real one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

import synapse_dyn


def listing(client: synapse_dyn.Client) -> list[int]:
    page = client.projects.list(category="image", per_page=2)
    ids = [project.id for project in page.results]
    following = page.next_page()
    if following is not None:
        ids += [project.id for project in following]
    every: Iterator[object] = client.projects.list(per_page=50, list_all=True)
    print(len(page), page[0].title.upper() if len(page) else "", page.next, sum(1 for _ in every))
    return ids


def calls(client: synapse_dyn.Client, tenant: str) -> None:
    created = client.projects.create(title="typed", category="image", configuration={}, description="d")
    client.projects.create({"title": "typed-dict", "category": "image", "configuration": {}})
    detail = client.projects.retrieve(created.id)
    print(detail.task_count + 1, detail.category == "image", detail["title"].upper(), detail.to_dict())
    client.projects.partial_update(created.id, title="renamed")
    client.projects.tags(created.id).create({"name": "urgent", "category": "project"})
    tags = client.projects.tags(project_pk=created.id).list(per_page=5)
    collection = client.data_collections.list(per_page=1).results[0]
    client.data_collections.groups(collection.id).list()
    client.projects.check_permission(created.id, permission="view")
    print(client.tenants.retrieve(tenant).code, [tag.name for tag in tags])
    exchange = client.projects.with_raw_response.retrieve(created.id)
    print(exchange.status_code, client.last_request_id, client.base_url)
    record: synapse_dyn.Record = detail
    print(record["title"], record.get("id"))
    try:
        client.projects.retrieve(987654321)
    except client.exceptions.NotFoundError as err:
        print(err)
    except synapse_dyn.ValidationError as err:
        print(err.details)
    client.projects.destroy(created.id)


async def asynchronous(connection: Mapping[str, Any]) -> None:
    async with synapse_dyn.AsyncClient(**connection, retries=2) as client:
        page = await client.projects.list(per_page=5)
        async for project in client.projects.list(per_page=50):
            print(project.title)
        everything = await client.projects.list(per_page=50, list_all=True)
        items = await client.tasks.list(per_page=10).all()
        first = await client.tasks.list().first_page()
        detail = await client.projects.retrieve(page.results[0].id)
        await client.projects.tags(detail.id).create(name="async", category="project")
        print(len(everything), len(items), first.next, detail.title)


def main(connection: Mapping[str, Any]) -> None:
    client: synapse_dyn.Client = synapse_dyn.Client(**connection)
    with client:
        listing(client)
        calls(client, str(connection["tenant"]))
    asyncio.run(asynchronous(connection))
    legacy = synapse_dyn.Client("https://api.test", schema="v1")
    print(legacy.storages, legacy.tasks)
