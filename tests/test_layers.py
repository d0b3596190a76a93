"""The daemon's modules import one way: protocol at the bottom, the engine above it, then the
shared state, the handlers, the connection, and the transports on top (README, "Repository layout").

A module that imports a layer above its own closes an import circle sooner or later, and
makes the lower layer untestable without the upper one. Imports under ``TYPE_CHECKING``
(annotations only) do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hermesd"

# Layer of each module above the engine; every other module of hermesd/ is the engine (layer 1),
# except the bottom (layer 0), which imports no other hermesd module but the package itself.
BOTTOM = {"hermesd.protocol", "hermesd.framing"}
LAYERS = {
    "hermesd.daemon": 2, "hermesd.warm_up": 2,
    "hermesd.handlers": 3,
    "hermesd.server": 4,
    "hermesd.stdio": 5, "hermesd.tcp": 5, "hermesd.shared": 5, "hermesd.forwarder": 5,
    "hermesd.remote": 5, "hermesd.cli": 5, "hermesd.__main__": 5,
}
# pygls and lsprotocol belong to the connection: nothing below the handlers needs them.
PROTOCOL_LIBRARIES = ("pygls", "lsprotocol")


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def _layer(module: str) -> int:
    if module in BOTTOM:
        return 0
    return LAYERS.get(module, 1)


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import outside ``if TYPE_CHECKING:`` blocks, at any depth."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "hermesd":  # from hermesd import config (not: import PROTOCOL_VERSION)
                found.extend((node.lineno, f"hermesd.{alias.name}") for alias in node.names
                             if (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir())
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module(p))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    module = _module(path)
    own = _layer(module)
    wrong = []
    for line, imported in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if imported.split(".")[0] in PROTOCOL_LIBRARIES and own < LAYERS["hermesd.handlers"]:
            wrong.append(f"line {line}: {imported} (a JSON-RPC library, below the handlers)")
        if not imported.startswith("hermesd.") or imported.startswith(module + ".") or module.startswith(imported + "."):
            continue
        target = ".".join(imported.split(".")[:2])  # hermesd.wire.dispatch -> hermesd.wire
        if _layer(target) > own or (own == 0 and _layer(target) == own):
            wrong.append(f"line {line}: {imported} (layer {_layer(target)}; {module} is layer {own})")
    assert not wrong, f"{module} imports upward: " + "; ".join(wrong)


def test_the_layer_table_names_real_modules() -> None:
    """A renamed module must not silently drop out of the check."""
    names = {_module(p) for p in MODULES}
    assert set(LAYERS) | BOTTOM <= names
