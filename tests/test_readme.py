"""Every code block of the README runs as written, or is listed here with the reason it cannot.

Python blocks run in a fresh namespace (in a temporary directory, against the sandbox);
the ones that need a real backend host are still compiled. Shell blocks: each
``synapse-dyn`` command must be a real command of the CLI (checked with ``--help``), and the
ones marked below run for real against the sandbox. JSON and YAML blocks must parse.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

README = Path(__file__).resolve().parents[1] / "README.md"

# A block containing one of these texts is not run; the value says why.
NOT_RUN = {
    "python3 -m venv .venv": "installs the package and runs the whole test suite (what .ci/run does)",
    'synapse_dyn.Client("https://api.test.synapse.sh"': "needs a real backend host and access token",
    "async with synapse_dyn.AsyncClient(url": "a fragment of the reader's async program (`url` is theirs)",
    "client.auth.login(email=": "logs in to a real backend host with a real password",
    "from synapse_dyn.v1 import BackendClient": "talks to the real v1 host api.synapse.sh",
}
# Shell commands (as written in the README, without the leading ``synapse-dyn``) run for real.
CLI_RUN = {"--sandbox projects list"}


def blocks() -> list[tuple[str, str, int]]:
    """(language, text, line number) of every fenced block."""
    text = README.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text[:m.start()].count("\n") + 1)
            for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def reason_not_run(text: str) -> str | None:
    return next((why for marker, why in NOT_RUN.items() if marker in text), None)


def _ids(kind: set[str]) -> list[pytest.param]:
    return [pytest.param(text, id=f"line{line}") for lang, text, line in blocks() if lang in kind]


def test_every_block_is_recognised() -> None:
    known = {"python", "bash", "json", "yaml", "ipython", "text", ""}  # text / unlabeled: diagrams, not code
    assert blocks(), "no code blocks found"
    for lang, _text, line in blocks():
        assert lang in known, f"README line {line}: unknown block language {lang!r}"


@pytest.mark.parametrize("text", _ids({"python"}))
def test_python_block(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = compile(text, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if reason_not_run(text):
        pytest.skip(reason_not_run(text))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    exec(code, namespace)  # noqa: S102 - the README's own example, run as a reader would


@pytest.mark.parametrize("text", _ids({"json"}))
def test_json_block(text: str) -> None:
    json.loads(text)


@pytest.mark.parametrize("text", _ids({"yaml"}))
def test_yaml_block(text: str) -> None:
    assert isinstance(yaml.safe_load(text), dict)


def cli_commands(text: str) -> list[str]:
    """The ``synapse-dyn`` commands of a shell block, without comments and pipes."""
    found = []
    for raw in text.splitlines():
        line = re.split(r"\s#\s", raw, maxsplit=1)[0].split(" | ", 1)[0].strip()
        if not line:
            continue
        assert line.startswith("synapse-dyn "), f"not a synapse-dyn command; list the block in NOT_RUN: {raw!r}"
        found.append(line.removeprefix("synapse-dyn ").strip())
    return found


@pytest.mark.parametrize("text", _ids({"bash"}))
def test_shell_block(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if reason_not_run(text):
        pytest.skip(reason_not_run(text))
    from click.testing import CliRunner

    from synapse_dyn.cli.app import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNAPSE_DYN_CONFIG_DIR", str(tmp_path / "config"))
    for command in cli_commands(text):
        args = shlex.split(command)
        if command in CLI_RUN:
            result = CliRunner().invoke(cli, [*args, "-o", "json"], prog_name="synapse-dyn")
            assert result.exit_code == 0, (command, result.output)
            assert isinstance(json.loads(result.stdout), list | dict)
        else:
            result = CliRunner().invoke(cli, [*args, "--help"], prog_name="synapse-dyn")
            assert result.exit_code == 0, (command, result.output)
            assert "Usage:" in result.output, command


# -- the IPython transcript of the REPL section ------------------------------------


def replay(cells: list[str]) -> str:
    """Run cells in a fresh IPython shell as a user would type them; ``<TAB>`` asks the completer.

    Returns the transcript (``In [n]:`` lines and their output), as the README shows it.
    """
    import textwrap

    from IPython.core.completer import provisionalcompleter
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance(colors="nocolor")
    lines = []
    for cell in cells:
        lines.append(f"In [{shell.execution_count}]: {cell}")
        if cell.endswith("<TAB>"):
            text = cell.removesuffix("<TAB>")
            with provisionalcompleter():
                names = [c.text for c in shell.Completer.completions(text, len(text))]
            lines.append(textwrap.fill("  ".join(names), 96))
            shell.execution_count += 1
        else:
            with capture_output() as captured:
                shell.run_cell(cell, store_history=True)
            if captured.stdout.strip():
                lines.append(captured.stdout.rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def transcript_block() -> str:
    found = [text for lang, text, _ in blocks() if lang == "ipython"]
    assert len(found) == 1, "the REPL section shows one IPython transcript"
    return found[0]


def _normalized(text: str) -> str:
    """Times and request ids differ from run to run; everything else must match."""
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>", text)
    text = re.sub(r"req_[0-9a-f]+", "req_<id>", text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def test_ipython_transcript_is_what_ipython_prints(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    expected = transcript_block()
    cells = [line.split("]: ", 1)[1] for line in expected.splitlines() if re.match(r"In \[\d+\]: ", line)]
    env = {**os.environ, "SYNAPSE_DYN_SANDBOX_DB": str(tmp_path / "sandbox.db"), "COLUMNS": "100"}
    code = f"from tests.test_readme import replay; print(replay({cells!r}), end='')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=README.parent, env=env)
    assert done.returncode == 0, done.stderr
    assert _normalized(done.stdout) == _normalized(expected)
