"""The protocol core: arguments -> request, response -> result, with no IO of its own.

- ``binding``: arguments -> BoundCall (and ``coercion`` of notebook values)
- ``encoding``: BoundCall -> PreparedRequest (validation, path/query/body encoding)
- ``decoding``: RawResponse -> payload -> Record / Page / exception, by the registry's conventions
- ``flows``: send (retries), call, paginate: generators yielding actions (``messages``)
- ``drivers``: the sync and the asyncio driver that perform those actions
"""

from __future__ import annotations

from ..util.urls import USER_AGENT, join_url, same_origin_url, user_agent
from .binding import BoundCall, bind_arguments
from .decoding import decode, error_from_response, unwrap_envelope, wrap_result
from .drivers import AsyncDriver, SyncDriver, caller_stacklevel
from .encoding import build_request, encode_json, encode_path_value, query_items
from .flows import (
                       call_flow,
                       link_request,
                       next_page_request,
                       paginate_flow,
                       response_flow,
                       returning,
                       send_flow,
                       transport_error,
)
from .messages import (
                       DriftObserved,
                       Flow,
                       PageReady,
                       PreparedRequest,
                       RawResponse,
                       RequestIdObserved,
                       Send,
                       Sleep,
                       TransportFailure,
                       Warn,
)
from .session import VALIDATION_MODES, Session, validation_mode

__all__ = [
    "USER_AGENT", "VALIDATION_MODES", "AsyncDriver", "BoundCall", "DriftObserved", "Flow", "PageReady",
    "PreparedRequest", "RawResponse", "RequestIdObserved", "Send", "Session", "Sleep", "SyncDriver",
    "TransportFailure", "Warn", "bind_arguments", "build_request", "call_flow", "caller_stacklevel", "decode",
    "encode_json", "encode_path_value", "error_from_response", "join_url", "link_request", "next_page_request", "paginate_flow",
    "query_items", "response_flow", "returning", "same_origin_url", "send_flow", "transport_error", "unwrap_envelope", "user_agent",
    "validation_mode", "wrap_result",
]
