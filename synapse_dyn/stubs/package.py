"""Where the stubs go: the ``typed`` stub modules of a schema, in the package or in a stub-only package.

Type checkers meet them through ``synapse_dyn/__init__.py``, whose ``TYPE_CHECKING`` imports take
``Client``, ``AsyncClient``, ``Page`` and ``Record`` from ``synapse_dyn.typed``. The bundled stubs
live in ``synapse_dyn/typed/``; ``write_package`` writes ``DIR/synapse_dyn-stubs/typed/`` with a
``partial`` ``py.typed`` (PEP 561), so with DIR on the checker's path only ``synapse_dyn.typed``
comes from it and every other module from the installed package.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..registry import Registry
from ..util.atomic import write_atomic
from .render import ModuleWriter

TYPED_DIR = Path(__file__).resolve().parent.parent / "typed"
STUB_PACKAGE = "synapse_dyn-stubs"
HAND_WRITTEN = ("typed/__init__.pyi", "typed/base.pyi")


def generate(registry: Registry, *, v1: Registry | None = None) -> dict[str, str]:
    """Relative path -> text of every stub file for ``registry`` (``typed/api.pyi``), with the v1 schema's
    stubs beside it when given, so that ``Client(url, schema="v1")`` is typed by them."""
    files = {name: (TYPED_DIR / Path(name).name).read_text(encoding="utf-8") for name in HAND_WRITTEN}
    credentials = tuple(dict.fromkeys([*registry.conventions.auth, *(v1.conventions.auth if v1 else ())]))
    files["typed/api.pyi"] = ModuleWriter(registry, overload_v1="v1" if v1 else None,
                                          credentials=credentials).render()
    if v1 is not None:
        files["typed/v1.pyi"] = ModuleWriter(v1, companion="api", credentials=credentials,
                                             parent_resources=frozenset(registry.root.children)).render()
    return files


def is_v1(registry: Registry) -> bool:
    return registry.label == "v1"


def load_v1() -> Registry:
    from ..spec import load_spec

    return load_spec("v1")


def bundled_files() -> dict[str, str]:
    """The stubs the package ships, generated now from the bundled v2 and v1 schemas."""
    from ..spec import load_spec

    return generate(load_spec("v2"), v1=load_v1())


def stale_bundled() -> list[str]:
    """The shipped stub files that differ from what the bundled schemas give now (empty: up to date)."""
    root = TYPED_DIR.parent
    return sorted(name for name, text in bundled_files().items()
                  if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != text)


def write_bundled() -> list[Path]:
    """Regenerate ``synapse_dyn/typed/`` (a release step); returns the files written."""
    root = TYPED_DIR.parent
    written = []
    for name, text in bundled_files().items():
        if name in HAND_WRITTEN:
            continue
        write_atomic(root / name, text, mode=0o644)
        written.append(root / name)
    return written


def write_package(files: dict[str, str], out: str | os.PathLike[str]) -> Path:
    """Write ``files`` as the stub-only package ``OUT/synapse_dyn-stubs``; returns its directory."""
    package = Path(out) / STUB_PACKAGE
    (package / "typed").mkdir(parents=True, exist_ok=True)
    write_atomic(package / "py.typed", "partial\n", mode=0o644)
    for name, text in files.items():
        write_atomic(package / name, text, mode=0o644)
    return package


def stubs_for(registry: Registry) -> dict[str, str]:
    """The stub files for a loaded schema (the bundled v1 beside it, unless it is v1)."""
    return generate(registry, v1=None if is_v1(registry) else load_v1())
