"""login / logout / profiles: credentials stored 0600, tokens masked, profiles used by later commands."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import json
import os
import stat

import pytest
from test_cli_support import (  # noqa: F401 - fixtures
    DRF,
    TOKEN,
    cli_env,
    envelope,
    error_body,
    invoke,
    project_item,
    schema2,
    shared_cache,
)
from werkzeug import Request, Response

from synapse_dyn.cli.config import Config

PASSWORD = "hunter2-very-secret"


def serve_login(server, *, token_status: int = 201) -> dict:
    seen: dict = {"login": [], "tokens": []}

    def login(request: Request) -> Response:
        seen["login"].append(request.get_json())
        return Response(json.dumps({"token": DRF}), content_type="application/json")

    def tokens(request: Request) -> Response:
        seen["tokens"].append({"auth": request.headers.get("Authorization"),
                               "tenant": request.headers.get("SYNAPSE-Tenant"), "body": request.get_json()})
        if token_status != 201:
            return Response(error_body("PERMISSION_DENIED", "no tokens for you", "req_tok"), status=token_status,
                            content_type="application/json")
        created = {"id": 9, "description": "synapse-dyn cli", "last_used": None, "token": TOKEN}
        return Response(envelope(created, "req_tok"), status=201, content_type="application/json")

    server.expect_request("/users/login/", method="POST").respond_with_handler(login)
    server.expect_request("/v2/tokens/", method="POST").respond_with_handler(tokens)
    return seen


def login(server, *extra: str, input_text: str = f"me@example.com\n{PASSWORD}\n"):
    host = server.url_for("/").rstrip("/")
    return invoke("login", "--host", host, *extra, input=input_text)


def file_mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_login_creates_an_access_token_and_stores_it_0600(httpserver, schema2, cli_env):
    seen = serve_login(httpserver)

    result = login(httpserver, "--tenant", "acme")

    assert result.exit_code == 0, result.output
    assert seen["login"] == [{"email": "me@example.com", "password": PASSWORD}]
    assert seen["tokens"] == [{"auth": f"Token {DRF}", "tenant": "acme", "body": {"description": "synapse-dyn cli"}}]
    path = cli_env / "config.json"
    assert file_mode(path) == 0o600
    stored = json.loads(path.read_text())
    assert stored["current"] == "default"
    profile = stored["profiles"]["default"]
    assert profile["access_token"] == TOKEN and profile["access_token_id"] == 9
    assert "drf_token" not in profile
    assert profile["tenant"] == "acme" and profile["email"] == "me@example.com"
    assert PASSWORD not in result.output and TOKEN not in result.output and DRF not in result.output
    assert "syn_***CRET" in result.stderr


def test_login_without_tenant_keeps_the_drf_token(httpserver, schema2, cli_env):
    seen = serve_login(httpserver)
    result = login(httpserver, "--profile", "work")
    assert result.exit_code == 0, result.output
    assert seen["tokens"] == []
    profile = Config.load(cli_env / "config.json").profiles["work"]
    assert profile["drf_token"] == DRF and "access_token" not in profile
    assert "No tenant given" in result.stderr


def test_login_falls_back_to_drf_when_token_creation_fails(httpserver, schema2, cli_env):
    serve_login(httpserver, token_status=403)
    result = login(httpserver, "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert "Could not create an access token (AuthorizationError 403 PERMISSION_DENIED" in result.stderr
    assert Config.load(cli_env / "config.json").profiles["default"]["drf_token"] == DRF


def test_login_password_from_stdin(httpserver, schema2):
    seen = serve_login(httpserver)
    result = login(httpserver, "--email", "a@b.example", "--password-stdin", "--no-access-token",
                   input_text=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert seen["login"] == [{"email": "a@b.example", "password": PASSWORD}]


def test_bad_credentials_exit_3_and_store_nothing(httpserver, schema2, cli_env):
    httpserver.expect_request("/users/login/", method="POST").respond_with_data(
        error_body("INVALID_CREDENTIALS", "wrong email or password", "req_bad"), status=400,
        content_type="application/json")
    result = login(httpserver)
    assert result.exit_code == 3
    assert "wrong email or password" in result.stderr
    assert not (cli_env / "config.json").exists()


def test_profile_is_used_then_logout_revokes_and_forgets(httpserver, schema2, cli_env):
    serve_login(httpserver)
    assert login(httpserver, "--tenant", "acme").exit_code == 0
    httpserver.expect_request("/v2/projects/", headers={"SYNAPSE-ACCESS-TOKEN": TOKEN,
                                                        "SYNAPSE-Tenant": "acme"}).respond_with_data(
        envelope([project_item(1)], "req_p"), content_type="application/json")
    revoked = []
    httpserver.expect_request("/v2/tokens/9/", method="DELETE").respond_with_handler(
        lambda r: revoked.append(r.headers.get("SYNAPSE-ACCESS-TOKEN")) or Response("", status=204))

    listed = invoke("projects", "list", "-o", "ndjson")
    logout = invoke("logout")

    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["id"] == 1
    assert logout.exit_code == 0, logout.output
    assert revoked == [TOKEN]
    profile = Config.load(cli_env / "config.json").profiles["default"]
    assert profile == {"host": httpserver.url_for("/").rstrip("/"), "tenant": "acme", "email": "me@example.com"}
    assert file_mode(cli_env / "config.json") == 0o600


def write_config(cli_env, current="default", mode=0o600, **profiles) -> None:
    cli_env.mkdir(parents=True, exist_ok=True)
    path = cli_env / "config.json"
    path.write_text(json.dumps({"current": current, "profiles": profiles}))
    os.chmod(path, mode)


def test_profiles_list_show_use_mask_tokens(schema2, cli_env):
    write_config(cli_env, default={"host": "https://a.example", "access_token": TOKEN},
                 staging={"host": "https://b.example", "tenant": "t", "drf_token": DRF})

    listed = invoke("profiles", "list", "-o", "json")
    shown = invoke("profiles", "show", "staging", "-o", "json")
    used = invoke("profiles", "use", "staging")
    table = invoke("profiles", "list", "-o", "table")

    assert [p["name"] for p in json.loads(listed.stdout)] == ["default", "staging"]
    assert json.loads(listed.stdout)[0]["access_token"] == "syn_***CRET"
    assert json.loads(listed.stdout)[0]["current"] == "*"
    assert json.loads(shown.stdout)["drf_token"] == "***CRET"
    assert used.exit_code == 0
    assert Config.load(cli_env / "config.json").current == "staging"
    assert TOKEN not in listed.output + shown.output + table.output
    assert DRF not in listed.output + shown.output + table.output
    staging_row = next(line for line in table.stdout.splitlines() if "staging" in line)
    assert staging_row.split()[0] == "*"


def test_unknown_profile_lists_the_known_ones(schema2, cli_env):
    write_config(cli_env, default={"host": "https://a.example"})
    use = invoke("profiles", "use", "nope")
    command = invoke("--profile", "nope", "projects", "list")
    for result in (use, command):
        assert result.exit_code == 2
        assert result.stderr.strip() == "Error: no profile named 'nope'; known profiles: default"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_group_readable_config_warns(schema2, cli_env):
    write_config(cli_env, mode=0o644, default={"host": "https://a.example"})
    result = invoke("profiles", "list", "-o", "json")
    assert result.exit_code == 0
    assert "accessible by group or others (mode 0644)" in result.stderr
    assert "chmod 600" in result.stderr


def test_profile_tokens_never_go_to_another_host(httpserver, schema2, cli_env, monkeypatch):
    write_config(cli_env, default={"host": "https://prod.example", "access_token": TOKEN, "tenant": "prod"})
    seen = []
    httpserver.expect_request("/v2/projects/").respond_with_handler(
        lambda r: seen.append(dict(r.headers)) or Response(envelope([]), content_type="application/json"))
    monkeypatch.setenv("SYNAPSE_BACKEND_V2_HOST", httpserver.url_for("/").rstrip("/"))

    result = invoke("projects", "list")

    assert result.exit_code == 0, result.output
    assert "Synapse-Access-Token" not in seen[0] and "Synapse-Tenant" not in seen[0]


def test_logout_without_credentials_is_harmless(schema2, cli_env):
    write_config(cli_env, default={"host": "https://a.example"})
    result = invoke("logout")
    assert result.exit_code == 0
    assert "holds no credentials" in result.stderr
