"""Secret hygiene: a full workflow at DEBUG log level never shows a token or the password anywhere."""

from __future__ import annotations

import json
import logging
import re
import traceback
import warnings

import pytest
from click.testing import CliRunner

from synapse_dyn import Client, errors
from synapse_dyn.cli.app import cli
from synapse_dyn.retry import RetryPolicy
from synapse_dyn.sandbox import Faults, Sandbox

PASSWORD = "correct-horse-battery-staple-9f3b"
EMAIL = "hygiene@example.com"


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s and s in text]


def _chain(exc: BaseException) -> str:
    """The whole exception chain as logging, Sentry or pytest would print it (causes and contexts too)."""
    return "".join(traceback.format_exception(exc))


def test_full_workflow_leaks_no_secret(caplog, tmp_path, monkeypatch) -> None:
    caplog.set_level(logging.DEBUG)
    faults = Faults()
    sandbox = Sandbox(faults=faults)
    sandbox.create_user(EMAIL, PASSWORD, tenant="acme")
    seen: list[str] = []  # every repr, str and message produced along the way

    with sandbox.serve(port=0) as url, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = Client(url, tenant="acme", allow_insecure=True,
                        retries=RetryPolicy(retries=3, backoff=0.01, max_backoff=0.02))
        client.auth.login(email=EMAIL, password=PASSWORD)
        drf = client.credentials.get("drf_token")
        created = client.tokens.create({"description": "hygiene"})
        access = created.token
        assert drf and access and access.startswith("syn_")
        seen += [repr(created), str(created), repr(client), str(client), repr(client.credentials)]
        client.set_access_token(access)

        faults.fail_next(2, status=503)  # two retries, logged at INFO
        page = client.projects.list(per_page=5)
        seen += [repr(page), repr(client.tokens.list())]

        for failing in (lambda: client.projects.retrieve(987654),
                        lambda: client.projects.create({"title": 1}),
                        lambda: Client(url, access_token=access + "x", tenant="acme", allow_insecure=True,
                                       retries=0).projects.list(),
                        lambda: Client(url, access_token=access, tenant="other", allow_insecure=True,
                                       retries=0).projects.list(),
                        lambda: client.auth.login(email=EMAIL, password=PASSWORD + "-wrong")):
            with pytest.raises(errors.SynapseError) as info:
                failing()
            seen += [str(info.value), repr(info.value), repr(getattr(info.value, "detail", ""))]
            seen += [repr(getattr(info.value, "details", "")), _chain(info.value)]

        secrets = [access, drf, PASSWORD]
        monkeypatch.setenv("SYNAPSE_DYN_CONFIG_DIR", str(tmp_path / "config"))
        runner = CliRunner()
        outputs = []
        for args, stdin in [
            (["--host", url, "--tenant", "acme", "--token", access, "--dry-run", "projects", "list"], None),
            (["--host", url, "--tenant", "acme", "--token", access, "--debug", "projects", "retrieve", "987654"],
             None),
            (["--host", url, "--tenant", "acme", "--drf-token", drf, "--debug", "-o", "json", "tokens", "list"],
             None),
            (["--host", url, "--tenant", "acme", "login", "--email", EMAIL, "--password-stdin"], PASSWORD + "\n"),
            (["profiles", "show"], None),
            (["profiles", "list"], None),
            (["--host", url, "--tenant", "acme", "--debug", "--dry-run", "auth", "login", "--email", EMAIL,
              "--password", PASSWORD], None),
        ]:
            result = runner.invoke(cli, args, input=stdin, prog_name="synapse-dyn")
            outputs.append(result.output + (result.stderr if result.stderr_bytes is not None else ""))
            if result.exception and not isinstance(result.exception, SystemExit):
                outputs.append(repr(result.exception))
        config_files = list((tmp_path / "config").rglob("*"))
        assert any(f.is_file() for f in config_files)  # login stored a profile

    log_text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert re.search(r"retrying GET /v2/projects/", log_text)
    assert "GET /v2/projects/ -> HTTP 200" in log_text  # DEBUG request logging is on
    warned = "\n".join(str(w.message) for w in caught)
    for where, text in [("log", log_text), ("reprs and errors", "\n".join(seen)), ("warnings", warned),
                        ("cli", "\n".join(outputs))]:
        assert _leaks(text, secrets) == [], f"a secret leaked into {where}"
    assert "Error: NotFoundError 404" in "\n".join(outputs)
    assert "Traceback" in "\n".join(outputs)  # --debug really showed tracebacks, and they were clean
    assert "syn_***" in "\n".join(outputs)  # dry-run shows the masked header


RESPONSE_TOKEN = "syn_PLAINTEXTresponseToken0123456789"
NUMERIC_PASSWORD = 73519460281937  # a traceback shows the failing source line: no secret literal in it


def test_exception_chains_carry_no_secret_or_value(httpserver, monkeypatch, tmp_path) -> None:
    """Every failure's full chain (format_exception: causes included) is free of secrets and of the values."""
    monkeypatch.setenv("SYNAPSE_DYN_CONFIG_DIR", str(tmp_path / "config"))
    invalid = {"data": {"id": "not-an-integer", "token": RESPONSE_TOKEN, "description": ["x"]}}
    httpserver.expect_request("/v2/tokens/", method="POST").respond_with_json(invalid, status=201)
    url = httpserver.url_for("").rstrip("/")
    access = "syn_requestToken00000000000000hygiene"
    client = Client(url, access_token=access, tenant="acme", allow_insecure=True, retries=0)
    failures = [
        lambda: client.tokens.create({"description": "leaky"}),                    # strict response validation
        lambda: client.auth.login(email=EMAIL, password=["list-password-" + PASSWORD]),  # request validation
        lambda: client.auth.login(email=EMAIL, password=NUMERIC_PASSWORD),
        lambda: client.set_access_token("syn_vt\x0b" + PASSWORD),                 # refused header value
        lambda: client.set_access_token("syn_ff\x0c" + PASSWORD),
    ]
    texts = []
    for failing in failures:
        with pytest.raises(errors.SynapseError) as info:
            failing()
        texts += [str(info.value), repr(info.value), _chain(info.value)]
    assert "ValidationError" in texts[2] and "does not match" in texts[0]
    secrets = [RESPONSE_TOKEN, PASSWORD, access, str(NUMERIC_PASSWORD)]
    assert _leaks("\n".join(texts), secrets) == []

    body = json.dumps({"email": EMAIL, "password": ["list-password-" + PASSWORD]})
    result = CliRunner().invoke(cli, ["--host", url, "--tenant", "acme", "--token", access, "--debug", "auth",
                                      "login", "--data", body], prog_name="synapse-dyn")
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" in output and result.exit_code != 0
    assert _leaks(output, secrets) == [], "synapse-dyn --debug printed a secret in a traceback"
