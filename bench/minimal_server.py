"""B1's baseline: the smallest useful pygls server, one custom method.

Started exactly like hermesd (``python -m bench.minimal_server``), so the
difference between the two is what hermesd adds before it can answer
``initialize``.
"""

from __future__ import annotations

from typing import Any

from pygls.lsp.server import LanguageServer

server = LanguageServer("bench-minimal", "0.1")


@server.feature("bench/echo")
def echo(ls: LanguageServer, params: Any) -> Any:
    """Return what was sent."""
    return params


if __name__ == "__main__":
    server.start_io()
