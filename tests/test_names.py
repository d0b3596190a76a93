"""Install instructions name our distribution, hermesd-lsp: the registry's `hermesd` is another program."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
# `pip install hermesd`, `pip install -U hermesd`, `pipx install 'hermesd[bedrock]'`, … but not hermesd-lsp.
OTHER_PROJECT = re.compile(r"pipx? install (?:-U |--upgrade )?['\"]?hermesd(?![\w-])")


def _matches(pattern: re.Pattern[str]):
    """(file, its text, match) for each match of ``pattern`` in the repository's text files, but this one's examples."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if name == "tests/test_names.py":
            continue  # its examples
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for m in pattern.finditer(text):
            yield name, text, m


def test_no_file_installs_the_other_hermesd():
    assert [f"{name}: {m.group(0)}" for name, _, m in _matches(OTHER_PROJECT)] == []
    assert OTHER_PROJECT.search("pip install hermesd") and OTHER_PROJECT.search("pip install -U 'hermesd[bedrock]'")
    assert not OTHER_PROJECT.search("pip install hermesd-lsp")


def test_distribution_name_and_commands():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "hermesd-lsp"
    assert project["scripts"] == {"hermesd": "hermesd.cli:main", "hermesd-lsp": "hermesd.cli:main"}


# `pip install hermesd-lsp`, `pipx install 'hermesd-lsp[bedrock]'`, … : our distribution, not on a registry yet.
UNPUBLISHED = re.compile(r"pipx? install (?:-U |--upgrade )?['\"]?hermesd-lsp(?![\w-])")


def test_no_file_tells_a_user_to_install_from_a_registry_what_is_not_there():
    """Until hermesd-lsp is published, `pip install hermesd-lsp` finds nothing: every hint (the daemon's,
    both editors', the docs') says to install from a checkout; the command is named only to say so."""
    hits = []
    for name, text, m in _matches(UNPUBLISHED):
        around = " ".join(text[max(0, m.start() - 200):m.end() + 200].split())
        if "finds nothing" not in around and "find nothing" not in around:
            hits.append(f"{name}: {around}")
    assert hits == []
    assert UNPUBLISHED.search("pip install hermesd-lsp") and UNPUBLISHED.search("pip install 'hermesd-lsp[bedrock]'")
    assert not UNPUBLISHED.search("pip install hermesd_lsp-0.1.0-py3-none-any.whl")


def _literals(source: str, start: str, end: str) -> str:
    """The string literals of the statement from ``start`` to ``end``, joined (TypeScript or Lua)."""
    statement = source[source.index(start):]
    statement = statement[:statement.index(end)]
    return "".join(a or b or c for a, b, c in re.findall(r"'([^']*)'|\"([^\"]*)\"|`([^`]*)`", statement))


def test_the_editors_install_hints_are_the_daemons():
    """The editors must say how to install the daemon when no daemon runs to say it: their copy is its words."""
    import hermesd

    server_ts = (ROOT / "editors/vscode/src/logic/server.ts").read_text()
    consts = {name: _literals(server_ts, f"export const {name} =", ";\n") for name in ("INSTALL_COMMAND", "INSTALL_ISOLATED")}
    assert consts == {"INSTALL_COMMAND": hermesd.INSTALL_COMMAND, "INSTALL_ISOLATED": hermesd.INSTALL_ISOLATED}
    vscode = _literals(server_ts, "export const INSTALL_HINT =", ";\n")
    for name, value in consts.items():
        vscode = vscode.replace("${" + name + "}", value)
    assert vscode.replace('"', "`") == hermesd.INSTALL_HINT  # VS Code's notifications show no Markdown
    lua = (ROOT / "editors/neovim/lua/hermes/client.lua").read_text()
    assert _literals(lua, "M.INSTALL_HINT =", "\n\n") == hermesd.INSTALL_HINT
