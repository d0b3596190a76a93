"""``hermesd acp``: an Agent Client Protocol agent on stdio, served by the user's shared daemon.

Zed, JetBrains, codecompanion.nvim, avante.nvim and other ACP clients start
this command and speak newline-delimited JSON-RPC to it (docs/acp.md). Like
``hermesd --stdio`` it imports the standard library only: it finds or starts
the shared daemon (the same discovery and checks,
:func:`hermesd.client.forwarder.connect`), says in its hello that it speaks
ACP, and relays whole lines both ways (:class:`hermesd.client.relay.LineRelay`,
which fails pending requests once and reconnects when the daemon goes). The
daemon translates ACP onto the same engine and sessions as the editors'
(:mod:`hermesd.serve.acp`). It exits when stdin closes.
"""

from __future__ import annotations

import socket
import sys

SPEAKS = "acp"


def main() -> int:
    """Relay to the shared daemon; 1 with one stderr line when none can be reached or started."""
    from hermesd.client.forwarder import START_TIMEOUT, ForwardError, connect, endpoint
    from hermesd.client.relay import LineRelay
    from hermesd.paths import RuntimeDirError

    failures = (OSError, ForwardError, RuntimeDirError)
    try:
        ep = endpoint()
        connected = connect(ep, speaks=SPEAKS)
    except failures as exc:
        print(f"hermesd acp: cannot reach or start the shared daemon: {exc}", file=sys.stderr, flush=True)
        return 1
    assert connected is not None
    sock, pending = connected

    def reconnect() -> tuple[socket.socket, bytes]:
        again = connect(ep, speaks=SPEAKS)
        assert again is not None
        return again

    return LineRelay(sock, pending, reconnect, failures, timeout=START_TIMEOUT).run()
