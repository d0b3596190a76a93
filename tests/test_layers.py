"""hermesd/ is one package per layer, and each imports only the layers below it (README, "Repository layout").

A module that imports a layer above its own closes an import circle sooner or later, and
makes the lower layer untestable without the upper one. Every import counts: at the top of a
module, inside a function (lazy), and under ``TYPE_CHECKING``. The checks read the source
with :mod:`ast`, so the same functions run on a planted violation in a copy of the tree.
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hermesd"

# The bottom, module by module: what everything may import. ``hermesd.compat`` is its import hook
# alone (standard library; its shims, hermesd.compat.*, load by name when a plugin imports hermes_cli).
BOTTOM = {"hermesd", "hermesd.aliases", "hermesd.paths", "hermesd.framing", "hermesd.protocol", "hermesd.compat",
          "hermesd.tested_versions"}
# Package or module (with every module under it) -> layer; the longest name that matches wins.
LAYERS = {
    "hermesd.client": "client",
    "hermesd.settings": "settings",
    "hermesd.engine": "engine", "hermesd.wire": "engine", "hermesd.transports": "engine", "hermesd.compat": "engine",
    "hermesd.serve": "serve",
    "hermesd.cli": "entry", "hermesd.__main__": "entry",
}
# The layers each layer may import (its own included). client/ sits beside the stack: the shared
# daemon (serve/) answers the forwarder's handshake, and the forwarder imports nothing above the bottom.
MAY_IMPORT = {
    "bottom": {"bottom"},
    "client": {"bottom", "client"},
    "settings": {"bottom", "settings"},
    "engine": {"bottom", "settings", "engine"},
    "serve": {"bottom", "settings", "engine", "client", "serve"},
    "entry": {"bottom", "settings", "engine", "client", "serve", "entry"},
}
# What client/ may import of the bottom: the relay starts on the standard library alone (bench C1s).
CLIENT_BOTTOM = {"hermesd", "hermesd.aliases", "hermesd.framing", "hermesd.paths"}
# pygls, lsprotocol and the ACP SDK belong to the connection: nothing below serve/ needs them.
PROTOCOL_LIBRARIES = ("pygls", "lsprotocol", "acp")
WITH_PROTOCOL_LIBRARIES = {"serve", "entry"}


def modules(package: Path) -> dict[str, Path]:
    """Every module under ``package`` (a hermesd/ directory), by dotted name."""
    return {".".join(p.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in sorted(package.rglob("*.py"))}


def layer(module: str) -> str | None:
    """The layer of ``module``: the bottom, or the longest entry of LAYERS naming it or a package above it."""
    if module in BOTTOM:
        return "bottom"
    matches = [name for name in LAYERS if module == name or module.startswith(name + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def imports(path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, at any depth, ``TYPE_CHECKING`` ones included.

    ``from hermesd.engine import chat`` names the module ``hermesd.engine.chat``; an imported name
    that is not a module (``from hermesd import __version__``) names its package.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                         if f"{node.module}.{alias.name}" in known)
    return found


def _resolve(name: str, known: set[str]) -> str | None:
    """The hermesd module an imported name loads (``hermesd.wire.dispatch.build`` -> ``hermesd.wire.dispatch``)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) or None


def violations(package: Path) -> list[str]:
    """Every import that breaks a layer rule, as ``module line N: imported (why)``."""
    found = modules(package)
    known = set(found)
    wrong = []
    for module, path in found.items():
        own = layer(module)
        if own is None:
            wrong.append(f"{module}: in no layer (add its package to LAYERS)")
            continue
        for line, name in imports(path, known):
            root = name.split(".")[0]
            where = f"{module} line {line}: {name}"
            if root in PROTOCOL_LIBRARIES and own not in WITH_PROTOCOL_LIBRARIES:
                wrong.append(f"{where} (a JSON-RPC library, below serve/)")
            if root != "hermesd":
                if own == "client" and root not in sys.stdlib_module_names:
                    wrong.append(f"{where} (client/ imports the standard library only)")
                continue
            target = _resolve(name, known)
            if target is None or target == module or module.startswith(target + "."):
                continue  # its own package: loaded before it anyway
            theirs = layer(target)
            if theirs not in MAY_IMPORT[own]:
                wrong.append(f"{where} (layer {theirs}; {module} is {own})")
            elif own == "client" and theirs == "bottom" and target not in CLIENT_BOTTOM:
                wrong.append(f"{where} (client/ imports only {', '.join(sorted(CLIENT_BOTTOM))} of the bottom)")
    return wrong


def circles(package: Path) -> list[list[str]]:
    """Every import circle between hermesd's modules (strongly connected components of two or more).

    A module's own packages are left out of its edges: Python runs them before it whatever it
    imports, so ``from hermesd.transports import Delta`` in a transport adds no dependency.
    """
    found = modules(package)
    known = set(found)
    graph = {module: {target for _, name in imports(path, known)
                      if (target := _resolve(name, known)) and target != module and not module.startswith(target + ".")}
             for module, path in found.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    result: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return result


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert violations(PACKAGE) == []


def test_no_import_circle() -> None:
    assert circles(PACKAGE) == []


def test_the_layer_table_names_real_packages() -> None:
    """A renamed package must not silently drop out of the check."""
    names = set(modules(PACKAGE))
    assert set(LAYERS) | BOTTOM <= names


def test_every_folder_is_a_package_with_a_docstring_saying_its_job() -> None:
    for folder in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")):
        init = folder / "__init__.py"
        assert init.is_file(), f"{folder.name}/ has no __init__.py"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{folder.name}/__init__.py says not what it is for"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """hermesd/'s modules in a temporary directory, to plant violations in."""
    target = tmp_path / "hermesd"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "plugin-api", "bundled_plugins"))
    return target


def _plant(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


@pytest.mark.parametrize(("module", "code", "expected"), [
    ("settings/credentials.py", "def f():\n    from hermesd.serve import server",
     ": hermesd.serve.server (layer serve; hermesd.settings.credentials is settings)"),
    ("engine/chat.py", "import pygls.server", "(a JSON-RPC library, below serve/)"),
    ("client/forwarder.py", "def f():\n    import httpx", "(client/ imports the standard library only)"),
    ("client/remote.py", "from hermesd.protocol import ChatParams", "(client/ imports only hermesd, hermesd.aliases, "),
    ("client/forwarder.py", "def f():\n    from hermesd import cli", "hermesd.cli (layer entry; hermesd.client.forwarder is client)"),
    ("paths.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hermesd.engine.errors import HermesError",
     "hermesd.engine.errors (layer engine; hermesd.paths is bottom)"),
])
def test_a_planted_upward_import_is_reported(copy: Path, module: str, code: str, expected: str) -> None:
    _plant(copy / module, code)
    found = violations(copy)
    assert found and any(expected in line for line in found), found


def test_a_planted_circle_is_reported(copy: Path) -> None:
    """Inside one layer, under TYPE_CHECKING: still a circle."""
    _plant(copy / "serve" / "daemon.py", "if TYPE_CHECKING:\n    from hermesd.serve.server import HermesServer")
    assert violations(copy) == []
    assert circles(copy) == [["hermesd.serve.daemon", "hermesd.serve.handlers", "hermesd.serve.server"]]


def test_a_module_outside_every_layer_is_reported(copy: Path) -> None:
    (copy / "acp").mkdir()
    (copy / "acp" / "__init__.py").write_text('"""A new front end."""\n')
    assert violations(copy) == ["hermesd.acp: in no layer (add its package to LAYERS)"]
