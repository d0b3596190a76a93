"""The Hermes internals that real Hermes plugins import, served inside hermesd.

Some of the Hermes agent's own provider plugins reach past the plugin API
into Hermes' packages: ``gmi`` reads ``hermes_cli.__version__`` for its
User-Agent, ``nous`` (0.19.0) takes its tags from ``agent.portal_tags``, ``copilot`` asks ``hermes_cli.models.github_model_reasoning_efforts``
which efforts a model takes, and ``gemini`` builds its thinking config with
helpers from ``agent.transports.chat_completions``. :func:`install` makes
exactly those names importable, from the modules of this package, by putting
a finder first on ``sys.meta_path``. Nothing is written to site-packages:
the names exist only in a process that called :func:`install`, which
``hermesd.aliases.install()`` does for the daemon and CLI entry
(``hermesd.cli.main``) and the test suite's conftest.

Inside hermesd's process these shims take precedence over a real Hermes
install in the same environment. The plugins then see the behaviour hermesd
documents and tests (docs/plugins.md, "Hermes compatibility") whatever
Hermes version sits beside it, and loading a plugin never drags in Hermes'
agent, its config loader or its network clients. Third-party provider plugins from the
package registry add ``hermes_cli.plugins.PluginContext`` (nanogpt),
``hermes_cli.config.get_env_value`` (nanogpt), ``hermes_cli.urllib_security``
(venice's and zenmux's catalog fetch) and the names zenmux builds its profile
with from ``hermes_cli.auth_oauth_pkce_plugin``. Any other submodule
(``agent.prompt_builder``, ``hermes_cli.auth_device_flow``) is not provided and
fails to import with ``ModuleNotFoundError``; discovery reports it as "needs
Hermes' <module>".
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from types import ModuleType
from typing import Sequence

# Shimmed module -> (hermesd module implementing it, the names it exports).
# A package with no implementation only holds its submodules.
SURFACE: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "hermes_cli": ("hermesd.compat.version", ("__version__",)),
    "hermes_cli.models": ("hermesd.compat.models", ("github_model_reasoning_efforts",)),
    "hermes_cli.plugins": ("hermesd.compat.plugins", ("PluginContext",)),
    "hermes_cli.config": ("hermesd.compat.config", ("get_env_value",)),
    "hermes_cli.urllib_security": (
        "hermesd.compat.urllib_security",
        ("SafeCredentialRedirectHandler", "open_credentialed_url", "url_origin"),
    ),
    "hermes_cli.auth_oauth_pkce_plugin": (
        "hermesd.compat.oauth_pkce",
        ("OAuthPKCEConfig", "pkce_auth_handler", "pkce_refresh_credential"),
    ),
    "agent": (None, ()),
    "agent.portal_tags": ("hermesd.compat.portal_tags", ("nous_portal_tags",)),
    "agent.transports": (None, ()),
    "agent.transports.chat_completions": (
        "hermesd.compat.gemini",
        (
            "_build_gemini_thinking_config",
            "_snake_case_gemini_thinking_config",
            "_is_gemini_openai_compat_base_url",
        ),
    ),
}
_PACKAGES = frozenset(name.rpartition(".")[0] for name in SURFACE if "." in name)


class _ShimLoader:
    """Fills a fresh module with the exported names of its implementation (an importlib loader)."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        impl_name, names = SURFACE[module.__name__]
        module.__doc__ = f"hermesd's stand-in for Hermes' {module.__name__} (see hermesd.compat)."
        if impl_name is None:
            return
        impl = importlib.import_module(impl_name)
        for name in names:
            setattr(module, name, getattr(impl, name))
        module.__all__ = [n for n in names if not n.startswith("_")]


class _ShimFinder:
    """Claims the names in :data:`SURFACE`, and nothing else (a ``sys.meta_path`` finder)."""

    loader = _ShimLoader()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in SURFACE:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, self.loader, origin="hermesd.compat", is_package=fullname in _PACKAGES
        )


_finder = _ShimFinder()


def install() -> None:
    """Make the surface importable in this process; calling it again does nothing.

    Cheap (about a millisecond, nothing beyond importlib.machinery), so the
    daemon calls it before answering ``initialize``.
    """
    if not any(isinstance(f, _ShimFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Remove the finder and forget the shim modules (for tests)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _ShimFinder)]
    for name in SURFACE:
        spec = getattr(sys.modules.get(name), "__spec__", None)
        if spec is not None and isinstance(spec.loader, _ShimLoader):
            del sys.modules[name]
