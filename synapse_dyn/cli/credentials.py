"""The connection's credentials under the loaded schema's own names.

The global options, environment and profiles speak of the v2 credentials (``--token``,
``--drf-token``, ``--tenant``). A schema of another family names its own (the agent's
``agent_token``, ``user_token``, ``tenant``; the Ray dashboard none): ``--token`` is the
schema's main token (``access_token``, else its first secret credential) and the client reads
the rest from their own environment variables (``SYNAPSE_AGENT_TOKEN``...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..conventions import AuthScheme
from .exitcodes import CliError
from .globals import ENV

OPTIONS = {"access_token": "--token", "drf_token": "--drf-token", "tenant": "--tenant"}


def main_token(auth: Mapping[str, AuthScheme]) -> str | None:
    """The credential ``--token`` sets: ``access_token``, else the first other secret one but the DRF token."""
    if "access_token" in auth:
        return "access_token"
    return next((name for name, spec in auth.items() if spec.secret and name != "drf_token"), None)


def credential_kwargs(auth: Mapping[str, AuthScheme], values: Mapping[str, str | None],
                      flags: Mapping[str, str | None]) -> dict[str, Any]:
    """Client keywords for ``values`` (access_token, drf_token, tenant from flags, environment or a
    profile). A value the schema has no credential for is dropped, unless it was given as a flag:
    then it is refused, naming the schema's credentials. For a schema of another family, the v2
    environment variables are not taken for its credentials (it has its own)."""
    own_family = "access_token" in auth
    targets = {"access_token": main_token(auth), "drf_token": "drf_token" if "drf_token" in auth else None,
               "tenant": "tenant" if "tenant" in auth else None}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if not value:
            continue
        from_v2_env = not flags.get(key) and value == os.environ.get(ENV[key])
        target = targets.get(key)
        if target is None:
            if flags.get(key):
                valid = ", ".join(sorted(auth)) or "none"
                raise CliError(f"the loaded schema has no credential for {OPTIONS[key]}; its credentials: {valid}")
            continue
        if own_family or not from_v2_env:
            out[target] = value
    return out


def has_own_credentials(auth: Mapping[str, AuthScheme]) -> bool:
    """Whether the schema needs no credential or finds one in its own environment variables."""
    secret = [spec for spec in auth.values() if spec.secret]
    return not secret or any(os.environ.get(env) for spec in secret for env in spec.env
                             if env not in ENV.values())


def family_sandbox(registry: Any) -> tuple[Any, dict[str, Any]]:
    """``--sandbox`` for a schema of another family: its own persistent sandbox beside the default one."""
    from ..sandbox import SANDBOX_ORIGIN, Sandbox
    from ..sandbox.demo import DEMO_TENANT, default_db_path, ensure_demo_data

    path = default_db_path()
    sandbox = Sandbox(registry, db=path.with_name(f"{path.stem}-{registry.conventions.family}{path.suffix}"))
    token = ensure_demo_data(sandbox)
    return sandbox, {"base_url": SANDBOX_ORIGIN, "transport": sandbox.transport(), "access_token": token,
                     "tenant": DEMO_TENANT}
