"""``login``, ``logout`` and ``profiles list|use|show``: credentials stored per named profile."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..auth import mask_token
from . import exitcodes
from .config import SECRET_KEYS, Config
from .state import AppState, CliError

TOKEN_DESCRIPTION = "synapse-dyn cli"


def masked(profile: dict[str, Any]) -> dict[str, Any]:
    """A profile safe to print: every secret through mask_token."""
    return {k: (mask_token(v) if k in SECRET_KEYS and v else v) for k, v in profile.items()}


def _emit(state: AppState, value: Any, columns: list[str] | None = None) -> None:
    from .output import emit

    emit(value, state.output_format, columns=columns, note=state.note)


@click.command("login")
@click.option("--email", help="Account email (prompted when omitted).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of prompting.")
@click.option("--no-access-token", is_flag=True, help="Keep the DRF token; do not create an access token.")
@click.pass_context
def login_command(ctx: click.Context, email: str | None, password_stdin: bool, no_access_token: bool) -> None:
    """Log in with email and password and store the credentials in a profile.

    Exchanges the credentials for a DRF token (auth login), then, when a tenant is known,
    creates a long-lived access token and stores that instead. The profile (--profile,
    else the current one, else "default") becomes the current profile. The config file
    is written with mode 0600.
    """
    state = AppState.of(ctx)
    state.allow_new_profile = True
    config = state.config
    name = config.active_name(state.options.profile)
    conn = state.connection()
    if not conn.host and not state.options.sandbox:
        raise CliError("no backend host: pass --host URL or set SYNAPSE_BACKEND_V2_HOST")
    email = email or click.prompt("Email", err=True)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, err=True)
    client = state.client()
    client.set_access_token(None)
    client.set_drf_token(None)
    client.auth.login(email=email, password=password)
    drf_token = client.credentials.get("drf_token")
    if not drf_token:
        raise CliError("the login response carried no token", exitcodes.OTHER)
    profile: dict[str, Any] = {"host": client.base_url, "email": email}
    if client.credentials.get("tenant"):
        profile["tenant"] = client.credentials.get("tenant")
    created = _create_access_token(state, client) if not no_access_token else None
    if created:
        profile["access_token"] = created["token"]
        if created.get("id") is not None:
            profile["access_token_id"] = created["id"]
    else:
        profile["drf_token"] = drf_token
    config.profiles[name] = profile
    config.current = name
    config.save()
    kind = "access token" if created else "DRF token"
    state.note(f"Logged in as {email}; stored a {kind} ({mask_token(profile.get('access_token') or drf_token)}) "
               f"in profile {name!r} ({config.path})")


def _create_access_token(state: AppState, client: Any) -> dict[str, Any] | None:
    """A new access token, or None (with a note) when the backend will not issue one."""
    from ..errors import SynapseError

    if not client.credentials.get("tenant"):
        state.note("No tenant given (--tenant): storing the DRF token instead of an access token.")
        return None
    try:
        created = client.tokens.create({"description": TOKEN_DESCRIPTION})
    except SynapseError as exc:
        state.note(f"Could not create an access token ({exitcodes.error_line(exc)[7:]}); storing the DRF token.")
        return None
    if not isinstance(created, dict) or not created.get("token"):
        state.note("The token response carried no plaintext token; storing the DRF token.")
        return None
    client.set_access_token(created["token"])
    client.set_drf_token(None)
    return dict(created)


@click.command("logout")
@click.option("--keep-token", is_flag=True, help="Do not revoke the access token on the backend.")
@click.pass_context
def logout_command(ctx: click.Context, keep_token: bool) -> None:
    """Remove the stored tokens of a profile (--profile, else the current one).

    The access token created by login is revoked on the backend first (best effort);
    host, tenant and email stay so the next login is short.
    """
    state = AppState.of(ctx)
    config = state.config
    name = config.active_name(state.options.profile)
    profile = config.profiles.get(name)
    if profile is None:
        raise CliError(f"no profile named {name!r}; known profiles: {', '.join(sorted(config.profiles)) or 'none'}")
    if not any(profile.get(k) for k in SECRET_KEYS):
        state.note(f"Profile {name!r} holds no credentials.")
        return
    token_id = profile.get("access_token_id")
    if token_id is not None and profile.get("access_token") and not keep_token:
        _revoke(state, profile, token_id)
    for key in (*SECRET_KEYS, "access_token_id"):
        profile.pop(key, None)
    config.save()
    state.note(f"Logged out: removed the credentials of profile {name!r}.")


def _revoke(state: AppState, profile: dict[str, Any], token_id: Any) -> None:
    from ..client import Client
    from ..errors import SynapseError
    from .globals import is_loopback

    try:
        with Client(profile["host"], access_token=profile["access_token"], tenant=profile.get("tenant"),
                    schema=state.registry, allow_insecure=is_loopback(profile["host"])) as client:
            client.tokens.destroy(token_id)
    except SynapseError as exc:
        state.note(f"Could not revoke the access token ({exitcodes.error_line(exc)[7:]}); removed it locally.")


@click.group("profiles")
def profiles_group() -> None:
    """List, show and switch stored profiles (tokens are always masked)."""


@profiles_group.command("list")
@click.pass_context
def profiles_list(ctx: click.Context) -> None:
    """Every stored profile; the current one is marked."""
    state = AppState.of(ctx)
    config = state.config
    rows = [{"current": "*" if name == config.current else "", "name": name, **masked(profile)}
            for name, profile in sorted(config.profiles.items())]
    if not rows:
        state.note(f"No profiles yet ({config.path}); run synapse-dyn login.")
    _emit(state, rows, ["current", "name", "host", "tenant", "email", "access_token", "drf_token"])


@profiles_group.command("use")
@click.argument("name")
@click.pass_context
def profiles_use(ctx: click.Context, name: str) -> None:
    """Make NAME the current profile."""
    state = AppState.of(ctx)
    config = _require(state.config, name)
    config.current = name
    config.save()
    state.note(f"Current profile: {name}")


@profiles_group.command("show")
@click.argument("name", required=False)
@click.pass_context
def profiles_show(ctx: click.Context, name: str | None) -> None:
    """One profile (default: --profile, else the current one)."""
    state = AppState.of(ctx)
    name = name or state.config.active_name(state.options.profile)
    config = _require(state.config, name)
    _emit(state, {"name": name, "current": name == config.current, **masked(config.profiles[name])})


def _require(config: Config, name: str) -> Config:
    if name not in config.profiles:
        known = ", ".join(sorted(config.profiles)) or "none yet (run synapse-dyn login)"
        raise CliError(f"no profile named {name!r}; known profiles: {known}")
    return config
