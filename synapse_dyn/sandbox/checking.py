"""Request validation by openapi-core: the sandbox's independent second opinion on the schema.

The client validates with its own compiled validators; the sandbox must not share them, or a
client-side validation bug would hide behind the same bug in the test double. So every request's
parameters are deserialized, cast, validated and unmarshalled by openapi-core, and every body is
validated by openapi-core's OpenAPI 3.0 write validator for the body's media type.

One ``OpenAPI`` object is built per process and schema (spec validation skipped: CI validates the
bundled schemas). openapi-core walks the document through ``jsonschema-path`` on every call, so the
parts that do not depend on the request are built once: the routed (method, path template) ->
operation lookup (the sandbox's router has already matched), the format checker, and one body
validator per (operation, media type); and since a parameter verdict depends only on the raw values
of the declared parameters, the latest ``VERDICTS`` verdicts are remembered (polling one object
costs one check). Formats are left as the strings the client sent, so unmarshalled values stay
JSON (the sandbox stores JSON documents).

Errors become the backend's 400 envelope: one detail per failure, the field named from the error's
path, the message from the schema's expectation only (never the value sent).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from ..registry import Operation, Registry
from .messages import ApiError, Request

try:
    from jsonschema_path import SchemaPath
    from openapi_core import Config, OpenAPI
    from openapi_core.casting.schemas import oas30_types_caster, oas31_types_caster
    from openapi_core.casting.schemas.factories import SchemaCastersFactory
    from openapi_core.datatypes import RequestParameters
    from openapi_core.templating.paths.finders import APICallPathFinder
    from openapi_core.unmarshalling.request.unmarshallers import (
        V30RequestParametersUnmarshaller,
        V31RequestParametersUnmarshaller,
    )
    from openapi_core.unmarshalling.schemas import oas30_write_schema_unmarshallers_factory
    from openapi_core.unmarshalling.schemas.factories import SchemaUnmarshallersFactory
    from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
    from openapi_schema_validator import OAS30WriteValidator, OAS31Validator
    from werkzeug.datastructures import Headers, ImmutableMultiDict
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("the sandbox validates requests with openapi-core: pip install 'synapse-dyn[sandbox]'") from exc

HOST_URL = "http://sandbox"
RESOLVED_CACHE = 8192
MAX_DETAILS = 20
VERDICTS = 4096
CHECKERS = 8
_KEEP_STRING = {fmt: str for fmt in ("date", "date-time", "uuid", "byte", "binary", "email", "uri", "password")}
_LOCK = threading.Lock()
_CHECKERS: dict[str, RequestChecker] = {}


class RoutedPathFinder(APICallPathFinder):
    """openapi-core's path finder, remembered per (method, path template): the sandbox routed already."""

    def __init__(self, spec: Any, base_url: str | None = None) -> None:
        super().__init__(spec, base_url)
        self._found: dict[tuple[str, str], Any] = {}

    def find(self, method: str, name: str) -> Any:
        """The (path, operation, server) openapi-core finds for a template URL, found once."""
        key = (method, name)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = super().find(method, name)
        return found


class ReusedValidators(SchemaValidatorsFactory):
    """openapi-core's validators factory, building each schema's validator (and the format checker) once."""

    def __init__(self, validator_cls: Any) -> None:
        super().__init__(validator_cls)
        self._checker: Any = None
        self._made: dict[tuple[Any, ...], Any] = {}

    def create(self, spec: Any, schema: Any, format_validators: Any = None, extra_format_validators: Any = None,
               forbid_unspecified_additional_properties: bool = False, enforce_properties_required: bool = False,
               ) -> Any:
        """openapi-core's validator for a schema, made on first use (validators keep no per-call state)."""
        key = (tuple(schema.parts), _names(format_validators), _names(extra_format_validators),
               forbid_unspecified_additional_properties, enforce_properties_required)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().create(
                spec, schema, format_validators, extra_format_validators,
                forbid_unspecified_additional_properties, enforce_properties_required)
        return made

    def get_format_checker(self, format_validators: Any = None, extra_format_validators: Any = None) -> Any:
        """The default format checker, built once (custom format sets are built as openapi-core does)."""
        if format_validators is not None or extra_format_validators:
            return super().get_format_checker(format_validators, extra_format_validators)
        if self._checker is None:
            self._checker = super().get_format_checker()
        return self._checker


