"""Each line whose comment says "expect" must be reported by both mypy --strict and pyright; no other line."""

import synapse_dyn

client = synapse_dyn.Client("https://api.test", tenant="acme")
client.projects.list(per_pgae=50)  # expect: typo'd keyword
client.projects.list(category="imagee")  # expect: wrong enum literal
client.projects.create(title="demo", category="image")  # expect: missing required body field (keyword)
client.projects.create({"title": "demo", "category": "image"})  # expect: missing required body field (dict)
client.projects.create({"title": "x", "category": "imagee", "configuration": {}})  # expect: wrong enum in body
client.projects.retrieve("42")  # expect: wrong id type
client.projects.tags("42").list()  # expect: wrong parent id type
print(client.projects.retrieve(42).titel)  # expect: field the schema does not have
print(client.projectz)  # expect: unknown resource
client.projects.archive(42)  # expect: unknown verb
synapse_dyn.Client("https://api.test", retires=3)  # expect: typo'd constructor keyword
