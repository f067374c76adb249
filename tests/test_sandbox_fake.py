"""Schema-valid value generation: deterministic, realistic, within every constraint."""

from __future__ import annotations

import re

import pytest
from conftest import reference_release

from synapse_dyn import load_spec
from synapse_dyn.registry import Registry
from synapse_dyn.sandbox.fake import Faker, sample_pattern
from synapse_dyn.validation import Validators, is_date_time, is_uuid


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_spec("v2")


def test_every_component_schema_yields_a_valid_value_both_ways(registry: Registry) -> None:
    faker, validators = Faker(registry), Validators(registry)
    names = sorted(registry.document["components"]["schemas"])
    bad = []
    for name in names:
        ref = {"$ref": f"#/components/schemas/{name}"}
        for direction in ("response", "request"):
            value = faker.value(ref, direction=direction)
            compiled = validators.compile(ref, direction)
            if not compiled.is_valid(value):
                bad.append(f"{name} ({direction}): {compiled.errors(value)}")
    assert len(names) > 60
    assert bad == []


@pytest.mark.filterwarnings("ignore::synapse_dyn.errors.DriftResolvedWarning")
def test_response_values_are_valid_for_a_published_release() -> None:
    registry = load_spec(str(reference_release(2)))
    faker, validators = Faker(registry, minimal=True), Validators(registry)
    for op in registry.operations:
        if op.success_schema:
            value = faker.value(op.success_schema)
            assert validators.compile(op.success_schema, "response").is_valid(value), op


def test_generation_is_deterministic_and_seeded(registry: Registry) -> None:
    ref = {"$ref": "#/components/schemas/ProjectV2Detail"}
    assert Faker(registry).value(ref, seed=7) == Faker(registry).value(ref, seed=7)
    assert Faker(registry).value(ref, seed=7)["title"] != Faker(registry).value(ref, seed=8)["title"]


def test_values_look_like_the_backend(registry: Registry) -> None:
    faker = Faker(registry)
    job = faker.value({"$ref": "#/components/schemas/JobV2Detail"}, seed=3)
    assert is_uuid(job["id"]) and is_date_time(job["created"])
    assert job["status"] == "PENDING"  # an enum's first value
    assert faker.value({"type": "string", "format": "email"}, name="email", seed=2) == "user2@synapse.local"
    assert faker.value({"type": "integer"}) >= 1
    assert faker.value({"type": "string", "format": "date-time", "nullable": True}, name="reviewed") is None
    summary = faker.value({"$ref": "#/components/schemas/PermissionSummary"})
    assert summary["permissions"] == ["annotation.project.read"]  # the schema's example
    assert faker.value({"type": "string", "enum": ["", "sensitive_content"]}) == "sensitive_content"


def test_request_values_leave_out_read_only_fields(registry: Registry) -> None:
    body = Faker(registry).value({"$ref": "#/components/schemas/JoinRequest"}, direction="request")
    assert body == {}
    login = Faker(registry).value({"$ref": "#/components/schemas/LoginRequest"}, direction="request")
    assert set(login) == {"email", "password"}


def test_minimal_values_hold_only_what_is_required(registry: Registry) -> None:
    full = Faker(registry).value({"$ref": "#/components/schemas/DataCollectionV2CreateRequest"}, direction="request")
    small = Faker(registry, minimal=True).value({"$ref": "#/components/schemas/DataCollectionV2CreateRequest"},
                                                direction="request")
    assert set(small) == {"name", "category"}
    assert len(full["file_specifications"]) == 1


@pytest.mark.parametrize(("schema", "check"), [
    ({"type": "integer", "minimum": 5}, lambda v: v == 5),
    ({"type": "integer", "maximum": 0}, lambda v: v == 0),
    ({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, lambda v: v >= 1),
    ({"type": "integer", "exclusiveMaximum": 1}, lambda v: v < 1),
    ({"type": "integer", "minimum": 10, "multipleOf": 4}, lambda v: v >= 10 and v % 4 == 0),
    ({"type": "number", "maximum": 0.5}, lambda v: v <= 0.5),
    ({"type": "string", "maxLength": 3}, lambda v: len(v) <= 3),
    ({"type": "string", "minLength": 40}, lambda v: len(v) >= 40),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 3}, lambda v: len(v) == 3),
    ({"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 2}, lambda v: len(v) == 2),
    ({"anyOf": [{"type": "null"}, {"type": "boolean"}]}, lambda v: isinstance(v, bool)),
])
def test_constraints_are_respected(registry: Registry, schema: dict, check) -> None:
    assert check(Faker(registry).value(schema, name="value", seed=3))


@pytest.mark.parametrize("pattern", [
    r"^bytes \d+-\d+/\d+$", r"^[-a-zA-Z0-9_]+$", r"^[0-9a-fA-F]{32}$", r"^(abc|def)-\w{2,}\.txt$",
    r"^[^/]+/[A-Z]{3}$",
])
def test_strings_satisfy_their_pattern(registry: Registry, pattern: str) -> None:
    assert re.search(pattern, sample_pattern(pattern) or "")
    assert re.search(pattern, Faker(registry).value({"type": "string", "pattern": pattern}, name="code"))
