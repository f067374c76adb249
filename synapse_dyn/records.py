"""What calls return: Record (a dict with attribute access) and Page (one page of a list).

Nested objects become Records too, lazily: a field holding a JSON object is wrapped (in the
Record class of its schema, when the schema names one) the first time it is read, so a call
costs no more than building the top-level dicts.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from . import display

if TYPE_CHECKING:  # pragma: no cover
    from .registry import Registry


class RecordList(list):
    """A list whose JSON objects have already been wrapped as Records (so it is not wrapped again)."""

    __slots__ = ()


class Record(dict):
    """A JSON object from the API: a dict whose keys are also attributes.

    ``repr`` names the schema (``ProjectV2Detail(id=42, title='demo', ...)``) and masks
    fields that hold secrets, at every depth; the values stay readable by key. Each schema
    gets its own subclass (see :class:`RecordTypes`), so making a record costs no more than a dict.
    """

    __slots__ = ()
    _schema_name = "Record"
    _secret_fields: frozenset[str] = frozenset()
    _schema_fields: tuple[str, ...] = ()
    _types: RecordTypes | None = None  # where nested fields' classes come from
    _props: dict[str, Any] = {}
    _children: dict[str, type[Record]] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            value = dict.__getitem__(self, name)  # what __getitem__ does, one Python call less per field read
        except KeyError:
            if name in self._schema_fields:
                return None
            if name.startswith("__"):
                raise AttributeError(name) from None
            valid = ", ".join(sorted(set(self) | set(self._schema_fields)))
            raise AttributeError(f"{self._schema_name} has no field {name!r}; fields: {valid}") from None
        kind = type(value)
        if kind is dict or kind is list:
            return self._wrap(name, value)
        return value

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        kind = type(value)
        if kind is dict or kind is list:
            return self._wrap(key, value)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """``dict.get`` that wraps nested objects like ``record[key]`` does."""
        return self[key] if key in self else default  # noqa: SIM401 - self.get would recurse

    def _wrap(self, key: str, value: Any) -> Any:
        """Replace a nested dict (or a list holding dicts) by its Record form, once."""
        cls = type(self)._child_class(key)
        wrapped = cls(value) if type(value) is dict else _wrap_list(value, cls)
        dict.__setitem__(self, key, wrapped)
        return wrapped

    @classmethod
    def _child_class(cls, key: str) -> type[Record]:
        found = cls._children.get(key)
        if found is None:
            found = cls._types.for_schema(cls._props.get(key)) if cls._types is not None else Record
            if cls._types is not None:
                cls._children[key] = found
        return found

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self if k.isidentifier()} | set(self._schema_fields))

    def _ipython_key_completions_(self) -> list[str]:
        return list(self)

    def __repr__(self) -> str:
        return display.render(self)

    __str__ = __repr__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        if cycle:
            printer.text(f"{self._schema_name}(…)")
        else:
            printer.text(display.render(self, width=getattr(printer, "max_width", display.WIDTH)))

    def _repr_html_(self) -> str:
        return display.record_html(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_record, (self._schema_name, self._schema_fields, self._secret_fields, dict(self)))

    def __copy__(self) -> Record:
        return type(self)(dict.items(self))  # the same class: nested fields keep their schemas

    def __deepcopy__(self, memo: dict[int, Any]) -> Record:
        import copy

        return type(self)({k: copy.deepcopy(v, memo) for k, v in dict.items(self)})

    def to_dict(self) -> dict[str, Any]:
        """A plain, deep copy as builtin dicts and lists."""
        return _plain(self)


def _wrap_list(value: list[Any], cls: type[Record]) -> RecordList:
    out = RecordList(value)
    for index, item in enumerate(out):
        kind = type(item)
        if kind is dict:
            out[index] = cls(item)
        elif kind is list:
            out[index] = _wrap_list(item, cls)
    return out


class DatedRecord(Record):
    """A Record that turns its ``date-time`` / ``date`` fields into datetime / date (``parse_dates=True``).

    Conversion is eager and deep (nested objects are wrapped on creation), so ``dict(record)``
    and ``to_dict()`` see the parsed values too.
    """

    __slots__ = ()
    _date_fields: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, value in dict.items(self):
            kind = type(value)
            if kind is str:
                fmt = self._date_fields.get(key)
                if fmt is not None:
                    dict.__setitem__(self, key, parse_date(value, fmt))
            elif kind is dict or kind is list:
                self._wrap(key, value)


def parse_date(text: str, fmt: str) -> Any:
    """ISO 8601 text -> datetime (``date-time``) or date (``date``); text that does not parse stays text."""
    try:
        return datetime.fromisoformat(text) if fmt == "date-time" else date.fromisoformat(text)
    except ValueError:
        return text


class RecordTypes:
    """The Record classes of one registry: one per component schema, nested fields resolved on first read."""

    def __init__(self, registry: Registry, *, parse_dates: bool = False) -> None:
        self.registry = registry
        self.parse_dates = parse_dates
        self._named: dict[str | None, type[Record]] = {}
        self._inline: dict[int, tuple[Any, type[Record]]] = {}

    def for_name(self, schema_name: str | None) -> type[Record]:
        """The Record class of a component schema (``None``: a schema-less Record)."""
        cls = self._named.get(schema_name)
        if cls is None:
            schema = {"$ref": "#/components/schemas/" + schema_name} if schema_name else None
            cls = self._named[schema_name] = self._make(schema_name, schema)
        return cls

    def for_schema(self, schema: Any) -> type[Record]:
        """The Record class for a field's schema: its named schema, its items' for an array, else inline."""
        from .registry import ref_name

        for _ in range(16):
            if not isinstance(schema, dict):
                return self.for_name(None)
            name = ref_name(schema)
            target = self.registry.resolve(schema)
            if name and _is_object(target):
                return self.for_name(name)
            if not isinstance(target, dict):
                return self.for_name(None)
            choices = [s for s in (target.get("allOf") or target.get("oneOf") or target.get("anyOf") or [])
                       if not (isinstance(s, dict) and s.get("type") == "null")]
            if target.get("type") == "array" or "items" in target:
                schema = target.get("items")
            elif len(choices) == 1 and not target.get("properties"):
                schema = choices[0]
            elif target.get("properties"):
                return self._inline_class(target)
            else:
                return self.for_name(None)
        return self.for_name(None)

    def _inline_class(self, target: dict[str, Any]) -> type[Record]:
        entry = self._inline.get(id(target))
        if entry is None or entry[0] is not target:
            entry = self._inline[id(target)] = (target, self._make(None, target))
        return entry[1]

    def _make(self, schema_name: str | None, schema: dict[str, Any] | None) -> type[Record]:
        props: dict[str, Any] = {}
        if schema is not None:
            try:
                props = self.registry.object_properties(schema)
            except Exception:  # noqa: BLE001 - an unresolvable schema still gives a usable Record
                props = {}
        resolved = {k: self.registry.resolve(v) if isinstance(v, dict) else {} for k, v in props.items()}
        attrs: dict[str, Any] = {
            "__slots__": (), "__module__": __name__, "_schema_name": schema_name or "Record",
            "_schema_fields": tuple(props), "_types": self, "_props": props, "_children": {},
            "_secret_fields": frozenset(k for k, v in resolved.items() if isinstance(v, dict) and v.get("x-secret")),
        }
        base: type[Record] = Record
        if self.parse_dates:
            base = DatedRecord
            attrs["_date_fields"] = {k: v["format"] for k, v in resolved.items()
                                     if isinstance(v, dict) and v.get("format") in ("date-time", "date")}
        for name in props:  # dict methods and Record internals keep their meaning: only free names
            if name.isidentifier() and not name.startswith("_") and not hasattr(base, name):
                attrs[name] = _field(name)
        return cast("type[Record]", type(schema_name or "Record", (base,), attrs))


def _field(name: str) -> property:
    """A schema field read as an attribute: what ``__getattr__`` does, found by the class lookup itself.

    ``record.title`` through ``__getattr__`` costs a failed lookup first (about four times a key
    read); a property per field of the schema makes a field read cost about what ``record["title"]`` does.
    """
    def read(self: Record, _get: Any = dict.__getitem__) -> Any:
        try:
            value = _get(self, name)
        except KeyError:
            return None  # a schema field the answer left out
        kind = type(value)
        if kind is dict or kind is list:
            return self._wrap(name, value)
        return value

    return property(read, doc=f"The {name!r} field.")


def _is_object(schema: Any) -> bool:
    return isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema
                                         or "allOf" in schema)


_classes: dict[tuple[str, tuple[str, ...], frozenset[str]], type[Record]] = {}


def record_class(schema_name: str | None, fields: tuple[str, ...] = (),
                 secret_fields: frozenset[str] = frozenset()) -> type[Record]:
    """A Record subclass for one schema, without nested-field knowledge (cached; used by unpickling)."""
    key = (schema_name or "Record", fields, secret_fields)
    cls = _classes.get(key)
    if cls is None:
        cls = type(key[0], (Record,), {"__slots__": (), "_schema_name": key[0], "_schema_fields": fields,
                                        "_secret_fields": secret_fields, "__module__": __name__})
        _classes[key] = cls
    return cls


def _rebuild_record(schema_name: str, fields: tuple, secret_fields: frozenset, data: dict) -> Record:
    return record_class(schema_name, fields, secret_fields)(data)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


PageFetcher = Callable[[str | None], Any]


class Page:
    """One page of a list: ``results``, the ``next`` / ``previous`` cursors, and ``count`` when the API sends one.

    A page a client returned knows how to fetch its neighbours: ``page.next_page()`` and
    ``page.previous_page()`` (None at either end; awaitables on the async client).
    """

    __slots__ = ("results", "next", "previous", "count", "request_id", "_fetch")

    def __init__(
        self,
        results: list[Any],
        next: str | None = None,  # noqa: A002 - the API's own name
        previous: str | None = None,
        count: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.results = results
        self.next = next
        self.previous = previous
        self.count = count
        self.request_id = request_id
        self._fetch: PageFetcher | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> Any:
        return self.results[index]

    def next_page(self) -> Any:
        """The following page (None after the last one); on the async client, an awaitable."""
        return self._fetcher()(self.next)

    def previous_page(self) -> Any:
        """The preceding page (None on the first one); on the async client, an awaitable."""
        return self._fetcher()(self.previous)

    def _fetcher(self) -> PageFetcher:
        if self._fetch is None:
            from .errors import SynapseError

            raise SynapseError("this Page was not returned by a client's list call, so it cannot fetch other pages")
        return self._fetch

    def __repr__(self) -> str:
        return display.page_text(self, shown=3)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        if cycle:
            printer.text("Page(…)")
        else:
            printer.text(display.page_text(self, shown=10, width=getattr(printer, "max_width", display.WIDTH)))

    def _repr_html_(self) -> str:
        return display.page_html(self)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"results": _plain(self.results), "next": self.next, "previous": self.previous}
        if self.count is not None:
            out["count"] = self.count
        return out

    def to_pandas(self, *, mask_secrets: bool = True) -> Any:
        """The items as a pandas DataFrame, one column per field (needs pandas; secrets masked unless asked)."""
        try:
            import pandas  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError("Page.to_pandas() needs pandas: pip install pandas") from None
        rows = [display.masked_copy(item) if mask_secrets else _plain(item) for item in self.results]
        return pandas.DataFrame.from_records(rows) if rows else pandas.DataFrame()


class Exchange:
    """One HTTP request and the response it got, as the client saw it (credentials masked).

    ``client.last_response`` is the latest one in this thread / asyncio task;
    ``client.projects.with_raw_response.retrieve(1)`` returns one with ``parsed`` set to the result.
    """

    __slots__ = ("method", "_url", "_params", "status_code", "_headers", "_request_headers", "elapsed", "content",
                 "parsed")

    def __init__(self, method: str, url: str, status_code: int, headers: Any, request_headers: Any,
                 elapsed: float, content: bytes, parsed: Any = None, params: Any = ()) -> None:
        self.method = method
        self._url = url
        self._params = params
        self.status_code = status_code
        self._headers = headers
        self._request_headers = request_headers
        self.elapsed = elapsed  # seconds, request sent to response read
        self.content = content
        self.parsed = parsed

    @property
    def url(self) -> str:
        """The URL requested, query string included."""
        if not self._params:
            return self._url
        from urllib.parse import urlencode

        return f"{self._url}?{urlencode(list(self._params))}"

    @property
    def headers(self) -> dict[str, str]:
        """The response headers (credential-carrying ones masked)."""
        from .auth import mask_headers

        return mask_headers({k.lower(): v for k, v in dict(self._headers).items()})

    @property
    def request_headers(self) -> dict[str, str]:
        from .auth import mask_headers

        return mask_headers(self._request_headers)

    @property
    def request_id(self) -> str | None:
        """The backend's request id: the ``x-request-id`` header, else the envelope's ``meta.request_id``."""
        found = dict(self._headers).get("x-request-id") or dict(self._headers).get("X-Request-Id")
        if found:
            return found
        try:
            meta = self.json().get("meta")
        except (ValueError, AttributeError):
            return None
        return meta.get("request_id") if isinstance(meta, dict) else None

    def json(self) -> Any:
        """The body as sent, envelope included."""
        import json

        return json.loads(self.content) if self.content else None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def __repr__(self) -> str:
        path = self._url
        rid = self.request_id
        return (f"<Exchange {self.method} {path} -> {self.status_code} in {self.elapsed * 1000:.1f} ms"
                f"{' request_id=' + rid if rid else ''}>")


# The latest exchanges of this thread / asyncio task: (weak reference to the client, Exchange), newest
# first, a few clients at most, so neither dead clients nor their last bodies are kept.
_LAST: ContextVar[tuple[tuple[Any, Exchange], ...]] = ContextVar("synapse_dyn_last_response", default=())
_KEEP = 8


def remember_exchange(client: Any, request: Any, raw: Any, elapsed: float) -> None:
    """Keep one exchange as ``client.last_response`` (per thread / asyncio task); cheap enough for every call."""
    ref = client.__dict__.get("_self_ref") or client.__dict__.setdefault("_self_ref", weakref.ref(client))
    exchange = Exchange(request.method, request.url, raw.status, raw.headers, request.headers, elapsed, raw.content,
                        params=request.params)
    kept = tuple(entry for entry in _LAST.get() if entry[0] is not ref and entry[0]() is not None)
    _LAST.set(((ref, exchange), *kept[:_KEEP - 1]))


def last_exchange(client: Any) -> Exchange | None:
    ref = client.__dict__.get("_self_ref")
    return next((exchange for r, exchange in _LAST.get() if r is ref), None) if ref is not None else None


def exchange_with_result(client: Any, result: Any) -> Exchange:
    """The exchange that produced ``result`` (the last one of this thread / task), with ``parsed`` set."""
    exchange = last_exchange(client)
    if exchange is None:
        from .errors import SynapseError

        raise SynapseError("no response was received for this call")
    return Exchange(exchange.method, exchange._url, exchange.status_code, exchange._headers,
                    exchange._request_headers, exchange.elapsed, exchange.content, result, exchange._params)


class ClientExtras:
    """Mixed into the clients: ``client.exceptions`` (as in boto3) and ``client.last_response``."""

    @property
    def exceptions(self) -> Any:
        """The exception classes: ``except client.exceptions.NotFoundError``."""
        from . import errors

        return errors

    @property
    def last_response(self) -> Exchange | None:
        """The latest HTTP exchange of this client in this thread / asyncio task (None before any)."""
        return last_exchange(self)


class PagerHelp:
    """Mixed into the async pager: a readable repr and ``await pager.all()``."""

    __slots__ = ()
    _paginator: Any

    def __repr__(self) -> str:
        op = self._paginator.op
        query = ", ".join(f"{k}={v!r}" for k, v in self._paginator.bound.query.items() if v is not None)
        return (f"<AsyncPager {op.qualified_name}({query}): await it for the first Page, "
                f"`async for` for every item, await .all() for a list>")

    async def all(self) -> list[Any]:
        """Every item of every page, as one list."""
        return [item async for item in self]  # type: ignore[attr-defined]
