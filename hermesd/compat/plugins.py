"""``hermes_cli.plugins.PluginContext``: what a plugin's ``register(ctx)`` receives.

Provider plugins import it for a type hint (nanogpt's ``register(_ctx:
PluginContext | None = None)``); hermesd passes its own context, defined with
discovery (:class:`providers.discovery.PluginContext`), so this name and the
object a plugin gets are the same class.
"""

from __future__ import annotations

from providers.discovery import PluginContext

__all__ = ["PluginContext"]
