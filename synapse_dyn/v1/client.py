"""BackendClient: the v1 flat-method client, composed on the core Client with the bundled v1 schema.

The flat methods (``get_project``, ``list_tasks``...) are generated from ``methods.yaml`` when this
module is imported; only the composite workflows are written as code (``workflows.py``).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from ..client import Client
from ..errors import ConfigurationError, SpecError
from ..registry import Operation, Registry
from ..spec import load_spec
from ..transport import DEFAULT_TIMEOUT, make_timeout
from . import calls
from .binder import make_method
from .table import MethodSpec, load_table
from .url_conversion import MediaCache
from .workflows import Workflows


@cache
def v1_registry() -> Registry:
    """The bundled v1 schema (with its overrides), loaded once per process."""
    return load_spec("v1")


class BackendClient(Workflows):
    """The Synapse v1 BackendClient: flat methods returning plain dicts.

    Credentials: ``access_token`` (``Synapse-Access-Token: Token …``; env ``SYNAPSE_ACCESS_TOKEN``,
    then ``SYNAPSE_API_TOKEN``; ``api_token=`` is its older name), ``authorization_token`` (the
    legacy DRF token, ``Authorization: Token …``), ``tenant`` (``Synapse-Tenant: Token …``) and
    ``agent_token`` (``SYNAPSE-Agent: Token …``; env ``SYNAPSE_AGENT_TOKEN``). ``timeout`` is
    ``{'connect': 5, 'read': 15}`` by default.

    Requests are not validated against the schema unless ``validate_requests=True`` (v1 scripts send
    fields the schema does not know); replies that do not match it only warn. Errors are the core's
    ClientError classes (``status_code``, ``response``, and the older ``status`` / ``reason``);
    timeouts and connection failures are ClientErrors too, with status 408 / 503 / 500.
    ``client`` is the composed core Client (``backend.client.tasks.list(...)``).
    """

    def __init__(
        self,
        base_url: str,
        access_token: str | None = None,
        *,
        authorization_token: str | None = None,
        tenant: str | None = None,
        agent_token: str | None = None,
        timeout: dict[str, float] | float | None = None,
        api_token: str | None = None,
        allow_insecure: bool = False,
        validate_requests: bool = False,
        validate_responses: str = "warn",
        retries: Any = None,
        download_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if api_token is not None and access_token is not None and api_token != access_token:
            raise ConfigurationError("access_token and api_token name the same credential; pass only one")
        self._client = Client(
            base_url,
            schema=v1_registry(),
            access_token=access_token if access_token is not None else api_token,
            drf_token=authorization_token,
            tenant=tenant,
            agent_token=agent_token,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            allow_insecure=allow_insecure,
            validate_requests=validate_requests,
            validate_responses=validate_responses,
            retries=retries,
        )
        self._media = MediaCache(download_dir, timeout=make_timeout(timeout))

    @property
    def client(self) -> Client:
        """The core Client this one is built on (resource attributes, Records and Pages)."""
        return self._client

    @property
    def base_url(self) -> str:
        return self._client.base_url

    @property
    def download_dir(self) -> str:
        """Where url_conversion caches downloaded files."""
        return str(self._media.directory)

    def _operation(self, operation_id: str) -> Operation:
        return self._client.registry.by_operation_id[operation_id]

    def _call(self, spec: MethodSpec, arguments: dict[str, Any]) -> Any:
        return calls.invoke(self._client, self._operation(spec.operation), spec, arguments, self._media)

    def close(self) -> None:
        """Close the connection pools."""
        self._media.close()
        self._client.close()

    def __enter__(self) -> BackendClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._client).replace("Client(", "BackendClient(", 1)


def attach_flat_methods(cls: type, registry: Registry, table: dict[str, MethodSpec]) -> None:
    """Add one generated method per table entry; a name clash or an unknown operation is a SpecError."""
    for name, spec in table.items():
        if hasattr(cls, name):
            raise SpecError(f"methods.yaml: {name} would replace an existing BackendClient attribute")
        op = registry.by_operation_id.get(spec.operation)
        if op is None:
            raise SpecError(f"methods.yaml: {name} calls unknown operation {spec.operation!r}")
        setattr(cls, name, make_method(spec, op))


attach_flat_methods(BackendClient, v1_registry(), load_table())