class CheckedRequest:
    """A sandbox request in openapi-core's Request protocol, matched to its path template."""

    def __init__(self, op: Operation, request: Request, path_params: dict[str, str], header: bool) -> None:
        self.host_url = HOST_URL
        self.path = request.path
        self.path_pattern = op.path
        self.method = op.method
        self.body = None  # bodies are checked on their own (see RequestChecker.body)
        self.content_type = (request.header("content-type") or "").lower()
        self.parameters = RequestParameters(
            path=dict(path_params), query=ImmutableMultiDict(request.query),
            header=Headers(request.headers) if header else Headers(), cookie=ImmutableMultiDict())


class RequestChecker:
    """openapi-core's verdict on the requests of one schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        v31 = str(document.get("openapi", "3.0")).startswith("3.1")
        self.validators = ReusedValidators(OAS31Validator if v31 else OAS30WriteValidator)
        unmarshallers = SchemaUnmarshallersFactory(
            self.validators, oas30_write_schema_unmarshallers_factory.types_unmarshaller,
            oas30_write_schema_unmarshallers_factory.format_unmarshallers)
        config = Config(
            spec_validator_cls=None, path_finder_cls=RoutedPathFinder,
            request_unmarshaller_cls=V31RequestParametersUnmarshaller if v31 else V30RequestParametersUnmarshaller,
            schema_validators_factory=self.validators, schema_unmarshallers_factory=unmarshallers,
            schema_casters_factory=SchemaCastersFactory(self.validators, oas31_types_caster if v31 else oas30_types_caster),
            extra_format_unmarshallers=_KEEP_STRING)
        self.spec = SchemaPath.from_dict(document, resolved_cache_maxsize=RESOLVED_CACHE)
        self.openapi = OpenAPI(self.spec, config=config)
        self._bodies: dict[tuple[str, str, str], Any] = {}
        self._verdicts: OrderedDict[tuple[Any, ...], tuple[dict, dict] | ApiError] = OrderedDict()
        self._lock = threading.Lock()
        self._walking = threading.Lock()

    def parameters(self, op: Operation, request: Request, path_params: dict[str, str]) -> tuple[dict, dict]:
        """(path, query) values as openapi-core unmarshals them; 404 for a bad path value, 400 otherwise.

        The verdict depends only on the raw values of the declared parameters, so it is remembered
        for the most recent ``VERDICTS`` distinct sets of values (polling the same object is common).
        """
        if not op.parameters:
            return {}, {}
        key = verdict_key(op, request, path_params)
        with self._lock:
            verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self.unmarshal_parameters(op, request, path_params)
            with self._lock:
                self._verdicts[key] = verdict
                if len(self._verdicts) > VERDICTS:
                    self._verdicts.popitem(last=False)
        if isinstance(verdict, ApiError):
            raise ApiError(verdict.status, verdict.message, details=verdict.details)
        return dict(verdict[0]), dict(verdict[1])

    def unmarshal_parameters(self, op: Operation, request: Request, path_params: dict[str, str]
                             ) -> tuple[dict, dict] | ApiError:
        """openapi-core's unmarshalled (path, query) parameters, or the error answer for them."""
        checked = CheckedRequest(op, request, path_params, header=bool(op.header_params))
        with self._walking:  # jsonschema-path's caches are not safe for concurrent use
            result = self.openapi.unmarshal_request(checked)
        if not result.errors:
            return dict(result.parameters.path), dict(result.parameters.query)
        problems = list(parameter_problems(result.errors))
        if any(location == "path" for location, _detail in problems):
            return ApiError(404, "Not found.")
        return ApiError(400, "Invalid query parameters.", details=[d for _loc, d in problems][:MAX_DETAILS])

    def body(self, op: Operation, media: str, value: Any) -> None:
        """ApiError 400 unless openapi-core's write validator accepts a decoded body for its media type."""
        validator = self.body_validator(op, media)
        if validator is None:
            return
        details = [detail for error in validator.iter_errors(value) for detail in describe(error)]
        if details:
            raise ApiError(400, "Invalid input.", details=_unique(details)[:MAX_DETAILS])

    def body_validator(self, op: Operation, media: str) -> Any:
        """openapi-core's validator for one operation's request body schema in one media type (cached)."""
        key = (op.path, op.method, media)
        with self._walking:
            return self._bodies[key] if key in self._bodies else self._body_validator(key)

    def _body_validator(self, key: tuple[str, str, str]) -> Any:
        op_path, method, media = key
        if key not in self._bodies:
            content = self.spec / "paths" / op_path / method / "requestBody" / "content"
            schema = content / media / "schema" if media in content and "schema" in content / media else None
            made = None if schema is None else self.validators.create(self.spec, schema)
            self._bodies[key] = None if made is None else made.validator
        return self._bodies[key]


