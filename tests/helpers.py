"""Test helpers: answers in the live backend's envelope, and a client against a loopback server."""

from __future__ import annotations

import itertools
import json
from typing import Any

from werkzeug import Request, Response

from synapse_dyn import AsyncClient, Client

_ids = itertools.count(1)
TOKEN = "syn_abcdefgh12345678"
DRF = "drf0123456789abcdefSECRET"


def envelope(data: Any, *, next_cursor: str | None = None, previous: str | None = None,
             per_page: int = 50, request_id: str | None = None, paginated: bool | None = None) -> dict:
    meta: dict[str, Any] = {"request_id": request_id or f"req_{next(_ids):06d}"}
    if paginated or (paginated is None and isinstance(data, list)):
        meta["pagination"] = {"next_cursor": next_cursor, "previous_cursor": previous, "per_page": per_page}
    return {"data": data, "meta": meta}


def error_envelope(code: str, message: str, details: list | None = None, request_id: str = "req_err") -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}, "meta": {"request_id": request_id}}


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")


def project(pid: int, **extra: Any) -> dict:
    """A ProjectV2List item that satisfies the bundled schema."""
    return {"id": pid, "title": f"p{pid}", "category": "image", "category_display": "Image",
            "created": "2026-01-15T09:00:00Z", "is_archived": False, "task_count": 0, **extra}


def project_detail(pid: int, **extra: Any) -> dict:
    return {"id": pid, "tenant_id": 1, "data_collection_id": 3, "title": f"p{pid}", "description": "",
            "category": "image", "category_display": "Image", "configuration": {}, "settings": {},
            "caution": "sensitive_content", "access_level": "private", "count_max_assignments_per_task": 0,
            "can_discard": True, "is_archived": False, "created": "2026-01-15T09:00:00Z", "task_count": 0, **extra}


def make_client(httpserver, cls=Client, **kwargs: Any):
    kwargs.setdefault("access_token", TOKEN)
    kwargs.setdefault("tenant", "acme")
    kwargs.setdefault("allow_insecure", True)
    kwargs.setdefault("retries", 0)
    return cls(httpserver.url_for("/"), **kwargs)


def request_json(request: Request) -> Any:
    return json.loads(request.get_data() or b"null")


__all__ = ["AsyncClient", "Client", "DRF", "TOKEN", "envelope", "error_envelope", "json_response", "make_client",
           "project", "project_detail", "request_json"]
