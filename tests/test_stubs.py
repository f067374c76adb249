"""Typing stubs built from the registry: shipped and up to date, complete, deterministic, never imported.

The type checkers' verdicts on sample scripts are in test_stubs_checkers.py; generation time is in bench/stubs.py.
"""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import REPO_ROOT, reference_release
from test_cli_support import invoke

import synapse_dyn
from synapse_dyn.registry import Registry
from synapse_dyn.spec import load_spec
from synapse_dyn.stubs.package import TYPED_DIR, bundled_files, stale_bundled, stubs_for

BODY_DOC = 'Say "hi" \\ and """quote"""'


def parse(text: str) -> ast.Module:
    return ast.parse(text, type_comments=True)


def classes(text: str) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in parse(text).body if isinstance(node, ast.ClassDef)}


def methods(cls: ast.ClassDef) -> dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.setdefault(node.name, []).append(node)
    return found


def signature(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return f"({ast.unparse(fn.args)}) -> {ast.unparse(fn.returns) if fn.returns else ''}"


@pytest.fixture(scope="module")
def api() -> str:
    return (TYPED_DIR / "api.pyi").read_text(encoding="utf-8")


def test_shipped_stubs_match_the_bundled_schemas():
    stale = stale_bundled()
    assert stale == [], f"stale stubs {stale}: run `synapse-dyn stubs --bundled` and ship the result"
    assert (TYPED_DIR.parent / "py.typed").is_file()  # PEP 561: the package's own types are used
    assert not list(TYPED_DIR.glob("*.py")), "the typed package must hold stubs only"


def test_check_flag_reports_staleness_and_cli_writes_the_bundled_stubs():
    result = invoke("stubs", "--bundled", "--check")
    assert result.exit_code == 0, result.output
    assert "match the bundled schemas" in result.stdout
    misuse = invoke("stubs", "--check")
    assert misuse.exit_code == 2 and "--check goes with --bundled" in misuse.stderr


def test_bundled_check_fails_on_stale_stubs_and_bundled_rewrites_them(tmp_path: Path, monkeypatch):
    import shutil

    from synapse_dyn.stubs import package

    copy = tmp_path / "synapse_dyn" / "typed"
    shutil.copytree(TYPED_DIR, copy)
    (copy / "api.pyi").write_text((copy / "api.pyi").read_text() + "# edited by hand\n")
    (copy / "v1.pyi").unlink()
    monkeypatch.setattr(package, "TYPED_DIR", copy)
    stale = invoke("stubs", "--bundled", "--check")
    assert stale.exit_code == 11
    assert stale.stderr.strip() == ("Error: stale stubs: typed/api.pyi, typed/v1.pyi; "
                                    "run synapse-dyn stubs --bundled")
    assert invoke("stubs", "--bundled").exit_code == 0
    assert package.stale_bundled() == []
    assert (copy / "api.pyi").read_bytes() == (TYPED_DIR / "api.pyi").read_bytes()


def test_every_operation_and_nested_resource_has_its_method(api: str):
    registry = load_spec("v2")
    found = classes(api)
    for prefix in ("", "Async"):
        client = methods(found[f"{prefix}Client"])
        assert set(registry.root.children) <= set(client)
    for path, op in registry.walk():
        resources = op.name.resources
        sync, asynchronous = (methods(found[f"{p}{_class_name(resources)}"]) for p in ("", "Async"))
        assert op.verb in sync and op.verb in asynchronous, path
        assert all(isinstance(fn, ast.AsyncFunctionDef) for fn in asynchronous[op.verb]) != op.is_paginated
        for depth in range(1, len(resources)):
            parent = methods(found[_class_name(resources[:depth])])
            assert resources[depth] in parent, f"accessor {'.'.join(resources[: depth + 1])}"


def _class_name(resources: tuple[str, ...]) -> str:
    from synapse_dyn.stubs.types import camel

    return camel(*resources, "Resource")


def test_projects_surface(api: str):
    found = classes(api)
    projects = methods(found["ProjectsResource"])
    assert signature(projects["tags"][0]) == "(self, project_pk: int) -> ProjectsTagsResource"
    assert signature(projects["retrieve"][0]) == "(self, id: int) -> ProjectV2Detail"
    assert signature(projects["destroy"][0]).endswith("-> None")  # 204
    one, every = (signature(fn) for fn in projects["list"])
    assert "*, category: Literal['image', 'video', 'audio', 'text', 'pcd', 'prompt', 'time_series'] | None" in one
    assert one.endswith("list_all: Literal[False]=False) -> Page[ProjectV2List]")
    assert every.endswith("list_all: Literal[True]) -> Iterator[ProjectV2List]")
    given, keywords = (signature(fn) for fn in projects["create"])
    assert given.startswith("(self, body: ProjectsCreateBody, *,") and "title: str=..." in given
    assert "body" not in keywords and "title: str, category:" in keywords  # required fields: no default
    assert ast.get_docstring(projects["retrieve"][0]) == "Get a project\n\nGET /v2/projects/{id}/"
    asynchronous = methods(found["AsyncProjectsResource"])
    assert isinstance(asynchronous["retrieve"][0], ast.AsyncFunctionDef)
    assert signature(asynchronous["list"][1]).endswith(
        "-> AsyncPager[ProjectV2List, builtins.list[ProjectV2List]]")


def test_bodies_and_records(api: str):
    found = classes(api)
    body = {ast.unparse(n.target): ast.unparse(n.annotation) for n in found["ProjectsCreateBody"].body
            if isinstance(n, ast.AnnAssign)}
    assert body["title"] == "Required[str]" and body["description"] == "NotRequired[str]"
    assert "id" not in body  # read-only fields are not sent
    schema = load_spec("v2").document["components"]["schemas"]["ProjectV2Detail"]
    fields = {ast.unparse(n.target): ast.unparse(n.annotation) for n in found["ProjectV2Detail"].body
              if isinstance(n, ast.AnnAssign)}
    assert set(fields) == set(schema["properties"])
    assert fields["id"] == "int" and ast.unparse(found["ProjectV2Detail"].bases[0]) == "Record"
    keys = [signature(fn) for fn in methods(found["ProjectV2Detail"])["__getitem__"]]
    assert keys[0] == "(self, key: Literal['id']) -> int" and keys[-1] == "(self, key: str) -> Any"
    assert len(keys) == len(schema["properties"]) + 1  # typed by key as a TypedDict, any other key Any


def test_constructor_mirrors_the_runtime_client(api: str):
    import inspect

    runtime = [p for p in inspect.signature(synapse_dyn.Client).parameters if p != "credentials"]
    new = methods(classes(api)["Client"])["__new__"][1]
    stub = [a.arg for a in (*new.args.args, *new.args.kwonlyargs)][1:]
    assert stub[: len(runtime)] == runtime
    assert stub[len(runtime):] == ["agent_token"]  # the v1 schema's own credential, named


def test_generation_is_deterministic_across_processes(tmp_path: Path):
    """Two processes with different hash seeds write byte-identical stubs."""
    digests = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT)}
        run = subprocess.run([sys.executable, "-m", "synapse_dyn", "stubs", "--out", str(out)],
                             env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "synapse_dyn-stubs (5 files" in run.stdout and "PYTHONPATH=" in run.stderr
        files = sorted(p for p in out.rglob("*") if p.is_file())
        digests.append({p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    assert digests[0] == digests[1]
    assert digests[0]["synapse_dyn-stubs/py.typed"] == hashlib.sha256(b"partial\n").hexdigest()


def test_stubs_are_never_imported_at_run_time():
    code = ("import sys, synapse_dyn; c = synapse_dyn.Client('https://api.test'); c.projects.list.prepare(); "
            "print(sorted(m for m in sys.modules if m.startswith('synapse_dyn.typed')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    with pytest.raises(ModuleNotFoundError):
        __import__("synapse_dyn.typed.api")


def test_stubs_for_reference_release_2():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry = load_spec(str(reference_release(2)))
    files = stubs_for(registry)
    assert set(files) == {"typed/__init__.pyi", "typed/base.pyi", "typed/api.pyi", "typed/v1.pyi"}
    assert files["typed/api.pyi"] != bundled_files()["typed/api.pyi"]
    assert "release-2.yaml" in files["typed/api.pyi"].splitlines()[0]
    assert "validation_scripts" in methods(classes(files["typed/api.pyi"])["Client"])


def test_odd_schema_names_still_give_valid_stubs():
    """Non-identifier keys, keywords, builtin-shadowing verbs and fields, hostile summaries."""
    document = {
        "openapi": "3.0.3", "info": {"title": "odd", "version": "1"},
        "paths": {"/v2/things/": {
            "get": {"operationId": "things_list", "summary": BODY_DOC,
                    "parameters": [{"name": "page[size]", "in": "query", "schema": {"type": "integer"}},
                                   {"name": "from", "in": "query", "schema": {"type": "string"}},
                                   {"name": "when", "in": "query", "schema": {"type": "string", "format": "date-time"}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}},
            "post": {"operationId": "things_create",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["a-b"],
                         "properties": {"a-b": {"type": "integer"}, "list": {"type": "string"}}}}}},
                     "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": {
                         "$ref": "#/components/schemas/Thing"}}}}}}}},
        "components": {"schemas": {"Thing": {"type": "object", "required": ["type"], "properties": {
            "type": {"type": "string", "enum": ["a", "b"]}, "items": {"type": "integer"},
            "list": {"type": "array", "items": {"type": "string"}},
            "nested": {"type": "object", "properties": {"x": {"type": "number", "nullable": True}}}}}}},
    }
    text = stubs_for(Registry(document, label="odd.yaml"))["typed/api.pyi"]
    found = classes(text)
    thing = {ast.unparse(n.target): ast.unparse(n.annotation) for n in found["Thing"].body
             if isinstance(n, ast.AnnAssign)}
    assert thing == {"type": "Literal['a', 'b']", "list": "builtins.list[str] | None",
                     "nested": "ThingNestedRecord | None"}  # `items` is dict.items at run time: not a field
    assert "x: float | None" in ast.unparse(found["ThingNestedRecord"])
    listing = methods(found["ThingsResource"])["list"][0]
    assert ast.get_docstring(listing).startswith(BODY_DOC)
    assert "page[size]" not in ast.unparse(listing.args) and "when: str | _dt.datetime | None" in ast.unparse(listing.args)
    assert "TypedDict('ThingsCreateBody', {'a-b': Required[int], 'list': NotRequired[str]})" in text


