"""Programs that are called `hermesd` but are not hermesd's language server.

The registry's `hermesd` distribution is another program (a dashboard); an
editor that finds it on PATH must refuse it within seconds and say which
executable it found. Three ways it can behave: hang, print something that is
not LSP, or answer `initialize` as another program.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HANG = "#!/bin/sh\nexec sleep 600\n"
_NOISE = "#!/bin/sh\necho 'hermesd 2026.9.26: TUI monitoring dashboard for Hermes AI agent'\necho 'usage: hermesd [--refresh SECONDS]'\nexec sleep 600\n"
_OTHER = f"""#!{sys.executable}
# Speaks LSP framing, but answers initialize as another program.
import json, sys

def read():
    length = None
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            sys.exit(0)
        if line in (b"\\r\\n", b"\\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(sys.stdin.buffer.read(length))

def send(msg):
    body = json.dumps(msg).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)
    sys.stdout.buffer.flush()

while True:
    msg = read()
    if msg.get("method") == "initialize":
        send({{"jsonrpc": "2.0", "id": msg["id"], "result": {{"capabilities": {{}}, "serverInfo": {{"name": "hermesd-dashboard", "version": "2026.9.26"}}}}}})
    elif msg.get("method") == "shutdown":
        send({{"jsonrpc": "2.0", "id": msg["id"], "result": None}})
    elif msg.get("method") == "exit":
        sys.exit(0)
"""

CASES = {"hang": _HANG, "noise": _NOISE, "other": _OTHER}


def write_impostors(tmp: Path, name: str = "hermesd") -> dict[str, Path]:
    """One directory per case, each holding an executable ``name``: put it first on PATH."""
    dirs = {}
    for case, text in CASES.items():
        d = tmp / "impostors" / case
        d.mkdir(parents=True)
        exe = d / name
        exe.write_text(text)
        exe.chmod(0o755)
        dirs[case] = d
    return dirs
