"""The CLI in a real pseudo-terminal: colour only on a terminal and never with NO_COLOR, hostile
escapes shown and not obeyed, the terminal's width respected, Ctrl-C at a prompt exits 130."""

# ruff: noqa: F811 - pytest fixtures imported from test_cli_support are redefined as arguments

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time

import pytest
from conftest import REPO_ROOT
from test_cli_support import backend, cli_env, envelope, schema2, shared_cache  # noqa: F401 - fixtures

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

HOSTILE = "\x1b[31mRED Vehicles\x1b]0;retitled\x07 and a much longer tail to force the title column to shrink"


def _controlling_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty, so Ctrl-C sends SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_in_pty(args: list[str], *, columns: int = 80, env: dict[str, str] | None = None,
               interrupt_after: str | None = None, timeout: float = 60) -> tuple[int, str]:
    """Run ``python -m synapse_dyn ARGS`` on a pty of ``columns``; optionally send Ctrl-C after some text."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TERM": "xterm", **(env or {})}
    full_env.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-m", "synapse_dyn", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=full_env, preexec_fn=_controlling_terminal, close_fds=True)
    os.close(slave)
    output, sent, deadline = b"", 0.0, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            if interrupt_after and interrupt_after.encode() in output and time.monotonic() > sent:
                os.write(master, b"\x03")  # again after 5 s if the first one raced the prompt's read
                sent = time.monotonic() + 5
            if proc.poll() is not None and not ready:
                break
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = -1
        return code, output.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


@pytest.fixture
def hostile_projects(backend):
    backend.expect_request("/v2/projects/").respond_with_data(
        envelope([{"id": 123456789, "title": HOSTILE, "category": "image", "category_display": "Image", "is_archived": False,
                   "created": "2026-01-02T03:04:05.123456Z", "task_count": 7}]), content_type="application/json")
    return backend


@pytest.mark.parametrize("columns", [80, 120])
def test_a_terminal_gets_a_bold_header_a_fitted_table_and_no_hostile_escapes(hostile_projects, columns):
    code, out = run_in_pty(["projects", "list", "--quiet"], columns=columns)
    assert code == 0, out
    lines = [line for line in out.replace("\r", "").splitlines() if line]
    assert lines[0].startswith("\x1b[1mid")  # bold header on a terminal
    assert "\x1b[31m" not in out and "\x1b]0;" not in out  # the server's escapes are not obeyed
    assert "\\e[31m" in out
    assert all(len(line) <= columns for line in lines[1:])
    assert lines[1].split()[0] == "123456789" and "false" in lines[1] and "2026-01-02T03:04:05.123456Z" in lines[1]


def test_no_color_disables_all_styling(hostile_projects):
    code, out = run_in_pty(["projects", "list", "--quiet"], env={"NO_COLOR": "1"})
    assert code == 0, out
    assert "\x1b[" not in out


def test_ctrl_c_at_the_delete_confirmation_exits_130(backend):
    code, out = run_in_pty(["projects", "destroy", "42"], interrupt_after="[y/N]", timeout=60)
    assert code == 130, out
    assert "Interrupted." in out and "Aborted!" not in out


def test_ctrl_c_at_the_login_prompt_exits_130(backend):
    code, out = run_in_pty(["login"], interrupt_after="Email:", timeout=60)
    assert code == 130, out
    assert "Aborted!" not in out


def test_ctrl_c_during_an_upload_exits_130_once_without_an_error_line(httpserver, tmp_path):
    import json as _json

    def stall(request):
        time.sleep(3)
        from werkzeug import Response

        return Response(_json.dumps({"url": "x", "offset": 0}), content_type="application/json")

    httpserver.expect_request("/chunked_upload/").respond_with_handler(stall)
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * 200_000)
    code, out = run_in_pty(["upload", str(source), "--host", httpserver.url_for("/"), "--token", "syn_0123456789",
                            "--chunk-size", "100000"], interrupt_after="big.bin", timeout=60)
    assert code == 130, out
    assert "Error:" not in out and "Aborted!" not in out
    assert out.count("Interrupted") == 1
