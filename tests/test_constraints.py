"""Supply chain: every declared dependency is bounded, and constraints.txt pins what the tests ran with."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        found += [Requirement(r) for r in extra]
    return [r for r in found if canonicalize_name(r.name) != canonicalize_name(project["name"])]


def _pins() -> dict[str, str]:
    path = ROOT / "constraints.txt"
    if not path.exists():
        pytest.fail("constraints.txt is missing: CI and fresh machines would install untested versions")
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([A-Za-z0-9_.+!\-]+)", line)
        assert match, f"constraints.txt: {line!r} is not an exact 'name==version' pin"
        name = canonicalize_name(match.group(1).split("[")[0])
        assert name not in pins, f"constraints.txt pins {name} twice"
        pins[name] = match.group(2)
    return pins


def test_every_declared_dependency_has_an_upper_bound() -> None:
    for requirement in _declared():
        assert any(s.operator in ("<", "<=", "==", "~=") for s in requirement.specifier), (
            f"{requirement}: add an upper bound on the next major version")


def test_constraints_pin_every_dependency_within_its_declared_range() -> None:
    pins = _pins()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt does not pin {requirement.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {requirement.specifier}")
    assert canonicalize_name("synapse-dyn") not in pins


def test_the_environment_under_test_matches_the_constraints() -> None:
    """The pins are what these tests run against (re-freeze constraints.txt after an upgrade)."""
    pins = _pins()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            continue  # an extra this environment lacks
        assert installed == pins[name], f"{name}: installed {installed}, constraints.txt pins {pins[name]}"