def checker_for(registry: Registry) -> RequestChecker:
    """The one RequestChecker of a schema document in this process (the most recent ``CHECKERS`` kept)."""
    document = registry.document
    key = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()
    with _LOCK:
        checker = _CHECKERS.pop(key, None) or RequestChecker(document)
        _CHECKERS[key] = checker
        while len(_CHECKERS) > CHECKERS:
            _CHECKERS.pop(next(iter(_CHECKERS)))
        return checker


def verdict_key(op: Operation, request: Request, path_params: dict[str, str]) -> tuple[Any, ...]:
    """Everything openapi-core reads to judge an operation's parameters: the declared ones' raw values."""
    query = tuple((k, v) for k, v in request.query if k in op.query_params)
    headers = tuple((name, request.header(name)) for name in op.header_params)
    return op.path, op.method, tuple(sorted(path_params.items())), query, headers


def parameter_problems(errors: Iterable[Exception]) -> Iterator[tuple[str, dict[str, str]]]:
    """(location, detail) for each of openapi-core's parameter errors."""
    for error in errors:
        name = str(getattr(error, "name", "") or "non_field_errors")
        location = str(getattr(error, "location", "") or "query")
        schema_errors = getattr(error.__cause__, "schema_errors", None)
        if type(error).__name__ == "MissingRequiredParameter":
            yield location, {"field": name, "message": "This field is required."}
        elif schema_errors:
            for inner in schema_errors:
                for detail in describe(inner, root=name):
                    yield location, detail
        else:
            yield location, {"field": name, "message": f"Not a valid value for {name}."}


def describe(error: Any, root: str = "") -> list[dict[str, str]]:
    """One jsonschema error as details: the field from its path (under ``root``, a parameter's name),
    the message from the schema alone."""
    path = [root] if root else []
    path += [str(p) for p in error.absolute_path]
    keyword, expected = str(error.validator), error.validator_value
    if keyword == "required" and isinstance(error.instance, dict):
        missing = [name for name in expected if name not in error.instance] or ["?"]
        return [{"field": "/".join([*path, name]), "message": "This field is required."} for name in missing]
    field = "/".join(path) or "non_field_errors"
    if keyword == "type":
        return [{"field": field, "message": f"Expected {_listing(expected)}."}]
    if keyword == "enum":
        return [{"field": field, "message": f"Not one of {_listing(expected)}."}]
    if keyword == "format":
        return [{"field": field, "message": f"Not a valid {expected}."}]
    if keyword == "nullable":
        return [{"field": field, "message": "This field may not be null."}]
    if keyword == "readOnly":
        return [{"field": field, "message": "This field is read-only."}]
    if keyword == "additionalProperties":
        return [{"field": field, "message": "Unexpected field."}]
    if keyword in ("oneOf", "anyOf", "allOf", "not"):
        return [{"field": field, "message": "Matches none of the allowed shapes."}]
    shown = expected if isinstance(expected, int | float | str) else ""
    return [{"field": field, "message": f"Fails {keyword} {shown}".rstrip() + "."}]


def _names(validators: Any) -> tuple[str, ...] | None:
    return None if validators is None else tuple(sorted(validators))


def _listing(value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    return " or ".join("null" if v is None else str(v) for v in values)


def _unique(details: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for detail in details:
        seen.setdefault((detail["field"], detail["message"]), detail)
    return list(seen.values())


__all__ = ["RequestChecker", "checker_for", "describe"]