def test_schema_sync_regenerates_stubs_and_says_where(httpserver, tmp_path: Path):
    published = reference_release(2).read_bytes()
    httpserver.expect_request("/api/schema/").respond_with_data(published, content_type="application/yaml")
    target = tmp_path / "synced" / "openapi.yaml"
    result = invoke("schema", "sync", "--url", httpserver.url_for("/api/schema/"), "--allow-insecure",
                    "--out", str(target))
    assert result.exit_code == 0, result.output
    package = tmp_path / "synced" / "typings" / "synapse_dyn-stubs"
    assert f"typing stubs for this schema: {package}" in result.stderr
    written = (package / "typed" / "api.pyi").read_text(encoding="utf-8")
    assert written.splitlines()[0].startswith('"""Typed surface of') and "openapi.yaml" in written.splitlines()[0]
    assert (package / "py.typed").read_text() == "partial\n"


def test_cli_stubs_for_a_schema_that_does_not_load(tmp_path: Path):
    result = invoke("stubs", "--schema", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "out"))
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1 and "missing.yaml" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bench_script_measures_generation():
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    try:
        import stubs as bench_stubs
    finally:
        sys.path.remove(str(REPO_ROOT / "bench"))
    figures = bench_stubs.measure("v2", 1)
    assert figures["operations"] == 149 and figures["bytes"] > figures["api_bytes"] > 50_000
    assert 0 < figures["render"] < figures["wall"]


