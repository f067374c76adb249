"""Request validation by openapi-core: the sandbox's independent second opinion on the schema.

The client validates with its own compiled validators; the sandbox must not share them, or a
client-side validation bug would hide behind the same bug in the test double. So every request's
parameters are deserialized, cast, validated and unmarshalled by openapi-core, and every body is
validated by openapi-core's OpenAPI 3.0 write validator for the body's media type.

One ``OpenAPI`` object is built per process and schema (spec validation skipped: CI validates the
bundled schemas). openapi-core walks the document through ``jsonschema-path`` and builds its
per-parameter objects again on every ``unmarshal_request``, so what does not depend on the request
is built once: the routed (method, path template) -> operation lookup (the sandbox's router has
already matched), the format checker, each schema's validator, one body validator per (operation,
media type), and per operation its parameters as ``PrebuiltParameter``s, in openapi-core's order
(operation-level first, path-level ones it does not override): openapi-core's style deserializer
(with its schema caster) and schema unmarshaller (which validates first), made by openapi-core's
own factories. A request then only runs them on its raw values, as openapi-core's
``_get_parameters`` would: missing required -> error, per-style deserialization, casting, the
schema default, the empty-query-value rule, validation, unmarshalling, errors of openapi-core's
types. An operation with a parameter that path cannot take (content-based, cookie or deepObject)
is decided once to go through ``unmarshal_request`` itself. The prebuilt objects still read their
schemas lazily, so running them, like anything else that walks a ``SchemaPath``, holds ``_walking``.

A parameter verdict depends only on the raw values of the declared parameters, so the latest
``VERDICTS`` verdicts are remembered (polling one object costs one check). Formats are left as the
strings the client sent, so unmarshalled values stay JSON (the sandbox stores JSON documents).

Errors become the backend's 400 envelope: one detail per failure, the field named from the error's
path, the message from the schema's expectation only (never the value sent); a path value that
does not fit is a 404, as for an object that does not exist.
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin

from ..registry import Operation, Registry
from .messages import ApiError, Request

try:
    from jsonschema_path import SchemaPath
    from openapi_core import Config, OpenAPI
    from openapi_core.casting.schemas import oas30_types_caster, oas31_types_caster
    from openapi_core.casting.schemas.factories import SchemaCastersFactory
    from openapi_core.datatypes import Parameters, RequestParameters
    from openapi_core.deserializing.styles import style_deserializers
    from openapi_core.deserializing.styles.exceptions import EmptyQueryParameterValue
    from openapi_core.exceptions import OpenAPIError
    from openapi_core.schema.parameters import get_style_and_explode
    from openapi_core.templating.paths.finders import APICallPathFinder
    from openapi_core.unmarshalling.request.unmarshallers import (
        V30RequestParametersUnmarshaller,
        V31RequestParametersUnmarshaller,
    )
    from openapi_core.unmarshalling.schemas import oas30_write_schema_unmarshallers_factory
    from openapi_core.unmarshalling.schemas.factories import SchemaUnmarshallersFactory
    from openapi_core.util import chainiters
    from openapi_core.validation.request.exceptions import (
        InvalidParameter,
        MissingParameter,
        MissingRequiredParameter,
        ParameterValidationError,
    )
    from openapi_core.validation.schemas.exceptions import ValidateError
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
        """openapi-core's validator for a schema, made on first use (validators keep no per-call state).

        No extra format validators and an empty set of them build the same validator, so they share it.
        """
        key = (tuple(schema.parts), _names(format_validators), _names(extra_format_validators or None),
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


class PrebuiltParameter:
    """One declared parameter's deserializer (with its caster), validator and unmarshaller, made once.

    ``value`` does what openapi-core's ``_get_parameter`` does for a simple (schema, not content)
    parameter, with the objects openapi-core would build on every call built here once. They still
    read their schema lazily through jsonschema-path, so ``value`` must run under the walking lock.
    """

    def __init__(self, unmarshaller: Any, param: Any) -> None:
        um, spec = unmarshaller, unmarshaller.spec
        self.name = (param / "name").read_str()
        self.location = (param / "in").read_str()
        self.deprecated = (param / "deprecated").read_bool(default=False)
        self.required = (param / "required").read_bool(default=False)
        self.allow_empty = (param / "allowEmptyValue").read_bool(default=None)
        schema = param / "schema"
        self.has_default = "default" in schema
        self.default = (schema / "default").read_value() if self.has_default else None
        style, explode = get_style_and_explode(param)
        self.deserializer = um.style_deserializers_factory.create(spec, schema, style, explode, name=self.name)
        self.validator = um.schema_validators_factory.create(
            spec, schema, format_validators=um.format_validators, extra_format_validators=um.extra_format_validators,
            forbid_unspecified_additional_properties=um.forbid_unspecified_additional_properties,
            enforce_properties_required=um.enforce_properties_required)
        self.unmarshaller = um.schema_unmarshallers_factory.create(
            spec, schema, format_validators=um.format_validators, extra_format_validators=um.extra_format_validators,
            forbid_unspecified_additional_properties=um.forbid_unspecified_additional_properties,
            enforce_properties_required=um.enforce_properties_required,
            format_unmarshallers=um.format_unmarshallers, extra_format_unmarshallers=um.extra_format_unmarshallers)
        if self.unmarshaller.schema_validator is self.validator:
            self.validator = None  # unmarshal() validates first with this very validator: once is enough

    @staticmethod
    def supports(param: Any) -> bool:
        """Whether openapi-core treats this parameter the simple way (schema + a known, flat style)."""
        if "content" in param or (param / "in").read_str() not in ("path", "query", "header"):
            return False
        style, _explode = get_style_and_explode(param)
        return style in style_deserializers and style != "deepObject"

    def value(self, parameters: RequestParameters) -> Any:
        """The unmarshalled value; openapi-core's Missing*/Invalid*/ParameterValidationError otherwise."""
        location = parameters[self.location]
        if self.deprecated and self.name in location:
            warnings.warn(f"{self.name} parameter is deprecated", DeprecationWarning, stacklevel=2)
        try:
            casted = self._casted(location)
            if self.validator is not None:
                self.validator.validate(casted)
            return self.unmarshaller.unmarshal(casted)
        except KeyError:
            error = MissingRequiredParameter if self.required else MissingParameter
            raise error(self.name, self.location) from None
        except ValidateError as exc:
            raise InvalidParameter(self.name, self.location) from exc
        except OpenAPIError as exc:
            raise ParameterValidationError(self.name, self.location) from exc

    def _casted(self, location: Any) -> Any:
        if self.allow_empty:
            warnings.warn("Use of allowEmptyValue property is deprecated", DeprecationWarning, stacklevel=3)
        try:
            casted = self.deserializer.deserialize(location)
        except KeyError:
            if not self.has_default:
                raise
            return self.default
        if self.allow_empty is not None:
            warnings.warn("Use of allowEmptyValue property is deprecated", DeprecationWarning, stacklevel=3)
        if not self.allow_empty and self.location == "query" and casted == "":
            raise EmptyQueryParameterValue(self.name)
        return casted


