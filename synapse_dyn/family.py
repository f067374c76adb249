"""The rest of the client family: AgentClient and RayClient, each the core Client on one more schema.

Nothing here knows an endpoint, a header or an envelope: the bundled schemas
(``schema/synapse-agent.yaml``, ``schema/ray-dashboard.yaml``) declare their operations and, in
``x-synapse-conventions``, their credentials and envelope. These classes only pick the schema
and name the credentials in their signatures.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from .client import AsyncClient, Client
from .registry import Registry
from .spec import load_spec

__all__ = ["AgentClient", "AsyncAgentClient", "AsyncRayClient", "RayClient"]


@cache
def bundled_registry(name: str) -> Registry:
    """A bundled schema with its overrides, loaded once per process."""
    return load_spec(name)


def _schema(schema: str | os.PathLike[str] | Registry | None, default: str) -> Any:
    return bundled_registry(default) if schema is None or schema == default else schema


class _AgentMixin:
    """The bundled agent schema, and its credentials named in the signature."""

    SCHEMA = "agent"

    def __init__(self, base_url: str, *, agent_token: str | None = None, user_token: str | None = None,
                 tenant: str | None = None, schema: str | os.PathLike[str] | Registry | None = None,
                 **kwargs: Any) -> None:
        super().__init__(base_url, schema=_schema(schema, self.SCHEMA), agent_token=agent_token,  # type: ignore[call-arg]
                         user_token=user_token, tenant=tenant, **kwargs)


class _RayMixin:
    """The bundled Ray dashboard schema."""

    SCHEMA = "ray"

    def __init__(self, base_url: str, *, schema: str | os.PathLike[str] | Registry | None = None,
                 **kwargs: Any) -> None:
        super().__init__(base_url, schema=_schema(schema, self.SCHEMA), **kwargs)  # type: ignore[call-arg]


class AgentClient(_AgentMixin, Client):
    """The agent's API: ``AgentClient(base_url, agent_token=…, user_token=…, tenant=…)``.

    Sends ``Authorization: <agent_token>`` (raw; env ``SYNAPSE_AGENT_TOKEN``),
    ``SYNAPSE-User: Token <user_token>`` (env ``SYNAPSE_USER_TOKEN``) and
    ``SYNAPSE-Tenant: Token <tenant>`` (env ``SYNAPSE_TENANT``), as the agent schema declares.
    ``agent.jobs.list()``, ``agent.jobs.logs(pk)``, ``agent.jobs.stop(pk)``,
    ``agent.serve_applications.destroy(name)``; other keywords are the core Client's.
    """


class AsyncAgentClient(_AgentMixin, AsyncClient):
    """AgentClient for asyncio: verbs are coroutines, ``list`` returns a pager."""


class RayClient(_RayMixin, Client):
    """The Ray dashboard: ``RayClient(base_url)``, no credentials.

    Ray's ``{result, msg, data}`` envelope is unwrapped where the schema declares it (the node
    answers; the Serve API answers plain JSON); ``result: false`` raises a ClientError carrying ``msg``. ``ray.nodes.list()`` (one Page), ``ray.nodes.retrieve(node_id)``,
    ``ray.serve_applications.list()``.
    """


class AsyncRayClient(_RayMixin, AsyncClient):
    """RayClient for asyncio: verbs are coroutines, ``list`` returns a pager."""

