"""mypy --strict and pyright (strict) over the typed surface: a broad sample passes, every mistake is reported.

Slow (seconds per run), so each checker runs once per stub set, over both sample scripts at once: the
bundled stubs, and stubs generated from reference release-2 put on the path as ``synapse_dyn-stubs``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import reference_release

from synapse_dyn.spec import load_spec
from synapse_dyn.stubs.package import TYPED_DIR, stubs_for, write_package

SAMPLES = Path(__file__).resolve().parent / "stub_samples"
BIN = Path(sys.executable).parent


def expected_lines() -> dict[int, str]:
    """Line -> what bad.py's ``# expect:`` comment says must be reported there."""
    lines = (SAMPLES / "bad.py").read_text(encoding="utf-8").splitlines()
    return {n: line.split("# expect:", 1)[1].strip() for n, line in enumerate(lines, 1) if "# expect:" in line}


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(params=["bundled", "release-2"], scope="module")
def stub_set(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             ) -> tuple[Path, dict[str, str], list[str]]:
    """A project folder with the two samples, the environment that puts the stub set on the path, and the
    files to check: the samples, and for the bundled set the shipped stubs themselves (strict-clean too)."""
    project = tmp_path_factory.mktemp(f"project-{request.param}")
    for name in ("good.py", "bad.py"):
        shutil.copy(SAMPLES / name, project / name)
    (project / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict"}))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    files = ["good.py", "bad.py"]
    if request.param == "bundled":
        files += [str(p) for p in sorted(TYPED_DIR.glob("*.pyi"))]
    if request.param == "release-2":
        out = project / "typings"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # release 2's own drift notices
            write_package(stubs_for(load_spec(str(reference_release(2)))), out)
        env["PYTHONPATH"] = str(out)
    return project, env, files


def _errors_by_file(rows: list[tuple[str, int]]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {"good.py": set(), "bad.py": set()}
    for name, line in rows:
        found.setdefault(name, set()).add(line)
    return found


def _check(found: dict[str, set[int]], output: str) -> None:
    assert found["good.py"] == set(), f"the good sample must pass:\n{output}"
    expected = expected_lines()
    missed = {line: what for line, what in expected.items() if line not in found["bad.py"]}
    assert not missed, f"not reported: {missed}\n{output}"
    assert found["bad.py"] == set(expected), f"unexpected errors on lines {found['bad.py'] - set(expected)}\n{output}"
    assert set(found) == {"good.py", "bad.py"}, f"errors outside the samples:\n{output}"


def test_mypy_strict(stub_set: tuple[Path, dict[str, str], list[str]], mypy_cache: Path):
    project, env, files = stub_set
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(mypy_cache),
                          "--no-color-output", *files],
                         cwd=project, env=env, capture_output=True, text=True, timeout=300)
    rows = [(m[1], int(m[2])) for m in re.finditer(r"^(\S+\.pyi?):(\d+): error:", run.stdout, re.M)]
    _check(_errors_by_file(rows), run.stdout + run.stderr)
    assert run.returncode == 1


def test_pyright_strict(stub_set: tuple[Path, dict[str, str], list[str]]):
    pyright = BIN / "pyright"
    if not pyright.exists() or shutil.which("node") is None:
        pytest.skip("pyright needs its node runtime, which is not on this machine")
    project, env, files = stub_set
    run = subprocess.run([str(pyright), "--outputjson", "--pythonpath", sys.executable, *files],
                         cwd=project, env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(run.stdout)
    rows = [(Path(d["file"]).name, d["range"]["start"]["line"] + 1)
            for d in report["generalDiagnostics"] if d["severity"] == "error"]
    _check(_errors_by_file(rows), run.stdout[:20000])
