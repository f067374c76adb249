"""What calls return: Record (a dict with attribute access) and Page (one page of a list)."""

from __future__ import annotations

import reprlib
from collections.abc import Iterator
from typing import Any

from .auth import SECRET_NAME, mask_token

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40
_short.maxlist = 4
_short.maxdict = 4
_short.maxlevel = 2


class Record(dict):
    """A JSON object from the API: a dict whose keys are also attributes.

    ``repr`` names the schema (``ProjectV2Detail(id=42, title='demo', ...)``) and masks
    fields that hold secrets; the values stay readable by key. Each schema gets its own
    subclass (see :func:`record_class`), so making a record costs no more than a dict.
    """

    __slots__ = ()
    _schema_name = "Record"
    _secret_fields: frozenset[str] = frozenset()
    _schema_fields: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name in self._schema_fields:
                return None
            if name.startswith("__"):
                raise AttributeError(name) from None
            valid = ", ".join(sorted(set(self) | set(self._schema_fields)))
            raise AttributeError(f"{self._schema_name} has no field {name!r}; fields: {valid}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self if k.isidentifier()} | set(self._schema_fields))

    def _is_secret(self, key: str) -> bool:
        return key in self._secret_fields or bool(SECRET_NAME.search(key))

    def __repr__(self) -> str:
        items = []
        for key, value in self.items():
            if self._is_secret(key) and isinstance(value, str):
                shown = repr(mask_token(value))
            else:
                shown = _short.repr(value)
            items.append(f"{key}={shown}")
        return f"{self._schema_name}({', '.join(items)})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_record, (self._schema_name, self._schema_fields, self._secret_fields, dict(self)))

    def to_dict(self) -> dict[str, Any]:
        """A plain, deep copy as builtin dicts and lists."""
        return _plain(self)


_classes: dict[tuple[str, tuple[str, ...], frozenset[str]], type[Record]] = {}


def record_class(schema_name: str | None, fields: tuple[str, ...] = (),
                 secret_fields: frozenset[str] = frozenset()) -> type[Record]:
    """The Record subclass for one schema (cached)."""
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


class Page:
    """One page of a list: ``results``, the ``next`` / ``previous`` cursors, and ``count`` when the API sends one."""

    __slots__ = ("results", "next", "previous", "count", "request_id")

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

    def __iter__(self) -> Iterator[Any]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> Any:
        return self.results[index]

    def __repr__(self) -> str:
        extra = f", count={self.count}" if self.count is not None else ""
        return f"Page({len(self.results)} results, next={self.next!r}, previous={self.previous!r}{extra})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"results": _plain(self.results), "next": self.next, "previous": self.previous}
        if self.count is not None:
            out["count"] = self.count
        return out
