"""Masking: passwords fully, secrets at every depth, and credentials by value under any header name."""

from __future__ import annotations

import pytest

import synapse_dyn
from synapse_dyn import errors
from synapse_dyn.masking import (
    mask_field,
    mask_headers,
    mask_secret_fields,
    mask_token,
    register_secret,
    scrub,
)

PASSWORD = "correct_horse12"
TOKEN = "syn_a1b2c3d4e5f6a7b8c9d0renamed"


def _client(**kwargs) -> synapse_dyn.Client:
    return synapse_dyn.Client("https://api.test.synapse.sh", tenant="acme", **kwargs)


def test_passwords_are_masked_fully_in_a_dry_run() -> None:
    described = _client().auth.login.prepare(email="me@example.com", password=PASSWORD).describe()
    assert described["json"]["password"] == "***"
    assert "horse" not in repr(described)


def test_secret_fields_are_masked_at_every_depth() -> None:
    body = {"title": "demo",
            "configuration": {"api_key": "sk-live-0123456789abcdef", "nested": [{"client_secret": "s3cr3t-value"}]},
            "members": [{"credentials": {"password": ["hunter2-hunter2"]}}]}
    masked = mask_secret_fields(body)
    text = repr(masked)
    for secret in ("0123456789ab", "s3cr3t-value", "hunter2"):
        assert secret not in text
    assert masked["title"] == "demo" and masked["configuration"]["api_key"] == "***cdef"
    assert body["configuration"]["api_key"].startswith("sk-live")  # a copy: the original is untouched


def test_password_like_values_never_show_a_prefix() -> None:
    assert mask_secret_fields({"password": PASSWORD}) == {"password": "***"}
    assert mask_secret_fields({"password": None}) == {"password": None}
    assert mask_field("password", "hunter2hunter2") == "***" and mask_field("title", "demo") == "demo"
    assert mask_token("syn_12345678901234") == "syn_***1234"


def test_renamed_credential_header_is_masked_by_value() -> None:
    overrides = {"conventions": {"auth": {"access_token": {"header": "X-Synapse-Sig"}}}}
    client = _client(access_token=TOKEN, overrides=overrides)
    request = client.projects.list.prepare()
    assert request.headers["X-Synapse-Sig"] == TOKEN  # really sent under the new name
    described = request.describe()
    assert TOKEN not in repr(described) and described["headers"]["X-Synapse-Sig"].startswith("syn_***")


def test_registered_secrets_are_scrubbed_from_text_and_fields() -> None:
    register_secret("opaque-credential-value-77")
    assert "opaque-credential" not in scrub("sent opaque-credential-value-77 to the server")
    assert mask_headers({"X-Custom": "Bearer opaque-credential-value-77"})["X-Custom"].endswith("***e-77")
    assert "opaque-credential" not in repr(mask_secret_fields({"note": ["opaque-credential-value-77"]}))
    assert scrub("nothing secret here") == "nothing secret here"


@pytest.mark.parametrize("bad", ["\x0b", "\x0c"])
def test_vertical_tab_and_form_feed_never_reach_httpx(bad: str) -> None:
    client = _client(access_token="syn_ok0000000000000000")
    with pytest.raises(errors.ConfigurationError) as info:
        client.set_access_token(f"syn_{bad}leakleakleakleak")
    assert "leakleak" not in str(info.value) and "U+000" in str(info.value)
