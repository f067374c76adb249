"""Schema scale: a synthetic schema ten times the bundled one loads cold in linear time, warm in < 0.1 s.

``synthesize`` makes copy k of every path and component (``/v2/projects/`` -> ``/v2/projects-k/``,
``ProjectV2Detail`` -> ``ProjectV2Detail_k``, operationIds ``..._k``, $refs rewritten to match),
keeping the original as copy 0 and the bundled file's YAML style, so it is ten times the size.
Cold: each load in a fresh process (``python bench/bigschema.py cold SOURCE``) timing only
``load_spec`` with an empty cache dir, as a first start would; warm, and cold repeated in one
warmed-up process for comparison: ``python bench/bigschema.py steady FILE``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from common import median

REF_SECTIONS = ("schemas", "parameters", "responses", "requestBodies", "headers", "examples", "links", "callbacks")
_REF = re.compile(r"(#/components/(?:" + "|".join(REF_SECTIONS) + r")/)([^'\"\s},]+)")
_OPERATION_ID = re.compile(r"^(\s*operationId:\s*)(\S+)")
_PATH_KEY = re.compile(r"^  (['\"]?)(/[^'\"]*)\1:")
_COMPONENT_KEY = re.compile(r"^    ([A-Za-z0-9_.-]+):")
_SECTION_KEY = re.compile(r"^  ([A-Za-z]+):")


def _rename_path(path: str, k: int) -> str:
    """Suffix the first static segment after the version prefix: ``/v2/projects/{id}/`` -> ``/v2/projects-k/{id}/``."""
    segments = path.split("/")
    index = 2 if len(segments) > 2 and segments[1][:1] == "v" and segments[1][1:].isdigit() else 1
    segments[index] = f"{segments[index]}-{k}"
    return "/".join(segments)


def _copy_line(line: str, k: int, kind: str) -> str:
    """One line of copy ``k``: refs and operationIds suffixed, path / component keys renamed."""
    line = _REF.sub(lambda m: f"{m[1]}{m[2]}_{k}", line)
    line = _OPERATION_ID.sub(lambda m: f"{m[1]}{m[2]}_{k}", line)
    if kind == "paths":
        return _PATH_KEY.sub(lambda m: f"  {m[1]}{_rename_path(m[2], k)}{m[1]}:", line)
    return _COMPONENT_KEY.sub(lambda m: f"    {m[1]}_{k}:", line)


def synthesize(text: str, copies: int) -> str:
    """The schema text with ``copies - 1`` renamed copies of every path and component appended.

    Works on the text, so every copy keeps the bundled file's own YAML style and the result is
    ``copies`` times its size: ``paths`` and each ``components`` section are top-level blocks.
    """
    lines = text.splitlines(keepends=True)
    blocks: list[tuple[str, list[str]]] = []  # (kind, lines): 'keep', 'paths' or a components section
    section = None
    for line in lines:
        top = line[:1] not in (" ", "\n", "#")
        if top:
            section = "paths" if line.startswith("paths:") else ("components" if line.startswith("components:") else None)
            blocks.append(("keep", [line]))
            continue
        if section == "components" and (key := _SECTION_KEY.match(line)):
            blocks.append(("keep", [line]))
            blocks.append((key[1] if key[1] in REF_SECTIONS else "keep", []))
            continue
        if section == "paths" and blocks[-1][0] == "keep":
            blocks.append(("paths", []))
        blocks[-1][1].append(line)
    out: list[str] = []
    for kind, block in blocks:
        out.extend(block)
        if kind != "keep":
            for k in range(1, copies):
                out.extend(_copy_line(line, k, kind) for line in block)
    return "".join(out)


def check_synthetic(document: dict[str, Any], copies: int, bundled_operations: int) -> int:
    """The operation count; raises if it is not ``copies`` times the bundled one or a $ref dangles."""
    from synapse_dyn.naming import HTTP_METHODS

    operations = sum(1 for item in document["paths"].values() for key in item if key in HTTP_METHODS)
    if operations != copies * bundled_operations:
        raise RuntimeError(f"synthetic schema has {operations} operations, expected {copies * bundled_operations}")
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                _, _, section, name = ref.split("/", 3)
                if name not in document["components"][section]:
                    raise RuntimeError(f"synthetic schema: dangling $ref {ref}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return operations


def write_synthetic(bundled: Path, target: Path, copies: int = 10) -> dict[str, int]:
    """Write the synthetic schema next to the bench's scratch files; returns its size figures."""
    import yaml  # here only: the cold-load worker must import it inside load_spec, as a first start does

    from synapse_dyn.naming import HTTP_METHODS

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = bundled.read_text(encoding="utf-8")
    big = synthesize(text, copies)
    original = yaml.load(text, Loader=loader)  # noqa: S506 - safe loaders only
    count = sum(1 for item in original["paths"].values() for key in item if key in HTTP_METHODS)
    operations = check_synthetic(yaml.load(big, Loader=loader), copies, count)  # noqa: S506
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(big, encoding="utf-8")
    return {"bytes": len(big.encode()), "bundled_bytes": len(text.encode()), "operations": operations,
            "bundled_operations": count}


def _load(source: str, cache_dir: str) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, operations) of one ``load_spec`` into ``cache_dir``."""
    from synapse_dyn.spec import load_spec

    os.environ["SYNAPSE_DYN_CACHE_DIR"] = cache_dir
    wall, cpu = time.perf_counter(), time.process_time()
    registry = load_spec(source)
    return time.perf_counter() - wall, time.process_time() - cpu, len(registry.operations)


def cold_once(source: str) -> dict[str, Any]:
    """One cold load in this (fresh) process: only ``synapse_dyn.spec`` imported, an empty cache dir."""
    warnings.simplefilter("ignore")  # drift notes about the copies are not what is measured
    with tempfile.TemporaryDirectory(prefix="bigschema-cold-") as empty:
        wall, cpu, operations = _load(source, empty)
    return {"wall": wall, "cpu": cpu, "operations": operations}


def in_process(synthetic: str, rounds: int) -> dict[str, Any]:
    """Warm loads (filled cache) and repeated cold loads in one warmed-up process, interleaved."""
    warnings.simplefilter("ignore")
    sources = {"v2": "v2", "synthetic": synthetic}
    cold: dict[str, list[float]] = {name: [] for name in sources}
    warm: dict[str, list[float]] = {name: [] for name in sources}
    with tempfile.TemporaryDirectory(prefix="bigschema-") as scratch:
        warm_dirs = {name: tempfile.mkdtemp(dir=scratch) for name in sources}
        for name, source in sources.items():  # imports, first-use work and the warm caches, untimed
            _load(source, warm_dirs[name])
        for _ in range(rounds):
            for name, source in sources.items():
                with tempfile.TemporaryDirectory(dir=scratch) as empty:
                    cold[name].append(_load(source, empty)[0])
                warm[name].append(_load(source, warm_dirs[name])[0])
    return {"cold": {k: median(v) for k, v in cold.items()}, "warm": {k: median(v) for k, v in warm.items()},
            "cold_ratios": [s / b for b, s in zip(cold["v2"], cold["synthetic"], strict=True)]}


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "write":
        print(json.dumps(write_synthetic(Path(args[0]), Path(args[1]))))
    elif command == "cold":
        print(json.dumps(cold_once(args[0])))
    else:
        print(json.dumps(in_process(args[0], int(args[1]) if len(args) > 1 else 5)))
