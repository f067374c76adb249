"""``login``, ``logout``, ``auth status`` and ``profiles list|use|show|delete|rename``: credentials per profile."""

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
    from .output import show

    show(state, value, columns)


@click.command("login")
@click.option("--email", help="Account email (prompted when omitted).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from stdin (one line) instead of prompting; keeps it out of shell history.")
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
    email, password = _credentials(state, email, password_stdin)
    client = state.client(need_credentials=False)
    client.set_access_token(None)
    client.set_drf_token(None)
    client.auth.login(email=email, password=password)
    drf_token = client.credentials.get("drf_token")
    if not drf_token:
        raise CliError("the login response carried no token", exitcodes.OTHER)
    previous = dict(config.profiles.get(name) or {})
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
    _revoke_previous(state, previous, profile)
    kind = "access token" if created else "DRF token"
    state.note(f"Logged in as {email}; stored a {kind} ({mask_token(profile.get('access_token') or drf_token)}) "
               f"in profile {name!r} ({config.path})")


def _credentials(state: AppState, email: str | None, password_stdin: bool) -> tuple[str, str]:
    """Email and password from options, stdin or prompts; no prompt without a terminal."""
    if password_stdin:
        if not email:
            raise CliError("--password-stdin needs --email (stdin carries the password)")
        return email, state.read_stdin_once("--password-stdin")
    email = email or _ask("Email", hide=False)
    return email, _ask("Password", hide=True)


def _ask(label: str, hide: bool) -> str:
    """Prompt on stderr; an ended stdin (``</dev/null``) is a usage error, Ctrl-C exits 130."""
    if hide and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{label}: ", stream=sys.stderr)
    click.echo(f"{label}: ", nl=False, err=True)
    line = sys.stdin.readline()
    if not line:
        click.echo("", err=True)
        raise CliError(f"no {label.lower()} given: stdin ended; pass --email and --password-stdin")
    return line.rstrip("\r\n")


def _revoke_previous(state: AppState, previous: dict[str, Any], current: dict[str, Any]) -> None:
    """A re-login replaces the profile's access token: revoke the old one (best effort)."""
    token_id = previous.get("access_token_id")
    if (token_id is None or not previous.get("access_token") or previous.get("access_token") ==
            current.get("access_token") or previous.get("host") != current.get("host")):
        return
    _revoke(state, previous, token_id)


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
    from ..util.urls import is_loopback_url

    try:
        with Client(profile["host"], access_token=profile["access_token"], tenant=profile.get("tenant"),
                    schema=state.registry, allow_insecure=is_loopback_url(profile["host"])) as client:
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


@profiles_group.command("delete")
@click.argument("name", shell_complete=lambda ctx, param, incomplete: complete_profiles(incomplete))
@click.option("--keep-token", is_flag=True, help="Do not revoke the profile's access token on the backend.")
@click.pass_context
def profiles_delete(ctx: click.Context, name: str, keep_token: bool) -> None:
    """Delete profile NAME (its access token is revoked first, best effort)."""
    state = AppState.of(ctx)
    config = _require(state.config, name)
    profile = config.profiles[name]
    if profile.get("access_token_id") is not None and profile.get("access_token") and not keep_token:
        _revoke(state, profile, profile["access_token_id"])
    del config.profiles[name]
    if config.current == name:
        config.current = None
    config.save()
    state.note(f"Deleted profile {name!r}.")


@profiles_group.command("rename")
@click.argument("old", shell_complete=lambda ctx, param, incomplete: complete_profiles(incomplete))
@click.argument("new")
@click.pass_context
def profiles_rename(ctx: click.Context, old: str, new: str) -> None:
    """Rename profile OLD to NEW (stays current if it was)."""
    state = AppState.of(ctx)
    config = _require(state.config, old)
    if new in config.profiles:
        raise CliError(f"a profile named {new!r} already exists")
    config.profiles[new] = config.profiles.pop(old)
    if config.current == old:
        config.current = new
    config.save()
    state.note(f"Renamed profile {old!r} to {new!r}.")


def complete_profiles(incomplete: str) -> list[str]:
    """Profile names for shell completion (nothing when the config cannot be read)."""
    try:
        return sorted(n for n in Config.load().profiles if n.startswith(incomplete))
    except Exception:  # noqa: BLE001 - completion never fails loudly
        return []


@click.command("status")
@click.pass_context
def auth_status_command(ctx: click.Context) -> None:
    """Who am I: host, tenant, profile and credentials in use (masked), checked against the backend."""
    state = AppState.of(ctx)
    conn = state.connection() if not state.options.sandbox else None
    client = state.client(need_credentials=False)
    info: dict[str, Any] = {"host": client.base_url, "profile": conn.profile if conn else "(sandbox)",
                            "tenant": client.credentials.get("tenant")}
    for key in ("access_token", "drf_token"):
        info[key] = mask_token(client.credentials.get(key)) if client.credentials.get(key) else None
    if conn is not None and conn.dropped:
        info["note"] = f"profile {conn.dropped!r} is for {state.config.profiles[conn.dropped].get('host')}"
    info.update(_whoami(state, client))
    _emit(state, info)
    if not info.get("logged_in"):
        raise CliError("not logged in: run synapse-dyn login", exit_code=exitcodes.AUTH)


def _whoami(state: AppState, client: Any) -> dict[str, Any]:
    """Ask the backend who the credentials belong to (the first 'me'-like operation the schema has)."""
    from ..errors import AuthenticationError, SynapseError

    if not (client.credentials.get("access_token") or client.credentials.get("drf_token")):
        return {"logged_in": False}
    plain_gets = [op for op in state.registry.operations if op.method == "get" and not op.path_params]
    me_op = next((op for op in plain_gets
                  if op.path.rstrip("/").rsplit("/", 1)[-1] in ("me", "whoami", "current-user")), None)
    probe = me_op or next((op for op in plain_gets if op.name.resources[0] == "tokens"), None) \
        or next(iter(plain_gets), None)
    if probe is None:
        return {"logged_in": None, "user": "(the schema has no operation to check the credentials with)"}
    try:
        me = client.request("GET", probe.path)
    except AuthenticationError:
        return {"logged_in": False, "user": "(the backend refused the credentials: 401)"}
    except SynapseError as exc:
        return {"logged_in": None, "user": f"(could not check: {exitcodes.error_line(exc)[7:]})"}
    me = me if isinstance(me, dict) and me_op is not None else {}
    found = {k: me[k] for k in ("email", "username", "name", "id") if me.get(k) is not None}
    expiry = next((me[k] for k in ("expires_at", "expiry", "token_expires_at") if me.get(k)), None)
    return {"logged_in": True, **{f"user_{k}": v for k, v in found.items()},
            "token_expires": expiry or "(not reported by the backend)"}


def _require(config: Config, name: str) -> Config:
    if name not in config.profiles:
        known = ", ".join(sorted(config.profiles)) or "none yet (run synapse-dyn login)"
        raise CliError(f"no profile named {name!r}; known profiles: {known}")
    return config
