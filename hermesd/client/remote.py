"""``hermesd chat`` through the shared daemon, when one is running for this environment.

The CLI then pays for a connect instead of importing the chat engine and an
HTTP stack, and the daemon's warm connection pool serves the request. When
no daemon runs, the CLI works in-process (the caller falls back).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from hermesd.framing import frame, read_frame


class RemoteError(Exception):
    """The daemon answered the chat request with a JSON-RPC error."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message", error)))
        self.code = error.get("code")


def chat(params: dict[str, Any], on_delta: Callable[[str, str, str], None]) -> dict[str, Any] | None:
    """``hermes/chat`` on the running shared daemon; None when none runs (or it cannot be reached).

    ``on_delta`` gets each piece as the engine reports it: (session id, text, reasoning).
    """
    from hermesd.client import forwarder
    from hermesd.paths import RuntimeDirError

    try:
        connected = forwarder.connect(forwarder.endpoint(), start=False)
    except (forwarder.ForwardError, RuntimeDirError) as exc:  # refused: another user listening, a directory not private
        print(f"hermesd: not using the shared daemon ({exc}); chatting in-process", file=sys.stderr)
        return None
    except OSError:  # no usable daemon: the caller works in-process
        return None
    if connected is None:
        return None
    sock, _ = connected
    with sock, sock.makefile("rb") as stream:
        def call(msg_id: int, method: str, body: Any) -> dict[str, Any]:
            sock.sendall(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": body}))
            while (data := read_frame(stream)) is not None:
                message = json.loads(data)
                if message.get("id") == msg_id and "method" not in message:
                    return message
                if message.get("method") == "hermes/chatDelta" and message["params"].get("requestId") == msg_id:
                    piece = message["params"]
                    on_delta(piece.get("sessionId", ""), piece.get("text") or "", piece.get("reasoning") or "")
            raise ConnectionError("the shared daemon closed the connection")

        try:
            call(1, "initialize", {"processId": os.getpid(), "capabilities": {}, "clientInfo": {"name": "hermesd chat"}})
            sock.sendall(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        except OSError:  # it went away before the chat was sent: the caller works in-process
            return None
        try:
            reply = call(2, "hermes/chat", params)
            call(3, "shutdown", None)
            sock.sendall(frame({"jsonrpc": "2.0", "method": "exit"}))
        except OSError as exc:  # after sending: never send the prompt twice
            raise RemoteError({"message": f"the shared daemon closed the connection during the chat ({exc}); "
                               "run the command again, or add --no-shared"}) from exc
    if "error" in reply:
        raise RemoteError(reply["error"])
    return reply["result"]
