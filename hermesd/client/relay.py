"""The forwarder's relay: whole LSP frames both ways, and a new daemon when the old one goes.

An editor's LSP connection must outlive the shared daemon (a crash, a kill,
an upgrade's retirement gone wrong). So the relay cuts each direction only
between frames, remembers the client's ``initialize`` and ``initialized``
and the ids of the client's requests not yet answered, and when the
daemon's connection drops it

1. answers each of those requests once, with error :data:`DAEMON_RESTARTED`
   (``data.retryable``: the editor offers Retry);
2. finds or starts a daemon exactly as on first connect
   (:func:`hermesd.client.forwarder.connect`: the directory and the
   listener's uid checked before a byte is sent), at most :data:`TRIES`
   times;
3. replays ``initialize`` under an id of its own, swallows the answer (the
   editor had its answer from the first daemon), then ``initialized``.

Only when no daemon can be had does the forwarder exit, non-zero, with one
line on stderr. The steady state stays cheap: client frames (a few per user
action) are parsed as JSON; daemon frames (every streamed chunk) only have
their header read, and a body is parsed only while a request is pending and
the body holds an ``"id"`` key (a response, or a rare notification naming
one), found by a substring search. Standard library only, as the forwarder.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from typing import Any, Callable

from hermesd.framing import frame, frame_body, line, line_body, whole_frames, whole_lines

DAEMON_RESTARTED = -32005  # docs/protocol.md, "Error codes"; hermesd.protocol.ERROR_CODES["daemonRestarted"]
TRIES = 3  # daemons the relay tries to reach or start after a drop before it gives up
PAUSES = (0.0, 0.25, 1.0)  # seconds before each try
CHUNK = 1 << 16
_REPLAY_ID = "hermesd-forwarder-replay-"
_ID_KEY = b'"id"'  # a raw quote never appears inside a JSON string: an "id" key, at some depth


class GaveUp(Exception):
    """No daemon could be reached or started after :data:`TRIES` tries; the message says why."""


class ReplayFailed(Exception):
    """The new daemon did not accept the client's replayed ``initialize``."""


def restarted_error(msg_id: Any, method: str, encode: Callable[[dict[str, Any]], bytes] = frame) -> bytes:
    """The one answer a request gets when the daemon that had it is gone."""
    if method in ("hermes/chat", "session/prompt"):
        message = "the daemon restarted; your message was saved in the session; Retry to send it again"
    else:
        message = f"the daemon restarted before answering {method}; Retry to ask again"
    return encode({"jsonrpc": "2.0", "id": msg_id, "error": {
        "code": DAEMON_RESTARTED, "message": message,
        "data": {"kind": "daemonRestarted", "retryable": True, "method": method}}})


