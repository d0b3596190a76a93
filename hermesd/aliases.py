"""Inside hermesd's process, the import names plugins use mean hermesd's own modules.

Plugins written for the Hermes agent do ``from providers import register_provider``.
hermesd installs nothing under the name ``providers`` (the Hermes agent owns that
name in an environment where both are installed): the wheel ships the plugin API as
``hermesd/plugin-api/``, a directory name that is not an identifier, so its code can
only ever be imported as ``providers``; a checkout or editable install keeps it at
the repository's ``providers/``. :func:`install_providers` puts a finder first on
``sys.meta_path`` that resolves the top-level name ``providers`` to that directory,
so in this process the name means hermesd's API and registry even when Hermes'
package is importable too. Submodules (``providers.base``) follow the package's
``__path__`` as usual: one module object per name, one registry per process.
Hermes' own processes never run this, so they never see hermesd's API.

:func:`install` also installs the Hermes compatibility surface
(``hermesd.compat``) when it exists. The daemon and the CLI call it before any
plugin loads; ``hermesd/__init__`` installs the ``providers`` alias alone, so
every hermesd module that imports the plugin API gets the same object. The
plugin API never imports this module: no import circle.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Sequence

NAME = "providers"
_HERE = os.path.dirname(os.path.abspath(__file__))


def api_dir() -> str:
    """The directory holding the plugin API: shipped in the wheel, else the checkout's."""
    shipped = os.path.join(_HERE, "plugin-api")
    if os.path.isfile(os.path.join(shipped, "__init__.py")):
        return shipped
    return os.path.join(os.path.dirname(_HERE), NAME)


class _ProvidersFinder:
    """Resolves ``providers`` (the top-level name only) to hermesd's plugin API."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname != NAME:
            return None
        root = api_dir()
        return importlib.util.spec_from_file_location(
            NAME, os.path.join(root, "__init__.py"), submodule_search_locations=[root]
        )


def is_ours(module: ModuleType | None) -> bool:
    """True when ``module`` was loaded from hermesd's plugin API directory."""
    path = getattr(module, "__file__", None)
    return bool(path) and os.path.dirname(os.path.abspath(path)) == os.path.abspath(api_dir())


def install_providers() -> None:
    """Make ``import providers`` mean hermesd's plugin API in this process (idempotent)."""
    if not any(isinstance(finder, _ProvidersFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ProvidersFinder())
    loaded = sys.modules.get(NAME)
    if loaded is not None and not is_ours(loaded):
        # Another ``providers`` (Hermes') got imported first: forget it so the
        # next import finds ours; nothing of hermesd's holds a reference to it.
        for name in [n for n in sys.modules if n == NAME or n.startswith(NAME + ".")]:
            del sys.modules[name]


def install() -> None:
    """Everything a plugin may import from Hermes, mapped to hermesd (idempotent).

    Call before any plugin loads: the daemon and the CLI do at start, the test
    suite at session start.
    """
    install_providers()
    try:
        import hermesd.compat as compat
    except ModuleNotFoundError as exc:
        if exc.name != "hermesd.compat":
            raise
        return
    compat.install()
