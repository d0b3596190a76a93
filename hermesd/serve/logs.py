"""Logging to a file in the user log directory, with secrets scrubbed.

Over stdio, stdout belongs to the protocol, so the daemon logs to a file
only. Every record passes through :class:`RedactingFilter`, so a key that
slips into an exception message still never reaches the disk.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading

from hermesd.paths import ensure_private_dir, log_dir


class RedactingFilter(logging.Filter):
    """Every record's message and traceback with known secrets replaced: logs are the one place a key could leak unseen."""
    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place (args merged into the message first); never drops a record."""
        from hermesd.settings.credentials import redact

        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
            record.exc_info = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class RefusedRequestFilter(logging.Filter):
    """pygls logs every error reply with its traceback. A refused request (bad
    params, a value the config rejects, a file it cannot read) is the user's
    mistake, not a hermesd bug: one line at INFO is enough."""

    USER_ERROR_CODES = (-32602, -32002, -32001)  # invalid params, config unreadable, not authenticated

    def filter(self, record: logging.LogRecord) -> bool:
        """Turn a refused request's traceback into one INFO line; other records pass unchanged."""
        exc = record.exc_info[1] if record.exc_info else None
        if getattr(exc, "code", None) in self.USER_ERROR_CODES:
            record.msg, record.args = "request refused: %s", (getattr(exc, "message", None) or str(exc),)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Log files are created 0600 (and rotated ones too): they name files, hosts and models.

    Opened ``O_NOFOLLOW`` and chmod'ed through the descriptor: a symlink put
    where the log goes would otherwise have the daemon append to, or chmod,
    whatever file of the user's it points to.
    """

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # a file left by an older version may be wider
            return open(fd, self.mode, encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise


def setup(level: str = "INFO", *, to_stderr: bool = False) -> None:
    """Log to the private, rotated hermesd.log (warnings to stderr too with ``to_stderr``), every handler redacting."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    redacting = RedactingFilter()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        path = ensure_private_dir(log_dir()) / "hermesd.log"
        handler: logging.Handler = PrivateRotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
        handler.setLevel(getattr(logging, level.upper(), logging.INFO))
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.addFilter(redacting)
    handler.setFormatter(fmt)
    root.addHandler(handler)
    if to_stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.WARNING)
        console.addFilter(redacting)
        console.setFormatter(logging.Formatter("hermesd: %(levelname)s: %(message)s"))
        root.addHandler(console)
    # pygls logs every message it sends at INFO: far too much, and slow.
    logging.getLogger("pygls").setLevel(logging.WARNING)
    rpc_logger = logging.getLogger("pygls.protocol.json_rpc")
    if not any(isinstance(f, RefusedRequestFilter) for f in rpc_logger.filters):
        rpc_logger.addFilter(RefusedRequestFilter())
    for noisy in ("httpx", "httpcore", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# The shared daemon's stderr (``hermesd-<key>.log`` beside its socket): tracebacks and
# anything a library prints. Small: its real log is hermesd.log.
STDERR_MAX_BYTES = 2_000_000
STDERR_BACKUPS = 2


class _RotatingStderr(PrivateRotatingFileHandler):
    """Text written to ``sys.stderr`` goes through the size check; fd 2 follows each new file,
    so what C code writes there lands in the current file too (and counts at the next check)."""

    terminator = ""

    def doRollover(self) -> None:
        super().doRollover()
        if self.stream is not None:
            os.dup2(self.stream.fileno(), 2)

    def handleError(self, record: logging.LogRecord) -> None:
        """Rotating failed (a full disk, a read-only directory): the text still goes to fd 2, never
        back through ``sys.stderr``, which is this handler."""
        try:
            os.write(2, record.getMessage().encode("utf-8", "backslashreplace"))
        except OSError:
            pass


class _StderrWriter:
    """The file-like ``sys.stderr`` that ``traceback``, ``warnings`` and ``threading`` write to.

    Whole lines go to the handler, so a rotation never splits one (``print``
    writes its text and its newline apart).
    """

    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler
        self.encoding = "utf-8"
        self.errors = "backslashreplace"
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" not in text:
                return len(text)
            lines, _, self._pending = self._pending.rpartition("\n")
        self._emit(lines + "\n")
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._pending = self._pending, ""
        if rest:
            self._emit(rest)
        self.handler.flush()

    def _emit(self, text: str) -> None:
        self.handler.handle(logging.makeLogRecord({"msg": text, "levelno": logging.ERROR}))

    def fileno(self) -> int:
        return 2

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def rotate_stderr(path: "os.PathLike[str] | str", max_bytes: int = STDERR_MAX_BYTES,
                  backups: int = STDERR_BACKUPS) -> logging.Handler:
    """Make this process's stderr ``path``, rotated at ``max_bytes`` with ``backups`` old copies.

    A long-lived daemon appends there across restarts; without this the file
    only grows. Secrets are scrubbed as in the log proper.
    """
    handler = _RotatingStderr(os.fspath(path), maxBytes=max_bytes, backupCount=backups, encoding="utf-8",
                              errors="backslashreplace")
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    if handler.stream is not None and handler.stream.seek(0, os.SEEK_END) >= max_bytes:
        handler.doRollover()  # too large already (earlier daemons): start a fresh file
    elif handler.stream is not None:
        os.dup2(handler.stream.fileno(), 2)
    sys.stderr.flush()
    sys.stderr = _StderrWriter(handler)  # type: ignore[assignment]
    return handler
