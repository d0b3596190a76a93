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

from hermesd.paths import ensure_private_dir, log_dir


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from hermesd.credentials import redact

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
        exc = record.exc_info[1] if record.exc_info else None
        if getattr(exc, "code", None) in self.USER_ERROR_CODES:
            record.msg, record.args = "request refused: %s", (getattr(exc, "message", None) or str(exc),)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Log files are created 0600 (and rotated ones too): they name files, hosts and models."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.chmod(self.baseFilename, 0o600)  # a file left by an older version may be wider
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def setup(level: str = "INFO", *, to_stderr: bool = False) -> None:
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
