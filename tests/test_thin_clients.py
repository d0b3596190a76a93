"""The editors keep no copy of the daemon's rules: no score default or range, no Pareto text, no key lists, no ordering, no age wording.

The daemon describes them (hermes/describeConfig, hermes/listPicker) and
refuses what breaks them; a client that carried its own copy would drift
from it (as VS Code's score regex once refused ``1e-1``).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENT_DIRS = (ROOT / "editors" / "vscode" / "src", ROOT / "editors" / "neovim" / "lua")
GENERATED = {ROOT / "editors" / "vscode" / "src" / "protocol.ts"}  # the daemon's own text, generated from protocol.py

FORBIDDEN = {
    "the score default": re.compile(r"0\.65"),
    "the score range": re.compile(r"0(\.0)?\s*(-|–|to)\s*1(\.0)?\b|\bfrom 0 to 1\b"),
    "Pareto wording": re.compile(r"(?i)coding score|cheapest|no floor|pareto code router|strongest coder"),
    "the null words": re.compile(r"""(?i)["']none["']\s*,\s*["']null["']|lower\s*==\s*["']off["']"""),
    "a copy of config.KEYS": re.compile(r"KNOWN_KEYS|KNOWN_VALUES|\"context\.budget_tokens\""),
    "provider ordering": re.compile(r"(?i)sort_?providers|configured first"),
    "the age wording": re.compile(r"\bmin ago\b|days ago|just now"),
}


def client_files() -> list[Path]:
    files = [p for d in CLIENT_DIRS for p in d.rglob("*") if p.suffix in {".ts", ".lua"}]
    return [p for p in files if p not in GENERATED]


def test_client_sources_exist():
    names = {p.name for p in client_files()}
    assert {"picker.ts", "picker.lua", "init.lua", "commands.ts"} <= names


def test_no_client_holds_a_daemon_rule():
    found = []
    for path in client_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for rule, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {rule}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_grep_finds_what_it_looks_for():
    """The patterns match the copies the clients used to hold."""
    old = [
        "prompt = \"Pareto Code minimum coding score (0.0-1.0, 'none' for no floor): \",",
        "value: current === undefined ? '0.65' : current === null ? 'none' : formatScore(current),",
        "export const NO_FLOOR_WORDS = ['none', 'null', 'off'];",
        'if lower == "none" or lower == "null" or lower == "off" then',
        "M.KNOWN_KEYS = {",
        "export function sortProviders(providers: ProviderInfo[]): ProviderInfo[] {",
        "    return `${Math.floor(seconds / 60)} min ago`;",
        "return { ok: false, error: 'Enter a number from 0 to 1 (for example 0.65), or \"none\" for no floor.' };",
    ]
    for line in old:
        assert any(p.search(line) for p in FORBIDDEN.values()), line


def test_help_hermes_states_the_protocol_version_the_daemon_speaks():
    """:help hermes says which protocol major the plugin needs; it once said 1 after the daemon moved to 2
    (issue 33, item 9). The plugin's constant and the help follow hermesd.PROTOCOL_VERSION."""
    from hermesd import PROTOCOL_VERSION

    help_text = (ROOT / "editors" / "neovim" / "doc" / "hermes.txt").read_text()
    lua = (ROOT / "editors" / "neovim" / "lua" / "hermes" / "client.lua").read_text()
    stated = re.findall(r"protocol\s+major\s+version\s+(?:is\s+not\s+)?(\d+)", help_text)
    major = str(int(PROTOCOL_VERSION))  # a minor bump (2.1) adds optional fields: the same major
    assert stated and set(stated) == {major}, stated
    assert re.search(r"^M\.PROTOCOL_VERSION = (\d+)$", lua, re.M).group(1) == major
    assert "One hermesd process per Neovim" not in help_text  # the daemon is shared (server.shared)
