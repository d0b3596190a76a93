"""Wheel layout: the plugin API and the bundled plugins ship inside ``hermesd/``.

Nothing is installed under the top-level name ``providers`` (the Hermes agent
owns it); ``hermesd.aliases`` maps that name to ``hermesd/plugin-api/`` inside
hermesd's own process. Only the standard wheel gets these copies: an editable
install maps ``hermesd`` alone to the checkout (``dev-mode-exact``), where the
same code is found at ``providers/`` and ``plugins/model-providers/``. Copies in
an editable install would make ``site-packages/hermesd/`` a namespace portion
that shadows the checkout's package.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SHIPPED = {
    "providers": "hermesd/plugin-api",
    "plugins/model-providers": "hermesd/bundled_plugins/model-providers",
}


class ShipInsideHermesd(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "standard":
            build_data["force_include"].update(SHIPPED)
