"""Install instructions name our distribution, hermesd-lsp: the registry's `hermesd` is another program."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
# `pip install hermesd`, `pip install -U hermesd`, `pipx install 'hermesd[bedrock]'`, … but not hermesd-lsp.
OTHER_PROJECT = re.compile(r"pipx? install (?:-U |--upgrade )?['\"]?hermesd(?![\w-])")


def test_no_file_installs_the_other_hermesd():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    hits = []
    for name in files:
        if name == "tests/test_names.py":
            continue  # its examples
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        hits += [f"{name}: {m.group(0)}" for m in OTHER_PROJECT.finditer(text)]
    assert hits == []
    assert OTHER_PROJECT.search("pip install hermesd") and OTHER_PROJECT.search("pip install -U 'hermesd[bedrock]'")
    assert not OTHER_PROJECT.search("pip install hermesd-lsp")


def test_distribution_name_and_commands():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "hermesd-lsp"
    assert project["scripts"] == {"hermesd": "hermesd.cli:main", "hermesd-lsp": "hermesd.cli:main"}