def test_stub_parameters_are_the_runtime_signatures(api: str):
    """Every verb's stub takes exactly the parameters ``inspect.signature`` shows at run time (plus aliases)."""
    from synapse_dyn.docs import signature as runtime_signature

    registry = load_spec("v2")
    found = classes(api)
    for _path, op in registry.walk():
        overloads = methods(found[_class_name(op.name.resources)])[op.verb]
        stub = {a.arg for fn in overloads for a in (*fn.args.args, *fn.args.kwonlyargs)} - {"self"}
        runtime = set(runtime_signature(op).parameters)
        extras = set(op.keyword_aliases) | {f"set_{c}" for c in op.credential_capture or {}}
        assert runtime <= stub and stub - runtime <= extras, (op.qualified_name, runtime ^ stub)
        returns = {ast.unparse(fn.returns) for fn in overloads if fn.returns}
        assert (returns == {"None"}) == (op.success_schema is None), op.qualified_name


def test_the_type_checked_sample_runs_against_the_sandbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """tests/stub_samples/good.py passes both checkers (test_stubs_checkers.py) and is real code."""
    import runpy

    sample = runpy.run_path(str(Path(__file__).parent / "stub_samples" / "good.py"))
    _sandbox, connection = synapse_dyn.sandbox.open_default(str(tmp_path / "sandbox.db"))
    sample["main"](connection)
    out = capsys.readouterr().out
    assert "NotFoundError 404" in out and "<resource storages:" in out and "['urgent']" in out


def test_cli_stubs_follow_the_global_schema(tmp_path: Path):
    result = invoke("--schema", "v1", "stubs", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    typed = tmp_path / "synapse_dyn-stubs" / "typed"
    assert "Synapse API v1" in (typed / "api.pyi").read_text().splitlines()[0]
    assert not (typed / "v1.pyi").exists()  # the schema is v1 itself: no companion, no overload
    assert "storages" in methods(classes((typed / "api.pyi").read_text())["Client"])