class Relay:
    """One editor's connection, carried across daemons.

    The main thread reads the daemon and writes stdout (so only it writes
    there); a daemon thread reads stdin and writes the daemon. ``lock`` is
    held while a frame is recorded and sent, and while the daemon is
    replaced, so each request is either answered by the daemon it reached
    or failed once by the relay.

    The framing is LSP's; :class:`LineRelay` carries newline-delimited JSON (ACP) the same way.
    """

    split = staticmethod(whole_frames)  # (spans of whole message bodies, bytes they take)
    encode = staticmethod(frame)  # a message as sent
    encode_body = staticmethod(frame_body)  # an encoded body as sent

    def __init__(self, sock: socket.socket, pending: bytes, reconnect: Callable[[], tuple[socket.socket, bytes]],
                 failures: tuple[type[BaseException], ...], *, timeout: float = 15.0, stdin_fd: int = 0,
                 stdout_fd: int = 1) -> None:
        """``reconnect``: a new daemon past the hello, as on first connect; it raises one of ``failures`` when it
        cannot. ``timeout``: how long a new daemon has to answer the replayed ``initialize``."""
        self.sock = sock
        self.pending = pending
        self.reconnect = reconnect
        self.failures = failures
        self.timeout = timeout
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.lock = threading.Lock()
        self.inflight: dict[Any, str] = {}  # the client's request ids the daemon has not answered, and their methods
        self.initialize: dict[str, Any] | None = None
        self.initialized: bytes | None = None
        self.ending = False  # the client sent shutdown or exit, or closed stdin: a drop is the end
        self.restarts = 0

    # -- client -> daemon ---------------------------------------------------

    def up(self) -> None:
        """Copy whole frames from stdin to the daemon, noting requests; at end of stdin, half-close."""
        buf = bytearray()
        try:
            while data := os.read(self.stdin_fd, CHUNK):
                buf += data
                spans, used = self.split(buf)
                if not used:
                    continue
                with self.lock:
                    for start, end in spans:
                        self.note_up(bytes(buf[start:end]))
                    self.send(bytes(buf[:used]))
                del buf[:used]
        except OSError:
            pass
        with self.lock:
            self.ending = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def note_up(self, body: bytes) -> None:
        try:
            msg = json.loads(body)
        except (ValueError, RecursionError):
            return  # the daemon answers it (-32700)
        if not isinstance(msg, dict) or not isinstance(method := msg.get("method"), str):
            return  # a response to a request of the daemon's, or a batch
        if method == "initialize":
            self.initialize = msg
        elif method == "initialized":
            self.initialized = body
        elif method in ("shutdown", "exit"):
            self.ending = True
        if _is_id(msg_id := msg.get("id")):
            self.inflight[msg_id] = method

    def send(self, data: bytes) -> None:
        """To the current daemon; a failure is left to the main thread, which sees the drop and fails what was sent."""
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    # -- daemon -> client ---------------------------------------------------

    def run(self) -> int:
        """Relay until the client ends; 1 (after one stderr line) when the daemon is gone for good."""
        threading.Thread(target=self.up, name="hermesd-up", daemon=True).start()
        pending = self.pending
        while True:
            if not self.pump(pending):
                return 0  # stdout closed: the editor is gone
            with self.lock:
                self.sock.close()
                if self.ending:
                    return 0
                try:
                    self.fail_inflight()
                    self.sock, pending = self.restart()
                except GaveUp as exc:
                    print(f"hermesd: the shared daemon stopped and could not be restarted: {exc}", file=sys.stderr,
                          flush=True)
                    return 1
                except OSError:
                    return 0  # stdout closed while failing requests
                self.restarts += 1

    def pump(self, pending: bytes) -> bool:
        """Daemon frames to stdout until the connection drops (True) or stdout fails (False)."""
        buf = bytearray(pending)
        sock = self.sock
        while True:
            spans, used = self.split(buf)
            if used:
                if self.inflight:
                    for start, end in spans:
                        if buf.find(_ID_KEY, start, end) >= 0:
                            self.note_down(bytes(buf[start:end]))
                try:
                    self.write(buf, used)
                except OSError:
                    return False
                del buf[:used]
            try:
                data = sock.recv(CHUNK)
            except OSError:
                return True
            if not data:
                return True
            buf += data

    def note_down(self, body: bytes) -> None:
        try:
            msg = json.loads(body)
        except (ValueError, RecursionError):
            return
        if isinstance(msg, dict) and "method" not in msg and _is_id(msg_id := msg.get("id")):
            self.inflight.pop(msg_id, None)

    def write(self, data: bytes | bytearray, end: int | None = None) -> None:
        """``data[:end]`` to stdout, all of it (no copy: the caller may change ``data`` once this returns)."""
        view = memoryview(data)[:end]
        while view:
            view = view[os.write(self.stdout_fd, view):]
        view.release()

    # -- a new daemon -------------------------------------------------------

    def fail_inflight(self) -> None:
        """Answer each pending request once; a pending ``initialize`` is sent again instead (see :meth:`replay`)."""
        init_id = self.initialize.get("id") if self.initialize else None
        failed = [(i, m) for i, m in self.inflight.items() if not (m == "initialize" and i == init_id)]
        for msg_id, method in failed:
            del self.inflight[msg_id]
            self.write(restarted_error(msg_id, method, self.encode))

    def restart(self) -> tuple[socket.socket, bytes]:
        """A daemon found or started and given the client's handshake; :class:`GaveUp` after :data:`TRIES` tries."""
        reasons: list[str] = []
        for pause in PAUSES[:TRIES]:
            time.sleep(pause)
            try:
                sock, rest = self.reconnect()
            except self.failures as exc:
                reasons.append(str(exc) or type(exc).__name__)
                continue
            try:
                return sock, self.replay(sock, rest)
            except (OSError, ValueError, ReplayFailed) as exc:
                sock.close()
                reasons.append(str(exc) or type(exc).__name__)
        raise GaveUp(f"{len(reasons)} tries; the last: {reasons[-1]}")

    def replay(self, sock: socket.socket, rest: bytes) -> bytes:
        """The client's ``initialize`` (its answer swallowed) and ``initialized`` to a new daemon; the bytes read past it.

        An ``initialize`` still unanswered is sent as it was: its answer is the client's.
        """
        init = self.initialize
        if init is None:
            return rest
        if init.get("id") in self.inflight:
            sock.sendall(self.encode(init))
            return rest
        replay_id = f"{_REPLAY_ID}{self.restarts + 1}"
        sock.sendall(self.encode({**init, "id": replay_id}))
        buf = bytearray(rest)
        sock.settimeout(self.timeout)
        try:
            while True:
                spans, used = self.split(buf)
                before = 0  # where the frame holding the current span begins (the last span's end)
                for start, end in spans:
                    if buf.find(_ID_KEY, start, end) >= 0 and _answers(bytes(buf[start:end]), replay_id):
                        self.write(buf, before)  # what the daemon said before its answer is the client's
                        del buf[:end]
                        if self.initialized is not None:
                            sock.sendall(self.encode_body(self.initialized))
                        return bytes(buf)
                    before = end
                self.write(buf, used)
                del buf[:used]
                data = sock.recv(CHUNK)
                if not data:
                    raise ReplayFailed("the new daemon closed the connection during the replayed initialize")
                buf += data
        finally:
            sock.settimeout(None)


class LineRelay(Relay):
    """The relay for newline-delimited JSON-RPC (``hermesd acp``): the same bookkeeping, one message a line.

    The Agent Client Protocol has no ``initialized``, ``shutdown`` or ``exit``: the client ends by closing stdin.
    """

    split = staticmethod(whole_lines)
    encode = staticmethod(line)
    encode_body = staticmethod(line_body)


def _is_id(value: Any) -> bool:
    """A JSON-RPC request id (a string or an integer; anything else is not tracked, and the daemon refuses it)."""
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _answers(body: bytes, msg_id: str) -> bool:
    """True when ``body`` is the response to ``msg_id``; :class:`ReplayFailed` when that response is an error."""
    try:
        msg = json.loads(body)
    except (ValueError, RecursionError):
        return False
    if not isinstance(msg, dict) or msg.get("id") != msg_id or "method" in msg:
        return False
    if "error" in msg:
        raise ReplayFailed(f"the new daemon refused the editor's initialize: {msg['error'].get('message', msg['error'])}")
    return True