class CheckedRequest:
    """A sandbox request in openapi-core's Request protocol, matched to its path template."""

    def __init__(self, op: Operation, request: Request, path_params: dict[str, str], header: bool) -> None:
        self.host_url = HOST_URL
        self.path = request.path
        self.path_pattern = op.path
        self.method = op.method
        self.body = None  # bodies are checked on their own (see RequestChecker.body)
        self.content_type = (request.header("content-type") or "").lower()
        self.parameters = raw_parameters(request, path_params, header)


def raw_parameters(request: Request, path_params: dict[str, str], header: bool) -> RequestParameters:
    """A request's raw parameters as openapi-core reads them (headers only when some are declared)."""
    return RequestParameters(
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
        self._prebuilt: dict[tuple[str, str], list[PrebuiltParameter] | None] = {}
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
        """openapi-core's unmarshalled (path, query) parameters, or the error answer for them.

        The operation's prebuilt parameters when it has them, else ``unmarshal_request`` itself.
        """
        header = bool(op.header_params)
        with self._walking:  # jsonschema-path's caches are not safe for concurrent use
            prebuilt = self.prebuilt(op)
            if prebuilt is None:
                result = self.openapi.unmarshal_request(CheckedRequest(op, request, path_params, header))
                values, errors = result.parameters, result.errors
            else:
                values, errors = unmarshal_prebuilt(prebuilt, raw_parameters(request, path_params, header))
        return verdict(values, errors)

    def prebuilt(self, op: Operation) -> list[PrebuiltParameter] | None:
        """The operation's parameters in openapi-core's order, built on first use (under ``_walking``);
        None when one of them needs ``unmarshal_request`` (content, cookie or deepObject parameters)."""
        key = (op.path, op.method)
        if key not in self._prebuilt:
            try:
                self._prebuilt[key] = self._build_parameters(op)
            except Exception:  # whatever cannot be prebuilt is left to unmarshal_request, which reports it
                self._prebuilt[key] = None
        return self._prebuilt[key]

    def _build_parameters(self, op: Operation) -> list[PrebuiltParameter] | None:
        unmarshaller = self.openapi.request_unmarshaller
        path, operation, *_found = unmarshaller.path_finder.find(op.method, urljoin(HOST_URL, op.path))
        params, seen = [], set()
        for param in chainiters(operation.get("parameters", []), path.get("parameters", [])):
            key = ((param / "name").read_str(), (param / "in").read_str())
            if key in seen:  # a path-level parameter the operation overrides
                continue
            seen.add(key)
            if not PrebuiltParameter.supports(param):
                return None
            params.append(PrebuiltParameter(unmarshaller, param))
        return params

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


def unmarshal_prebuilt(prebuilt: list[PrebuiltParameter], raw: RequestParameters
                       ) -> tuple[Parameters, list[Exception]]:
    """openapi-core's ``_get_parameters`` over prebuilt parameters: the values, and the errors in order."""
    values, errors = Parameters(), []
    for param in prebuilt:
        try:
            getattr(values, param.location)[param.name] = param.value(raw)
        except MissingParameter:
            continue
        except ParameterValidationError as exc:
            errors.append(exc)
    return values, errors


def verdict(values: Parameters, errors: list[Exception]) -> tuple[dict, dict] | ApiError:
    """The (path, query) values when openapi-core found no error; else 404 for a path value, 400 otherwise."""
    if not errors:
        return dict(values.path), dict(values.query)
    problems = list(parameter_problems(errors))
    if any(location == "path" for location, _detail in problems):
        return ApiError(404, "Not found.")
    return ApiError(400, "Invalid query parameters.", details=[d for _loc, d in problems][:MAX_DETAILS])


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
