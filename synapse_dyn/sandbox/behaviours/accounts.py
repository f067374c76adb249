"""Accounts: trading an email and password for a DRF token (tokens and tenants are traits, see traits.py).

The login operation is the one whose credential capture names the answer field holding the DRF
token (``op.credential_capture``, from ``x-synapse-credential``), or, as DRF's obtain-token view is
conventionally routed, a POST to a path ending in ``/login``.
"""

from __future__ import annotations

from ...registry import Operation
from ..calls import Call, Result, mapping
from .registry import BEHAVIOURS, Handler, Services


def is_login(op: Operation) -> bool:
    """The operation that trades email and password for a DRF token."""
    return op.credential_capture is not None or (op.method == "post" and op.path.rstrip("/").endswith("/login"))


@BEHAVIOURS.rule(is_login)
def login(services: Services, op: Operation) -> Handler:
    """Check email and password; answer with a new DRF token in the field the schema names."""
    field_name = (op.credential_capture or {}).get("drf_token", "token")

    def handle(call: Call) -> Result:
        body = mapping(call.body)
        user, token = services.accounts.login(body.get("email", body.get("username")), body.get("password"))
        data = services.docs.generate(call.op.success_schema, seed=user.id,
                                      hints={field_name: token, "id": user.id, "email": user.email})
        data = data if isinstance(data, dict) else {}
        data[field_name] = token
        return Result(call.op.success_status, data)
    return handle
