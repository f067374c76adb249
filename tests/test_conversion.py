"""OpenAPI 3.0 -> JSON Schema conversion, checked against verdicts written by hand.

The parity test (test_validation.py) compares the Rust and Python engines on schemas made by the same
converter, so a conversion bug gives both the same wrong verdict and stays invisible there; the
differential test (test_differential.py) compares with openapi-core on the shipped schemas. Here the
tricky OpenAPI 3.0 constructs each get a small schema and the verdicts a reader of the spec expects,
on both engines.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from helpers import envelope, make_client, request_json
from pytest_httpserver import HTTPServer

from synapse_dyn import errors, load_spec

ENGINES = ["rust", "python"]
REF = "#/components/schemas/"

COMPONENTS: dict[str, Any] = {
    "Thing": {"type": "object", "required": ["id", "name"], "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string"},
        "password": {"type": "string", "writeOnly": True},
    }},
    "Secretive": {"type": "object", "required": ["password"], "properties": {
        "password": {"type": "string", "writeOnly": True}}},
    "NullableRef": {"type": "object", "properties": {
        "sibling": {"$ref": REF + "Thing", "nullable": True},
        "wrapped": {"allOf": [{"$ref": REF + "Thing"}], "nullable": True},
        "plain": {"$ref": REF + "Thing"},
    }},
    "Bounds": {"type": "object", "properties": {
        "gt0": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        "ge0": {"type": "number", "minimum": 0, "exclusiveMinimum": False},
        "lt10": {"type": "integer", "maximum": 10, "exclusiveMaximum": True},
        "le10": {"type": "integer", "maximum": 10},
    }},
    "Choice": {"type": "string", "enum": ["a", "b"], "nullable": True},
    "UntypedChoice": {"enum": ["a", "b"], "nullable": True},
    "IntChoice": {"type": "integer", "enum": [1, 2], "nullable": True},
    "NullChoice": {"type": "string", "enum": ["a", None], "nullable": True},
    "Closed": {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "integer"}},
               "x-internal": True, "example": {"a": 1}},
    "Untyped": {"nullable": True, "properties": {"a": {"type": "integer"}}},
    "Formats": {"type": "object", "properties": {
        "email": {"type": "string", "format": "email"}, "uri": {"type": "string", "format": "uri"},
        "uuid": {"type": "string", "format": "uuid"}}},
    "Numbers": {"type": "object", "properties": {"i": {"type": "integer"}, "n": {"type": "number"}}},
    "Either": {"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True},
}

# (schema, direction, instance, valid?)
VERDICTS: list[tuple[str, str, Any, bool]] = [
    ("Thing", "request", {"name": "n"}, True),  # readOnly required: not required in requests
    ("Thing", "response", {"name": "n"}, False),  # ... but required in responses
    ("Thing", "response", {"id": 1, "name": "n"}, True),
    ("Secretive", "response", {}, True),  # writeOnly required: not required in responses
    ("Secretive", "request", {}, False),
    ("NullableRef", "response", {"sibling": None}, True),
    ("NullableRef", "response", {"wrapped": None}, True),
    ("NullableRef", "response", {"plain": None}, False),
    ("NullableRef", "response", {"sibling": {"id": 1, "name": "n"}, "wrapped": {"id": 2, "name": "m"}}, True),
    ("NullableRef", "response", {"wrapped": {"id": 2}}, False),
    ("Bounds", "response", {"gt0": 0}, False),
    ("Bounds", "response", {"gt0": 0.001}, True),
    ("Bounds", "response", {"gt0": -1}, False),
    ("Bounds", "response", {"ge0": 0}, True),
    ("Bounds", "response", {"ge0": -0.5}, False),
    ("Bounds", "response", {"lt10": 10}, False),
    ("Bounds", "response", {"lt10": 9}, True),
    ("Bounds", "response", {"le10": 10}, True),
    ("Bounds", "response", {"le10": 11}, False),
    # OAS 3.0.3: nullable widens the type only; an enum must list null itself to allow it
    ("Choice", "response", None, False),
    ("Choice", "response", "a", True),
    ("Choice", "response", "c", False),
    ("UntypedChoice", "response", None, False),
    ("UntypedChoice", "response", "c", False),
    ("IntChoice", "response", None, False),
    ("IntChoice", "response", 3, False),
    ("NullChoice", "response", None, True),
    ("NullChoice", "response", "b", False),
    ("Closed", "response", {"a": 1}, True),
    ("Closed", "response", {"a": 1, "b": 2}, False),
    ("Untyped", "response", None, True),
    ("Untyped", "response", {"a": "x"}, False),
    ("Formats", "response", {"email": "not an email", "uri": "not a uri"}, True),  # only date/uuid formats checked
    ("Formats", "response", {"uuid": "not-a-uuid"}, False),
    ("Numbers", "response", {"i": 1, "n": 1}, True),
    ("Numbers", "response", {"i": 1.5}, False),
    ("Numbers", "response", {"i": True}, False),
    ("Numbers", "response", {"n": True}, False),
    ("Either", "response", None, True),
    ("Either", "response", 1, True),
    ("Either", "response", [], False),
]


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": REF + "Thing"}}}}
    document = {
        "openapi": "3.0.3", "info": {"title": "conversion", "version": "1"},
        "paths": {"/v2/things/": {"post": {"operationId": "thing_create", "requestBody": body, "responses": {
            "201": {"description": "made", "content": {"application/json": {"schema": {"$ref": REF + "Thing"}}}}}}}},
        "components": {"schemas": COMPONENTS},
    }
    path = tmp_path_factory.mktemp("conversion") / "schema.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


@pytest.mark.parametrize("engine", ENGINES)
def test_tricky_openapi_30_constructs_get_the_verdicts_of_the_spec(schema_file: str, engine: str) -> None:
    from synapse_dyn.validation import Validators

    validators = Validators(load_spec(schema_file, overrides=False, cache=False), engine)
    wrong = [(name, direction, instance, valid) for name, direction, instance, valid in VERDICTS
             if validators.compile({"$ref": REF + name}, direction).is_valid(instance) != valid]
    assert not wrong, f"wrong verdicts (schema, direction, instance, expected): {wrong}"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_required_read_only_field_is_not_required_in_a_request(httpserver: HTTPServer, schema_file: str,
                                                                 engine: str) -> None:
    httpserver.expect_request("/v2/things/", method="POST").respond_with_json(envelope({"id": 5, "name": "n"}),
                                                                              status=201)
    with make_client(httpserver, schema=schema_file, overrides=False, validation_engine=engine) as client:
        assert client.things.create(name="n").id == 5
        assert request_json(httpserver.log[-1][0]) == {"name": "n"}
        with pytest.raises(errors.ValidationError, match="name"):
            client.things.create(body={"id": 3})
    assert len(httpserver.log) == 1
